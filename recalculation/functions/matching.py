"""Where a lookup value is found among cells: the one matcher of MATCH, XMATCH, VLOOKUP, HLOOKUP, XLOOKUP.

Cells arrive as four arrays shaped (k, n) — k cells, n input sets — and the lookup value as a
:class:`~..values.Val` of n. A value only ever matches a cell of its own class (number, text,
logical): ``MATCH(5, {"5"}, 0)`` is #N/A. Numbers are equal at 15 significant digits, text
without regard to case; ``*`` ``?`` and ``~`` are wildcards where the caller asks for them.

* :func:`exact` — the first (or last) equal cell.
* :func:`nearest` — XLOOKUP's match_mode -1/1: the equal cell, else the largest smaller (or
  smallest larger) value, scanning every cell.
* :func:`binary` — MATCH 1/-1, VLOOKUP/HLOOKUP TRUE: the search Excel runs over the cells of
  the lookup value's class (blanks, other types and errors skipped). It assumes sorted data: on
  sorted data it finds the last value ≤ (or the first ≥) the lookup value; on unsorted data it
  answers what Excel's search meets (``MATCH(40, {25;38;40;41}, -1)`` is #N/A, as Microsoft's
  MATCH page shows; more cases measured in Excel are in tests/data/excel_measured.toml).

A position is 0-based, -1 when nothing matches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..values import BLANK, BOOL, EMPTY, NUM, TXT, Val, collapsed, map_distinct, round15
from .criteria import _wildcard

Cells = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # num, err, typ, txt; each (k, n)


def _classes(typ: np.ndarray) -> np.ndarray:
    """0 number, 1 text, 2 logical, 3 blank."""
    return np.select([typ == TXT, typ == BOOL, (typ == BLANK) | (typ == EMPTY)], [1, 2, 3], 0)


def _lower(s: Any) -> str:
    return str(s).lower()


def _needle(lookup: Val, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lookup value per input set: number (15 digits), lower-case text, class, error."""
    num = round15(np.broadcast_to(lookup.num, (n,)))
    err = np.broadcast_to(lookup.err, (n,)).astype(np.int8)
    typ = np.broadcast_to(np.where(lookup.typ == BLANK, NUM, lookup.typ), (n,))  # a blank looks up 0
    txt = map_distinct(_lower, lookup.texts((n,)))
    return num, txt, _classes(typ), err


def _text_keys(cells: Cells) -> np.ndarray:
    return map_distinct(_lower, cells[3])


def _equal(lookup: Val, cells: Cells, n: int, wildcards: bool) -> tuple[np.ndarray, np.ndarray]:
    """(k, n) mask of cells equal to the lookup value, and the lookup value's errors.

    Text is compared once per distinct lookup text (a wildcard pattern once per distinct cell text), not
    input set by input set."""
    num, err, typ, _ = cells
    lnum, ltxt, lclass, lerr = _needle(lookup, n)
    same = (_classes(typ) == lclass[None, :]) & (err == 0)
    with np.errstate(invalid="ignore"):
        eq = same & (lclass[None, :] != 1) & (round15(num) == lnum[None, :])
    text_columns = lclass == 1
    if text_columns.any():
        keys = _text_keys(cells)
        needles = set(np.asarray(ltxt, dtype=object)[text_columns].tolist())
        patterns = {t: _wildcard(t) for t in needles} if wildcards else {}
        plain = text_columns & ~np.isin(np.asarray(ltxt, dtype=object), [t for t, p in patterns.items() if p is not None])
        if plain.any():
            hit = np.asarray(keys == np.asarray(ltxt, dtype=object)[None, :], dtype=bool)
            eq = np.where(plain[None, :], same & hit, eq)
        for text, pattern in patterns.items():
            if pattern is None:
                continue
            cols = text_columns & (np.asarray(ltxt, dtype=object) == text)
            matched = map_distinct(lambda s, p=pattern: p.fullmatch(str(s)) is not None, cells[3], dtype=bool)
            eq = np.where(cols[None, :], same & matched, eq)
    return eq, lerr


def _first(mask: np.ndarray, last: bool) -> np.ndarray:
    k = mask.shape[0]
    if last:
        pos = k - 1 - np.argmax(mask[::-1], axis=0)
    else:
        pos = np.argmax(mask, axis=0)
    return np.where(mask.any(axis=0), pos, -1)


