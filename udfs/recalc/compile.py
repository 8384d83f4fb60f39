"""The fast path: a workbook's formula graph compiled once into numpy over N input sets.

Each formula becomes a closure over column arrays (:class:`~.values.Val`), so one
run evaluates every scenario of a table, or every file of a batch that shares the
same formulas, at numpy speed. Excel's semantics are kept where they matter for
the template: errors travel as ERROR.TYPE codes (leftmost argument wins), blanks
are 0, numeric text converts in arithmetic, IF picks per element, ROUND* round as
Excel does, and the KPI functions run through their own vectorised ``.evaluate``.

What the compiler does not know raises :class:`~.graph.Unsupported` at compile time
and the workbook goes to the general evaluator (``formulas``) instead — never a
silent approximation. A function neither path knows is ``#NAME?`` in both, as in Excel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..excel_values import XlError
from ..kpi_function import KpiFunction
from .excel_round import excel_round
from .graph import Graph, Key, Node, Unsupported, address
from .values import BLANK, BLANK_VAL, BOOL, NUM, TXT, Val, as_text, const, first_err, numeric

Env = dict[Key, Val]
Thunk = Callable[[Env], Any]

DIV0, VALUE, REF, NAME, NUM_ERR, NA = (int(e) for e in (XlError.DIV0, XlError.VALUE, XlError.REF, XlError.NAME, XlError.NUM, XlError.NA))


@dataclass
class Rng:
    """A reference to a block of cells, evaluated lazily to its cells' Vals (row-major)."""

    keys: list[Key]
    shape: tuple[int, int]


def _finish(num: np.ndarray, err: np.ndarray) -> Val:
    """A numeric result: non-finite values become #NUM!, errored elements hold NaN."""
    with np.errstate(invalid="ignore"):
        bad = (err == 0) & ~np.isfinite(num)
    err = np.where(bad, np.int8(NUM_ERR), err).astype(np.int8)
    return Val(np.where(err == 0, num, np.nan), err, NUM)


# --- operators ----------------------------------------------------------------------------


def _arith(op: str) -> Callable[[Val, Val], Val]:
    def run(a: Val, b: Val) -> Val:
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
                zero = (y == 0) & (err == 0)
                out = x / np.where(y == 0, 1.0, y)
                err = np.where(zero, np.int8(DIV0), err)
            else:  # "^": 0^0 and 0^negative are errors in Excel
                out = np.power(x, y)
                err = np.where((err == 0) & (x == 0) & (y == 0), np.int8(NUM_ERR), err)
                err = np.where((err == 0) & (x == 0) & (y < 0), np.int8(DIV0), err)
        return _finish(out, err)

    return run


def _compare_key(v: Val, other: Val) -> tuple[np.ndarray, np.ndarray, Any]:
    """Type class (0 number, 1 text, 2 boolean) and comparable value; blanks take the other side's type."""
    cls = np.select([v.typ == TXT, v.typ == BOOL], [1, 2], 0)
    other_cls = np.select([other.typ == TXT, other.typ == BOOL], [1, 2], 0)
    cls = np.where(v.typ == BLANK, np.where(other.typ == BLANK, 0, other_cls), cls)
    return cls, v.num, v.txt


def _compare(op: str) -> Callable[[Val, Val], Val]:
    def run(a: Val, b: Val) -> Val:
        ca, na, ta = _compare_key(a, b)
        cb, nb, tb = _compare_key(b, a)
        shape = np.broadcast_shapes(ca.shape, cb.shape, na.shape, nb.shape)
        # -1 / 0 / 1 ordering: number < text < boolean, text compared case-insensitively
        order = np.sign(np.subtract(ca, cb, dtype=float))
        both_num = (ca == cb) & (ca != 1)
        with np.errstate(invalid="ignore"):
            order = np.where(both_num, np.sign(na - nb), order)
        both_txt = np.broadcast_to((ca == 1) & (cb == 1), shape)
        if both_txt.any():
            n = shape[0] if shape else 1
            sa = np.broadcast_to(np.asarray(ta if ta is not None else "", dtype=object), (n,))
            sb = np.broadcast_to(np.asarray(tb if tb is not None else "", dtype=object), (n,))
            sa = np.where(np.broadcast_to(a.typ == BLANK, (n,)), "", sa)
            sb = np.where(np.broadcast_to(b.typ == BLANK, (n,)), "", sb)
            txt_order = np.array([(x.lower() > y.lower()) - (x.lower() < y.lower()) for x, y in zip(sa, sb)], dtype=float)
            order = np.where(np.broadcast_to(both_txt, (n,)), txt_order, np.broadcast_to(order, (n,)))
        result = {"=": order == 0, "<>": order != 0, "<": order < 0, ">": order > 0, "<=": order <= 0, ">=": order >= 0}[op]
        err = first_err(a.err, b.err)
        return Val(np.where(err == 0, result.astype(float), np.nan), err, BOOL)

    return run


def _concat(a: Val, b: Val, n: int) -> Val:
    sa, ea = as_text(a, n)
    sb, eb = as_text(b, n)
    err = first_err(ea, eb)
    txt = np.array([x + y for x, y in zip(sa, sb)], dtype=object)
    return Val(np.where(err == 0, 0.0, np.nan), err, np.where(err == 0, TXT, NUM), txt)


