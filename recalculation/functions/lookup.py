"""Lookups and references: INDEX, MATCH, XMATCH, VLOOKUP, HLOOKUP, XLOOKUP, CHOOSE, OFFSET, ROW, COLUMN,
ROWS, COLUMNS, TRANSPOSE.

Finding a value (exact, nearest, binary search; classes, wildcards, 15 digits) is
:mod:`.matching`'s job. INDEX and OFFSET return references where Excel does
(``INDEX(A1:B2,1,1):B2``); OFFSET's target is found at run time, so the graph orders a formula
using OFFSET after the formulas of the sheet it reads (``graph.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..graph import Unsupported
from ..values import NUM, TXT, Val, as_block, const, finish, first_err, numeric
from ..values import block as make_block
from . import matching
from .base import NA, REF, VALUE, Ctx, Rng, Spec, as_value, grid, grid_texts, spec


def _scalar_int(v: Val | None, default: int, ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """An integer argument (truncated) and its errors, shaped (n,)."""
    if v is None:
        return np.full(ctx.n, float(default)), np.zeros(ctx.n, np.int8)
    x, e = numeric(v)
    return np.trunc(np.broadcast_to(x, (ctx.n,))), np.broadcast_to(e, (ctx.n,)).astype(np.int8)


def lifted(impl: Callable[..., Any]) -> Callable[..., Any]:
    """A lookup over an array of lookup values gives an array of results, one per value (Excel 365
    lifts functions that take one value over arrays; a dynamic-array formula can hand them one)."""

    def run(ctx: Ctx, lookup: Val, *rest: Any) -> Any:
        if not isinstance(lookup, Val) or lookup.dims is None:
            return impl(ctx, lookup, *rest)
        rows, cols = lookup.dims

        def one(r: int, c: int) -> Val:
            out = as_value(impl(ctx, lookup.cell(r, c), *rest), ctx)
            return out.cell(0, 0) if out.dims is not None else out

        return make_block([[one(r, c) for c in range(cols)] for r in range(rows)])

    return run


def _cells(block: Val, n: int) -> matching.Cells:
    num, err, typ = grid(block, n)
    return num, err, typ, grid_texts(block, n)


@spec("vav", optional=1, category="lookup")
@lifted
def MATCH(ctx: Ctx, lookup: Val, array: Val, match_type: Val | None = None) -> Val:
    """MATCH(value, array, [type=1]): 1-based position; #N/A when none; a 2-D array is #N/A."""
    block = as_block(array)
    rows, cols = block.dims or (1, 1)
    if rows > 1 and cols > 1:
        return const(XlError.NA)
    kind, ke = _scalar_int(match_type, 1, ctx)
    cells = _cells(block, ctx.n)
    pos = np.full(ctx.n, -1)
    le = np.zeros(ctx.n, np.int8)
    for mode in np.unique(np.sign(kind)).tolist():
        if mode == 0:
            found, le = matching.exact(lookup, cells, ctx.n, wildcards=True)
        else:
            found, le = matching.binary(lookup, cells, ctx.n, descending=mode < 0)
        pos = np.where(np.sign(kind) == mode, found, pos)
    codes = first_err(le, ke)
    codes = np.where((codes == 0) & (pos < 0), np.int8(NA), codes)
    return finish(pos + 1.0, codes)


@spec("vavv", optional=2, category="lookup")
@lifted
def XMATCH(ctx: Ctx, lookup: Val, array: Val, match_mode: Val | None = None, search_mode: Val | None = None) -> Val:
    block = as_block(array)
    rows, cols = block.dims or (1, 1)
    if rows > 1 and cols > 1:
        return const(XlError.VALUE)
    pos, codes = _xfind(ctx, lookup, block, match_mode, search_mode)
    return finish(pos + 1.0, codes)


