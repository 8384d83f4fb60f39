"""Text: LEN, LEFT, RIGHT, MID, UPPER, LOWER, PROPER, TRIM, CONCAT, CONCATENATE, TEXTJOIN, SUBSTITUTE, REPLACE,
FIND, SEARCH, REPT, EXACT, VALUE, NUMBERVALUE, TEXT, CHAR, CODE.

A value is read as text the way ``&`` reads it (numbers in the General format, 15 significant
digits; TRUE/FALSE; a blank is ""). Counts are in characters. TRIM removes leading and
trailing spaces and collapses each inner run of spaces into one, as Microsoft's TRIM page says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..excel_text import parse_number_text
from ..values import BLANK, BOOL, NUM, TXT, Val, as_text, const, first_err, indices, numeric, truth
from .base import VALUE as VALUE_ERR
from .base import Ctx, Spec, align, cells_of, dims_of, grid, grid_texts, spec
from .criteria import _unescape, _wildcard
from .number_format import format_numbers, format_value

Kinds = str  # one letter per argument: "s" text, "n" number (truncated where the function wants an integer)


def each(args: Sequence[Val | None], kinds: Kinds, fn: Callable[..., Any], defaults: tuple[Any, ...] = ()) -> Val:
    """``fn`` element by element over the arguments read as text ("s") or numbers ("n"); ``fn``
    returns a str, a float, a bool or an XlError."""
    given = [a for a in args if a is not None]
    aligned = iter(align(*given))
    vals = [next(aligned) if a is not None else None for a in args]
    shape = np.broadcast_shapes(*(v.shape for v in vals if v is not None)) if given else ()
    columns: list[Any] = []
    errs = []
    for i, (v, kind) in enumerate(zip(vals, kinds)):
        if v is None:
            columns.append(np.full(shape, defaults[i] if i < len(defaults) else None, dtype=object))
            continue
        if kind == "s":
            t, e = as_text(v, shape)
            columns.append(t)
        else:
            x, e = numeric(v)
            columns.append(np.broadcast_to(np.asarray(x, dtype=float) + 0.0, shape))  # + 0.0: Excel has no -0
        errs.append(np.broadcast_to(e, shape))
    err = np.array(first_err(*errs) if errs else np.zeros(shape, np.int8), dtype=np.int8)
    num = np.zeros(shape)
    typ = np.full(shape, NUM, np.int8)
    txt = np.full(shape, "", dtype=object)
    ok = err == 0
    if ok.any():
        # ``fn`` once per distinct combination of arguments (files of a batch share most texts); the
        # arguments are str or float (and the defaults), whose equal values give equal results
        keys = list(zip(*(np.broadcast_to(c, shape)[ok].tolist() for c in columns)))
        memo: dict[tuple[Any, ...], Any] = {}
        outs = [memo[k] if k in memo else memo.setdefault(k, fn(*k)) for k in keys]
        e_out = np.zeros(len(outs), np.int8)
        n_out = np.zeros(len(outs))
        t_out = np.full(len(outs), NUM, np.int8)
        s_out = np.full(len(outs), "", dtype=object)
        for i, out in enumerate(outs):
            if isinstance(out, XlError):
                e_out[i] = int(out)
            elif isinstance(out, str):
                t_out[i], s_out[i] = TXT, out
            elif isinstance(out, bool):
                t_out[i], n_out[i] = BOOL, float(out)
            else:
                n_out[i] = float(out)
        err[ok], num[ok], typ[ok], txt[ok] = e_out, n_out, t_out, s_out
    num = np.where(err == 0, num, np.nan)
    typ = np.where(err == 0, typ, NUM)
    return Val(num, err, typ, txt, dims_of(*given))


def _count(x: float) -> int | XlError:
    """A character count argument: truncated; negative is #VALUE!."""
    return XlError.VALUE if x < 0 else int(x)


def _left(text: str, k: float = 1.0) -> str | XlError:
    c = _count(k)
    return c if isinstance(c, XlError) else text[:c]


def _right(text: str, k: float = 1.0) -> str | XlError:
    c = _count(k)
    return c if isinstance(c, XlError) else (text[max(len(text) - c, 0):] if c else "")  # RIGHT("abc",5) is "abc"


def _mid(text: str, start: float, k: float) -> str | XlError:
    s, c = int(start), _count(k)
    if s < 1 or isinstance(c, XlError):
        return XlError.VALUE
    return text[s - 1:s - 1 + c]


