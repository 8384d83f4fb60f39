"""Excel values as the KPI functions see them: errors, blanks, text, numbers.

One policy for every KPI function (README, "Bad input"):

* an Excel error in an argument comes back as that error (the leftmost one wins,
  as in Excel's own operators);
* a blank (``None``, ``""``, NaN from an empty pandas cell) counts as 0, as it does
  for Excel's own arithmetic;
* text and booleans give ``#VALUE!`` (text is never parsed: ``"10%"`` is text);
* a value outside the argument's domain gives ``#NUM!`` — a negative count, a rate
  outside [0, 1] (``10`` is never read as 10 %), infinity;
* a zero denominator gives ``#DIV/0!``.

Errors travel next to the values as an ``int8`` code array using Excel's own
``ERROR.TYPE`` numbering, so whole scenario tables are checked with numpy.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np


class XlError(enum.IntEnum):
    """Excel error values, numbered as Excel's ``ERROR.TYPE`` numbers them."""

    NULL = 1
    DIV0 = 2
    VALUE = 3
    REF = 4
    NAME = 5
    NUM = 6
    NA = 7
    GETTING_DATA = 8
    SPILL = 9  # Excel 365: a dynamic array cannot spill
    CALC = 14  # Excel 365: a calculation with no result (FILTER with nothing to keep)

    @property
    def text(self) -> str:
        return _ERROR_TEXT[self]

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_text(cls, text: str) -> XlError | None:
        return _TEXT_ERROR.get(text.strip().upper())


_ERROR_TEXT = {
    XlError.NULL: "#NULL!",
    XlError.DIV0: "#DIV/0!",
    XlError.VALUE: "#VALUE!",
    XlError.REF: "#REF!",
    XlError.NAME: "#NAME?",
    XlError.NUM: "#NUM!",
    XlError.NA: "#N/A",
    XlError.GETTING_DATA: "#GETTING_DATA",
    XlError.SPILL: "#SPILL!",
    XlError.CALC: "#CALC!",
}
_TEXT_ERROR = {text: err for err, text in _ERROR_TEXT.items()}
OK = 0


class Kind(enum.Enum):
    """The domain of a KPI function argument."""

    COUNT = "count"  # >= 0: leads, calls, deals (fractions allowed: monthly averages)
    AMOUNT = "amount"  # >= 0: yen
    RATE = "rate"  # [0, 1]: 0.25 means 25 %
    RATIO = "ratio"  # >= 0, may exceed 1: LTV/CAC, coverage
    NUMBER = "number"  # any finite number: actuals and targets of any KPI
    FLAG = "flag"  # TRUE/FALSE, 1/0 or blank (FALSE)


def _scalar_code(x: Any) -> tuple[float, int]:
    """Value and error code of one Excel-like scalar (before domain checks)."""
    if x is None:
        return 0.0, OK
    if isinstance(x, XlError):
        return np.nan, int(x)
    if isinstance(x, (bool, np.bool_)):
        return np.nan, XlError.VALUE
    if isinstance(x, str):
        if x == "":
            return 0.0, OK
        err = XlError.from_text(x)
        return np.nan, int(err if err is not None else XlError.VALUE)
    try:
        value = float(x)
    except (TypeError, ValueError):
        return np.nan, XlError.VALUE
    if np.isnan(value):  # pandas' empty cell
        return 0.0, OK
    return value, OK


def to_checked(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Float values and int8 error codes of a scalar, sequence, array or Series."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiu":
        values = x.astype(float)
        values = np.where(np.isnan(values), 0.0, values)
        return values, np.zeros(values.shape, dtype=np.int8)
    arr = np.asarray(x, dtype=object) if not np.isscalar(x) or isinstance(x, str) else None
    if arr is None or arr.ndim == 0:
        value, code = _scalar_code(x if arr is None else arr.item())
        return np.array(value), np.array(code, dtype=np.int8)
    flat = [_scalar_code(v) for v in arr.ravel()]
    values = np.array([v for v, _ in flat], dtype=float).reshape(arr.shape)
    codes = np.array([c for _, c in flat], dtype=np.int8).reshape(arr.shape)
    return values, codes


def check_domain(values: np.ndarray, codes: np.ndarray, kind: Kind) -> np.ndarray:
    """Codes with ``#NUM!`` added where a value lies outside ``kind``'s domain."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values)
        if kind in (Kind.COUNT, Kind.AMOUNT, Kind.RATIO):
            bad |= values < 0
        elif kind is Kind.RATE:
            bad |= (values < 0) | (values > 1)
    return np.where((codes == OK) & bad, np.int8(XlError.NUM), codes).astype(np.int8)


def first_error(*codes: np.ndarray) -> np.ndarray:
    """Element-wise leftmost non-zero code, broadcast over all arguments."""
    out = np.zeros(np.broadcast(*codes).shape, dtype=np.int8)
    for code in reversed(codes):
        out = np.where(code != OK, code, out)
    return out.astype(np.int8)

