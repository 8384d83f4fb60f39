"""Logic: IF, IFS, SWITCH, IFERROR, IFNA, AND, OR, XOR, NOT, TRUE, FALSE.

A condition is read as Excel reads one (:func:`~..values.truth`): a number is TRUE unless 0,
a blank is FALSE, the texts "TRUE"/"FALSE" are themselves and any other text is ``#VALUE!``
(``IF("yes",1,2)`` is ``#VALUE!``). Every branch is computed and the result picked element by
element, so one run serves every input set.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..values import BOOL, NUM, Val, boolean, compare, const, first_err, truth
from .base import NA, VALUE, Ctx, Spec, align, cells_of, dims_of, grid, spec

ABSENT = object()  # an argument not given at all (``IF(x)``), unlike an empty one (``IF(x,)``: None)


def select(mask: Any, a: Val, b: Val) -> Val:
    """Element-wise ``a`` where ``mask`` else ``b`` (value, error, type and text)."""
    a, b = align(a, b)
    txt = None
    if a.txt is not None or b.txt is not None:
        txt = np.where(mask, np.asarray(a.txt if a.txt is not None else "", dtype=object),
                       np.asarray(b.txt if b.txt is not None else "", dtype=object))
    return Val(np.where(mask, a.num, b.num), np.where(mask, a.err, b.err), np.where(mask, a.typ, b.typ), txt,
               dims_of(a, b) if np.ndim(mask) < 3 else (np.shape(mask)[0], np.shape(mask)[1]))


def _branch(v: Any, missing: bool) -> Val:
    if v is ABSENT:
        return const(missing)
    return const(0.0) if v is None else v


def _error_of(err: Any) -> Val:
    return Val(np.nan, err, NUM)


@spec("vvv", optional=2, category="logic")
def IF(ctx: Ctx, cond: Val, yes: Any = ABSENT, no: Any = ABSENT) -> Val:
    result, err = truth(cond)
    out = select(result, _branch(yes, True), _branch(no, False))
    return select(err != 0, _error_of(err), out) if np.any(err) else out


@spec("vv", category="logic")
def IFERROR(ctx: Ctx, value: Val, alt: Val | None) -> Val:
    alt = const(0.0) if alt is None else alt
    return select(value.err != 0, alt, value)


@spec("vv", category="logic")
def IFNA(ctx: Ctx, value: Val, alt: Val | None) -> Val:
    alt = const(0.0) if alt is None else alt
    return select(value.err == NA, alt, value)


@spec("vv", repeat="vv", category="logic")
def IFS(ctx: Ctx, *pairs: Val) -> Val:
    """IFS(cond1, value1, …): the value of the first true condition; none true is #N/A."""
    if len(pairs) % 2:
        return const(XlError.VALUE)
    out = const(XlError.NA)
    for cond, value in reversed(list(zip(pairs[::2], pairs[1::2]))):
        result, err = truth(cond)
        out = select(result, const(0.0) if value is None else value, out)
        if np.any(err):
            out = select(err != 0, _error_of(err), out)
    return out


@spec("vvv", repeat="vv", category="logic")
def SWITCH(ctx: Ctx, expr: Val, *rest: Val) -> Val:
    """SWITCH(expression, value1, result1, …, [default]): the result of the first value equal to it."""
    default = rest[-1] if len(rest) % 2 else const(XlError.NA)
    pairs = list(zip(rest[::2], rest[1::2]))
    out = default
    for value, result in reversed(pairs):
        order, err = compare(expr, value)
        out = select((order == 0) & (err == 0), const(0.0) if result is None else result, out)
    if np.any(expr.err):
        out = select(expr.err != 0, _error_of(expr.err), out)
    return out


def _logic(kind: str) -> Spec:
    def run(ctx: Ctx, *args: Any) -> Val:
        n = ctx.n
        results, counts, errs = [], [], []
        for arg in args:
            v, from_range = cells_of(arg, ctx)
            if from_range:  # in a reference only numbers and TRUE/FALSE count
                num, err, typ = grid(v, n)
                results.append(num != 0)
                counts.append(((typ == NUM) | (typ == BOOL)) & (err == 0) | (err != 0))
                errs.append(err)
            elif v is not None:
                t, e = truth(v)
                results.append(np.broadcast_to(t, (n,))[None, :])
                counts.append(np.ones((1, n), bool))
                errs.append(np.broadcast_to(e, (n,))[None, :])
        if not results:
            return const(XlError.VALUE)
        result = np.concatenate(results)
        counted = np.concatenate(counts)
        err_all = np.concatenate(errs)
        has = err_all != 0
        err = np.where(has.any(axis=0), err_all[np.argmax(has, axis=0), np.arange(n)], 0).astype(np.int8)
        if kind == "AND":
            out = np.where(counted, result, True).all(axis=0)
        elif kind == "OR":
            out = np.where(counted, result, False).any(axis=0)
        else:
            out = (np.where(counted, result, False).sum(axis=0) % 2) == 1
        err = np.where((err == 0) & ~counted.any(axis=0), np.int8(VALUE), err)
        return boolean(np.asarray(out), err)

    return Spec(run, "x", repeat="x", category="logic")


@spec("v", category="logic")
def NOT(ctx: Ctx, value: Val) -> Val:
    t, e = truth(value)
    return boolean(~np.asarray(t, dtype=bool), e, value.dims)


@spec("", category="logic")
def TRUE(ctx: Ctx) -> Val:
    return const(True)


@spec("", category="logic")
def FALSE(ctx: Ctx) -> Val:
    return const(False)


TABLE: dict[str, Spec] = {
    "IF": IF, "IFS": IFS, "SWITCH": SWITCH, "IFERROR": IFERROR, "IFNA": IFNA,
    "AND": _logic("AND"), "OR": _logic("OR"), "XOR": _logic("XOR"), "NOT": NOT, "TRUE": TRUE, "FALSE": FALSE,
}

__all__ = ["ABSENT", "TABLE", "first_err", "reduce", "select"]