def _trim(text: str) -> str:
    return re.sub(" +", " ", text.strip(" "))


def _proper(text: str) -> str:
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), text.lower())


def _substitute(text: str, old: str, new: str, instance: float | None = None) -> str | XlError:
    if instance is not None and int(instance) < 1:  # checked first: SUBSTITUTE("", "", "x", 0) is #VALUE!
        return XlError.VALUE
    if old == "":
        return text
    if instance is None:
        return text.replace(old, new)
    k = int(instance)
    pos = -1
    for _ in range(k):
        pos = text.find(old, pos + 1)
        if pos < 0:
            return text
    return text[:pos] + new + text[pos + len(old):]


def _replace(text: str, start: float, k: float, new: str) -> str | XlError:
    s, c = int(start), _count(k)
    if s < 1 or isinstance(c, XlError):
        return XlError.VALUE
    return text[:s - 1] + new + text[s - 1 + c:]


def _find(needle: str, hay: str, start: float = 1.0) -> float | XlError:
    s = int(start)
    if s < 1 or s > len(hay):  # Microsoft: a start beyond the text is #VALUE!, even for "" (FIND("","") too)
        return XlError.VALUE
    pos = hay.find(needle, s - 1)
    return XlError.VALUE if pos < 0 else float(pos + 1)


def _search(needle: str, hay: str, start: float = 1.0) -> float | XlError:
    s = int(start)
    if s < 1 or s > len(hay):
        return XlError.VALUE
    pattern = _wildcard(needle)
    if pattern is None:
        pos = hay.lower().find(_unescape(needle).lower(), s - 1)
        return XlError.VALUE if pos < 0 else float(pos + 1)
    m = re.compile(pattern.pattern, re.S | re.I).search(hay, s - 1)
    return XlError.VALUE if m is None else float(m.start() + 1)


def _rept(text: str, k: float) -> str | XlError:
    c = _count(k)
    if isinstance(c, XlError) or len(text) * c > 32767:
        return XlError.VALUE
    return text * c


def _char(code: float) -> str | XlError:
    c = int(code)
    return XlError.VALUE if not 1 <= c <= 255 else bytes([c]).decode("cp1252", errors="replace")


def _code(text: str) -> float | XlError:
    """The code of the first character in the computer's character set (Microsoft's CODE page): Windows'
    Western set where it has the character, else Japanese Windows' Shift_JIS (CODE("売") is 38020 there;
    English Excel shows 63, "?")."""
    if text == "":
        return XlError.VALUE
    for charset in ("cp1252", "cp932"):
        try:
            return float(int.from_bytes(text[0].encode(charset), "big"))
        except UnicodeEncodeError:
            continue
    return 63.0


def _text_fn(kinds: str, fn: Callable[..., Any], optional: int = 0, defaults: tuple[Any, ...] = ()) -> Spec:
    def run(ctx: Ctx, *args: Val | None) -> Val:
        padded = list(args) + [None] * (len(kinds) - len(args))
        return each(padded, kinds, fn, defaults)

    return Spec(run, "v" * len(kinds), optional=optional, category="text")


@spec("v", category="text")
def VALUE(ctx: Ctx, value: Val) -> Val:
    """VALUE: text read as a number (#VALUE! when it is not one); a number as itself."""
    def conv(x: Any) -> float | XlError:
        parsed = parse_number_text(x)
        return XlError.VALUE if parsed is None else parsed

    isbool = value.typ == BOOL
    out = each([value], "s", conv)
    if np.any(isbool):
        out = Val(np.where(isbool, np.nan, out.num), np.where(isbool, np.int8(VALUE_ERR), out.err), np.where(isbool, NUM, out.typ),
                  out.txt, out.dims)
    blank = (value.typ == BLANK) & (value.err == 0)
    if np.any(blank):  # a blank cell is the number 0 (VALUE(A1) of an empty A1 is 0), unlike the text ""
        out = Val(np.where(blank, 0.0, out.num), np.where(blank, np.int8(0), out.err), np.where(blank, NUM, out.typ), out.txt, out.dims)
    return out


