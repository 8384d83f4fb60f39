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

from ..graph import Unsupported
from ..values import BOOL, NUM, TXT, Val, boolean, compare, const, first_err, truth
from .base import NA, VALUE, Ctx, Rng, Spec, align, as_value, cells_of, dims_of, grid, spec

ABSENT = object()  # an argument not given at all (``IF(x)``), unlike an empty one (``IF(x,)``: None)


def select(mask: Any, a: Val, b: Val) -> Val:
    """Element-wise ``a`` where ``mask`` else ``b`` (value, error, type and text)."""
    a, b = align(a, b)
    txt = None
    if a.txt is not None or b.txt is not None:
        txt = np.where(mask, np.asarray(a.txt if a.txt is not None else "", dtype=object),
                       np.asarray(b.txt if b.txt is not None else "", dtype=object))
    dims = dims_of(a, b)
    if np.ndim(mask) == 3:  # a mask over a block: the larger of its size and the values' (a 1×1 mask is repeated)
        rows, cols = dims or (1, 1)
        dims = (max(rows, np.shape(mask)[0]), max(cols, np.shape(mask)[1]))
    return Val(np.where(mask, a.num, b.num), np.where(mask, a.err, b.err), np.where(mask, a.typ, b.typ), txt, dims)


def _branch(v: Any, missing: bool) -> Val:
    if v is ABSENT:
        return const(missing)
    return const(0.0) if v is None else v


def _error_of(err: Any, dims: tuple[int, int] | None = None) -> Val:
    return Val(np.nan, err, NUM, None, dims)


def _reference(choice: np.ndarray, options: list[Any]) -> Rng | None:
    """The reference every input set chooses (``choice``: an option index per set, -1 none), if one: IF,
    IFS and SWITCH give back a reference as Excel does (SUM(IF(x,A1:A3)) adds cells; COUNT of a chosen
    blank cell counts nothing), so a reference is handed on when the choice is the same everywhere."""
    choice = np.asarray(choice)
    if choice.ndim > 1 or choice.size == 0:
        return None
    if not np.all(choice == choice.flat[0]):
        if any(isinstance(options[int(c)], Rng) for c in np.unique(choice) if c >= 0):
            # only reached where the caller takes a reference (SUM(IF(…)), OR(IF(…))): each file on its own
            raise Unsupported("a reference chosen differently in different files")
        return None
    if int(choice.flat[0]) < 0:
        return None
    chosen = options[int(choice.flat[0])]
    return chosen if isinstance(chosen, Rng) else None


def _values(ctx: Ctx, options: list[Any]) -> list[Any]:
    return [as_value(o, ctx) if isinstance(o, Rng) else o for o in options]


@spec("vxx", optional=2, category="logic", chooses=True)
def IF(ctx: Ctx, cond: Val, yes: Any = ABSENT, no: Any = ABSENT) -> Any:
    result, err = truth(cond)
    if not np.any(err):
        ref = _reference(np.where(result, 0, 1), [yes, no])
        if ref is not None:
            return ref
    yes, no = _values(ctx, [yes, no])
    yes, no = _branch(yes, True), _branch(no, False)
    if cond.dims is not None or yes.dims is not None or no.dims is not None:  # arrays: brought to one size first
        cond, yes, no = align(cond, yes, no)
        result, err = truth(cond)
    out = select(result, yes, no)
    return select(err != 0, _error_of(err, cond.dims), out) if np.any(err) else out


@spec("vv", category="logic")
def IFERROR(ctx: Ctx, value: Val, alt: Val | None) -> Val:
    value, alt = align(value, const(0.0) if alt is None else alt)
    return select(value.err != 0, alt, value)


@spec("vv", category="logic")
def IFNA(ctx: Ctx, value: Val, alt: Val | None) -> Val:
    value, alt = align(value, const(0.0) if alt is None else alt)
    return select(value.err == NA, alt, value)


@spec("vx", repeat="vx", category="logic", chooses=True)
def IFS(ctx: Ctx, *pairs: Any) -> Any:
    """IFS(cond1, value1, …): the value of the first true condition; none true is #N/A."""
    if len(pairs) % 2:
        return const(XlError.VALUE)
    conds, values = list(pairs[::2]), list(pairs[1::2])
    if all(c is None or c.dims is None for c in conds):  # single conditions: the chosen value may be a reference
        choice: Any = -1
        for i in reversed(range(len(conds))):
            result, err = truth(const(False) if conds[i] is None else conds[i])
            choice = np.where(err != 0, -2, np.where(result, i, choice))
        ref = _reference(choice, values)
        if ref is not None:
            return ref
    out = const(XlError.NA)
    for cond, value in reversed(list(zip(conds, _values(ctx, values)))):
        cond, value, out = align(const(False) if cond is None else cond, const(0.0) if value is None else value, out)
        result, err = truth(cond)
        out = select(result, value, out)
        if np.any(err):
            out = select(err != 0, _error_of(err, cond.dims), out)
    return out


@spec("vxx", repeat="xx", category="logic", chooses=True)
def SWITCH(ctx: Ctx, expr: Val, *given: Any) -> Any:
    """SWITCH(expression, value1, result1, …, [default]): the result of the first value equal to it."""
    # values are read as values; results (and the default) may stay references
    rest = tuple(as_value(a, ctx) if i % 2 == 0 and i < len(given) - len(given) % 2 and a is not None else a
                 for i, a in enumerate(given))
    results = list(rest[1::2]) + ([rest[-1]] if len(rest) % 2 else [])
    choice: Any = len(results) - 1 if len(rest) % 2 else -1
    for i in reversed(range(len(rest) // 2)):
        value = rest[2 * i]
        if value is None or value.dims is not None or expr.dims is not None:
            choice = -2
            break
        order, err = compare(expr, value)
        choice = np.where((err != 0) | (value.err != 0), -2, np.where(order == 0, i, choice))
    ref = _reference(choice, results) if not np.any(expr.err) else None
    if ref is not None:
        return ref
    rest = tuple(_values(ctx, list(rest)))
    default = rest[-1] if len(rest) % 2 else const(XlError.NA)
    pairs = list(zip(rest[::2], rest[1::2]))
    out = default
    for value, result in reversed(pairs):
        # arrays of different sizes (a dynamic-array formula) are brought to one size, #N/A where one is short
        e, v, r, out = align(expr, const(0.0) if value is None else value, const(0.0) if result is None else result, out)
        order, err = compare(e, v)
        out = select((order == 0) & (err == 0), r, out)
        if np.any(v.err):  # a case value that is an error, reached in turn, is the answer
            out = select(v.err != 0, _error_of(v.err, v.dims), out)
    if np.any(expr.err):
        expr, out = align(expr, out)
        out = select(expr.err != 0, _error_of(expr.err, expr.dims), out)
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
                # text other than "TRUE"/"FALSE" is passed over, like text in a reference: AND("", TRUE) is TRUE
                ignored = np.broadcast_to((v.typ == TXT) & (v.err == 0) & (e != 0), (n,))
                results.append(np.broadcast_to(t, (n,))[None, :])
                counts.append(~ignored[None, :])
                errs.append(np.where(ignored, 0, np.broadcast_to(e, (n,)))[None, :])
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
