"""A cell over N input sets: float values, int8 Excel error codes, a type code and text.

The fast path keeps every cell as one :class:`Val` — column-wise numpy arrays, so one
pass of a compiled workbook evaluates thousands of scenarios or files at once.
Arrays broadcast: a constant is 0-d, an input or result has shape ``(N,)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

NUM, TXT, BOOL, BLANK = 0, 1, 2, 3


class Val:
    """``num`` (float; booleans as 0/1, blanks as 0), ``err`` (int8, 0 = none),
    ``typ`` (int8: NUM, TXT, BOOL, BLANK) and ``txt`` (object array or ``None``
    when no element is text)."""

    __slots__ = ("err", "num", "txt", "typ")

    def __init__(self, num: Any, err: Any, typ: Any, txt: Any = None):
        self.num = np.asarray(num, dtype=float)
        self.err = np.asarray(err, dtype=np.int8)
        self.typ = np.asarray(typ, dtype=np.int8)
        self.txt = txt

    def has_text(self) -> bool:
        return self.txt is not None and bool((self.typ == TXT).any())

    def text_at(self, n: int) -> np.ndarray:
        """Text of each element (``""`` where not text), as an object array of length n."""
        if self.txt is None:
            return np.full(n, "", dtype=object)
        return np.broadcast_to(np.asarray(self.txt, dtype=object), (n,))


def const(value: Any) -> Val:
    if isinstance(value, XlError):
        return Val(np.nan, int(value), NUM)
    if value is None:
        return Val(0.0, 0, BLANK)
    if isinstance(value, (bool, np.bool_)):
        return Val(float(value), 0, BOOL)
    if isinstance(value, str):
        return Val(0.0, 0, TXT, np.array(value, dtype=object))
    return Val(float(value), 0, NUM)


BLANK_VAL = const(None)


def from_python(values: Sequence[Any]) -> Val:
    """One Val from stored cell values (float, str, bool, XlError or None) of N workbooks."""
    n = len(values)
    try:  # the common case: every value is a number
        if all(type(v) is float for v in values):
            return Val(np.fromiter(values, float, n), np.zeros(n, np.int8), np.zeros(n, np.int8))
    except TypeError:
        pass
    num = np.zeros(n)
    err = np.zeros(n, np.int8)
    typ = np.zeros(n, np.int8)
    txt = None
    for i, v in enumerate(values):
        if v is None:
            typ[i] = BLANK
        elif isinstance(v, XlError):
            err[i], num[i] = int(v), np.nan
        elif isinstance(v, (bool, np.bool_)):
            typ[i], num[i] = BOOL, float(v)
        elif isinstance(v, str):
            if txt is None:
                txt = np.full(n, "", dtype=object)
            typ[i], txt[i] = TXT, v
        else:
            f = float(v)
            if np.isnan(f):  # pandas' empty cell
                typ[i] = BLANK
            else:
                num[i] = f
    return Val(num, err, typ, txt)


def from_series(values: Any) -> Val:
    """A Val from a pandas column (numeric columns take the vectorised route)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fiu":
        arr = arr.astype(float)
        blank = np.isnan(arr)
        return Val(np.where(blank, 0.0, arr), np.zeros(arr.shape, np.int8), np.where(blank, BLANK, NUM).astype(np.int8))
    if arr.dtype.kind == "b":
        return Val(arr.astype(float), np.zeros(arr.shape, np.int8), np.full(arr.shape, BOOL, np.int8))
    out = []
    for v in arr.tolist():
        if isinstance(v, str):
            err = XlError.from_text(v) if v.startswith("#") else None
            out.append(err if err is not None else v)
        else:
            out.append(v)
    return from_python(out)


def to_python(val: Val, n: int) -> list[Any]:
    """N plain values: float, str, bool or XlError (a blank result reads as 0, as in Excel)."""
    num = np.broadcast_to(val.num, (n,))
    err = np.broadcast_to(val.err, (n,))
    typ = np.broadcast_to(val.typ, (n,))
    txt = val.text_at(n) if val.txt is not None else None
    out: list[Any] = num.tolist()
    if not err.any() and not (typ != NUM).any():
        return out
    for i in np.nonzero((err != 0) | (typ != NUM))[0].tolist():
        if err[i]:
            out[i] = XlError(int(err[i]))
        elif typ[i] == TXT:
            out[i] = txt[i] if txt is not None else ""
        elif typ[i] == BOOL:
            out[i] = bool(num[i])
        else:
            out[i] = 0.0
    return out


def first_err(*errs: Any) -> np.ndarray:
    """Leftmost non-zero error code, element-wise."""
    out = np.asarray(errs[-1], dtype=np.int8)
    for e in reversed(errs[:-1]):
        e = np.asarray(e, dtype=np.int8)
        out = np.where(e != 0, e, out)
    return out.astype(np.int8)


def parse_number_text(texts: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Excel's reading of text in arithmetic: a plain number (or ``n%``) converts, else #VALUE!."""
    nums, errs = [], []
    for t in texts:
        s = str(t).strip()
        pct = s.endswith("%")
        try:
            v = float(s[:-1] if pct else s.replace(",", "")) / (100 if pct else 1)
            ok = s != "" and s.lower() not in ("nan", "inf", "-inf", "infinity", "+inf")
        except ValueError:
            v, ok = np.nan, False
        nums.append(v if ok else np.nan)
        errs.append(0 if ok else int(XlError.VALUE))
    return np.array(nums, dtype=float), np.array(errs, dtype=np.int8)


def numeric(v: Val) -> tuple[np.ndarray, np.ndarray]:
    """Values and error codes of ``v`` in arithmetic: booleans 0/1, blanks 0, numeric text parsed."""
    if not v.has_text():
        return v.num, v.err
    shape = np.broadcast_shapes(v.num.shape, v.typ.shape, np.shape(v.txt))
    num = np.array(np.broadcast_to(v.num, shape), dtype=float)
    err = np.array(np.broadcast_to(v.err, shape), dtype=np.int8)
    istxt = np.broadcast_to(v.typ == TXT, shape) & (err == 0)
    if istxt.any():
        txt = np.broadcast_to(np.asarray(v.txt, dtype=object), shape)
        parsed, perr = parse_number_text(txt[istxt])
        num[istxt] = parsed
        err[istxt] = perr
    return num, err


def general_text(x: float) -> str:
    """A number as Excel's General format turns it into text in ``&``: 15 significant digits."""
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    s = format(x, ".15g")
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}E{exp[0]}{exp[1:].lstrip('0').rjust(2, '0')}"
    return s


def as_text(v: Val, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Text of each element for ``&``, and error codes."""
    num = np.broadcast_to(v.num, (n,))
    typ = np.broadcast_to(v.typ, (n,))
    txt = v.text_at(n)
    out = np.empty(n, dtype=object)
    for i in range(n):
        t = typ[i]
        if t == TXT:
            out[i] = txt[i]
        elif t == BOOL:
            out[i] = "TRUE" if num[i] else "FALSE"
        elif t == BLANK:
            out[i] = ""
        else:
            out[i] = general_text(float(num[i])) if np.isfinite(num[i]) else ""
    return out, np.broadcast_to(v.err, (n,))