@spec("vvv", optional=2, category="text")
def NUMBERVALUE(ctx: Ctx, text: Val, decimal: Val | None = None, group: Val | None = None) -> Val:
    """NUMBERVALUE(text, [decimal_separator], [group_separator]): a number written with any separators."""

    def conv(s: str, dec: str | None, grp: str | None) -> float | XlError:
        d, g = (dec or ".")[:1], (grp or ",")[:1]
        if d == g:
            return XlError.VALUE
        body = re.sub(r"\s", "", s)
        pct = len(body) - len(body.rstrip("%"))
        body = body.rstrip("%")
        if body == "":
            return 0.0
        if body.count(d) > 1:
            return XlError.VALUE
        head, sep, tail = body.partition(d)
        if g in tail:
            return XlError.VALUE
        digits = head.replace(g, "") + ("." + tail if sep else "")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", digits):  # not "inf", "nan", "1_0"
            return XlError.VALUE
        value = float(digits) / (100**pct)
        return value if math.isfinite(value) else XlError.NUM

    return each([text, decimal, group], "sss", conv)


@spec("vv", category="text")
def TEXT(ctx: Ctx, value: Val, fmt: Val) -> Val:
    """TEXT(value, format): the value shown in an Excel number format (dates, times, %, thousands …).

    Numbers are formatted all at once per distinct format (:func:`.number_format.format_numbers`)."""
    value, fmt = align(value, fmt)
    shape = np.broadcast_shapes(value.shape, fmt.shape)
    codes, ferr = as_text(fmt, shape)
    num = np.broadcast_to(value.num, shape)
    typ = np.broadcast_to(value.typ, shape)
    err = np.array(first_err(np.broadcast_to(value.err, shape), ferr), dtype=np.int8)
    out = np.full(shape, "", dtype=object)
    ok = err == 0
    out[ok & (typ == BOOL)] = np.where(num[ok & (typ == BOOL)] != 0, "TRUE", "FALSE")
    numbers = ok & (typ != TXT) & (typ != BOOL)
    if numbers.any():
        values = np.where(typ == BLANK, 0.0, num)
        for code in set(np.asarray(codes, dtype=object)[numbers].tolist()):
            where = numbers & (codes == code) if np.ndim(codes) else numbers
            shown = format_numbers(values[where], str(code))
            texts = np.empty(len(shown), dtype=object)
            texts[:] = ["" if isinstance(x, XlError) else x for x in shown]
            out[where] = texts
            if any(isinstance(x, XlError) for x in shown):
                err[where] = [int(x) if isinstance(x, XlError) else 0 for x in shown]
    vtext = None
    for i in indices(ok & (typ == TXT)):
        if vtext is None:
            vtext, _ = as_text(value, shape)
        parsed = parse_number_text(str(vtext[i]))
        shown_one = format_value(parsed, str(codes[i])) if parsed is not None else format_value(str(vtext[i]), str(codes[i]))
        if isinstance(shown_one, XlError):
            err[i] = int(shown_one)
        else:
            out[i] = shown_one
    return Val(np.where(err == 0, 0.0, np.nan), err, np.where(err == 0, TXT, NUM), out, dims_of(value, fmt))


