"""Criteria: COUNTIF(S), SUMIF(S), AVERAGEIF(S), MAXIFS, MINIFS, and the matching they share.

A criterion is a value or a text such as ``">=3"``, ``"<>x"``, ``"app*"`` (Microsoft's SUMIF page:
"?" matches one character, "*" any sequence, "~" before either matches it literally). The rules
(:func:`matcher`):

* an operator (``=``, ``<>``, ``<``, ``>``, ``<=``, ``>=``) may lead; the rest is the operand;
* an operand that reads as a number (``"3"``, ``"1e3"``, ``"25%"``, a date ``"2026/4/1"``)
  compares with numbers — and with text cells that read as that number, for ``=``/``<>``;
* ``TRUE``/``FALSE`` match booleans; an error text (``"#N/A"``) matches that error;
* other text compares with text, case-insensitively, with wildcards for ``=`` and ``<>`` only
  (``"[a]*"`` is the literal ``[`` — no character classes), lexically for ``<`` … ``>=``;
* an empty criterion matches empty cells (and ""), ``"<>"`` every cell that is not empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..excel_text import parse_number_text
from ..graph import Split
from ..values import BLANK, BOOL, NUM, TXT, Val, const, finish, map_distinct, ordered_sum
from .base import DIV0, Ctx, Rng, Spec, grid, grid_texts, spec

_OPS = ("<=", ">=", "<>", "=", "<", ">")
MAX_CRITERIA = 64  # different criteria over one run's input sets; more go one input set at a time

Matcher = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _wildcard(text: str) -> re.Pattern[str] | None:
    """A regular expression for a text with * ? wildcards, or None when it has none. A ~ makes the next
    character literal, whatever it is; a ~ at the end stands for nothing (SEARCH("~d","My dear") is 4)."""
    if "*" not in text and "?" not in text:
        return None
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "~":
            if i + 1 < len(text):
                out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.S | re.I)


def _unescape(text: str) -> str:
    """The text a ~-escaped pattern stands for: each ~ drops, the character after it stays."""
    return re.sub(r"~(.?)", r"\1", text, flags=re.S)


def matcher(criterion: Any) -> Matcher:
    """A test of cells (num, err, typ, txt; each (k, n)) against one criterion (a plain value)."""
    if isinstance(criterion, XlError):
        return lambda num, err, typ, txt: err == int(criterion)
    if isinstance(criterion, bool):
        return lambda num, err, typ, txt: (err == 0) & (typ == BOOL) & (num == float(criterion))
    if isinstance(criterion, float):
        return _numeric("=", criterion)
    if criterion is None:  # a criterion cell that is blank is 0, as measured in Excel
        return _numeric("=", 0.0)
    text = str(criterion)
    written = next((o for o in _OPS if text.startswith(o)), "")
    operand = text[len(written):]
    op = written or "="
    if operand == "":
        if not written:  # "": blank cells and cells holding ""
            return lambda num, err, typ, txt: (err == 0) & ((typ == BLANK) | ((typ == TXT) & (txt == "")))
        if op == "=":  # "=": blank cells only
            return lambda num, err, typ, txt: (err == 0) & (typ == BLANK)
        if op == "<>":  # "<>": every cell that is not blank, "" included
            return lambda num, err, typ, txt: (err != 0) | (typ != BLANK)
    err_code = XlError.from_text(operand) if operand.startswith("#") else None
    if err_code is not None and op in ("=", "<>"):
        hit_err: Matcher = lambda num, err, typ, txt: err == int(err_code)  # noqa: E731
        return hit_err if op == "=" else (lambda num, err, typ, txt: ~hit_err(num, err, typ, txt))
    if operand.upper() in ("TRUE", "FALSE") and op in ("=", "<>"):
        flag = float(operand.upper() == "TRUE")
        hit_bool: Matcher = lambda num, err, typ, txt: (err == 0) & (typ == BOOL) & (num == flag)  # noqa: E731
        return hit_bool if op == "=" else (lambda num, err, typ, txt: ~hit_bool(num, err, typ, txt))
    number = parse_number_text(operand)
    if number is not None:
        return _numeric(op, number)
    return _textual(op, operand)


def _parsed(text: Any) -> float:
    parsed = parse_number_text(str(text))
    return np.nan if parsed is None else parsed


def _numeric(op: str, operand: float) -> Matcher:
    def test(num: np.ndarray, err: np.ndarray, typ: np.ndarray, txt: np.ndarray) -> np.ndarray:
        values = np.array(num, dtype=float)
        isnum = (typ == NUM) & (err == 0)
        if op in ("=", "<>"):  # a text cell that reads as the number matches it too
            text = (typ == TXT) & (err == 0)
            if text.any():
                parsed = map_distinct(_parsed, np.broadcast_to(txt, np.shape(typ))[text], dtype=float)
                values[text] = np.where(np.isnan(parsed), values[text], parsed)
                isnum[text] = ~np.isnan(parsed)
        with np.errstate(invalid="ignore"):
            cmp = {"=": values == operand, "<>": values != operand, "<": values < operand, ">": values > operand,
                   "<=": values <= operand, ">=": values >= operand}[op]
        hit = isnum & cmp
        return hit | (~isnum) if op == "<>" else hit

    return test


def _textual(op: str, operand: str) -> Matcher:
    pattern = _wildcard(operand) if op in ("=", "<>") else None
    plain = _unescape(operand).lower()

    def one(text: Any) -> bool:
        s = str(text)
        if op in ("=", "<>"):
            return bool(pattern.fullmatch(s)) if pattern is not None else s.lower() == plain
        a = s.lower()
        return {"<": a < plain, ">": a > plain, "<=": a <= plain, ">=": a >= plain}[op]

    def test(num: np.ndarray, err: np.ndarray, typ: np.ndarray, txt: np.ndarray) -> np.ndarray:
        istxt = (typ == TXT) & (err == 0)
        hit = np.zeros(np.shape(typ), dtype=bool)
        if istxt.any():  # each distinct text tested once
            hit[istxt] = map_distinct(one, np.broadcast_to(txt, np.shape(typ))[istxt], dtype=bool)
        return ~hit if op == "<>" else hit

    return test


# --- evaluating criteria over ranges --------------------------------------------------------------


def _cells(arg: Any, ctx: Ctx) -> tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(shape, num, err, typ, txt) of a criteria or value range (each (k, n)); None when it is no range."""
    if isinstance(arg, Rng):
        v = arg.value(ctx)
        shape = arg.shape
    elif isinstance(arg, Val) and arg.dims is not None:
        v, shape = arg, arg.dims
    else:
        return None
    if shape == (1, 1) and v.dims is None:
        from ..values import as_block

        v = as_block(v)
    num, err, typ = grid(v, ctx.n)
    return shape, num, err, typ, grid_texts(v, ctx.n)