def _xfind(ctx: Ctx, lookup: Val, block: Val, match_mode: Val | None, search_mode: Val | None) -> tuple[np.ndarray, np.ndarray]:
    mode, me = _scalar_int(match_mode, 0, ctx)
    search, se = _scalar_int(search_mode, 1, ctx)
    cells = _cells(block, ctx.n)
    pos = np.full(ctx.n, -1)
    le = np.zeros(ctx.n, np.int8)
    for m in np.unique(mode).tolist():
        for s in np.unique(search).tolist():
            if int(m) not in (0, -1, 1, 2) or int(s) not in (1, -1, 2, -2):
                continue
            # the binary modes (±2) give the linear search's answer: the same on the sorted data they require
            last = int(s) in (-1, -2)
            if int(m) in (0, 2):
                found, le = matching.exact(lookup, cells, ctx.n, wildcards=int(m) == 2, last=last, blank_finds_blank=True)
            else:
                found, le = matching.nearest(lookup, cells, ctx.n, larger=int(m) == 1, last=last)
            pos = np.where((mode == m) & (search == s), found, pos)
    codes = first_err(le, me, se)
    bad_mode = ~np.isin(mode, (0, -1, 1, 2)) | ~np.isin(search, (1, -1, 2, -2))
    codes = np.where((codes == 0) & bad_mode, np.int8(VALUE), codes)
    codes = np.where((codes == 0) & (pos < 0), np.int8(NA), codes)
    return pos, codes


def _pick(block: Val, rows: np.ndarray, cols: np.ndarray, n: int) -> Val:
    """Element j takes cell (rows[j], cols[j]) of the block (valid positions only)."""
    b = as_block(block)
    # an erroneous position (NaN) picks cell 0: its result is replaced by the error anyway
    r = np.clip(np.nan_to_num(rows, nan=0.0), 0, (b.dims or (1, 1))[0] - 1).astype(int)
    c = np.clip(np.nan_to_num(cols, nan=0.0), 0, (b.dims or (1, 1))[1] - 1).astype(int)
    j = np.arange(n)
    full = b.broadcast((*(b.dims or (1, 1)), n))
    txt = full.texts()[r, c, j] if full.txt is not None else None
    return Val(full.num[r, c, j], full.err[r, c, j], full.typ[r, c, j], txt)


def _lookup_table(vertical: bool) -> Spec:
    """VLOOKUP / HLOOKUP(value, table, index, [approximate=TRUE])."""

    def run(ctx: Ctx, lookup: Val, table: Val, index: Val, approximate: Val | None = None) -> Val:
        if table.dims is None and np.all(table.typ == TXT):  # a text is no table: HLOOKUP(x,"Nothing",1) is #VALUE!
            return const(XlError.VALUE)
        block = as_block(table)
        rows, cols = block.dims or (1, 1)
        key = block.broadcast((rows, cols, block.shape[2]))
        first = Val(key.num[:, :1] if vertical else key.num[:1, :], key.err[:, :1] if vertical else key.err[:1, :],
                    key.typ[:, :1] if vertical else key.typ[:1, :],
                    None if key.txt is None else (key.texts()[:, :1] if vertical else key.texts()[:1, :]),
                    (rows, 1) if vertical else (1, cols))
        cells = _cells(first, ctx.n)
        idx, ie = _scalar_int(index, 1, ctx)
        if approximate is None:
            approx = np.ones(ctx.n, bool)
            ae = np.zeros(ctx.n, np.int8)
        else:
            from ..values import truth

            t, ae = truth(approximate)
            approx, ae = np.broadcast_to(t, (ctx.n,)), np.broadcast_to(ae, (ctx.n,))
        exact, le = matching.exact(lookup, cells, ctx.n, wildcards=True)
        near, _ = matching.binary(lookup, cells, ctx.n) if approx.any() else (exact, le)
        pos = np.where(approx, near, exact)
        width = cols if vertical else rows
        codes = first_err(le, ie, ae)
        codes = np.where((codes == 0) & (idx < 1), np.int8(VALUE), codes)
        codes = np.where((codes == 0) & (idx > width), np.int8(REF), codes)
        codes = np.where((codes == 0) & (pos < 0), np.int8(NA), codes)
        r, c = (pos, idx - 1) if vertical else (idx - 1, pos)
        out = _pick(block, r, c, ctx.n)
        return _with_errors(out, codes)

    return Spec(lifted(run), "vavv", optional=1, category="lookup")


def _with_errors(v: Val, codes: np.ndarray) -> Val:
    err = np.where(codes != 0, codes, v.err).astype(np.int8)
    return Val(np.where(err == 0, v.num, np.nan), err, np.where(codes != 0, NUM, v.typ), v.txt)


