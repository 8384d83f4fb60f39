"""Excel number formats, as TEXT(value, format) applies them.

Sections separated by ``;`` (positive; negative; zero; text), conditions (``[>100]``) and
colours (``[Red]``) in brackets, ``[$¥-411]`` currency and locale tags; digits ``0`` ``#``
``?``, the decimal point, ``,`` as the thousands separator (or, trailing, dividing by 1,000),
``%``, ``E+``/``E-`` exponents, quoted ``"text"``, ``\\c`` literals, ``_c`` (a space) and ``*c``
(ignored); dates and times ``yyyy yy m mm mmm mmmm d dd ddd dddd h hh m mm s ss AM/PM``,
``[h]``, Japanese weekdays ``aaa``/``aaaa``; ``@`` for text; ``General`` (``G/標準``); fractions
``# ?/?``, ``?/?``, ``# ??/??``, ``# ?/8``.

Numbers are rounded as Excel shows them: read at 15 significant digits, halves away from
zero (``TEXT(2.675,"0.00")`` is "2.68", ``TEXT(0.125,"0%")`` is "13%").
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..dates import to_ymd
from ..excel_text import general_text

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
           "December")
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAYS_JA = ("日", "月", "火", "水", "木", "金", "土")
_DATE_CODES = re.compile(r"(?i)(yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|aaaa|aaa|hh|h|ss|s|am/pm|a/p|\[h+\]|\[m+\]|\[s+\]|e|g+)")
_CONDITION = re.compile(r"\[(<=|>=|<>|<|>|=)(-?\d+(?:\.\d+)?)\]")


_WIDE = decimal.Context(prec=400)  # room for every digit of 1E+308 shown in full ("0.00")


@dataclass
class Section:
    tokens: list[tuple[str, str]]  # (kind, text): "lit", "digit", "point", "comma", "percent", "exp", "text", "date"
    condition: tuple[str, float] | None
    is_date: bool
    has_text: bool


_TOKEN = re.compile(r"""
    "(?P<quoted>[^"]*)"?            # "text" shown as it is
  | \\(?P<escaped>.)                # \c shows c
  | _(?P<space>.)                   # _c leaves the width of c: one space
  | \*(?P<fill>.)                   # *c repeats c to fill the cell: nothing in text
  | \[(?P<bracket>[^\]]*)\]?        # [>100], [Red], [$¥-411], [h]
  | (?P<digit>[0#?])
  | (?P<point>\.)
  | (?P<comma>,)
  | (?P<percent>%)
  | (?P<exp>[Ee][+-])
  | (?P<text>@)
  | (?P<date>yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|aaaa|aaa|hh|h|ss|s|am/pm|a/p|ee|e|g+)
  | (?P<lit>.)
""", re.X | re.I | re.S)
_LITERAL = {"quoted": lambda t: t, "escaped": lambda t: t, "space": lambda t: " ", "lit": lambda t: t}


def _tokenize(section: str) -> Section:
    sec = Section([], None, False, False)
    pos = 0
    while pos < len(section):
        m = _TOKEN.match(section, pos)
        assert m is not None and m.lastgroup is not None  # the last alternative takes any character
        kind, text = m.lastgroup, m.group(m.lastgroup)
        pos = m.end()
        if kind == "exp" and sec.is_date:  # in a date format E is the (Japanese era) year
            kind, text, pos = "date", text[0], pos - 1
        if kind == "date" and text.lower() in ("e", "ee") and not sec.is_date:
            kind = "lit"
        if kind in _LITERAL:
            sec.tokens.append(("lit", _LITERAL[kind](text)))
        elif kind == "bracket":
            _bracket(sec, text)
        elif kind != "fill":
            sec.tokens.append((kind, text))
            sec.is_date |= kind == "date"
            sec.has_text |= kind == "text"
    return sec


def _bracket(sec: Section, body: str) -> None:
    """A ``[…]`` part: a condition, an elapsed-time code, a currency symbol; colours show nothing."""
    m = _CONDITION.fullmatch(f"[{body}]")
    if m:
        sec.condition = (m.group(1), float(m.group(2)))
    elif re.fullmatch(r"h+|m+|s+", body, re.I):
        sec.tokens.append(("date", f"[{body.lower()}]"))
        sec.is_date = True
    elif body.startswith("$") and body[1:].split("-")[0]:
        sec.tokens.append(("lit", body[1:].split("-")[0]))


def _split_sections(code: str) -> list[str]:
    out, current, quoted, bracket = [], [], False, False
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "[" and not quoted:
            bracket = True
        elif ch == "]" and not quoted:
            bracket = False
        elif ch == "\\" and i + 1 < len(code):
            current.append(code[i:i + 2])
            i += 2
            continue
        if ch == ";" and not quoted and not bracket:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    out.append("".join(current))
    return out


@functools.lru_cache(maxsize=256)
def _parsed(code: str) -> tuple[list[str], list[Section]]:
    """A format's sections, as written and tokenized (once per distinct format)."""
    sections = _split_sections(code)
    return sections, [_tokenize(s) for s in sections]


def format_value(value: float | str, code: str) -> str | XlError:
    """``value`` shown in the format ``code`` (an Excel number format), as TEXT gives it."""
    sections, parsed = _parsed(code)
    if isinstance(value, str):
        text_section = sections[3] if len(sections) > 3 else next((s for s in sections if "@" in s), None)
        if text_section is None:
            return value
        sec = _tokenize(text_section)
        return "".join(value if kind == "text" else text for kind, text in sec.tokens)
    if not math.isfinite(value):
        return XlError.NUM
    sec, negative_shown = _choose(parsed, value)
    number = abs(value) if negative_shown else value
    if code.strip().lower() in ("general", "g/標準", "") or (len(sec.tokens) == 0 and not sections[0].strip()):
        return general_text(value)
    if any(t == ("lit", "General") for t in sec.tokens) or "general" in code.lower():
        return general_text(value)
    if sec.is_date:
        return _date(number, sec)
    if sec.has_text and not any(kind == "digit" for kind, _ in sec.tokens):  # "@" shows a number as General does
        return "".join(general_text(value) if kind == "text" else text for kind, text in sec.tokens)
    return _number(number, sec)


_SIMPLE = frozenset({"lit", "digit", "point", "comma", "percent"})


def format_numbers(values: np.ndarray, code: str) -> list[str | XlError]:
    """:func:`format_value` of many numbers at once (a 1-D float array), the same texts.

    A format of plain number sections (digits, a decimal point, thousands, %, literal text; no dates,
    exponents or conditions) is applied with numpy: Excel's rounding (:mod:`..excel_round`) for all,
    then each text put together from whole numbers. Other formats: once per distinct value."""
    values = np.asarray(values, dtype=float)
    parsed = _parsed(code)[1]
    simple = (code.strip().lower() not in ("general", "g/標準", "") and "general" not in code.lower()
              and all(sec.condition is None and {k for k, _ in sec.tokens} <= _SIMPLE and _fraction_slash(sec.tokens) is None
                      for sec in parsed[:3])
              and any(k == "digit" for sec in parsed[:3] for k, _ in sec.tokens))
    if not simple or not np.all(np.isfinite(values)):
        done = map_value(values, code)
        return done
    out: list[Any] = [None] * len(values)
    groups = [(values < 0, parsed[1], True)] if len(parsed) >= 2 else []
    if len(parsed) >= 3:
        groups.append((values == 0, parsed[2], False))
    taken = np.zeros(len(values), bool)
    for mask, sec, negate in groups:
        mask = mask & ~taken
        taken |= mask
        _fill_numbers(out, np.flatnonzero(mask), np.abs(values[mask]) if negate else values[mask], sec)
    rest = ~taken
    _fill_numbers(out, np.flatnonzero(rest), values[rest], parsed[0])
    return out


def map_value(values: np.ndarray, code: str) -> list[str | XlError]:
    """:func:`format_value` once per distinct number."""
    memo: dict[float, str | XlError] = {}
    out = []
    for v in values.tolist():
        shown = memo.get(v)
        if shown is None:
            shown = memo[v] = format_value(v, code)
        out.append(shown)
    return out


def _fill_numbers(out: list[Any], where: np.ndarray, values: np.ndarray, sec: Section) -> None:
    """``_number(value, sec)`` for each value, into ``out`` at ``where``."""
    if not len(where):
        return
    from ..excel_round import excel_round

    tokens = sec.tokens
    point, int_ph, dec_ph, thousands, (times, per) = _layout(tokens)
    places = len(dec_ph)
    with np.errstate(all="ignore"):
        scaled = values * times / per
        rounded = excel_round(scaled, np.full(scaled.shape, float(places)))
        units = np.rint(np.abs(rounded) * 10.0 ** places)
    exact = np.abs(rounded) * 10.0 ** places < 1e15  # whole numbers below 2**53: their digits are exact
    pieces = _template(tokens, point)
    pads = [_fill_int("1" * k, int_ph, False)[:-k or None] for k in range(len(int_ph) + 1)]  # the padding before k digits
    fracs: dict[int, str] = {}
    for at, ok, v, r, u in zip(where.tolist(), exact.tolist(), values.tolist(), rounded.tolist(), units.tolist()):
        if not ok:
            out[at] = _number(v, sec)
            continue
        whole, frac = divmod(int(u), 10 ** places) if places else (int(u), 0)
        digits = (f"{whole:,}" if thousands else str(whole)) if whole else ""
        width = len(str(whole)) if whole else 0
        int_text = (pads[width] if width < len(pads) else "") + digits
        frac_text = fracs.get(frac)
        if frac_text is None:
            frac_text = fracs[frac] = _fill_frac(str(frac).rjust(places, "0") if places else "", dec_ph)
        text = "".join(int_text if p is _INT else frac_text if p is _FRAC else p for p in pieces)
        out[at] = ("-" + text) if r < 0 else text


_INT, _FRAC = object(), object()


def _template(tokens: list[tuple[str, str]], point: int | None) -> list[Any]:
    """The pieces of :func:`_number`'s output in order, the integer and fraction digits as markers."""
    out: list[Any] = []
    int_done = frac_done = False
    for i, (kind, text) in enumerate(tokens):
        if kind == "digit":
            if point is None or i < point:
                if not int_done:
                    out.append(_INT)
                    int_done = True
            elif not frac_done:
                out.append(_FRAC)
                frac_done = True
        elif kind == "point":
            if not int_done:
                out.append(_INT)
                int_done = True
            out.append(".")
        elif kind == "percent":
            out.append("%")
        elif kind not in ("comma", "text"):
            out.append(text)
    return out


def _choose(sections: list[Section], value: float) -> tuple[Section, bool]:
    """The section for ``value`` and whether its sign is shown by the section (no minus sign added)."""
    conditional = [s for s in sections[:2] if s.condition is not None]
    if conditional:
        for s in sections[:3]:
            if s.condition is not None and _meets(value, s.condition):
                return s, False
        rest = [s for s in sections[:3] if s.condition is None]
        return (rest[0] if rest else sections[-1]), False
    if value < 0 and len(sections) >= 2:
        return sections[1], True
    if value == 0 and len(sections) >= 3:
        return sections[2], False
    return sections[0], False


def _meets(value: float, condition: tuple[str, float]) -> bool:
    op, limit = condition
    return {"<": value < limit, ">": value > limit, "=": value == limit, "<=": value <= limit, ">=": value >= limit,
            "<>": value != limit}[op]


def _round(value: float, places: int) -> decimal.Decimal:
    """``value`` read at 15 significant digits, rounded to ``places`` decimals, halves away from zero."""
    d = decimal.Decimal(format(value, ".15g"))
    return d.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP, context=_WIDE)


def _layout(tokens: list[tuple[str, str]]) -> tuple[int | None, list[str], list[str], bool, tuple[int, int]]:
    """A number section's shape: where the decimal point is, the integer and decimal placeholders, whether
    it groups thousands, and what its % signs multiply by and its trailing commas divide by ("0,," shows
    millions)."""
    kinds = [k for k, _ in tokens]
    point = kinds.index("point") if "point" in kinds else None
    digit_at = [i for i, k in enumerate(kinds) if k == "digit"]
    last_digit = digit_at[-1] if digit_at else -1
    int_ph = [tokens[i][1] for i in digit_at if point is None or i < point]
    dec_ph = [tokens[i][1] for i in digit_at if point is not None and i > point]
    thousands = any(k == "comma" and i < last_digit and (point is None or i < point) for i, k in enumerate(kinds))
    scale = sum(1 for i, k in enumerate(kinds) if k == "comma" and i > last_digit)
    return point, int_ph, dec_ph, thousands, (100 ** kinds.count("percent"), 1000 ** scale)


def _number(value: float, sec: Section) -> str | XlError:
    tokens = sec.tokens
    if any(k == "exp" for k, _ in tokens):
        return _scientific(value, sec)
    slash = _fraction_slash(tokens)
    if slash is not None:
        if any(k in ("point", "percent") for k, _ in tokens):  # "0.0 ?/?", "# ?/?%": LibreOffice says #VALUE!
            return XlError.VALUE
        return _fraction(value, tokens, slash)
    point, int_ph, dec_ph, thousands, (times, per) = _layout(tokens)
    value = value * times / per
    rounded = _round(value, len(dec_ph))
    whole, _, frac = format(abs(rounded), "f").partition(".")
    int_text = _fill_int(whole.lstrip("0"), int_ph, thousands)
    frac_text = _fill_frac(frac.ljust(len(dec_ph), "0")[:len(dec_ph)], dec_ph)
    out = [int_text if p is _INT else frac_text if p is _FRAC else p for p in _template(tokens, point)]
    return ("-" if rounded < 0 else "") + "".join(out)


def _fraction_slash(tokens: list[tuple[str, str]]) -> int | None:
    """Where a fraction format's ``/`` is: a literal slash between a digit placeholder and a denominator
    (placeholders, or a fixed number such as the ``4`` of ``# ?/4``)."""
    for i, (kind, text) in enumerate(tokens):
        if (kind, text) == ("lit", "/") and 0 < i < len(tokens) - 1 and tokens[i - 1][0] == "digit":
            after = tokens[i + 1]
            if after[0] == "digit" or (after[0] == "lit" and after[1] in "123456789"):
                return i
    return None


def _fraction(value: float, tokens: list[tuple[str, str]], slash: int) -> str:
    """``# ?/?``, ``?/?``, ``# ??/??``, ``0/4``, ``# ?/4``: a whole part (when the format has one), the numerator
    right-aligned in its placeholders and the denominator left-aligned in its own; a variable denominator is the
    nearest fraction with that many digits, a fixed one rounds the numerator. A whole number leaves the
    fraction's width blank (``5`` in ``# ?/?`` is ``"5    "``)."""
    from fractions import Fraction

    end = slash + 1
    while end < len(tokens) and (tokens[end][0] == "digit" or (tokens[end][0] == "lit" and tokens[end][1].isdigit())):
        end += 1
    den_tokens = tokens[slash + 1:end]
    start = slash
    while start > 0 and tokens[start - 1][0] == "digit":
        start -= 1
    num_ph = [t for _, t in tokens[start:slash]]
    whole_end = start
    while whole_end > 0 and tokens[whole_end - 1][0] == "lit" and not tokens[whole_end - 1][1].strip():
        whole_end -= 1  # the space(s) between the whole part and the numerator
    whole_start = whole_end
    while whole_start > 0 and tokens[whole_start - 1][0] in ("digit", "comma"):
        whole_start -= 1
    has_whole = whole_start < whole_end and any(k == "digit" for k, _ in tokens[whole_start:whole_end])
    x = abs(value)
    whole = math.floor(x) if has_whole else 0
    part = x - whole
    if den_tokens[0][0] == "lit":  # a fixed denominator
        den = int("".join(t for _, t in den_tokens))
        num = int(_round(part * den, 0))
    else:
        best = Fraction(part).limit_denominator(10 ** len(den_tokens) - 1)
        num, den = best.numerator, best.denominator
    if has_whole and num == den:
        whole, num = whole + 1, 0
    den_ph = [t for k, t in den_tokens if k == "digit"]
    num_text = _fill_int(str(num), num_ph, False)
    den_text = str(den) + "".join("0" if p == "0" else " " if p == "?" else "" for p in den_ph[len(str(den)):])
    fraction = "".join(t for _, t in tokens[whole_end:start]) + num_text + "/" + den_text
    if has_whole and num == 0:  # a whole number: the fraction's place is left blank (a fixed denominator's own
        fraction = " " * (len(fraction) - (len(den_text) if den_tokens[0][0] == "lit" else 0))  # digits, dropped)
    whole_ph = [t for k, t in tokens[whole_start:whole_end] if k == "digit"]
    whole_text = _fill_int(str(whole) if whole else ("0" if num == 0 else ""), whole_ph, False) if has_whole else ""
    body = whole_text + fraction if has_whole else num_text + "/" + den_text
    prefix = "".join(t for k, t in tokens[:whole_start if has_whole else start] if k == "lit")
    suffix = "".join(t for k, t in tokens[end:] if k == "lit")
    return ("-" if value < 0 and (whole or num) else "") + prefix + body + suffix  # -0.04 in "# ?/?": "0    "


def _fill_int(digits: str, placeholders: list[str], thousands: bool) -> str:
    """The integer digits in the placeholders: '0' pads with zeros, '?' with spaces, '#' with nothing."""
    if thousands and digits:
        digits = f"{int(digits):,}"
    pad = placeholders[:max(0, len(placeholders) - len(digits.replace(",", "")))]
    return "".join("0" if p == "0" else " " if p == "?" else "" for p in pad) + digits


def _fill_frac(frac: str, placeholders: list[str]) -> str:
    out = list(frac)
    for i in range(len(placeholders) - 1, -1, -1):
        if out[i] != "0" or placeholders[i] == "0":
            break
        out[i] = " " if placeholders[i] == "?" else ""
    return "".join(out)


def _scientific(value: float, sec: Section) -> str:
    kinds = [k for k, _ in sec.tokens]
    e_at = kinds.index("exp")
    mantissa_tokens = sec.tokens[:e_at]
    exp_tokens = sec.tokens[e_at + 1:]
    point = next((i for i, (k, _) in enumerate(mantissa_tokens) if k == "point"), None)
    int_places = sum(1 for i, (k, _) in enumerate(mantissa_tokens) if k == "digit" and (point is None or i < point))
    dec_places = sum(1 for i, (k, _) in enumerate(mantissa_tokens) if k == "digit" and point is not None and i > point)
    exp_digits = sum(1 for k, _ in exp_tokens if k == "digit")
    sign_always = sec.tokens[e_at][1][1] == "+"
    if value == 0:
        exponent = 0
        mant = decimal.Decimal(0)
    else:
        d = decimal.Decimal(format(abs(value), ".15g"))
        exponent = d.adjusted() - (max(int_places, 1) - 1)
        mant = (d.scaleb(-exponent)).quantize(decimal.Decimal(1).scaleb(-dec_places), rounding=decimal.ROUND_HALF_UP, context=_WIDE)
        if mant >= decimal.Decimal(10) ** max(int_places, 1):
            exponent += 1
            mant = (d.scaleb(-exponent)).quantize(decimal.Decimal(1).scaleb(-dec_places), rounding=decimal.ROUND_HALF_UP, context=_WIDE)
    mant_text = format(mant, "f")
    exp_sign = "-" if exponent < 0 else ("+" if sign_always else "")
    exp_text = str(abs(exponent)).rjust(max(exp_digits, 1), "0")
    prefix = "".join(t for k, t in mantissa_tokens if k == "lit")
    return ("-" if value < 0 else "") + prefix + mant_text + sec.tokens[e_at][1][0] + exp_sign + exp_text


@dataclass(frozen=True)
class _Moment:
    """A date-time serial taken apart, as date codes show it."""

    day: int
    year: int
    month: int
    dom: int
    weekday: int  # 0 = Sunday
    hour: int
    minute: int
    second: int
    twelve: bool  # an AM/PM code makes hours 1–12

    @property
    def shown_hour(self) -> int:
        return self.hour % 12 or 12 if self.twelve else self.hour


_DATE_PARTS: dict[str, Callable[[_Moment], str]] = {
    "yyyy": lambda t: str(t.year), "yyy": lambda t: str(t.year), "yy": lambda t: str(t.year)[-2:], "y": lambda t: str(t.year)[-2:],
    "m": lambda t: str(t.month), "mm": lambda t: f"{t.month:02d}", "mmm": lambda t: _MONTHS[t.month - 1][:3],
    "mmmm": lambda t: _MONTHS[t.month - 1], "mmmmm": lambda t: _MONTHS[t.month - 1][0],
    "d": lambda t: str(t.dom), "dd": lambda t: f"{t.dom:02d}", "ddd": lambda t: _DAYS[t.weekday][:3],
    "dddd": lambda t: _DAYS[t.weekday], "aaa": lambda t: _DAYS_JA[t.weekday], "aaaa": lambda t: _DAYS_JA[t.weekday] + "曜日",
    "h": lambda t: str(t.shown_hour), "hh": lambda t: f"{t.shown_hour:02d}",
    "s": lambda t: str(t.second), "ss": lambda t: f"{t.second:02d}",
    "e": lambda t: str(_era(t)[1]), "ee": lambda t: f"{_era(t)[1]:02d}",
    "g": lambda t: _era(t)[0][0], "gg": lambda t: _era(t)[0][1], "ggg": lambda t: _era(t)[0][2:],
    "[h]": lambda t: str(t.day * 24 + t.hour), "[m]": lambda t: str((t.day * 24 + t.hour) * 60 + t.minute),
    "[s]": lambda t: str(((t.day * 24 + t.hour) * 60 + t.minute) * 60 + t.second),
}


# Japanese eras (initial, abbreviation, name) by their first day, as the ja-JP calendar shows them
_ERAS = (((2019, 5, 1), "R令令和"), ((1989, 1, 8), "H平平成"), ((1926, 12, 25), "S昭昭和"), ((1912, 7, 30), "T大大正"),
         ((1868, 9, 8), "M明明治"))


def _era(t: _Moment) -> tuple[str, int]:
    """The era (initial, abbreviation, name packed in one string) and the year within it."""
    for start, names in _ERAS:
        if (t.year, t.month, t.dom) >= start:
            return names, t.year - start[0] + 1
    return _ERAS[-1][1], t.year - _ERAS[-1][0][0] + 1


def _date(value: float, sec: Section) -> str | XlError:
    if value < 0 or value > 2_958_465.99999:
        return XlError.VALUE
    day = int(value)
    seconds = round((value - day) * 86400)
    if seconds >= 86400:
        day, seconds = day + 1, seconds - 86400
    y, m, d = (int(a[0]) for a in to_ymd(np.array([day])))
    twelve = any(k == "date" and t.lower() in ("am/pm", "a/p") for k, t in sec.tokens)
    # serial 1 was a Sunday to Excel
    moment = _Moment(day, y, m, d, (day - 1) % 7, seconds // 3600, seconds // 60 % 60, seconds % 60, twelve)
    out = []
    for i, (kind, text) in enumerate(sec.tokens):
        if kind != "date":  # in a date format "," "." "%" and digits are literal text
            out.append("" if kind == "text" else text)
        else:
            out.append(_date_part(text, moment, _is_minute(sec.tokens, i)))
    return "".join(out)


def _date_part(code: str, t: _Moment, minute: bool) -> str:
    low = code.lower()
    if low in ("m", "mm") and minute:
        return str(t.minute).rjust(len(low), "0")
    if low in ("am/pm", "a/p"):
        half = ("AM", "PM") if low == "am/pm" else ("A", "P")
        shown = half[t.hour >= 12]
        return shown if code[0].isupper() else shown.lower()
    if low.startswith("["):  # elapsed time: [hh] pads to two digits
        return _DATE_PARTS["[" + low[1] + "]"](t).rjust(len(low) - 2, "0")
    part = _DATE_PARTS.get(low) or _DATE_PARTS.get(low[:3])  # gggg reads as ggg
    return part(t) if part else code


def _is_minute(tokens: list[tuple[str, str]], i: int) -> bool:
    """``m``/``mm`` right after an hour or right before a second is minutes (Excel's rule), else month."""
    dates = [(j, t.lower()) for j, (k, t) in enumerate(tokens) if k == "date"]
    at = next(k for k, (j, _) in enumerate(dates) if j == i)
    before = dates[at - 1][1] if at > 0 else ""
    after = dates[at + 1][1] if at + 1 < len(dates) else ""
    return before.startswith(("h", "[h")) or after.startswith("s")
