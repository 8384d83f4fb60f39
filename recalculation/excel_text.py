"""Numbers and text the way Excel turns one into the other.

Text to number (:func:`parse_number_text`) is what Excel does with text in arithmetic
(``"25%"*1``) and in ``VALUE``: a number with optional sign, currency sign, thousands
separators, decimals, exponent and percent; a negative number in parentheses
(``"(5)"`` is -5); a date or a time (``2026/4/1``, ``2026年4月1日``, ``4/1/2026``,
``Mar 15, 2023``, ``15-Mar-2023``, ``12:30``), read as its serial number. Full-width characters read as their ASCII forms (Japanese
Excel accepts ``"１２３"``). Anything else — ``"1_000"``, ``"inf"``, ``""`` — is not a
number, and the caller answers ``#VALUE!``.

Number to text (:func:`general_text`) is Excel's General format as ``&`` and the text
functions use it: at most 15 significant digits, no trailing zeros, plain digits below 1E+20
unless more than 15 decimals would be needed, else scientific notation (``1E+20``,
``6.66666666666667E-06``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal

from .dates import date_serial

_NUMBER = re.compile(
    r"^(?P<sign1>[+-])?(?P<cur1>[$¥])?(?P<sign2>[+-])?(?P<cur2>[$¥])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d*)?(?P<exp>[eE][+-]?\d+)?(?P<pct>%)?$"
)
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2}(?:\.\d+)?))?(?:\s*(?P<ampm>[AaPp][Mm]))?"
_DATE_YMD = re.compile(r"^(?P<y>\d{4})[/-](?P<m>\d{1,2})[/-](?P<d>\d{1,2})(?:\s+" + _TIME + r")?$")
_DATE_MDY = re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?:\s+" + _TIME + r")?$")
_DATE_JA = re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日(?:\s*" + _TIME + r")?$")
_TIME_ONLY = re.compile(r"^" + _TIME + r"$")
_MONTH = r"(?P<mon>[A-Za-z]{3,9})\.?"
_DATE_NAMED = (re.compile(r"^" + _MONTH + r"\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})$"),   # Mar 15, 2023
               re.compile(r"^(?P<d>\d{1,2})[-\s]" + _MONTH + r"[-\s](?P<y>\d{4})$"))  # 15-Mar-2023, 15 March 2023
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
           "december")


def parse_number_text(text: str) -> float | None:
    """The number Excel reads in ``text``, or None (then Excel answers #VALUE!)."""
    s = unicodedata.normalize("NFKC", text).strip()
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):  # accounting style: (5) is -5
        s, negative = s[1:-1].strip(), True
    value = _plain_number(s)
    if value is None and not negative:
        value = _date_or_time(s)
    if value is None or not math.isfinite(value):
        return None
    return -value if negative else value


def _plain_number(s: str) -> float | None:
    m = _NUMBER.match(s)
    if not m or (m.group("int") is None and (m.group("frac") in (None, "."))):
        return None
    if (m.group("sign1") and m.group("sign2")) or (m.group("cur1") and m.group("cur2")):
        return None
    digits = (m.group("int") or "0").replace(",", "") + (m.group("frac") or "") + (m.group("exp") or "")
    try:
        value = float(digits)
    except ValueError:
        return None
    if m.group("pct"):
        value /= 100
    return -value if "-" in ((m.group("sign1") or "") + (m.group("sign2") or "")) else value


def _time_fraction(m: re.Match[str]) -> float | None:
    if m.group("h") is None:
        return 0.0
    h, mi = int(m.group("h")), int(m.group("mi"))
    sec = float(m.group("s") or 0)
    ampm = (m.group("ampm") or "").upper()
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm == "PM" else 0)
    if mi > 59 or sec >= 60:
        return None
    return (h * 3600 + mi * 60 + sec) / 86400


def _date_or_time(s: str) -> float | None:
    for pattern in (_DATE_YMD, _DATE_JA, _DATE_MDY):
        m = pattern.match(s)
        if m:
            y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
            try:
                dt.date(y, mo, d)  # a date that exists (Excel reads "2026/2/30" as text)
            except ValueError:
                return None
            frac = _time_fraction(m)
            return None if frac is None else date_serial(y, mo, d) + frac
    for pattern in _DATE_NAMED:
        m = pattern.match(s)
        if m:
            name = m.group("mon").lower()
            month = next((i + 1 for i, full in enumerate(_MONTHS) if full == name or (len(name) == 3 and full[:3] == name)), 0)
            try:
                dt.date(int(m.group("y")), month, int(m.group("d")))
            except ValueError:
                return None
            return date_serial(int(m.group("y")), month, int(m.group("d")))
    m = _TIME_ONLY.match(s)
    return _time_fraction(m) if m else None


def general_text(x: float) -> str:
    """A number as Excel's General format gives it to ``&`` and the text functions.

    Rounded to 15 significant digits, trailing zeros dropped; plain digits below 1E+20 (padded
    with zeros: ``(2/3*1E20)&""`` is "66666666666666700000") unless more than 15 decimals would
    be needed; otherwise scientific with a two-digit exponent at least ("6.66666666666667E-06",
    "1E+20"). Values measured in Excel: docs/recalc.md.
    """
    if x == 0 or not math.isfinite(x):
        return "0"
    d = Decimal(f"{x:.14e}").normalize()
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if d.adjusted() < 20 and -exponent <= 15:
        return format(d, "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}E{'+' if d.adjusted() >= 0 else '-'}{abs(d.adjusted()):02d}"