def _unary(op: str, a: Val) -> Val:
    x, e = numeric(a)
    if op == "u-":
        return _finish(-x, e)
    if op == "%":
        return _finish(x / 100.0, e)
    return a  # unary plus leaves the value (and its type) alone, as in Excel


# --- functions ------------------------------------------------------------------------------


def _flatten(args: list[Any], env: Env) -> tuple[list[Val], list[Val]]:
    """Range cells (only numbers count) and direct values (coerced) of an aggregate's arguments."""
    cells, direct = [], []
    for a in args:
        if isinstance(a, Rng):
            cells.extend(env.get(k, BLANK_VAL) for k in a.keys)
        else:
            direct.append(a)
    return cells, direct


def _aggregate(kind: str) -> Callable[..., Val]:
    def run(env: Env, *args: Any) -> Val:
        cells, direct = _flatten(list(args), env)
        parts = []  # (value, counts, err)
        for c in cells:
            isnum = (c.typ == NUM) & (c.err == 0)
            parts.append((np.where(isnum, c.num, np.nan), isnum, c.err))
        for d in direct:
            if d.typ.ndim == 0 and int(d.typ) == BLANK and kind != "SUM":
                x, e = np.asarray(0.0), d.err
            else:
                x, e = numeric(d)
            parts.append((x, np.ones(np.shape(x), bool), e))
        if not parts:
            return const(0.0) if kind != "AVERAGE" else const(XlError.DIV0)
        err = first_err(*(p[2] for p in parts))
        stack = np.broadcast_arrays(*(p[0] for p in parts))
        counted = np.broadcast_arrays(*(p[1] for p in parts))
        vals = np.stack(stack)
        cnt = np.stack(counted).sum(axis=0)
        with np.errstate(all="ignore"):
            if kind == "SUM":
                out = np.nansum(vals, axis=0)
            elif kind == "AVERAGE":
                out = np.nansum(vals, axis=0) / np.where(cnt == 0, 1, cnt)
                err = np.where((err == 0) & (cnt == 0), np.int8(DIV0), err)
            elif kind == "MIN":
                out = np.where(cnt == 0, 0.0, np.nanmin(np.where(np.isnan(vals), np.inf, vals), axis=0))
            elif kind == "MAX":
                out = np.where(cnt == 0, 0.0, np.nanmax(np.where(np.isnan(vals), -np.inf, vals), axis=0))
            else:  # PRODUCT
                out = np.where(cnt == 0, 0.0, np.nanprod(vals, axis=0))
        return _finish(out, err.astype(np.int8))

    return run


def _count(env: Env, *args: Any) -> Val:
    """COUNT: numbers in ranges, and direct arguments that are numbers (errors are not counted)."""
    cells, direct = _flatten(list(args), env)
    total: Any = 0.0
    for c in cells:
        total = total + ((c.typ == NUM) & (c.err == 0))
    for d in direct:
        x, e = numeric(d)
        total = total + ((e == 0) & (d.typ != BLANK))
    return Val(np.asarray(total, dtype=float), 0, NUM)


def _round(mode: str) -> Callable[..., Val]:
    def run(env: Env, x: Val, digits: Val) -> Val:
        xv, xe = numeric(x)
        dv, de = numeric(digits)
        err = first_err(xe, de)
        ok = err == 0
        out = excel_round(np.where(ok, xv, 0.0), np.where(ok, dv, 0.0), mode)
        return _finish(out, err)

    return run


def _truth(v: Val) -> tuple[np.ndarray, np.ndarray]:
    """A condition: numbers non-zero, booleans, blank FALSE; text is #VALUE! unless TRUE/FALSE."""
    if not v.has_text():
        return v.num != 0, v.err
    num, err = v.num, v.err
    shape = np.broadcast_shapes(num.shape, v.typ.shape, np.shape(v.txt))
    truth = np.array(np.broadcast_to(num != 0, shape))
    err = np.array(np.broadcast_to(err, shape), dtype=np.int8)
    istxt = np.broadcast_to(v.typ == TXT, shape) & (err == 0)
    txt = np.broadcast_to(np.asarray(v.txt, dtype=object), shape)
    for i in zip(*np.nonzero(istxt)):
        s = str(txt[i]).upper()
        if s in ("TRUE", "FALSE"):
            truth[i] = s == "TRUE"
        else:
            err[i] = VALUE
    return truth, err


def _select(cond: np.ndarray, a: Val, b: Val) -> Val:
    """Element-wise choice of a whole Val (value, error, type and text)."""
    txt = None
    if a.txt is not None or b.txt is not None:
        ta = np.asarray(a.txt if a.txt is not None else "", dtype=object)
        tb = np.asarray(b.txt if b.txt is not None else "", dtype=object)
        txt = np.where(cond, ta, tb)
    return Val(np.where(cond, a.num, b.num), np.where(cond, a.err, b.err), np.where(cond, a.typ, b.typ), txt)


def _if(env: Env, cond: Val, yes: Val | None = None, no: Val | None = None) -> Val:
    truth, err = _truth(cond)
    yes = yes if yes is not None else BLANK_VAL
    no = no if no is not None else const(False)
    out = _select(truth, yes, no)
    return _select(err != 0, Val(np.nan, err, NUM), out)


