"""Excel's operators over values and blocks: arithmetic, comparison, ``&``, negation and percent.

Both operands are read as Excel reads them (:func:`~..values.numeric`: text that is a number
counts, other text is ``#VALUE!``); the leftmost error wins; blocks combine element by element
(:func:`.base.align`). ``0^0`` is ``#NUM!`` and ``0^-1`` ``#DIV/0!``, as the POWER function's
page gives; results Excel cannot hold (overflow, a negative number to a fractional power) are
``#NUM!``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..values import Val, as_text, boolean, compare, finish, first_err, numeric, round15, texts
from .base import DIV0, NUM_ERR, align, dims_of


def arith(op: str) -> Callable[[Val, Val], Val]:
    def run(a: Val, b: Val) -> Val:
        a, b = align(a, b)
        x, ex = numeric(a)
        y, ey = numeric(b)
        err = first_err(ex, ey)
        with np.errstate(all="ignore"):
            if op == "+":
                out = x + y
            elif op == "-":
                out = x - y
            elif op == "*":
                out = x * y
            elif op == "/":
                err = np.where((err == 0) & (y == 0), np.int8(DIV0), err)
                out = x / np.where(y == 0, 1.0, y)
            else:  # "^"
                out = np.power(x, y)
                # a negative base with a fraction: Excel takes an odd root ((-8)^(1/3) is -2), else #NUM!
                inverse = np.where(y != 0, 1.0 / np.where(y != 0, y, 1.0), 0.0)
                odd_root = (x < 0) & (y != np.trunc(y)) & (np.abs(np.round(inverse)) % 2 == 1) & (
                    np.abs(round15(inverse) - np.round(inverse)) == 0)
                out = np.where(odd_root, -np.power(np.abs(x), y), out)
                err = np.where((err == 0) & (x == 0) & (y == 0), np.int8(NUM_ERR), err)
                err = np.where((err == 0) & (x == 0) & (y < 0), np.int8(DIV0), err)
        return finish(out, err, dims_of(a, b))

    return run


_ORDER_TESTS = {"=": np.equal, "<>": np.not_equal, "<": np.less, ">": np.greater, "<=": np.less_equal,
                ">=": np.greater_equal}


def comparison(op: str) -> Callable[[Val, Val], Val]:
    test = _ORDER_TESTS[op]

    def run(a: Val, b: Val) -> Val:
        a, b = align(a, b)
        order, err = compare(a, b)
        return boolean(test(order, 0), err, dims_of(a, b))

    return run


def concat(a: Val, b: Val) -> Val:
    a, b = align(a, b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    sa, ea = as_text(a, shape)
    sb, eb = as_text(b, shape)
    err = first_err(ea, eb)
    joined = np.frompyfunc(lambda x, y: x + y, 2, 1)(sa, sb) if shape else np.array(sa.item() + sb.item(), dtype=object)
    return texts(joined, err, dims_of(a, b))


def negate(a: Val) -> Val:
    x, e = numeric(a)
    return finish(-x, e, a.dims)


def percent(a: Val) -> Val:
    x, e = numeric(a)
    return finish(x / 100.0, e, a.dims)
