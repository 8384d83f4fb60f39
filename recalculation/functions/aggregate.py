"""Aggregates over references, arrays and values: SUM, AVERAGE, MIN, MAX, PRODUCT, COUNT, COUNTA,
COUNTBLANK, MEDIAN, LARGE, SMALL, STDEV.S/P, VAR.S/P, SUMPRODUCT.

Excel's counting rules, as the COUNT, SUM and AVERAGE pages state them: in a reference or an
array only numbers count (text, TRUE/FALSE and blank cells are skipped); a value typed as an
argument counts when it is a number, TRUE/FALSE (1/0) or text that reads as a number
("30"), while other text is ``#VALUE!``. An error anywhere is the result (the first one, in
argument and reading order), except for COUNT and COUNTA, which count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..values import BLANK, NUM, TXT, Val, const, finish, first_err, numeric, ordered_sum
from .base import DIV0, NUM_ERR, Ctx, Rng, Spec, cells_of, grid, grid_texts, spec


def gather(args: tuple[Any, ...], ctx: Ctx, direct_text: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, counted, errors) of every element of the arguments, each shaped (elements, N).

    ``direct_text``: text typed as an argument is read as a number (#VALUE! when it is not one);
    else it is only not counted (COUNT).
    """
    n = ctx.n
    values, counted, errors = [], [], []
    for arg in args:
        v, from_range = cells_of(arg, ctx)
        if from_range:
            num, err, typ = grid(v, n)
            ok = (typ == NUM) & (err == 0)
            values.append(np.where(ok, num, 0.0))
            counted.append(ok)
            errors.append(err)
            continue
        x, e = numeric(v)
        x, e = np.broadcast_to(x, (n,))[None, :], np.broadcast_to(e, (n,))[None, :]
        if direct_text:
            values.append(np.where(e == 0, x, 0.0))
            counted.append(e == 0)
            errors.append(e)
        else:  # COUNT: numbers, TRUE/FALSE and number text count; nothing is an error
            typ = np.broadcast_to(v.typ, (n,))[None, :]
            values.append(np.zeros((1, n)))
            counted.append((e == 0) & (typ != BLANK))
            errors.append(np.zeros((1, n), np.int8))
    if not values:
        return np.zeros((0, n)), np.zeros((0, n), bool), np.zeros((0, n), np.int8)
    return np.concatenate(values), np.concatenate(counted), np.concatenate(errors)


def first_error_down(err: np.ndarray) -> np.ndarray:
    """The first non-zero code of each column (0 where none)."""
    if err.shape[0] == 0:
        return np.zeros(err.shape[1], np.int8)
    has = err != 0
    first = np.argmax(has, axis=0)
    return np.where(has.any(axis=0), err[first, np.arange(err.shape[1])], 0).astype(np.int8)


