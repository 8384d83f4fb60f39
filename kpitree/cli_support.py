"""Argument parsing and output helpers shared by every part's commands."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

_BIG_UNITS = {"兆": 1e12, "億": 1e8, "万": 1e4}
_SMALL_UNITS = {"千": 1e3, "百": 1e2, "十": 10.0}
_LATIN_UNITS = {"k": 1e3, "m": 1e6}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
_KANJI_AMOUNT = re.compile(rf"(?:(?:{_NUMBER})?[兆億万千百十])+(?:{_NUMBER})?")
_KANJI_TOKEN = re.compile(rf"({_NUMBER})?([兆億万千百十])|({_NUMBER})$")
_AMOUNT_HINT = "write e.g. 100000000, 100,000,000, 1億, 1億5000万, 3千万 or 100万"


def normalize_typed(text: str) -> str:
    """What a user typed, as ASCII where it means the same: full-width digits, ％, ，, ． and spaces (NFKC)."""
    return unicodedata.normalize("NFKC", text).strip()


def _kanji_amount(raw: str) -> float | None:
    """``1億5000万``, ``3千万``, ``1兆2000億``, ``2億5千万``: sections under 兆/億/万, each up to 千/百/十; None if not one."""
    if not _KANJI_AMOUNT.fullmatch(raw):
        return None
    total, section, last_big, last_small = 0.0, 0.0, float("inf"), float("inf")
    for number, unit, tail in _KANJI_TOKEN.findall(raw):
        if tail:
            section += float(tail)
            continue
        n = float(number) if number else None
        if unit in _SMALL_UNITS:
            if _SMALL_UNITS[unit] >= last_small:
                return None
            last_small = _SMALL_UNITS[unit]
            section += (1.0 if n is None else n) * _SMALL_UNITS[unit]
        else:
            if _BIG_UNITS[unit] >= last_big or (n is None and section == 0):
                return None
            last_big, last_small = _BIG_UNITS[unit], float("inf")
            total += (section + (n or 0.0)) * _BIG_UNITS[unit]
            section = 0.0
    return total + section


def amount(text: str) -> float:
    """A yen amount as users type it: ``100000000``, ``1e8``, ``100,000,000``, ``1億``, ``100万``, ``1.5億``,
    ``1億5000万``, ``3千万``, ``1兆``, full-width ``１億`` or ``１００，０００円``, ``¥``/``円`` around it."""
    raw = normalize_typed(text).replace(",", "").replace("円", "").replace("¥", "").replace(" ", "")
    value: float | None = None
    latin = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e\+?[0-9]+)?)([km]?)", raw, re.IGNORECASE)
    if latin:
        value = float(latin.group(1)) * _LATIN_UNITS.get(latin.group(2).lower(), 1.0)
    elif raw:
        value = _kanji_amount(raw)
    if value is None:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} ({_AMOUNT_HINT})")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} is too large ({_AMOUNT_HINT})")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"amount must be > 0, got {text!r}")
    return value


def rate(text: str) -> float:
    """A rate: ``25%`` (also ``25％``, ``２５%``) or ``0.25``; a bare ``25`` is refused, never read as 25 %.

    A bare ``1`` is refused too: it could mean 100 % (a fraction) or 1 % (a percentage
    without its sign), and the two differ a hundredfold.
    """
    raw = normalize_typed(text).replace(" ", "")
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (write 25% or 0.25)") from None
    if not raw.endswith("%") and value == 1:
        raise argparse.ArgumentTypeError(f"rate {text!r} is ambiguous: write 100% for all of them, or 1% for one in a hundred")
    if not 0 < value <= 1:
        hint = f" — did you mean {raw}%?" if not raw.endswith("%") and 1 < value <= 100 else ""
        raise argparse.ArgumentTypeError(f"rate must be above 0 and at most 100 %, got {text!r}{hint}")
    return value


def yen(value: float) -> str:
    """A yen amount for a table: ``¥100,000,000`` (whole yen; a fraction of a yen is noise)."""
    return f"¥{value:,.0f}"


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def positive(text: str) -> float:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=("ja", "en"), default="ja", help="label language (default: ja)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: Any, keep: str = "") -> str:
    """``value`` as text safe for a terminal: control characters as ``\\xNN`` / ``\\uNNNN``.

    Everything printed that comes from data (file names, cells of an export, member names)
    goes through here: an ESC sequence or a bidi override in a cell must not recolour, move
    or rewrite what the user sees. ``keep``: characters left as they are (``"\\n"`` for messages).
    """
    text = str(value)
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else
                        (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"), text)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> None:
    """A table on stdout; its title and cells are plain text (no rich markup, control characters escaped)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(printable(title)), title_justify="left")
    for i, column in enumerate(columns):
        # numbers never wrap or get cut; labels take what width is left
        table.add_column(Text(printable(column)), justify="right" if i in right else "left", no_wrap=i in right)
    for row in rows:
        table.add_row(*(Text(printable(c)) for c in row))
    # piped output keeps whole lines: a file or grep gains nothing from 80-column wrapping
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(table)