def _iferror(env: Env, v: Val, alt: Val) -> Val:
    return _select(v.err != 0, alt, v)


def _ifna(env: Env, v: Val, alt: Val) -> Val:
    return _select(v.err == NA, alt, v)


def _logic(kind: str) -> Callable[..., Val]:
    def run(env: Env, *args: Any) -> Val:
        cells, direct = _flatten(list(args), env)
        items = []
        for c in cells:  # in ranges only numbers and booleans count
            counts = (c.typ == NUM) | (c.typ == BOOL)
            items.append((c.num != 0, c.err, counts))
        for d in direct:
            t, e = _truth(d)
            items.append((t, e, np.asarray(True)))
        if not items:
            return const(XlError.VALUE)
        err = first_err(*(i[1] for i in items))
        if kind == "AND":
            res = functools.reduce(np.logical_and, (np.where(c, t, True) for t, _, c in items))
        else:
            res = functools.reduce(np.logical_or, (np.where(c, t, False) for t, _, c in items))
        counted = functools.reduce(np.logical_or, (np.asarray(c) for _, _, c in items))
        err = np.where((err == 0) & ~counted, np.int8(VALUE), err)
        return Val(np.where(err == 0, res.astype(float), np.nan), err, BOOL)

    return run


def _not(env: Env, v: Val) -> Val:
    t, e = _truth(v)
    return Val(np.where(e == 0, (~t).astype(float), np.nan), e, BOOL)


def _math(fn: Callable[[np.ndarray], np.ndarray], domain: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable[..., Val]:
    def run(env: Env, x: Val) -> Val:
        v, e = numeric(x)
        if domain is not None:
            with np.errstate(invalid="ignore"):
                e = np.where((e == 0) & ~domain(v), np.int8(NUM_ERR), e)
        with np.errstate(all="ignore"):
            return _finish(fn(v), e)

    return run


def _mod(env: Env, a: Val, b: Val) -> Val:
    x, ex = numeric(a)
    y, ey = numeric(b)
    err = first_err(ex, ey)
    err = np.where((err == 0) & (y == 0), np.int8(DIV0), err)
    with np.errstate(all="ignore"):
        out = x - y * np.floor(x / np.where(y == 0, 1.0, y))
    return _finish(out, err)


def _is(kind: str) -> Callable[..., Val]:
    def run(env: Env, v: Val) -> Val:
        if kind == "ISERROR":
            r = v.err != 0
        elif kind == "ISNA":
            r = v.err == NA
        elif kind == "ISNUMBER":
            r = (v.err == 0) & (v.typ == NUM)
        elif kind == "ISTEXT":
            r = (v.err == 0) & (v.typ == TXT)
        else:  # ISBLANK
            r = (v.err == 0) & (v.typ == BLANK)
        return Val(np.asarray(r, dtype=float), 0, BOOL)

    return run


# --- KPI functions ------------------------------------------------------------------------


def _kpi_arg(v: Val, flag: bool) -> Any:
    """A Val as the KPI layer reads a cell: floats when clean, else an object array it checks."""
    clean = (v.err == 0) & ((v.typ == NUM) | (v.typ == BLANK) | ((v.typ == BOOL) if flag else False))
    if np.all(clean):
        return np.where(v.typ == BLANK, 0.0, v.num)
    shape = np.broadcast_shapes(v.num.shape, v.err.shape, v.typ.shape)
    out = np.empty(shape, dtype=object)
    num = np.broadcast_to(v.num, shape)
    err = np.broadcast_to(v.err, shape)
    typ = np.broadcast_to(v.typ, shape)
    txt = np.broadcast_to(np.asarray(v.txt if v.txt is not None else "", dtype=object), shape)
    for i in np.ndindex(shape):
        if err[i]:
            out[i] = XlError(int(err[i]))
        elif typ[i] == TXT:
            out[i] = txt[i]
        elif typ[i] == BOOL:
            out[i] = bool(num[i])
        elif typ[i] == BLANK:
            out[i] = None
        else:
            out[i] = float(num[i])
    return out


def _kpi_scalar(fn: Any) -> Callable[..., Val]:
    """A ``KPI_*`` formula through its vectorised ``.evaluate`` (the same code the UDF runs)."""
    from ..excel_values import Kind

    kinds = [a.kind for a in fn.args]

    def run(env: Env, *args: Val) -> Val:
        if len(args) > len(kinds):
            return const(XlError.VALUE)
        raw = [_kpi_arg(a, kinds[i] is Kind.FLAG) for i, a in enumerate(args)]
        values, codes = fn.evaluate(*raw)
        return Val(values, codes, NUM)

    return run


def _kpi_series(evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]) -> Callable[..., Val]:
    """KPI_MAPE/WAPE/BIAS: two same-size ranges, evaluated over the last axis."""

    def run(env: Env, actuals: Any, forecasts: Any) -> Val:
        a = [env.get(k, BLANK_VAL) for k in actuals.keys] if isinstance(actuals, Rng) else [actuals]
        f = [env.get(k, BLANK_VAL) for k in forecasts.keys] if isinstance(forecasts, Rng) else [forecasts]
        if len(a) != len(f):
            return const(XlError.VALUE)
        cols_a = np.stack(np.broadcast_arrays(*(_as_obj_or_float(v) for v in a)), axis=-1)
        cols_f = np.stack(np.broadcast_arrays(*(_as_obj_or_float(v) for v in f)), axis=-1)
        values, codes = evaluate(cols_a, cols_f)
        return Val(values, codes, NUM)

    return run


