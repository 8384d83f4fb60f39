"""Plain-data building blocks shared by the template spec, the dashboard plan and the writers.

Nothing here imports XlsxWriter, openpyxl or xlwings: a writer turns these records into
cells, names, formats and charts of its own library. Coordinates are A1 strings
(``"D12"``) on a sheet given by its title; ranges are ``"D12:D20"``. Formulas start with
``=`` and use only workbook-scoped defined names and same-sheet or quoted-sheet
references.

Styles are keys into :data:`STYLES` composed as ``"<kind>"`` or ``"<kind>:<numfmt>"``
(``"input:rate"``, ``"calc:amount"``); :func:`style_properties` resolves a key to a plain
dict (font colour, fill, bold, number format, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FONTS = {"ja": "Yu Gothic", "en": "Calibri"}
FONT_SIZE = 10

NUMBER_FORMATS = {
    "count": "#,##0",
    "count1": "#,##0.0",
    "amount": '"¥"#,##0',
    "rate": "0.0%",
    "ratio": "0.00",
    "score": "0.0",
    "months": "0",
    "general": "General",
}

INPUT_FILL = "#FFF2CC"  # inputs: dark-blue text on light yellow, one style everywhere
INPUT_FONT = "#1F4E79"
CALC_FILL = "#F2F2F2"  # formulas: black on light grey
BORDER = "#BFBFBF"  # thin cell borders (every writer)

STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "size": 14, "color": "#1F3864"},
    "note": {"size": 9, "color": "#404040", "italic": True},
    "section": {"bold": True, "size": 11, "color": "#1F3864", "fill": "#D9E1F2"},
    "header": {"bold": True, "color": "#FFFFFF", "fill": "#1F3864", "align": "center", "wrap": True, "border": True},
    "label": {"border": True},
    "id": {"size": 8, "color": "#808080", "border": True},
    "text": {"border": True, "wrap": True, "size": 9},
    "input": {"color": INPUT_FONT, "fill": INPUT_FILL, "border": True},
    "calc": {"fill": CALC_FILL, "border": True},
    "status": {"fill": CALC_FILL, "border": True, "align": "center", "bold": True},
    "legend_input": {"color": INPUT_FONT, "fill": INPUT_FILL, "border": True, "size": 9},
    "legend_calc": {"fill": CALC_FILL, "border": True, "size": 9},
}

UNIT_FORMATS = {"count": "count", "currency": "amount", "rate": "rate", "ratio": "ratio", "score": "score",
                "minutes": "count1", "months": "count1"}


def style_properties(key: str) -> dict[str, Any]:
    """The plain properties of a style key such as ``"input:rate"``."""
    kind, _, numfmt = key.partition(":")
    props = dict(STYLES[kind])
    if numfmt:
        props["num_format"] = NUMBER_FORMATS[numfmt]
    return props


@dataclass(frozen=True)
class PlannedCell:
    """One cell: a constant ``value`` or a ``formula`` (``"=..."``), a style key, optionally a name.

    ``spill`` is the range a dynamic-array formula fills (``"A28:D32"``); the writer
    stores it as a dynamic array so Excel 365 spills it instead of showing one cell.
    """

    sheet: str
    ref: str
    value: Any = None
    formula: str | None = None
    style: str = "label"
    name: str | None = None
    spill: str | None = None


@dataclass(frozen=True)
class PlannedName:
    """A workbook-scoped defined name for a cell or range of ``sheet``."""

    name: str
    sheet: str
    ref: str

    @property
    def refers_to(self) -> str:
        return f"={quote_sheet(self.sheet)}!{absolute(self.ref)}"


@dataclass(frozen=True)
class PlannedValidation:
    """Data validation of input cells: ``kind`` is count, amount, rate, ratio, score or months."""

    sheet: str
    ref: str
    kind: str


@dataclass(frozen=True)
class PlannedConditionalFormat:
    """Cells of ``ref`` whose text equals ``equals`` get ``fill`` and ``color``."""

    sheet: str
    ref: str
    equals: str
    fill: str
    color: str


@dataclass(frozen=True)
class ChartSeries:
    name: str
    categories: str  # "'Sheet'!$C$10:$C$24"
    values: str
    color: str


@dataclass(frozen=True)
class PlannedChart:
    """A chart: ``kind`` is ``bar`` (horizontal), ``column`` or ``line``; anchored at ``anchor``."""

    sheet: str
    kind: str
    title: str
    anchor: str
    width_px: int
    height_px: int
    series: tuple[ChartSeries, ...]
    y_percent: bool = False


@dataclass(frozen=True)
class SheetSetup:
    """Per-sheet presentation: column widths, frozen rows, print settings."""

    sheet: str
    widths: dict[str, float] = field(default_factory=dict)
    freeze_rows: int = 3
    landscape: bool = False
    fit_height: int = 0  # 0: as many pages tall as needed
    print_area: str | None = None


# --- A1 helpers ---------------------------------------------------------------------

_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def split_ref(ref: str) -> tuple[int, int]:
    """``"D12"`` -> (row 11, col 3), zero-based."""
    match = _REF.match(ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match.group(2)) - 1, col_index(match.group(1))


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row + 1}"


def absolute(ref: str) -> str:
    return ":".join(re.sub(r"^\$?([A-Z]+)\$?(\d+)$", r"$\1$\2", part) for part in ref.split(":"))


def quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"
