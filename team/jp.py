"""What Japanese CRM/SFA exports and Excel files contain: encodings, dates, amounts, durations.

Scalar parsers (one value; ``ValueError`` for what they cannot read, ``None`` for blank):

* :func:`parse_date` — ``2026/4/1``, ``2026/04/01``, ``2026-04-01``, ``2026.4.1``,
  ``2026年4月1日``, full-width digits (``２０２６／４／１``), a trailing time
  (``2026/4/1 9:05``), Excel serial numbers of the 1900 date system (``46113`` = 2026-04-01;
  serials below 61 are refused: Excel's fictitious 1900-02-29 makes them ambiguous),
  ``令和8年4月1日`` / ``R8/4/1``;
* :func:`parse_amount` — ``1,000``, ``1,000円``, ``¥1,000``, ``￥1,000``, ``１，０００円``,
  ``1億5000万``, ``1億5,000万円``, ``3千万``, ``1.5億``, negatives (``-1,000``, ``−1,000``,
  ``▲1,000``, ``△1,000``, ``(1,000)``); refuses ``約100万`` and ``100ドル``;
* :func:`parse_duration_seconds` — seconds (``330``), ``0:05:30``, ``5:30``, ``5分30秒``,
  ``1時間2分``; milliseconds with ``unit="ms"`` (HubSpot), minutes with ``unit="min"``.

Column parsers (:func:`parse_dates`, :func:`parse_amounts`, :func:`parse_durations`) apply them
to a pandas Series by its *distinct* values — an export of a million calls has a few hundred
distinct dates — so a column is read at pandas speed and no value is guessed: each returns the
parsed column and a mask of the cells that could not be read.

Datetimes with a time zone (``2026-04-01T00:30:00Z``, as Salesforce's API and Data Loader write
UTC) are converted to Japan time before the date is taken.

The scalar parsers are the research snippet of the CRM import research (its tests are in
tests/test_team_jp.py), sources in docs/team.md.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_MINUS_CHARS = "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\uff0d"  # minus sign, hyphens, dashes NFKC keeps
TOKYO = "Asia/Tokyo"


def nfkc(text: Any) -> str:
    """NFKC (full-width digits and letters to ASCII, ￥ to ¥, half-width katakana to full-width), minus look-alikes to ``-``."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    for ch in _MINUS_CHARS:
        s = s.replace(ch, "-")
    return s


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return isinstance(value, str) and not value.strip()


# --- encodings ---------------------------------------------------------------------------