def _as_obj_or_float(v: Val) -> np.ndarray:
    return np.asarray(_kpi_arg(v, False))


def _lang_of(node_lang: Val | None) -> str | None:
    from ..catalogue import LANGS

    if node_lang is None:
        return "ja"
    if node_lang.err.ndim or node_lang.typ.ndim:
        raise Unsupported("lang argument that is not a constant")
    if int(node_lang.typ) == BLANK:
        return "ja"
    if int(node_lang.typ) != TXT or int(node_lang.err):
        return None
    lang = str(node_lang.txt).strip().lower() or "ja"
    return lang if lang in LANGS else None


def _labels(index: np.ndarray, codes: np.ndarray, labels: tuple[str, ...] | None) -> Val:
    if labels is None:
        codes = np.where(codes == 0, np.int8(VALUE), codes)
        return Val(np.nan, codes, NUM)
    idx = np.clip(np.asarray(index, dtype=int), 0, len(labels) - 1)
    txt = np.array(labels, dtype=object)[idx]
    return Val(np.where(codes == 0, 0.0, np.nan), codes, np.where(codes == 0, TXT, NUM), txt)


def _kpi_status(env: Env, achievement: Val, on_track: Val | None = None, watch: Val | None = None, lang: Val | None = None) -> Val:
    from ..status import ON_TRACK_FROM, STATUS_LABELS, WATCH_FROM, evaluate_status

    code_lang = _lang_of(lang)
    hi = _kpi_arg(on_track, False) if on_track is not None else ON_TRACK_FROM
    lo = _kpi_arg(watch, False) if watch is not None else WATCH_FROM
    index, codes = evaluate_status(_kpi_arg(achievement, False), hi, lo)
    return _labels(index, codes, STATUS_LABELS[code_lang] if code_lang else None)


def _kpi_stage(env: Env, months: Val, lang: Val | None = None) -> Val:
    from ..catalogue import load_catalogue
    from ..stage import evaluate_stage_index

    code_lang = _lang_of(lang)
    if months.has_text():
        raise Unsupported("KPI_STAGE on text")
    index, codes = evaluate_stage_index(_kpi_arg(months, False))
    labels = tuple(s.label(code_lang) for s in load_catalogue().stages) if code_lang else None
    return _labels(index, np.asarray(codes, dtype=np.int8), labels)


class Grid(list):
    """The block of values an array formula returns (rows of Vals)."""


def _gather(cells: list[Val], idx: np.ndarray, bad: np.ndarray) -> Val:
    """Element i takes cells[idx[i]]; #REF! where ``bad``."""
    n = idx.shape[0]
    num = np.stack([np.broadcast_to(c.num, (n,)) for c in cells])
    err = np.stack([np.broadcast_to(c.err, (n,)) for c in cells])
    typ = np.stack([np.broadcast_to(c.typ, (n,)) for c in cells])
    cols = np.arange(n)
    safe = np.where(bad, 0, idx)
    txt = None
    if any(c.txt is not None for c in cells):
        txt = np.stack([c.text_at(n) for c in cells])[safe, cols]
    out_err = np.where(bad, np.int8(REF), err[safe, cols])
    return Val(num[safe, cols], out_err, typ[safe, cols], txt)


def _index(env: Env, ref: Any, row: Val, col: Val | None = None) -> Any:
    """INDEX(range, row[, column]) over a reference: one cell (a constant position stays a reference)."""
    if not isinstance(ref, Rng):
        raise Unsupported("INDEX of a value, not a reference")
    rows, cols = ref.shape
    r, er = numeric(row)
    c, ec = numeric(col) if col is not None else (np.asarray(1.0), np.asarray(0, np.int8))
    if col is None and rows == 1:  # INDEX(row_range, n) counts along the row
        r, c = np.asarray(1.0), r
    r = np.trunc(r)
    c = np.trunc(c)
    err = first_err(er, ec)
    if r.ndim == 0 and c.ndim == 0 and err.ndim == 0:
        if err:
            return Val(np.nan, err, NUM)
        ri, ci = int(r), int(c)
        if not (1 <= ri <= rows and 1 <= ci <= cols):
            return const(XlError.REF)
        return Rng([ref.keys[(ri - 1) * cols + ci - 1]], (1, 1))
    n = int(np.broadcast_shapes(r.shape, c.shape, err.shape)[0])
    r, c = np.broadcast_to(r, (n,)), np.broadcast_to(c, (n,))
    bad = (r < 1) | (r > rows) | (c < 1) | (c > cols)
    pos = np.where(bad, 0, (r - 1) * cols + c - 1).astype(int)
    out = _gather([env.get(k, BLANK_VAL) for k in ref.keys], pos, bad)
    e = first_err(np.broadcast_to(err, (n,)), out.err)
    return Val(out.num, e, out.typ, out.txt)


_CRIT_OPS = ("<=", ">=", "<>", "=", "<", ">")