@spec("vaavvv", optional=3, category="lookup")
@lifted
def XLOOKUP(ctx: Ctx, lookup: Val, lookup_array: Val, return_array: Val, if_not_found: Val | None = None,
            match_mode: Val | None = None, search_mode: Val | None = None) -> Val:
    """XLOOKUP: the return array's cell (or row/column) at the match; if_not_found when none, else #N/A."""
    keys = as_block(lookup_array)
    krows, kcols = keys.dims or (1, 1)
    if krows > 1 and kcols > 1:
        return const(XlError.VALUE)
    ret = as_block(return_array)
    rrows, rcols = ret.dims or (1, 1)
    vertical = (kcols == 1 and krows > 1) or (krows == 1 and kcols == 1 and rrows == 1 and rcols == 1) or kcols == 1
    length = krows if vertical else kcols
    if (rrows if vertical else rcols) != length:
        return const(XlError.VALUE)
    pos, codes = _xfind(ctx, lookup, keys, match_mode, search_mode)
    missing = codes == NA
    if if_not_found is not None:
        codes = np.where(missing, np.int8(0), codes)
    if (rcols if vertical else rrows) == 1:
        r, c = (pos, np.zeros(ctx.n)) if vertical else (np.zeros(ctx.n), pos)
        out = _with_errors(_pick(ret, r, c, ctx.n), codes)
    else:  # a whole row (or column) of the return array: a block
        width = rcols if vertical else rrows
        cells = [_with_errors(_pick(ret, pos if vertical else np.full(ctx.n, i), np.full(ctx.n, i) if vertical else pos,
                                    ctx.n), codes) for i in range(width)]
        out = make_block([cells] if vertical else [[c] for c in cells])
    if if_not_found is not None:
        from .logic import select

        out = select(missing if out.dims is None else missing[None, None, :], if_not_found, out)
    return out


@spec("xvvv", optional=2, category="lookup")
def INDEX(ctx: Ctx, array: Any, row: Val, col: Val | None = None, area: Val | None = None) -> Any:
    """INDEX(array, row, [column]): a reference stays a reference (``INDEX(A1:B2,1,1):B2``); 0 takes a whole row or column."""
    if area is not None:
        a, ae = _scalar_int(area, 1, ctx)
        if np.any(ae) or np.any(a != 1):
            return const(XlError.REF)
    if isinstance(array, Rng):
        rows, cols = array.shape
    else:
        array = as_block(const(None) if array is None else array)
        rows, cols = array.dims or (1, 1)
    r, re_ = _scalar_int(row, 1, ctx) if row is not None else (np.zeros(ctx.n), np.zeros(ctx.n, np.int8))
    c, ce = _scalar_int(col, 1 if rows == 1 or cols == 1 else 0, ctx) if col is not None else (
        np.zeros(ctx.n) if rows > 1 and cols > 1 else np.ones(ctx.n), np.zeros(ctx.n, np.int8))
    if col is None and rows == 1 and cols > 1:  # INDEX(row_range, n) counts along the row
        r, c = np.ones(ctx.n), r
    codes = first_err(re_, ce)
    codes = np.where((codes == 0) & ((r < 0) | (c < 0)), np.int8(VALUE), codes)  # a negative position is #VALUE!
    codes = np.where((codes == 0) & ((r > rows) | (c > cols)), np.int8(REF), codes)  # outside the array is #REF!
    uniform = np.all(r == r[0]) and np.all(c == c[0]) and np.all(codes == codes[0])
    if uniform:
        if codes[0]:
            return Val(np.nan, codes[0], NUM)
        ri, ci = int(r[0]), int(c[0])
        if isinstance(array, Rng):
            return Rng(array.sheet, array.r1 + (ri - 1 if ri else 0), array.c1 + (ci - 1 if ci else 0),
                       array.r1 + (ri - 1 if ri else rows - 1), array.c1 + (ci - 1 if ci else cols - 1))
        if ri == 0 or ci == 0:
            full = array.broadcast((rows, cols, array.shape[2]))
            sl = (slice(None) if ri == 0 else slice(ri - 1, ri), slice(None) if ci == 0 else slice(ci - 1, ci))
            part = Val(full.num[sl], full.err[sl], full.typ[sl], None if full.txt is None else full.texts()[sl],
                       (rows if ri == 0 else 1, cols if ci == 0 else 1))
            return part if part.dims != (1, 1) else part.cell(0, 0)
        return array.cell(ri - 1, ci - 1)
    if np.any((r == 0) | (c == 0)):
        raise Unsupported("INDEX of a whole row or column chosen per input set")
    block = as_block(array.value(ctx)) if isinstance(array, Rng) else array
    return _with_errors(_pick(block, r - 1, c - 1, ctx.n), codes)