ENCODINGS = ("utf-8-sig", "cp932")


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` for UTF-8 (with or without a BOM), else ``cp932`` (Excel's "CSV" on Japanese Windows).

    Shift_JIS files are read as cp932, Microsoft's superset of it: NEC/IBM extension characters
    such as ①, ㈱ and 髙 exist only there. Order: a BOM, else strict UTF-8, else cp932; raises
    ValueError when neither decodes.
    """
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's 「Unicode テキスト」 (tab-separated), as recalc --scenarios reads it
        return "utf-16"
    for encoding in ENCODINGS:
        try:
            sample.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of the sample is no evidence against the encoding
            if encoding != "cp932" and exc.start >= len(sample) - 3:
                return encoding
            continue
    raise ValueError("neither UTF-8 nor cp932 (Shift_JIS)")


def read_text(path: Path) -> str:
    data = path.read_bytes()
    return data.decode(detect_encoding(data))


# --- dates --------------------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)  # the 1900 date system; right for serials >= 61 (1900-03-01)
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}  # year = base + era year
_WEEKDAY = r"(?:\s*\(([月火水木金土日])(?:曜日?)?\))?"  # 2026/4/1(水): Japanese exports add the weekday
_DATE_RE = re.compile(r"^(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})" + _WEEKDAY + r"(?:[ T].*)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")  # 20260401: 8 digits, never an Excel serial (at most 7)
_WEEKDAYS = "月火水木金土日"
_KANJI_DATE_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:.*)?$")
_ERA_RE = re.compile(r"^(令和|平成|R|H)(\d{1,2}|元)[年/.\-](\d{1,2})[月/.\-](\d{1,2})日?(?:.*)?$")
_SERIAL_RE = re.compile(r"\d{2,6}(\.\d+)?")


def parse_date(value: Any) -> date | None:
    """A date, or None for blank; ValueError for anything else (see the module doc)."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 10_000_000 <= value <= 99_999_999:  # 20260401 typed as a number
            return parse_date(str(int(value)))
        return _from_excel_serial(float(value))
    s = nfkc(value)
    if _SERIAL_RE.fullmatch(s):
        return _from_excel_serial(float(s))  # a serial that arrived as text
    m = _COMPACT_RE.match(s)
    if m:
        return _date(int(m[1]), int(m[2]), int(m[3]), value)
    m = _DATE_RE.match(s)
    if m:
        day = _date(int(m[1]), int(m[2]), int(m[3]), value)
        if m[4] and _WEEKDAYS[day.weekday()] != m[4]:  # a weekday that is not the date's: which one is wrong?
            raise ValueError(f"not a date: {value!r} ({day} is not a {m[4]}曜日)")
        return day
    m = _KANJI_DATE_RE.match(s)
    if m:
        return _date(int(m[1]), int(m[2]), int(m[3]), value)
    m = _ERA_RE.match(s)
    if m:
        era_year = 1 if m[2] == "元" else int(m[2])
        return _date(_ERAS[m[1]] + era_year, int(m[3]), int(m[4]), value)
    raise ValueError(f"not a date: {value!r}")


def _date(y: int, m: int, d: int, original: Any) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"not a date: {original!r}") from None


def _from_excel_serial(serial: float) -> date:
    if not 61 <= serial < 2_958_466:  # 1900-03-01 .. 9999-12-31
        raise ValueError(f"Excel serial {serial:g} is outside 1900-03-01..9999-12-31; not read as a date")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


# --- amounts ------------------------------------------------------------------------------

_BIG_UNITS = {"兆": 10**12, "億": 10**8, "万": 10**4}
_SMALL_UNITS = {"千": 1000, "百": 100}
_NUM = r"\d+(?:\.\d+)?"


def parse_amount(value: Any) -> float | None:
    """A yen amount as a float, None for blank; ValueError for text that is not an amount."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    s = nfkc(value)
    negative = False
    if s.startswith(("▲", "△")):
        negative, s = True, s[1:]
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = s.replace("¥", "").replace("円", "").replace("JPY", "").replace(",", "").replace(" ", "")
    if s.startswith("-"):
        negative, s = (not negative), s[1:]
    if not s:
        raise ValueError(f"not an amount: {value!r}")
    total = Decimal(0)
    rest = s
    for unit, mult in _BIG_UNITS.items():  # 兆 > 億 > 万: "1億5000万", "3千万"
        if unit in rest:
            head, rest = rest.split(unit, 1)
            total += _small_number(head, value) * mult
    if rest:
        total += _small_number(rest, value)
    try:
        return float(-total if negative else total)
    except InvalidOperation as exc:  # pragma: no cover - Decimal arithmetic on parsed digits
        raise ValueError(str(exc)) from exc


def _small_number(text: str, original: Any) -> Decimal:
    """A coefficient below 万: ``5000``, ``1.5``, ``3千``, ``2千5百``."""
    if not text:
        raise ValueError(f"not an amount: {original!r}")
    total = Decimal(0)
    rest = text
    for unit, mult in _SMALL_UNITS.items():
        if unit in rest:
            head, rest = rest.split(unit, 1)
            if head and not re.fullmatch(_NUM, head):
                raise ValueError(f"not an amount: {original!r}")
            total += Decimal(head or 1) * mult
    if rest:
        if not re.fullmatch(_NUM, rest):
            raise ValueError(f"not an amount: {original!r}")
        total += Decimal(rest)
    return total


# --- durations ----------------------------------------------------------------------------

DURATION_UNITS = {"s": 1.0, "ms": 0.001, "min": 60.0}


def parse_duration_seconds(value: Any, unit: str = "s") -> float | None:
    """Seconds; a plain number is in ``unit`` (``s``, ``ms`` or ``min``). None for blank."""
    if is_blank(value):
        return None
    factor = DURATION_UNITS[unit]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"negative duration: {value!r}")
        return float(value) * factor
    s = nfkc(value)
    if re.fullmatch(_NUM, s):
        return float(s) * factor
    m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})", s)
    if m:
        return float(int(m[1] or 0) * 3600 + int(m[2]) * 60 + int(m[3]))
    m = re.fullmatch(r"(?:(\d+)時間)?(?:(\d+)分)?(?:(\d+)秒)?", s)
    if m and any(m.groups()):
        h, mi, se = (int(g or 0) for g in m.groups())
        return float(h * 3600 + mi * 60 + se)
    raise ValueError(f"not a duration: {value!r}")


# --- columns ------------------------------------------------------------------------------


def _by_distinct(column: pd.Series, parse: Any) -> tuple[pd.Series, pd.Series]:
    """``parse`` applied to each distinct value of ``column``: (values, mask of unreadable cells).

    Blank cells give NaN/NaT and are not unreadable; ``parse`` returns a value or None, or
    raises ValueError.
    """
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    parsed: list[Any] = []
    bad = np.zeros(len(uniques) + 1, dtype=bool)  # the last slot: blank (code -1)
    for i, value in enumerate(uniques):
        try:
            parsed.append(parse(value))
        except (ValueError, TypeError, OverflowError):
            parsed.append(None)
            bad[i] = True
    return pd.Series([*parsed, None], dtype=object).take(codes).set_axis(column.index), pd.Series(bad[codes], index=column.index)


_ZONED_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d\d.*(?:Z|[+-]\d\d:?\d\d)\s*$")
MANY_DISTINCT = 50_000  # above this many distinct cells (timestamps), dates are parsed column-wise


def parse_date_jst(value: Any) -> date | None:
    """:func:`parse_date`, but a timestamp with a time zone (``...Z``, ``+09:00``) gives its date in Japan."""
    if isinstance(value, str) and _ZONED_RE.match(value):
        import pandas as pd

        try:
            return pd.Timestamp(value.strip()).tz_convert(TOKYO).date()
        except (ValueError, TypeError):
            raise ValueError(f"not a date: {value!r}") from None
    return parse_date(value)


def parse_dates(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column of dates as ``datetime64`` (midnight, Japan's date), and the mask of unreadable cells.

    Dates are parsed once per distinct cell; a column of timestamps (more than
    :data:`MANY_DISTINCT` distinct cells) is first cut to its dates column-wise.
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):
        values = column.dt.tz_convert(TOKYO).dt.tz_localize(None) if column.dt.tz is not None else column
        return values.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=column.index)
    _, uniques = pd.factorize(column, use_na_sentinel=True)
    if len(uniques) <= MANY_DISTINCT:
        values, bad = _by_distinct(column, parse_date_jst)
        return pd.to_datetime(values, errors="coerce").astype("datetime64[ns]"), bad
    text = column.astype("string")
    zoned = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)\s*$", regex=True, na=False) & text.str.contains(r"\d[T ]\d", na=False)
    out = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=column.index)
    if zoned.any():
        stamps = pd.to_datetime(text[zoned].str.strip(), utc=True, format="ISO8601", errors="coerce")
        out[zoned] = stamps.dt.tz_convert(TOKYO).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
        bad[zoned] = stamps.isna()
    plain = ~zoned
    if plain.any():
        # the date part only: a time after a space or "T" does not make another distinct value
        head = text[plain].str.replace(r"[T ]\d{1,2}:\d\d.*$", "", regex=True).str.strip()
        values, unreadable = _by_distinct(head, parse_date)
        out[plain] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
        bad[plain] = unreadable
    return out, bad


def _numeric_first(column: pd.Series, parse: Any, scale: float = 1.0) -> tuple[pd.Series, pd.Series]:
    """Plain numbers at pandas speed (times ``scale``); the rest (``1億``, ``1,000円``, ``5分30秒``) by distinct value."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column, errors="coerce").astype(float) * scale, pd.Series(False, index=column.index)
    text = column.astype("string").str.strip()
    fast = pd.to_numeric(text, errors="coerce").astype(float)
    rest = fast.isna() & text.notna() & (text != "")
    out = fast * scale
    bad = pd.Series(False, index=column.index)
    if rest.any():
        values, unreadable = _by_distinct(column[rest], parse)
        out[rest] = pd.to_numeric(values, errors="coerce")
        bad[rest] = unreadable
    return out, bad


_FOREIGN = re.compile(r"[$€£]|ドル|ユーロ|ポンド|元|ウォン|usd|eur|gbp|cny|krw|dollar", re.IGNORECASE)
_APPROX = re.compile(r"^(?:約|およそ|概算|ざっと|~|〜|approx|about|ca\.?)|(?:程度|前後|くらい|ぐらい|位|以上|以下|未満|超|弱|強|~|〜)$",
                     re.IGNORECASE)


def amount_problem(value: Any) -> str:
    """Why a cell is not a yen amount, as a reject reason: ``foreign_amount`` (another currency),
    ``approx_amount`` (約100万, 100万程度), ``negative_amount``, else ``bad_amount``."""
    text = nfkc(value).strip() if isinstance(value, str) else ""
    if _FOREIGN.search(text):
        return "foreign_amount"
    if _APPROX.search(text):
        return "approx_amount"
    try:
        amount = parse_amount(value)
    except (ValueError, TypeError, OverflowError):
        return "bad_amount"
    return "negative_amount" if amount is not None and amount < 0 else "bad_amount"


def parse_amounts(column: pd.Series, *, allow_negative: bool = False) -> tuple[pd.Series, pd.Series]:
    """Yen amounts (float; NaN for blank) and the mask of unreadable (or, unless allowed, negative) cells."""
    values, bad = _numeric_first(column, parse_amount)
    if not allow_negative:
        bad = bad | (values < 0)
        values = values.where(values >= 0)
    return values, bad


def parse_durations(column: pd.Series, unit: str = "s") -> tuple[pd.Series, pd.Series]:
    """Durations in **minutes** (a plain number is in ``unit``), and the mask of unreadable cells."""
    def seconds(value: Any) -> float | None:
        return parse_duration_seconds(value, unit)

    values, bad = _numeric_first(column, seconds, DURATION_UNITS[unit])
    bad = bad | (values < 0)
    return values.where(values >= 0) / 60.0, bad


def parse_numbers(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Plain numbers (scores, counts) with full-width digits accepted; the mask of unreadable cells."""

    def number(value: Any) -> float | None:
        if is_blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, (int, float)):
            return float(value)
        return float(nfkc(value).replace(",", ""))

    return _numeric_first(column, number)