def _criterion(value: Any) -> tuple[str, Any]:
    """(operator, operand) of a COUNTIF criterion: 5, "戦略KPI", ">=3", "<>", "a*"."""
    if isinstance(value, str):
        op = next((o for o in _CRIT_OPS if value.startswith(o)), "")
        rest = value[len(op):]
        try:
            return (op or "="), float(rest)
        except ValueError:
            return (op or "="), rest
    return "=", value


def _matches(c: Val, op: str, operand: Any, n: int) -> np.ndarray:
    typ = np.broadcast_to(c.typ, (n,))
    err = np.broadcast_to(c.err, (n,))
    if isinstance(operand, bool):
        hit = (typ == BOOL) & (np.broadcast_to(c.num, (n,)) == float(operand))
        return (err == 0) & (hit if op == "=" else ~hit if op == "<>" else np.zeros(n, bool))
    if isinstance(operand, float):
        num = np.broadcast_to(c.num, (n,))
        isnum = (typ == NUM) & (err == 0)
        with np.errstate(invalid="ignore"):
            cmp = {"=": num == operand, "<>": num != operand, "<": num < operand, ">": num > operand, "<=": num <= operand, ">=": num >= operand}[op]
        return (isnum & cmp) | ((op == "<>") & ~isnum)
    text = str(operand).lower()
    if op in ("=", "<>"):
        if text == "":
            hit = (typ == BLANK) | ((typ == TXT) & (c.text_at(n) == ""))
        elif "*" in text or "?" in text:
            import fnmatch

            pat = fnmatch.translate(text.replace("~*", "\0").replace("~?", "\1")).replace("\\0", "\\*").replace("\\1", "\\?")
            import re as _re

            rx = _re.compile(pat, _re.S)
            txt = c.text_at(n)
            hit = (typ == TXT) & np.array([bool(rx.match(str(t).lower())) for t in txt], dtype=bool)
        else:
            txt = c.text_at(n)
            if np.ndim(c.txt) == 0 and c.txt is not None:
                hit = (typ == TXT) & (str(c.txt).lower() == text)
            elif text == text.upper():  # no cased letters (e.g. Japanese): plain equality is the same test
                hit = (typ == TXT) & (txt == text)
            else:
                hit = (typ == TXT) & (np.char.lower(txt.astype(str)) == text)
        hit = hit & (err == 0)
        return hit if op == "=" else ~hit
    txt = c.text_at(n)
    lower = np.char.lower(txt.astype(str))
    cmp = {"<": lower < text, ">": lower > text, "<=": lower <= text, ">=": lower >= text}[op]
    return (typ == TXT) & (err == 0) & cmp


def _countif(env: Env, ref: Any, criteria: Val) -> Val:
    if not isinstance(ref, Rng):
        raise Unsupported("COUNTIF over a value, not a reference")
    cells = [env.get(k, BLANK_VAL) for k in ref.keys]
    n = _n(env)
    if criteria.num.ndim == criteria.err.ndim == criteria.typ.ndim == np.ndim(criteria.txt) == 0:
        crit = to_python_values(criteria, 1)  # one criterion for every element (the usual case)
    else:
        crit = to_python_values(criteria, n)
    total = np.zeros(n)
    uniq: dict[str, Any] = {}
    for v in crit:
        uniq.setdefault(repr(v), v)
    if len(uniq) > 64:
        raise Unsupported("COUNTIF with many different criteria")
    keys = [repr(v) for v in crit] if len(uniq) > 1 else None
    for rep, value in uniq.items():
        if isinstance(value, XlError):
            continue
        op, operand = _criterion(value)
        counts = sum((_matches(c, op, operand, n).astype(float) for c in cells), np.zeros(n))
        if keys is None:
            total = counts
        else:
            total = np.where(np.array([k == rep for k in keys]), counts, total)
    return Val(total, 0, NUM)


def to_python_values(v: Val, n: int) -> list[Any]:
    from .values import to_python

    return [x if not (isinstance(x, float) and int(np.broadcast_to(v.typ, (n,))[i]) == BLANK) else None for i, x in enumerate(to_python(v, n))]


def _counta(env: Env, *args: Any) -> Val:
    cells, direct = _flatten(list(args), env)
    total: Any = 0.0
    for c in cells:
        total = total + ((c.typ != BLANK) | (c.err != 0))
    for d in direct:
        total = total + 1.0
    return Val(np.asarray(total, dtype=float), 0, NUM)


def _text_grid(choice: np.ndarray, codes: np.ndarray, tables: list[list[list[Any]]], n: int) -> Grid:
    """A block where element i shows ``tables[choice[i]]`` (#N/A past its end), or its error in every cell."""
    rows = max((len(t) for t in tables), default=1)
    cols = max((len(r) for t in tables for r in t), default=1)
    grid = Grid()
    choice = np.broadcast_to(choice, (n,))
    codes = np.broadcast_to(codes, (n,))
    for r in range(rows):
        line = []
        for c in range(cols):
            num = np.full(n, np.nan)
            err = np.array(codes, dtype=np.int8)
            typ = np.zeros(n, np.int8)
            txt = np.full(n, "", dtype=object)
            for t_i, table in enumerate(tables):
                sel = (choice == t_i) & (codes == 0)
                if not sel.any():
                    continue
                value = table[r][c] if r < len(table) and c < len(table[r]) else XlError.NA
                if isinstance(value, XlError):
                    err[sel] = int(value)
                elif isinstance(value, str):
                    typ[sel], txt[sel], num[sel] = TXT, value, 0.0
                else:
                    num[sel] = float(value)
            line.append(Val(num, err, typ, txt))
        grid.append(line)
    return grid