def _criteria_values(criteria: Val, n: int) -> list[tuple[Any, np.ndarray]]:
    """Each distinct criterion and the input sets it applies to."""
    from ..values import to_python

    if criteria.dims is not None:
        criteria = criteria.cell(0, 0)  # (an array of criteria gives an array result in Excel 365; here its first)
    shape_is_const = not any(np.ndim(p) for p in (criteria.num, criteria.err, criteria.typ)) and np.ndim(criteria.txt) == 0
    if shape_is_const:
        value = to_python(criteria, 1)[0]
        if int(criteria.typ) == BLANK and not int(criteria.err):
            value = None
        return [(value, np.ones(n, bool))]
    values = to_python(criteria, n)
    blank = np.broadcast_to(criteria.typ == BLANK, (n,)) & (np.broadcast_to(criteria.err, (n,)) == 0)
    groups: dict[str, tuple[Any, list[int]]] = {}
    for i, v in enumerate(values):
        v = None if blank[i] else v
        groups.setdefault(repr(v), (v, []))[1].append(i)
    if len(groups) > MAX_CRITERIA:  # the input sets go on in groups of at most MAX_CRITERIA criteria
        number = {key: i for i, key in enumerate(groups)}
        raise Split("criteria that differ between many input sets",
                    np.array([number[repr(None if blank[i] else v)] // MAX_CRITERIA for i, v in enumerate(values)]))
    out = []
    for v, where in groups.values():
        mask = np.zeros(n, bool)
        mask[where] = True
        out.append((v, mask))
    return out


def match_all(ctx: Ctx, pairs: list[tuple[Any, Val]]) -> tuple[tuple[int, int], np.ndarray] | Val:
    """The cells meeting every (range, criterion) pair, as a (k, n) mask; a Val error when the ranges
    are not ranges or differ in size."""
    mask: np.ndarray | None = None
    shape = None
    for rng, crit in pairs:
        cells = _cells(rng, ctx)
        if cells is None:
            return const(XlError.VALUE)
        cshape, num, err, typ, txt = cells
        if shape is not None and cshape != shape:
            return const(XlError.VALUE)
        shape = cshape
        hit = np.zeros(num.shape, bool)
        for value, where in _criteria_values(crit if crit is not None else const(None), ctx.n):
            hit = np.where(where[None, :], matcher(value)(num, err, typ, txt), hit)
        mask = hit if mask is None else mask & hit
    assert shape is not None and mask is not None
    return shape, mask


def _values_over(arg: Any, ctx: Ctx, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(num, err, counted) of the value range, sized like the criteria range from its top-left cell (SUMIF's rule)."""
    if isinstance(arg, Rng):
        arg = Rng(arg.sheet, arg.r1, arg.c1, arg.r1 + shape[0] - 1, arg.c1 + shape[1] - 1)
    cells = _cells(arg, ctx)
    if cells is None or cells[0] != shape:
        return None
    _, num, err, typ, _ = cells
    return num, err, (typ == NUM) & (err == 0)


def _aggregate(mode: str, matched: np.ndarray, num: np.ndarray, err: np.ndarray, counted: np.ndarray) -> Val:
    use = matched & counted
    bad = matched & (err != 0)
    first = np.argmax(bad, axis=0)
    codes = np.where(bad.any(axis=0), err[first, np.arange(err.shape[1])], 0).astype(np.int8)
    k = use.sum(axis=0)
    with np.errstate(all="ignore"):
        if mode == "sum":
            out = ordered_sum(np.where(use, num, 0.0))
        elif mode == "average":
            out = ordered_sum(np.where(use, num, 0.0)) / np.where(k == 0, 1, k)
            codes = np.where((codes == 0) & (k == 0), np.int8(DIV0), codes)
        elif mode == "max":
            out = np.where(k == 0, 0.0, np.where(use, num, -np.inf).max(axis=0))
        else:
            out = np.where(k == 0, 0.0, np.where(use, num, np.inf).min(axis=0))
    return finish(out, codes)


@spec("rv", category="criteria")
def COUNTIF(ctx: Ctx, rng: Any, criterion: Val) -> Val:
    found = match_all(ctx, [(rng, criterion)])
    if isinstance(found, Val):
        return found
    return Val(found[1].sum(axis=0).astype(float), 0, NUM)


@spec("rv", repeat="rv", category="criteria")
def COUNTIFS(ctx: Ctx, *args: Any) -> Val:
    if len(args) % 2:
        return const(XlError.VALUE)
    found = match_all(ctx, list(zip(args[::2], args[1::2])))
    if isinstance(found, Val):
        return found
    return Val(found[1].sum(axis=0).astype(float), 0, NUM)


def _if(mode: str) -> Spec:
    """SUMIF / AVERAGEIF(range, criterion, [value_range])."""

    def run(ctx: Ctx, rng: Any, criterion: Val, values: Any = None) -> Val:
        found = match_all(ctx, [(rng, criterion)])
        if isinstance(found, Val):
            return found
        shape, matched = found
        over = _values_over(values if values is not None else rng, ctx, shape)
        if over is None:
            return const(XlError.VALUE)
        return _aggregate(mode, matched, *over)

    return Spec(run, "rvr", optional=1, category="criteria")


def _ifs(mode: str) -> Spec:
    """SUMIFS / AVERAGEIFS / MAXIFS / MINIFS(value_range, range1, criterion1, …): ranges of one size."""

    def run(ctx: Ctx, values: Any, *pairs: Any) -> Val:
        if len(pairs) % 2 or not pairs:
            return const(XlError.VALUE)
        found = match_all(ctx, list(zip(pairs[::2], pairs[1::2])))
        if isinstance(found, Val):
            return found
        shape, matched = found
        cells = _cells(values, ctx)
        if cells is None or cells[0] != shape:
            return const(XlError.VALUE)
        _, num, err, typ, _ = cells
        return _aggregate(mode, matched, num, err, (typ == NUM) & (err == 0))

    return Spec(run, "rrv", repeat="rv", category="criteria")


TABLE: dict[str, Spec] = {
    "COUNTIF": COUNTIF, "COUNTIFS": COUNTIFS, "SUMIF": _if("sum"), "AVERAGEIF": _if("average"),
    "SUMIFS": _ifs("sum"), "AVERAGEIFS": _ifs("average"), "MAXIFS": _ifs("max"), "MINIFS": _ifs("min"),
}
