"""Aggregates over references, arrays and values: SUM, AVERAGE, MIN, MAX, PRODUCT, COUNT, COUNTA,
COUNTBLANK, MEDIAN, LARGE, SMALL, STDEV.S/P, VAR.S/P, SUMPRODUCT, RANK(.EQ/.AVG), PERCENTILE(.INC).

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

from ..values import BLANK, NUM, TXT, Val, const, finish, first_err, numeric, ordered_sum, round15
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


def _rank(average: bool) -> Spec:
    def run(ctx: Ctx, number: Val, ref: Any, order: Val | None = None) -> Val:
        """RANK(number, ref, [order]): the number's place among the reference's numbers, largest first (order
        non-zero: smallest first); ties share the best place (RANK.AVG: their average place); a number not
        among them is #N/A (Microsoft's MS-OI29500). Only the numbers of the reference count."""
        if not isinstance(ref, Rng):
            return const(XlError.VALUE)
        x, xe = numeric(number)
        x, xe = np.broadcast_to(x, (ctx.n,)), np.broadcast_to(xe, (ctx.n,))
        asc = np.zeros(ctx.n, bool)
        oe = np.zeros(ctx.n, np.int8)
        if order is not None:
            o, oe = numeric(order)
            asc, oe = np.broadcast_to(o != 0, (ctx.n,)), np.broadcast_to(oe, (ctx.n,))
        values, counted, errors = gather((ref,), ctx)
        err = first_error_down(errors)
        v, key = round15(values), round15(x)[None, :]
        better = np.where(asc[None, :], v < key, v > key) & counted
        equal = (v == key) & counted
        ties = equal.sum(axis=0)
        place = better.sum(axis=0) + 1.0 + ((ties - 1) / 2.0 if average else 0.0)
        codes = first_err(xe, err, oe)
        codes = np.where((codes == 0) & (ties == 0), np.int8(int(XlError.NA)), codes)
        return finish(place, codes)

    return Spec(run, "vrv", optional=1, category="aggregate")


def _percentile(ctx: Ctx, array: Any, k: Val) -> Val:
    """PERCENTILE.INC(array, k): the k-th percentile, interpolating between the numbers (k from 0 to 1)."""
    values, counted, errors = gather((array,), ctx)
    err = first_error_down(errors)
    kv, ke = numeric(k)
    kv, ke = np.broadcast_to(kv, (ctx.n,)), np.broadcast_to(ke, (ctx.n,))
    cnt = counted.sum(axis=0)
    ordered = np.sort(np.where(counted, values, np.inf), axis=0)
    with np.errstate(invalid="ignore"):
        pos = np.where((cnt > 0) & (kv >= 0) & (kv <= 1), kv * (cnt - 1), 0.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(cnt - 1, 0))
    cols = np.arange(ctx.n)
    if values.shape[0]:
        low, high = ordered[lo, cols], ordered[hi, cols]
        with np.errstate(invalid="ignore"):  # no number at all: inf - inf, an answer #NUM! replaces below
            out = np.where(np.isfinite(high), low + (pos - lo) * (high - low), low)
    else:
        out = np.zeros(ctx.n)
    codes = first_err(err, ke)
    codes = np.where((codes == 0) & ((cnt == 0) | (kv < 0) | (kv > 1)), np.int8(NUM_ERR), codes)
    return finish(np.where(codes == 0, out, 0.0), codes)


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
    "RANK.EQ": _rank(False), "RANK": _rank(False), "RANK.AVG": _rank(True),
    "PERCENTILE.INC": Spec(_percentile, "xv", category="aggregate"), "PERCENTILE": Spec(_percentile, "xv", category="aggregate"),
}

__all__ = ["TABLE", "first_error_down", "gather"]
