"""The fast path's Excel functions and operators, over columns of N input sets.

Each function takes the evaluation environment and its arguments as :class:`~.values.Val`
(or :class:`Rng` for a reference the function reads cell by cell) and returns a Val, an
Rng (INDEX returns a reference) or a :class:`Grid` (an array result). Excel's semantics
are kept where they matter for KPI workbooks: errors travel as ERROR.TYPE codes (leftmost
argument wins), blanks are 0, numeric text converts in arithmetic, IF picks per element,
ROUND* round as Excel does (:mod:`.excel_round`). :func:`native_table` lists them by Excel
name; the ``KPI_*`` functions are added by :mod:`.kpi_bridge`.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from .excel_round import excel_round
from .graph import Key, Unsupported
from .values import BLANK, BLANK_VAL, BOOL, NUM, TXT, Val, as_text, const, first_err, numeric, to_python

Env = dict[Key, Val]
Impl = Callable[..., Any]  # (env, *args) -> Val | Rng | Grid
TableEntry = tuple[Impl, "set[int] | str"]  # implementation, which arguments may be ranges ("all")

DIV0, VALUE, REF, NAME, NUM_ERR, NA = (int(e) for e in (XlError.DIV0, XlError.VALUE, XlError.REF, XlError.NAME, XlError.NUM, XlError.NA))

N_KEY: Key = (-1, -1, -1)  # where the environment keeps N, the number of input sets


def rows(env: Env) -> int:
    """N, the number of input sets the environment evaluates at once."""
    return int(env[N_KEY].num)

@dataclass
class Rng:
    """A reference to a block of cells, evaluated lazily to its cells' Vals (row-major)."""

    keys: list[Key]
    shape: tuple[int, int]


def finish(num: np.ndarray, err: np.ndarray) -> Val:
    """A numeric result: non-finite values become #NUM!, errored elements hold NaN."""
    with np.errstate(invalid="ignore"):
        bad = (err == 0) & ~np.isfinite(num)
    err = np.where(bad, np.int8(NUM_ERR), err).astype(np.int8)
    return Val(np.where(err == 0, num, np.nan), err, NUM)


# --- operators ----------------------------------------------------------------------------


def arith(op: str) -> Callable[[Val, Val], Val]:
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
        return finish(out, err)

    return run


def _compare_key(v: Val, other: Val) -> tuple[np.ndarray, np.ndarray, Any]:
    """Type class (0 number, 1 text, 2 boolean) and comparable value; blanks take the other side's type."""
    cls = np.select([v.typ == TXT, v.typ == BOOL], [1, 2], 0)
    other_cls = np.select([other.typ == TXT, other.typ == BOOL], [1, 2], 0)
    cls = np.where(v.typ == BLANK, np.where(other.typ == BLANK, 0, other_cls), cls)
    return cls, v.num, v.txt


def compare(op: str) -> Callable[[Val, Val], Val]:
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


def concat(a: Val, b: Val, n: int) -> Val:
    sa, ea = as_text(a, n)
    sb, eb = as_text(b, n)
    err = first_err(ea, eb)
    txt = np.array([x + y for x, y in zip(sa, sb)], dtype=object)
    return Val(np.where(err == 0, 0.0, np.nan), err, np.where(err == 0, TXT, NUM), txt)


def unary(op: str, a: Val) -> Val:
    x, e = numeric(a)
    if op == "u-":
        return finish(-x, e)
    if op == "%":
        return finish(x / 100.0, e)
    return a  # unary plus leaves the value (and its type) alone, as in Excel


# --- functions ------------------------------------------------------------------------------


def _flatten(args: list[Any], env: Env) -> tuple[list[Val], list[Val]]:
    """Range cells (only numbers count) and direct values (coerced) of an aggregate's arguments."""
    cells: list[Val] = []
    direct: list[Val] = []
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
        return finish(out, err.astype(np.int8))

    return run


def _count(env: Env, *args: Any) -> Val:
    """COUNT: numbers in ranges, and direct arguments that are numbers (errors are not counted)."""
    cells, direct = _flatten(list(args), env)
    total: Any = 0.0
    for c in cells:
        total = total + ((c.typ == NUM) & (c.err == 0))
    for d in direct:
        _, e = numeric(d)
        total = total + ((e == 0) & (d.typ != BLANK))
    return Val(np.asarray(total, dtype=float), 0, NUM)


def _round(mode: str) -> Callable[..., Val]:
    def run(env: Env, x: Val, digits: Val) -> Val:
        xv, xe = numeric(x)
        dv, de = numeric(digits)
        err = first_err(xe, de)
        ok = err == 0
        out = excel_round(np.where(ok, xv, 0.0), np.where(ok, dv, 0.0), mode)
        return finish(out, err)

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
            return finish(fn(v), e)

    return run


def _mod(env: Env, a: Val, b: Val) -> Val:
    x, ex = numeric(a)
    y, ey = numeric(b)
    err = first_err(ex, ey)
    err = np.where((err == 0) & (y == 0), np.int8(DIV0), err)
    with np.errstate(all="ignore"):
        out = x - y * np.floor(x / np.where(y == 0, 1.0, y))
    return finish(out, err)


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
            cmp = {"=": num == operand, "<>": num != operand, "<": num < operand, ">": num > operand,
                   "<=": num <= operand, ">=": num >= operand}[op]
        return (isnum & cmp) | ((op == "<>") & ~isnum)
    text = str(operand).lower()
    if op in ("=", "<>"):
        if text == "":
            hit = (typ == BLANK) | ((typ == TXT) & (c.text_at(n) == ""))
        elif "*" in text or "?" in text:
            pat = fnmatch.translate(text.replace("~*", "\0").replace("~?", "\1")).replace("\\0", "\\*").replace("\\1", "\\?")
            rx = re.compile(pat, re.S)
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
    n = rows(env)
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
    typ = np.broadcast_to(v.typ, (n,))
    return [None if isinstance(x, float) and int(typ[i]) == BLANK else x for i, x in enumerate(to_python(v, n))]


def _counta(env: Env, *args: Any) -> Val:
    cells, direct = _flatten(list(args), env)
    total: Any = 0.0
    for c in cells:
        total = total + ((c.typ != BLANK) | (c.err != 0))
    total = total + float(len(direct))
    return Val(np.asarray(total, dtype=float), 0, NUM)


def text_grid(choice: np.ndarray, codes: np.ndarray, tables: list[list[list[Any]]], n: int) -> Grid:
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



def native_table() -> dict[str, TableEntry]:
    """The Excel functions of the fast path by name: (implementation, which arguments may be ranges)."""
    ALL = "all"
    return {
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
