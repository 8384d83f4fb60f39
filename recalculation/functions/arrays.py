"""Dynamic arrays: SEQUENCE, FILTER, UNIQUE, SORT, SORTBY.

Their results are blocks. When the result's size differs between input sets (FILTER, UNIQUE),
the block has the largest size and the cells a set's result does not reach are empty; in a
dynamic-array formula those cells lose their cached value, as Excel's spill range would shrink.
FILTER with nothing to keep is ``#CALC!`` unless if_empty is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..graph import Unsupported
from ..values import BLANK, EMPTY, NUM, TXT, Val, as_block, const, finish, first_err, numeric, round15, truth
from .base import VALUE, Ctx, Spec, spec


def _const_int(v: Val | None, default: int, ctx: Ctx) -> tuple[int, int]:
    """An integer argument that must be the same for every input set (it sets the result's size)."""
    if v is None:
        return default, 0
    x, e = numeric(v)
    x = np.broadcast_to(np.trunc(x), (ctx.n,))
    e = np.broadcast_to(e, (ctx.n,))
    if not (np.all(x == x[0]) and np.all(e == e[0])):
        raise Unsupported("an array size that differs between input sets")
    return int(x[0]) if not e[0] else 0, int(e[0])


@spec("vvvv", optional=3, category="array")
def SEQUENCE(ctx: Ctx, rows: Val, cols: Val | None = None, start: Val | None = None, step: Val | None = None) -> Val:
    r, re_ = _const_int(rows, 1, ctx)
    c, ce = _const_int(cols, 1, ctx)
    if re_ or ce:
        return const(XlError(re_ or ce))
    if r < 1 or c < 1 or r * c > 1_048_576:
        return const(XlError.CALC if r == 0 or c == 0 else XlError.VALUE)
    s, se = numeric(start if start is not None else const(1.0))
    d, de = numeric(step if step is not None else const(1.0))
    k = np.arange(r * c, dtype=float).reshape(r, c, 1)
    values = np.asarray(s)[..., None, None, :] if np.ndim(s) else s
    steps = np.asarray(d)[..., None, None, :] if np.ndim(d) else d
    num = (np.reshape(values, (1, 1, -1)) if np.ndim(values) else values) + k * (np.reshape(steps, (1, 1, -1)) if np.ndim(steps) else steps)
    err = first_err(se, de)
    err3 = np.reshape(err, (1, 1, -1)) if np.ndim(err) else err
    return finish(num, np.broadcast_to(err3, num.shape).astype(np.int8), (r, c))


def _rows_of(block: Val, n: int, by_col: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(num, err, typ, txt) of a block as (records, fields, n): rows, or columns when ``by_col``."""
    rows, cols = block.dims or (1, 1)
    full = block.broadcast((rows, cols, n))
    num, err, typ, txt = full.num, full.err, full.typ, full.texts()
    if by_col:
        return num.transpose(1, 0, 2), err.transpose(1, 0, 2), typ.transpose(1, 0, 2), txt.transpose(1, 0, 2)
    return num, err, typ, txt


def _assemble(records: list[list[int]], parts: tuple[np.ndarray, ...], n: int, by_col: bool, fields: int) -> Val:
    """A block of the chosen records of each input set (index lists). Its size is part of the result, so
    input sets that would get different sizes cannot share a run: each file goes on its own."""
    if len({len(r) for r in records}) > 1:
        raise Unsupported("an array whose size differs between files (FILTER, UNIQUE)")
    count = max((len(r) for r in records), default=0)
    count = max(count, 1)
    num = np.zeros((count, fields, n))
    err = np.zeros((count, fields, n), np.int8)
    typ = np.full((count, fields, n), EMPTY, np.int8)
    txt = np.full((count, fields, n), "", dtype=object)
    src_num, src_err, src_typ, src_txt = parts
    for j, chosen in enumerate(records):
        for k, rec in enumerate(chosen):
            num[k, :, j] = src_num[rec, :, j]
            err[k, :, j] = src_err[rec, :, j]
            typ[k, :, j] = src_typ[rec, :, j]
            txt[k, :, j] = src_txt[rec, :, j]
    if by_col:
        num, err, typ, txt = num.transpose(1, 0, 2), err.transpose(1, 0, 2), typ.transpose(1, 0, 2), txt.transpose(1, 0, 2)
    dims = (fields, count) if by_col else (count, fields)
    return Val(num, err, typ, txt, dims)


@spec("aav", optional=1, category="array")
def FILTER(ctx: Ctx, array: Val, include: Val, if_empty: Val | None = None) -> Val:
    """FILTER(array, include, [if_empty]): the rows (or columns) whose include value is TRUE."""
    block = as_block(array)
    rows, cols = block.dims or (1, 1)
    inc = as_block(include)
    irows, icols = inc.dims or (1, 1)
    if icols == 1 and irows == rows:
        by_col = False
    elif irows == 1 and icols == cols:
        by_col = True
    else:
        return const(XlError.VALUE)
    keep, kerr = truth(inc)
    keep = np.broadcast_to(keep, (irows, icols, ctx.n)).reshape(-1, ctx.n)
    kerr = np.broadcast_to(kerr, (irows, icols, ctx.n)).reshape(-1, ctx.n)
    parts = _rows_of(block, ctx.n, by_col)
    records = [[i for i in range(keep.shape[0]) if keep[i, j] and not kerr[i, j]] for j in range(ctx.n)]
    out = _assemble(records, parts, ctx.n, by_col, cols if not by_col else rows)
    bad = np.asarray(kerr.any(axis=0))
    empty = np.array([not r for r in records], dtype=bool)
    first = np.where(bad, kerr[np.argmax(kerr != 0, axis=0), np.arange(ctx.n)], 0)
    if not (bad.any() or empty.any()):
        return out
    alt = if_empty if if_empty is not None else const(XlError.CALC)
    from .logic import select

    out = select((empty & ~bad)[None, None, :], alt, out) if out.dims is not None else out
    if bad.any():
        out = select(bad[None, None, :], Val(np.nan, first.astype(np.int8), NUM), out)
    return out


def _key(num: float, typ: int, txt: str) -> tuple[int, Any]:
    if typ == TXT:
        return (1, txt.lower())
    if typ == 2:
        return (2, bool(num))
    if typ in (BLANK, EMPTY):
        return (3, 0)
    return (0, float(round15(np.asarray(num))))


@spec("avv", optional=2, category="array")
def UNIQUE(ctx: Ctx, array: Val, by_col: Val | None = None, exactly_once: Val | None = None) -> Val:
    block = as_block(array)
    col_wise = bool(_const_int(by_col, 0, ctx)[0])
    once = bool(_const_int(exactly_once, 0, ctx)[0])
    parts = _rows_of(block, ctx.n, col_wise)
    num, err, typ, txt = parts
    records = []
    for j in range(ctx.n):
        seen: dict[tuple[Any, ...], list[int]] = {}
        for i in range(num.shape[0]):
            key = tuple((int(err[i, f, j]), *_key(num[i, f, j], int(typ[i, f, j]), str(txt[i, f, j]))) for f in range(num.shape[1]))
            seen.setdefault(key, []).append(i)
        records.append([idx[0] for idx in seen.values() if not once or len(idx) == 1])
    if any(not r for r in records):
        out = _assemble(records, parts, ctx.n, col_wise, num.shape[1])
        from .logic import select

        empty = np.array([not r for r in records])
        return select(empty[None, None, :], const(XlError.CALC), out)
    return _assemble(records, parts, ctx.n, col_wise, num.shape[1])


def _sort_records(parts: tuple[np.ndarray, ...], j: int, keys: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]) -> list[int]:
    count = parts[0].shape[0]

    def sort_key(i: int) -> tuple[Any, ...]:
        out: list[Any] = []
        for num, typ, txt, order in keys:
            k = _key(num[i, j], int(typ[i, j]), str(txt[i, j]))
            rank = k[0]
            value = k[1]
            if order < 0:  # descending: larger first, blanks still last
                out.append((rank == 3, -rank if rank != 3 else 0, _neg(value)))
            else:
                out.append((rank == 3, rank, value))
        return tuple(out)

    return sorted(range(count), key=sort_key)


class _neg:
    """Reverses the order of any comparable value (for descending sorts of text)."""

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: _neg) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _neg) and self.value == other.value


@spec("avvv", optional=3, category="array")
def SORT(ctx: Ctx, array: Val, index: Val | None = None, order: Val | None = None, by_col: Val | None = None) -> Val:
    block = as_block(array)
    col_wise = bool(_const_int(by_col, 0, ctx)[0])
    idx, ie = _const_int(index, 1, ctx)
    direction, de = _const_int(order, 1, ctx)
    parts = _rows_of(block, ctx.n, col_wise)
    fields = parts[0].shape[1]
    if ie or de or not 1 <= idx <= fields or direction not in (1, -1):
        return const(XlError(ie or de) if ie or de else XlError.VALUE)
    num, _, typ, txt = parts
    records = [_sort_records(parts, j, [(num[:, idx - 1], typ[:, idx - 1], txt[:, idx - 1], direction)]) for j in range(ctx.n)]
    return _assemble(records, parts, ctx.n, col_wise, fields)


@spec("aav", repeat="av", category="array")
def SORTBY(ctx: Ctx, array: Val, *by: Val | None) -> Val:
    block = as_block(array)
    rows, cols = block.dims or (1, 1)
    parts = _rows_of(block, ctx.n, False)
    keys = []
    for i in range(0, len(by), 2):
        given = by[i]
        key = as_block(given if given is not None else const(None))
        krows, kcols = key.dims or (1, 1)
        if (krows, kcols) != (rows, 1):
            return const(XlError.VALUE)
        direction, de = _const_int(by[i + 1] if i + 1 < len(by) else None, 1, ctx)
        if de or direction not in (1, -1):
            return const(XlError.VALUE)
        knum, _, ktyp, ktxt = _rows_of(key, ctx.n, False)
        keys.append((knum[:, 0], ktyp[:, 0], ktxt[:, 0], direction))
    records = [_sort_records(parts, j, keys) for j in range(ctx.n)]
    return _assemble(records, parts, ctx.n, False, cols)


TABLE: dict[str, Spec] = {"SEQUENCE": SEQUENCE, "FILTER": FILTER, "UNIQUE": UNIQUE, "SORT": SORT, "SORTBY": SORTBY}

__all__ = ["TABLE", "VALUE", "Any"]