def _kpi_stage_recommend(env: Env, stage_or_months: Val, lang: Val | None = None) -> Any:
    from ..catalogue import load_catalogue
    from ..stage import recommend, resolve_stage

    n = _n(env)
    code_lang = _lang_of(lang)
    stages = load_catalogue().stages
    values = to_python_values(stage_or_months, n)
    choice = np.zeros(n, int)
    codes = np.zeros(n, np.int8)
    memo: dict[str, Any] = {}
    for i, v in enumerate(values):
        key = repr(v)
        if key not in memo:
            memo[key] = resolve_stage(v.text if isinstance(v, XlError) else v)
        st = memo[key]
        if isinstance(st, XlError):
            codes[i] = int(st)
        elif code_lang is None:
            codes[i] = VALUE
        else:
            choice[i] = next(j for j, s in enumerate(stages) if s.id == st.id)
    tables = [[[r.tier_label, r.kpi_label, r.stars, r.why] for r in recommend(s, code_lang)] for s in stages] if code_lang else [[["" ]]]
    return _text_grid(choice, codes, tables, n)


def _kpi_bottleneck(env: Env, actuals: Any, targets: Any, lang: Val | None = None) -> Any:
    from ..catalogue import load_catalogue
    from ..kpi_tree import LEVERS, NO_BOTTLENECK, evaluate_bottleneck

    n = _n(env)
    code_lang = _lang_of(lang)
    a = [env.get(k, BLANK_VAL) for k in actuals.keys] if isinstance(actuals, Rng) else [actuals]
    t = [env.get(k, BLANK_VAL) for k in targets.keys] if isinstance(targets, Rng) else [targets]
    if code_lang is None or len(a) != len(LEVERS) or len(t) != len(LEVERS):
        return const(XlError.VALUE)
    to_cols = lambda vals: np.stack([np.broadcast_to(np.asarray(_kpi_arg(v, False)), (n,)) for v in vals], axis=-1)  # noqa: E731
    r = evaluate_bottleneck(to_cols(a), to_cols(t))
    none = NO_BOTTLENECK[code_lang]
    cat = load_catalogue()
    tables = [[[*none, 0.0]]]
    for lever in LEVERS:
        b = cat.bottleneck(lever)
        tables.append([[b.label(code_lang), b.cause(code_lang), b.action(code_lang), 0.0]])
    index = np.broadcast_to(np.asarray(r.lever_index), (n,))
    codes = np.broadcast_to(np.asarray(r.codes, dtype=np.int8), (n,))
    grid = _text_grid(index + 1, codes, tables, n)
    recovered = np.asarray(r.recovered).reshape(n, len(LEVERS))
    picked = np.where(index >= 0, recovered[np.arange(n), np.clip(index, 0, None)], 0.0)
    grid[0][3] = Val(np.where(codes == 0, picked, np.nan), codes, NUM)
    return grid


UDF_PREFIX = "_XLUDF."  # = formulas_udfs.UDF_PREFIX (a test keeps them equal); importing that module loads formulas


@functools.cache
def exported_function_names() -> tuple[str, ...]:
    """Names of the worksheet functions ``excel_functions.exported_functions()`` returns.

    Read from the module's source (its top-level ``def KPI_*`` and ``KPI_* =``) rather than
    by importing it: that import pulls in xlwings and pandas (≈ 80 MB per worker process)
    for a list of names. A test keeps the two lists equal.
    """
    import ast
    import importlib.util

    spec = importlib.util.find_spec("..excel_functions", __package__)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        from ..excel_functions import exported_functions

        return tuple(exported_functions())
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), spec.origin)
    names: dict[str, None] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("KPI_"):
            names[node.name] = None
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update({t.id: None for t in targets if isinstance(t, ast.Name) and t.id.startswith("KPI_")})
    return tuple(names)