@spec("vx", repeat="x", category="lookup", chooses=True)
def CHOOSE(ctx: Ctx, index: Val, *choices: Any) -> Any:
    """CHOOSE(index, value1, …): the index-th value (a reference stays one when the index is the same for all)."""
    i, e = numeric(index)
    i = np.trunc(np.broadcast_to(i, (ctx.n,)))
    e = np.broadcast_to(e, (ctx.n,)).astype(np.int8)
    codes = np.where((e == 0) & ((i < 1) | (i > len(choices))), np.int8(VALUE), e)
    if np.all(i == i[0]) and np.all(codes == codes[0]):
        if codes[0]:
            return Val(np.nan, codes[0], NUM)
        chosen = choices[int(i[0]) - 1]
        return const(0.0) if chosen is None else chosen
    from .base import as_value
    from .logic import select

    if any(isinstance(c, Rng) for c in choices):  # a reference chosen differently per input set: each file alone
        raise Unsupported("a reference chosen differently in different files")
    out = Val(np.nan, codes, NUM)
    for k, choice in enumerate(choices, start=1):
        out = select(i == k, as_value(choice, ctx), out)
    return out


@spec("rvvvv", optional=2, category="lookup")
def OFFSET(ctx: Ctx, ref: Any, rows: Val, cols: Val, height: Val | None = None, width: Val | None = None) -> Any:
    """OFFSET(reference, rows, cols, [height], [width]): a reference; off the sheet is #REF!."""
    if not isinstance(ref, Rng):
        return const(XlError.VALUE)
    parts = [_scalar_int(v, 0, ctx) for v in (rows, cols)]
    parts += [_scalar_int(v, d, ctx) for v, d in ((height, ref.shape[0]), (width, ref.shape[1]))]
    values = [p[0] for p in parts]
    codes = first_err(*(p[1] for p in parts))
    if not all(np.all(v == v[0]) for v in values) or not np.all(codes == codes[0]):
        raise Unsupported("OFFSET whose position or size differs between input sets")
    if codes[0]:
        return Val(np.nan, codes[0], NUM)
    moved = ref.offset(int(values[0][0]), int(values[1][0]), int(values[2][0]), int(values[3][0]))
    return const(XlError.REF) if moved is None else moved


def _row_col(which: str) -> Spec:
    def run(ctx: Ctx, ref: Any = None) -> Val:
        if ref is None:
            return const(float(ctx.cell[1] if which == "row" else ctx.cell[2]))
        if not isinstance(ref, Rng):
            return const(XlError.VALUE)
        return const(float(ref.r1 if which == "row" else ref.c1))

    return Spec(run, "r", optional=1, category="lookup")


def _count_rc(which: str) -> Spec:
    def run(ctx: Ctx, array: Any) -> Val:
        if isinstance(array, Rng):
            rows, cols = array.shape
        elif array is None:
            rows, cols = 1, 1
        else:
            rows, cols = array.dims or (1, 1)
        return const(float(rows if which == "rows" else cols))

    return Spec(run, "x", category="lookup")


@spec("a", category="lookup")
def TRANSPOSE(ctx: Ctx, array: Val) -> Val:
    b = as_block(array)
    full = b.broadcast((*(b.dims or (1, 1)), b.shape[2]))
    rows, cols = b.dims or (1, 1)
    return Val(full.num.transpose(1, 0, 2), full.err.transpose(1, 0, 2), full.typ.transpose(1, 0, 2),
               None if full.txt is None else full.texts().transpose(1, 0, 2), (cols, rows))


TABLE: dict[str, Spec] = {
    "INDEX": INDEX, "MATCH": MATCH, "XMATCH": XMATCH, "VLOOKUP": _lookup_table(True), "HLOOKUP": _lookup_table(False),
    "XLOOKUP": XLOOKUP, "CHOOSE": CHOOSE, "OFFSET": OFFSET, "ROW": _row_col("row"), "COLUMN": _row_col("column"),
    "ROWS": _count_rc("rows"), "COLUMNS": _count_rc("columns"), "TRANSPOSE": TRANSPOSE,
}