def exact(lookup: Val, cells: Cells, n: int, wildcards: bool = False, last: bool = False,
          blank_finds_blank: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Position of the first (``last``: the last) cell equal to the lookup value, and its errors.

    A blank lookup value is 0 for MATCH, VLOOKUP and HLOOKUP (it never finds a blank cell); for XMATCH
    and XLOOKUP (``blank_finds_blank``) it finds only blank cells, as measured in Excel.
    """
    eq, lerr = _equal(lookup, cells, n, wildcards)
    if blank_finds_blank:
        blank = np.broadcast_to(lookup.typ == BLANK, (n,))
        eq = np.where(blank[None, :], (_classes(cells[2]) == 3) & (cells[1] == 0), eq)
    return _first(eq, last), lerr


def nearest(lookup: Val, cells: Cells, n: int, larger: bool, last: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """XLOOKUP's next smaller (``larger``: next larger) match: the equal cell if any, else the closest one
    on that side; among equal candidates the first (``last``: the last)."""
    eq, lerr = _equal(lookup, cells, n, False)
    num, err, typ, _ = cells
    lnum, ltxt, lclass, _ = _needle(lookup, n)
    same = (_classes(typ) == lclass[None, :]) & (err == 0)
    keys = round15(np.where(typ == TXT, 0.0, num))
    target = lnum.astype(float).copy()
    text_columns = np.nonzero(lclass == 1)[0]
    if text_columns.size:  # texts are ordered by their rank among the column's texts and the needle
        texts = _text_keys(cells)
        for j in text_columns.tolist():
            rank = {t: float(i) for i, t in enumerate(sorted({*texts[typ[:, j] == TXT, j].tolist(), ltxt[j]}))}
            keys[:, j] = [rank.get(t, 0.0) for t in texts[:, j].tolist()]  # cells of other classes are not `same`
            target[j] = rank[ltxt[j]]
    with np.errstate(invalid="ignore"):
        side = same & ((keys > target[None, :]) if larger else (keys < target[None, :]))
    best = np.where(side, keys, np.inf if larger else -np.inf)
    extreme = best.min(axis=0) if larger else best.max(axis=0)
    closest = side & (best == extreme[None, :])
    return np.where(eq.any(axis=0), _first(eq, last), _first(closest, last)), lerr


def _search(keys: list[Any], needle: Any, descending: bool) -> int:
    """Where Excel's approximate match lands, as measured in Excel (no check that the keys are sorted).

    Ascending (MATCH 1, VLOOKUP TRUE): a binary search over an inclusive range; a probe equal to the
    lookup value ends it at the last key of that equal run, otherwise it keeps the last key ≤ the value
    it met (``MATCH(7,{1,5,7,7,7,9},1)`` is 5, ``MATCH(2,{3,1,5,2,4},1)`` is #N/A).
    Descending (MATCH -1): a scan from the top that stops at the first key equal to the value, or
    before the first key below it (``MATCH(7,{9,7,7,7,5},-1)`` is 2, ``MATCH(2,{3,1,5,2,4},-1)`` is 1,
    ``MATCH(40,{25;38;40;41},-1)`` is #N/A). -1 when nothing qualifies.
    """
    if descending:
        for i, key in enumerate(keys):
            if key == needle:
                return i
            if key < needle:
                return i - 1
        return len(keys) - 1
    lo, hi, found = 0, len(keys) - 1, -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if keys[mid] == needle:
            while mid + 1 < len(keys) and keys[mid + 1] == needle:
                mid += 1
            return mid
        if keys[mid] < needle:
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    return found


def binary(lookup: Val, cells: Cells, n: int, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Binary search among the cells of the lookup value's class (blanks and other types are skipped, as
    Excel skips them): the last cell ≤ the lookup value (``descending``: ≥) that the search lands on.

    Input sets that share the table and the lookup value are searched once (a table that is the same in
    every input set: once per distinct lookup value)."""
    num, err, typ, _ = cells
    lnum, ltxt, lclass, lerr = _needle(lookup, n)
    classes = _classes(typ)
    texts = _text_keys(cells) if (lclass == 1).any() else None
    shared = all(collapsed(np.asarray(a)).shape[1:] == (1,) for a in (num, err, typ, cells[3]))  # one table for all
    out = np.full(n, -1)
    columns: dict[Any, int] = {}
    for j in range(n):
        needle: Any = ltxt[j] if lclass[j] == 1 else float(lnum[j])
        memo: Any = (int(lclass[j]), needle) if shared else None
        if memo is not None and memo in columns:
            out[j] = columns[memo]
            continue
        rows = np.nonzero((classes[:, j] == lclass[j]) & (err[:, j] == 0))[0]
        if rows.size == 0:
            continue
        if lclass[j] == 1:
            assert texts is not None
            keys: list[Any] = [texts[i, j] for i in rows.tolist()]
        else:
            keys = round15(num[rows, j]).tolist()
        if memo is None and n > 1:  # input sets sharing the table and the value: search once
            memo = (tuple(rows.tolist()), tuple(keys), needle)
            if memo in columns:
                out[j] = columns[memo]
                continue
        at = _search(keys, needle, descending)
        out[j] = int(rows[at]) if at >= 0 else -1
        if memo is not None:
            columns[memo] = int(out[j])
    return out, lerr