def _flatten_texts(args: tuple[Any, ...], ctx: Ctx) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Every element of the arguments as text (each (n,)), its errors, and whether it is empty."""
    texts_out, errs, empties = [], [], []
    for arg in args:
        v, from_range = cells_of(arg, ctx)
        if from_range:
            _, err, typ = grid(v, ctx.n)
            shown = grid_texts(v, ctx.n)
            numv = grid(v, ctx.n)[0]
            for k in range(err.shape[0]):
                row = Val(numv[k], err[k], typ[k], shown[k])
                t, e = as_text(row, (ctx.n,))
                texts_out.append(t)
                errs.append(e)
                empties.append((typ[k] == BLANK) | ((typ[k] == TXT) & (shown[k] == "")))
        elif v is not None:
            t, e = as_text(v, (ctx.n,))
            texts_out.append(t)
            errs.append(e)
            empties.append(np.broadcast_to((v.typ == BLANK) | ((v.typ == TXT) & (v.texts(v.shape) == "")), (ctx.n,)))
    err = first_err(*errs) if errs else np.zeros(ctx.n, np.int8)
    return texts_out, np.broadcast_to(err, (ctx.n,)), empties


def _joined(ctx: Ctx, delimiter: str | np.ndarray | list[np.ndarray], parts: list[np.ndarray], err: np.ndarray,
            skip: list[np.ndarray] | None) -> Val:
    out = np.full(ctx.n, "", dtype=object)
    err = np.array(err, dtype=np.int8)
    for j in range(ctx.n):
        if err[j]:
            continue
        pieces = [str(p[j]) for k, p in enumerate(parts) if skip is None or not skip[k][j]]
        if isinstance(delimiter, list):  # delimiters in turn
            between = [str(delimiter[i % len(delimiter)][j]) for i in range(max(len(pieces) - 1, 0))]
            text = "".join(p + (between[i] if i < len(between) else "") for i, p in enumerate(pieces))
        else:
            text = (delimiter if isinstance(delimiter, str) else str(delimiter[j])).join(pieces)
        if len(text) > 32767:
            err[j] = VALUE_ERR
        out[j] = text
    return Val(np.where(err == 0, 0.0, np.nan), err, np.where(err == 0, TXT, NUM), out)


@spec("x", repeat="x", category="text")
def CONCAT(ctx: Ctx, *args: Any) -> Val:
    parts, err, _ = _flatten_texts(args, ctx)
    return _joined(ctx, "", parts, err, None)


@spec("v", repeat="v", category="text")
def CONCATENATE(ctx: Ctx, *args: Val | None) -> Val:
    present = [a for a in args if a is not None]
    return each(present, "s" * len(present), lambda *xs: "".join(xs) if len("".join(xs)) <= 32767 else XlError.VALUE)


@spec("vvx", repeat="x", category="text")
def TEXTJOIN(ctx: Ctx, delimiter: Val, ignore_empty: Val, *args: Any) -> Val:
    """TEXTJOIN(delimiter, ignore_empty, text1, …): ignore_empty TRUE skips blank cells and "" texts; an
    array of delimiters is used in turn."""
    if delimiter.dims is not None:
        rows, cols = delimiter.dims
        cells = [delimiter.cell(r, c) for r in range(rows) for c in range(cols)]
        texts_errs = [as_text(c, (ctx.n,)) for c in cells]
        dtext: Any = [t for t, _ in texts_errs]
        derr = first_err(*(e for _, e in texts_errs))
    else:
        dtext, derr = as_text(delimiter, (ctx.n,))
    if ignore_empty is not None and ignore_empty.dims is not None:
        ignore_empty = ignore_empty.cell(0, 0)
    ignore, ierr = truth(ignore_empty if ignore_empty is not None else const(True))
    parts, err, empties = _flatten_texts(args, ctx)
    err = first_err(np.broadcast_to(derr, (ctx.n,)), np.broadcast_to(ierr, (ctx.n,)), err)
    ignore = np.broadcast_to(ignore, (ctx.n,))
    skip = [e & ignore for e in empties]
    return _joined(ctx, dtext, parts, err, skip)


@spec("vv", category="text")
def EXACT(ctx: Ctx, a: Val, b: Val) -> Val:
    return each([a, b], "ss", lambda x, y: x == y)


TABLE: dict[str, Spec] = {
    "LEN": _text_fn("s", lambda s: float(len(s))),
    "LEFT": _text_fn("sn", _left, optional=1, defaults=(None, 1.0)),
    "RIGHT": _text_fn("sn", _right, optional=1, defaults=(None, 1.0)),
    "MID": _text_fn("snn", _mid),
    "UPPER": _text_fn("s", str.upper), "LOWER": _text_fn("s", str.lower), "PROPER": _text_fn("s", _proper),
    "TRIM": _text_fn("s", _trim),
    "SUBSTITUTE": _text_fn("sssn", _substitute, optional=1),
    "REPLACE": _text_fn("snns", _replace),
    "FIND": _text_fn("ssn", _find, optional=1, defaults=(None, None, 1.0)),
    "SEARCH": _text_fn("ssn", _search, optional=1, defaults=(None, None, 1.0)),
    "REPT": _text_fn("sn", _rept),
    "CHAR": _text_fn("n", _char), "CODE": _text_fn("s", _code),
    "EXACT": EXACT, "VALUE": VALUE, "NUMBERVALUE": NUMBERVALUE, "TEXT": TEXT,
    "CONCAT": CONCAT, "CONCATENATE": CONCATENATE, "TEXTJOIN": TEXTJOIN,
}

__all__ = ["TABLE", "each"]
