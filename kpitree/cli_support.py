"""Argument parsing and output helpers shared by every part's commands."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

_UNITS = {"": 1.0, "千": 1e3, "万": 1e4, "億": 1e8, "k": 1e3, "m": 1e6}


def amount(text: str) -> float:
    """A yen amount: ``100000000``, ``1e8``, ``100,000,000``, ``1億``, ``100万``, ``1.5億``."""
    raw = text.strip().replace(",", "").replace("円", "").replace("¥", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e\+?[0-9]+)?)\s*([万億千km]?)", raw, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (write e.g. 100000000, 1億 or 100万)")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"amount must be > 0, got {text!r}")
    return value


def rate(text: str) -> float:
    """A rate: ``25%`` or ``0.25``; a bare ``25`` is refused, never read as 25 %."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (write 25% or 0.25)") from None
    if not 0 < value <= 1:
        hint = f" — did you mean {raw}%?" if not raw.endswith("%") and 1 < value <= 100 else ""
        raise argparse.ArgumentTypeError(f"rate must be above 0 and at most 100 %, got {text!r}{hint}")
    return value


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


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        # numbers never wrap or get cut; labels take what width is left
        table.add_column(column, justify="right" if i in right else "left", no_wrap=i in right)
    for row in rows:
        table.add_row(*(str(c) for c in row))
    # piped output keeps whole lines: a file or grep gains nothing from 80-column wrapping
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(table)