@functools.cache
def function_table() -> dict[str, tuple[Callable[..., Val], set[int] | str]]:
    """Fast-path functions by Excel name: (implementation, which arguments may be ranges)."""
    from .. import forecast_metrics as fm
    from .. import kpi_formulas as kf

    ALL = "all"
    table: dict[str, tuple[Callable[..., Val], set[int] | str]] = {
        "SUM": (_aggregate("SUM"), ALL), "MIN": (_aggregate("MIN"), ALL), "MAX": (_aggregate("MAX"), ALL),
        "AVERAGE": (_aggregate("AVERAGE"), ALL), "PRODUCT": (_aggregate("PRODUCT"), ALL), "COUNT": (_count, ALL),
        "AND": (_logic("AND"), ALL), "OR": (_logic("OR"), ALL), "NOT": (_not, set()),
        "ROUND": (_round("round"), set()), "ROUNDUP": (_round("up"), set()), "ROUNDDOWN": (_round("down"), set()),
        "IF": (_if, set()), "IFERROR": (_iferror, set()), "IFNA": (_ifna, set()), "_XLFN.IFNA": (_ifna, set()),
        "ABS": (_math(np.abs), set()), "INT": (_math(np.floor), set()), "MOD": (_mod, set()),
        "SQRT": (_math(np.sqrt, lambda v: v >= 0), set()),
        "ISERROR": (_is("ISERROR"), set()), "ISNA": (_is("ISNA"), set()), "ISNUMBER": (_is("ISNUMBER"), set()),
        "ISTEXT": (_is("ISTEXT"), set()), "ISBLANK": (_is("ISBLANK"), set()),
        "INDEX": (_index, {0}), "COUNTIF": (_countif, {0}), "COUNTA": (_counta, ALL),
    }
    kpi: dict[str, tuple[Callable[..., Val], set[int] | str]] = {}
    # Every scalar KPI worksheet function wraps one kf.<name>.excel(...) call; KPI_X -> kf.x.
    aliases = {"KPI_CAC_PAYBACK": "cac_payback_months"}
    for name in exported_function_names():
        target = getattr(kf, aliases.get(name, name[4:].lower()), None)
        if isinstance(target, KpiFunction):
            kpi[name] = (_kpi_scalar(target), set())
    kpi["KPI_MAPE"] = (_kpi_series(fm.evaluate_mape), {0, 1})
    kpi["KPI_WAPE"] = (_kpi_series(fm.evaluate_wape), {0, 1})
    kpi["KPI_BIAS"] = (_kpi_series(fm.evaluate_bias), {0, 1})
    kpi["KPI_STATUS"] = (_kpi_status, set())
    kpi["KPI_STAGE"] = (_kpi_stage, set())
    kpi["KPI_STAGE_RECOMMEND"] = (_kpi_stage_recommend, set())
    kpi["KPI_BOTTLENECK"] = (_kpi_bottleneck, {0, 1})
    for name, entry in kpi.items():
        table[name] = entry
        table[UDF_PREFIX + name] = entry
    return table


@functools.cache
def general_function_names() -> frozenset[str]:
    """Functions the general evaluator knows (formulas' table with the KPI functions added)."""
    import formulas

    from ..formulas_udfs import register_kpi_functions

    register_kpi_functions()
    return frozenset(k.upper() for k in formulas.get_functions())


# --- the compiler ---------------------------------------------------------------------------


@dataclass
class Program:
    """A compiled workbook layout: run it on N input sets at once."""

    inputs: list[Key]
    steps: list[tuple[Key, Thunk]]
    diagnostics: dict[Key, str] = field(default_factory=dict)  # origin of each #NAME?/#REF!
    spills: dict[Key, list[tuple[Key, int, int]]] = field(default_factory=dict)

    @property
    def outputs(self) -> list[Key]:
        """Every cell the program computes: formula cells and the cells of array blocks."""
        return [k for k, _ in self.steps] + [cell for k, _ in self.steps for cell, _, _ in self.spills.get(k, ())]

    def run(self, env: Env) -> Env:
        """Evaluates every formula cell in order; ``env`` holds the inputs and receives the results."""
        for key, thunk in self.steps:
            v = thunk(env)
            block = self.spills.get(key)
            if isinstance(v, Grid):
                # an array block: each cell its element; past the result's end #N/A (Excel's rule)
                rows, cols = len(v), len(v[0])
                single = rows == cols == 1
                for cell, dr, dc in block or ():
                    if single:
                        env[cell] = _shown(v[0][0])
                    elif dr < rows and dc < cols:
                        env[cell] = _shown(v[dr][dc])
                    else:
                        env[cell] = const(XlError.NA)
                v = v[0][0]
            else:
                if isinstance(v, Rng):
                    v = _scalar_of(v, env)
                for cell, _, _ in block or ():  # one value fills the whole block
                    env[cell] = _shown(v)
            env[key] = _shown(v)
        return env


def _shown(v: Val) -> Val:
    """A formula that yields a blank shows 0 (and other formulas read 0)."""
    if v.typ.ndim or int(v.typ) == BLANK:
        return Val(v.num, v.err, np.where(v.typ == BLANK, NUM, v.typ), v.txt)
    return v


def _scalar_of(r: Rng, env: Env) -> Val:
    if r.shape != (1, 1):
        raise Unsupported("a multi-cell range used as a single value")
    return env.get(r.keys[0], BLANK_VAL)