def _reducer(name: str, reduce: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> Spec:
    def run(ctx: Ctx, *args: Any) -> Val:
        values, counted, errors = gather(args, ctx)
        err = first_error_down(errors)
        with np.errstate(all="ignore"):
            out, own = reduce(values, counted)
        return finish(out, np.where(err != 0, err, own).astype(np.int8))

    return Spec(run, "x", repeat="x", category="aggregate")


def _sum(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ordered_sum(np.where(c, v, 0.0)), np.zeros(v.shape[1], np.int8)


def _average(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = c.sum(axis=0)
    return ordered_sum(np.where(c, v, 0.0)) / np.where(k == 0, 1, k), np.where(k == 0, DIV0, 0).astype(np.int8)


def _min(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = c.sum(axis=0)
    return np.where(k == 0, 0.0, np.where(c, v, np.inf).min(axis=0, initial=np.inf)), np.zeros(v.shape[1], np.int8)


def _max(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = c.sum(axis=0)
    return np.where(k == 0, 0.0, np.where(c, v, -np.inf).max(axis=0, initial=-np.inf)), np.zeros(v.shape[1], np.int8)


def _product(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = c.sum(axis=0)
    return np.where(k == 0, 0.0, np.where(c, v, 1.0).prod(axis=0)), np.zeros(v.shape[1], np.int8)


def _median(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = c.sum(axis=0)
    values = np.where(c | (k == 0)[None, :], np.where(c, v, 0.0), np.nan)  # no number at all: #NUM!, not a numpy warning
    out = np.nanmedian(values, axis=0) if v.shape[0] else np.zeros(v.shape[1])
    return np.where(k == 0, 0.0, out), np.where(k == 0, NUM_ERR, 0).astype(np.int8)


def _variance(sample: bool) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    def run(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = c.sum(axis=0)
        mean = ordered_sum(np.where(c, v, 0.0)) / np.where(k == 0, 1, k)
        sq = ordered_sum(np.where(c, (v - mean) ** 2, 0.0))
        dof = k - 1 if sample else k
        return sq / np.where(dof <= 0, 1, dof), np.where(dof <= 0, DIV0, 0).astype(np.int8)

    return run


def _std(sample: bool) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    var = _variance(sample)

    def run(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, err = var(v, c)
        return np.sqrt(out), err

    return run


@spec("x", repeat="x", category="aggregate")
def COUNT(ctx: Ctx, *args: Any) -> Val:
    _, counted, _ = gather(args, ctx, direct_text=False)
    return Val(counted.sum(axis=0).astype(float), 0, NUM)


@spec("x", repeat="x", category="aggregate")
def COUNTA(ctx: Ctx, *args: Any) -> Val:
    """COUNTA: cells that are not empty (errors and "" included); every value typed as an argument."""
    total = np.zeros(ctx.n)
    for arg in args:
        v, from_range = cells_of(arg, ctx)
        if from_range:
            _, err, typ = grid(v, ctx.n)
            total = total + ((typ != BLANK) | (err != 0)).sum(axis=0)
        else:
            total = total + 1.0
    return Val(total, 0, NUM)


@spec("r", category="aggregate")
def COUNTBLANK(ctx: Ctx, rng: Any) -> Val:
    """COUNTBLANK: empty cells and cells holding "" text."""
    if not isinstance(rng, Rng):
        return const(XlError.VALUE)
    v = rng.value(ctx)
    _, err, typ = grid(v, ctx.n)
    txt = grid_texts(v, ctx.n)
    empty = ((typ == BLANK) & (err == 0)) | ((typ == TXT) & (txt == ""))
    return Val(empty.sum(axis=0).astype(float), 0, NUM)


def _kth(largest: bool) -> Spec:
    def run(ctx: Ctx, array: Any, k: Val) -> Val:
        values, counted, errors = gather((array,), ctx)
        err = first_error_down(errors)
        kv, ke = numeric(k)
        kk = np.trunc(np.broadcast_to(kv, (ctx.n,)))  # LARGE(x, 1.5) is LARGE(x, 1)
        cnt = counted.sum(axis=0)
        bad = (kk < 1) | (kk > cnt)
        ordered = np.sort(np.where(counted, values, np.inf if not largest else -np.inf), axis=0)
        if largest:
            ordered = ordered[::-1]
        idx = np.clip(kk - 1, 0, max(values.shape[0] - 1, 0)).astype(int)
        picked = ordered[idx, np.arange(ctx.n)] if values.shape[0] else np.zeros(ctx.n)
        codes = first_err(err, np.broadcast_to(ke, (ctx.n,)))
        codes = np.where((codes == 0) & bad, np.int8(NUM_ERR), codes)
        return finish(picked, codes)

    return Spec(run, "xv", category="aggregate")


@spec("A", repeat="A", category="aggregate")
def SUMPRODUCT(ctx: Ctx, *arrays: Val) -> Val:
    """SUMPRODUCT: the sum of element-wise products; arrays of different sizes are #VALUE!; text and
    TRUE/FALSE inside the arrays count as 0."""
    if len({a.dims or (1, 1) for a in arrays}) > 1:
        return const(XlError.VALUE)
    product: Any = 1.0
    errs = []
    for a in arrays:
        num, err, typ = grid(a, ctx.n)
        product = product * np.where((typ == NUM) & (err == 0), num, 0.0)
        errs.append(err)
    with np.errstate(all="ignore"):
        total = ordered_sum(np.asarray(product))
    return finish(total, first_error_down(np.concatenate(errs)))


TABLE: dict[str, Spec] = {
    "SUM": _reducer("SUM", _sum), "AVERAGE": _reducer("AVERAGE", _average), "MIN": _reducer("MIN", _min),
    "MAX": _reducer("MAX", _max), "PRODUCT": _reducer("PRODUCT", _product), "MEDIAN": _reducer("MEDIAN", _median),
    "STDEV.S": _reducer("STDEV.S", _std(True)), "STDEV": _reducer("STDEV", _std(True)),
    "STDEV.P": _reducer("STDEV.P", _std(False)), "STDEVP": _reducer("STDEVP", _std(False)),
    "VAR.S": _reducer("VAR.S", _variance(True)), "VAR": _reducer("VAR", _variance(True)),
    "VAR.P": _reducer("VAR.P", _variance(False)), "VARP": _reducer("VARP", _variance(False)),
    "COUNT": COUNT, "COUNTA": COUNTA, "COUNTBLANK": COUNTBLANK,
    "LARGE": _kth(True), "SMALL": _kth(False), "SUMPRODUCT": SUMPRODUCT,
}

__all__ = ["TABLE", "first_error_down", "gather"]