class Compiler:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.resolver = graph.resolver
        self.table = function_table()
        self.diagnostics: dict[Key, str] = {}
        self.current: Key = (0, 0, 0)

    def note(self, message: str) -> None:
        self.diagnostics.setdefault(self.current, message)

    def compile(self) -> Program:
        steps = []
        for key in self.graph.order:
            self.current = key
            steps.append((key, self.expr(self.graph.trees[key], key[0], 0)))
        return Program(self.graph.inputs, steps, self.diagnostics, self.graph.spills)

    def expr(self, node: Node, sheet: int, depth: int) -> Thunk:
        """A thunk giving a Val, or an Rng for a reference (callers decide how to read it)."""
        kind = node.kind
        if kind in ("num", "str", "bool"):
            c = const(node.value)
            return lambda env: c
        if kind == "empty":
            return lambda env: BLANK_VAL
        if kind == "err":
            err = XlError.from_text(node.value) or XlError.VALUE
            if err in (XlError.REF, XlError.NAME):
                self.note(f"{err.text} written in the formula")
            c = const(err)
            return lambda env: c
        if kind == "ref":
            s, r1, c1, r2, c2 = node.ref  # type: ignore[misc]
            si = self.resolver.sheet_index(s, sheet)
            if si is None:
                self.note(f"#REF!: no sheet named {s!r}")
                c = const(XlError.REF)
                return lambda env: c
            rng = Rng(self.resolver.keys(si, r1, c1, r2, c2), (r2 - r1 + 1, c2 - c1 + 1))
            return lambda env: rng
        if kind == "name":
            if depth > 20:
                raise Unsupported("defined names nested too deep")
            target = self.resolver.name_node(node.value, sheet)
            if target is None:
                self.note(f"#NAME?: no defined name {node.value!r}")
                c = const(XlError.NAME)
                return lambda env: c
            return self.expr(target, sheet, depth + 1)
        if kind == "op":
            return self.operator(node, sheet, depth)
        if kind == "fn":
            return self.function(node, sheet, depth)
        raise Unsupported(str(node.value))

    def scalar(self, node: Node, sheet: int, depth: int) -> Thunk:
        thunk = self.expr(node, sheet, depth)
        if node.kind in ("ref", "name"):
            def read(env: Env) -> Val:
                v = thunk(env)
                return _scalar_of(v, env) if isinstance(v, Rng) else v

            probe = self._static_shape(node, sheet, depth)
            if probe not in (None, (1, 1)):
                raise Unsupported("implicit intersection of a multi-cell range")
            return read
        if node.kind == "fn":  # INDEX and friends return references

            def value(env: Env) -> Val:
                v = thunk(env)
                if isinstance(v, Grid):
                    return v[0][0]
                return _scalar_of(v, env) if isinstance(v, Rng) else v

            return value
        return thunk

    def _static_shape(self, node: Node, sheet: int, depth: int) -> tuple[int, int] | None:
        if node.kind == "ref":
            _, r1, c1, r2, c2 = node.ref  # type: ignore[misc]
            return (r2 - r1 + 1, c2 - c1 + 1)
        if node.kind == "name" and depth < 20:
            target = self.resolver.name_node(node.value, sheet)
            return None if target is None else self._static_shape(target, sheet, depth + 1)
        return None

    def operator(self, node: Node, sheet: int, depth: int) -> Thunk:
        op = node.value
        args = [self.scalar(a, sheet, depth) for a in node.args]
        if op in ("+", "-", "*", "/", "^") and len(args) == 2:
            f2 = _arith(op)
            a, b = args
            return lambda env: f2(a(env), b(env))
        if op in ("=", "<>", "<", ">", "<=", ">=") and len(args) == 2:
            f2 = _compare(op)
            a, b = args
            return lambda env: f2(a(env), b(env))
        if op == "&" and len(args) == 2:
            a, b = args
            return lambda env: _concat(a(env), b(env), _n(env))
        if op in ("u-", "u+", "%") and len(args) == 1:
            (a,) = args
            return lambda env: _unary(op, a(env))
        raise Unsupported(f"operator {op}")

    def function(self, node: Node, sheet: int, depth: int) -> Thunk:
        name = node.value
        entry = self.table.get(name)
        if entry is None:
            if name in general_function_names():
                raise Unsupported(f"function {name}")
            self.note(f"#NAME?: unknown function {name}")
            c = const(XlError.NAME)
            return lambda env: c
        impl, ranges = entry
        thunks = []
        for i, a in enumerate(node.args):
            may_range = ranges == "all" or i in ranges  # type: ignore[operator]
            if a.kind == "empty":
                thunks.append(lambda env: None if name.startswith(("KPI_", "_XLUDF.")) else BLANK_VAL)
            elif may_range:
                thunks.append(self.expr(a, sheet, depth))
            else:
                thunks.append(self.scalar(a, sheet, depth))
        if name in ("IF",) and len(thunks) not in (1, 2, 3) or name in ("IFERROR", "IFNA", "_XLFN.IFNA", "MOD") and len(thunks) != 2:
            raise Unsupported(f"{name} with {len(thunks)} arguments")
        if name.startswith(("ROUND",)) and len(thunks) != 2:
            raise Unsupported(f"{name} with {len(thunks)} arguments")
        kpi = name.startswith(("KPI_", "_XLUDF."))

        def call(env: Env) -> Val:
            vals = [t(env) for t in thunks]
            if kpi:  # an omitted optional argument takes the function's default
                while vals and vals[-1] is None:
                    vals.pop()
                vals = [BLANK_VAL if v is None else v for v in vals]
            return impl(env, *vals)

        return call


_N_KEY = (-1, -1, -1)


def _n(env: Env) -> int:
    return int(env[_N_KEY].num)  # type: ignore[arg-type]


def compile_graph(graph: Graph) -> Program:
    """The fast-path program of a workbook layout; raises :class:`Unsupported`."""
    return Compiler(graph).compile()


def run_program(program: Program, inputs: dict[Key, Val], n: int) -> Env:
    env: Env = dict(inputs)
    env[_N_KEY] = Val(float(n), 0, NUM)
    program.run(env)
    del env[_N_KEY]
    return env


__all__ = ["Program", "Rng", "compile_graph", "run_program", "address"]
