"""Plain-data building blocks shared by the template spec, the dashboard plan and the writers.

Nothing here imports XlsxWriter, openpyxl or xlwings: a writer turns these records into
cells, names, formats and charts of its own library. Coordinates are A1 strings
(``"D12"``) on a sheet given by its title; ranges are ``"D12:D20"``. Formulas start with
``=`` and use only workbook-scoped defined names and same-sheet or quoted-sheet
references.

Styles are keys into :data:`STYLES` composed as ``"<kind>"`` or ``"<kind>:<numfmt>"``
(``"input:rate"``, ``"calc:amount"``); :func:`style_properties` resolves a key to a plain
dict (font colour, fill, bold, number format, ...).

Everything a writer needs travels in these records — the sheet's font, row 1's height,
paper, margins and print scaling (:class:`SheetSetup`), each validation's bounds and
messages (:class:`ValidationRule`), each chart's gaps, lines, markers, labels and font
sizes (:class:`PlannedChart`) — so the XlsxWriter builder, the openpyxl rebuild and the
xlwings writer each map a plan and restate nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kpitree.udfs.catalogue import Lang
from kpitree.udfs.texts import text_list

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
    "center": {"border": True, "align": "center"},  # a label that stands beside a number (status counts, ranges)
    "calc_center": {"fill": CALC_FILL, "border": True, "align": "center"},  # a number that stands beside a label
    "calc_text": {"fill": CALC_FILL, "border": True, "wrap": True, "size": 9},  # computed text that may take lines
    "legend_input": {"color": INPUT_FONT, "fill": INPUT_FILL, "border": True, "size": 9},
    "legend_calc": {"fill": CALC_FILL, "border": True, "size": 9},
}

UNIT_FORMATS = {"count": "count", "currency": "amount", "rate": "rate", "ratio": "ratio", "score": "score",
                "minutes": "count1", "months": "count1"}


def style_properties(key: str) -> dict[str, Any]:
    """The plain properties of a style key such as ``"input:rate"``; every cell is centred vertically."""
    kind, _, numfmt = key.partition(":")
    props = {"valign": "center", **STYLES[kind]}
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
class ValidationRule:
    """A decimal between ``minimum`` and ``maximum`` (or at least ``minimum``), blanks allowed,
    with the input prompt and the stop message ``title``/``message``."""

    minimum: int
    maximum: int | None
    title: str
    message: str


# kind -> its (title, message) in texts.toml [validation]; count, amount, ratio and months share "other"
VALIDATION_TEXTS = {"rate": "validation.rate", "score": "validation.score", "other": "validation.other"}
VALIDATION_BOUNDS = {"rate": (0, 1), "score": (1, 5)}  # other kinds (count, amount, ratio, months): >= 0


def validation_rule(kind: str, lang: Lang) -> ValidationRule:
    """The rule for an input of ``kind`` (count, amount, rate, ratio, score or months) in ``lang``."""
    key = kind if kind in VALIDATION_BOUNDS else "other"
    low, high = VALIDATION_BOUNDS.get(kind, (0, None))
    title, message = text_list(VALIDATION_TEXTS[key], lang)
    return ValidationRule(low, high, title, message)


@dataclass(frozen=True)
class PlannedValidation:
    """Data validation of input cells by :class:`ValidationRule`."""

    sheet: str
    ref: str
    rule: ValidationRule


@dataclass(frozen=True)
class PlannedConditionalFormat:
    """Cells of ``ref`` whose text equals ``equals`` get ``fill`` and ``color`` (bold when ``bold``)."""

    sheet: str
    ref: str
    equals: str
    fill: str
    color: str
    bold: bool = True


@dataclass(frozen=True)
class PlannedColorScale:
    """A three-colour scale over ``ref`` (a heat map): ``low_color`` at ``low`` and below, ``mid_color`` at
    ``mid``, ``high_color`` at ``high`` and above, numbers (not percentiles) so a colour means the same
    achievement on every sheet."""

    sheet: str
    ref: str
    low: float
    mid: float
    high: float
    low_color: str = "#F8696B"
    mid_color: str = "#FFEB84"
    high_color: str = "#63BE7B"


@dataclass(frozen=True)
class ChartSeries:
    name: str
    categories: str  # "'Sheet'!$C$10:$C$24"
    values: str
    color: str


@dataclass(frozen=True)
class PlannedChart:
    """A chart: ``kind`` is ``bar`` (horizontal), ``column`` or ``line``; anchored at ``anchor``.

    ``y_percent``: value axis as 0 %; ``value_labels``: the number format of value labels on
    the bars (None: no labels); ``reverse_categories``: first category at the top of a bar
    chart; ``marker_size``: circle markers on a line chart's points (0: none); ``log_axis``: a
    logarithmic value axis (base 10), so values a thousand times apart (calls and won deals)
    can both be read; the legend sits at the bottom when there is more than one series.
    """

    sheet: str
    kind: str
    title: str
    anchor: str
    width_px: int
    height_px: int
    series: tuple[ChartSeries, ...]
    y_percent: bool = False
    value_labels: str | None = None
    reverse_categories: bool = False
    marker_size: int = 0
    log_axis: bool = False
    gap_width: int = 60  # % of a bar's width between groups
    line_width_pt: float = 2.25
    title_size: float = 11
    axis_font_size: float = 8
    legend_font_size: float = 9
    gridline_color: str = "#D9D9D9"


def text_lines(text: str, width: float, size: float = FONT_SIZE) -> int:
    """Lines a wrapped text takes in a column ``width`` characters wide (Excel's unit: the default font's digit),
    at font ``size``, wrapped as Excel and LibreOffice wrap: between words, and between any two full-width
    (Japanese) characters. A full-width character takes the room of 1.8 digits, a Latin letter 0.9, others one
    (an estimate: the rendered sheets in docs/images are the check)."""
    import unicodedata

    def units(piece: str) -> float:
        return sum(1.8 if unicodedata.east_asian_width(ch) in "WF" else 0.9 if ch.isascii() and ch.isalpha() else 1.0
                   for ch in piece)

    room = max(1.0, width * FONT_SIZE / size - 0.5)  # the cell's inner margins
    lines = 0
    for part in str(text).split("\n"):
        # what a line may break after: a word with its spaces, or one full-width character
        pieces = re.findall(r"[^\s\u3000-\u9fff\uff00-\uffef]*\s*|[\u3000-\u9fff\uff00-\uffef]", part)
        count, used = 1, 0.0
        for piece in (p for p in pieces if p):
            size_of = units(piece.rstrip())
            if used and used + size_of > room:
                count, used = count + 1, 0.0
            while size_of > room:  # a word longer than the line is broken inside (「achievemen|t」)
                count, size_of = count + 1, size_of - room
            used += size_of + units(piece) - units(piece.rstrip())
        lines += count
    return lines


BOLD_WIDTH = 1.1  # a bold text takes about a tenth more room


def cell_lines(text: str, width: float, style: str) -> int:
    """Lines ``text`` takes in a cell of column ``width`` with the named ``style`` (its size and boldness)."""
    p = style_properties(style)
    return text_lines(text, width / (BOLD_WIDTH if p.get("bold") else 1.0), p.get("size", FONT_SIZE))


def line_height(size: float = FONT_SIZE) -> float:
    """Points a line of text at font ``size`` takes in a row (Excel's default row is 13.5 pt at 10 pt)."""
    return round(size * 1.35, 2)


DEFAULT_WIDTH = 8.43  # a column without a width of its own


def wrapped_row_heights(cells: Iterable[PlannedCell], widths: Mapping[str, float],
                        texts: Mapping[str, Iterable[str]] | None = None) -> dict[int, float]:
    """The rows whose wrapping cells need more than one line, as zero-based row -> points (what
    :attr:`SheetSetup.row_heights` takes). Neither Excel nor LibreOffice grows a row for a wrapped text when
    it opens a file, so a writer sets these. ``texts`` gives, for a formula cell (``"B43"``), every text
    it may show (its row is as tall as the longest)."""
    heights: dict[int, float] = {}
    for c in cells:
        p = style_properties(c.style)
        shown = list((texts or {}).get(c.ref, ())) or ([c.value] if isinstance(c.value, str) else [])
        if not p.get("wrap") or not shown:
            continue
        row, col = split_ref(c.ref)
        lines = max(cell_lines(t, widths.get(col_letter(col), DEFAULT_WIDTH), c.style) for t in shown)
        if lines > 1:
            heights[row] = max(heights.get(row, 0.0), lines * line_height(p.get("size", FONT_SIZE)) + 3)
    return heights


PAPER_A4 = 9  # the paper size number of OOXML pageSetup, XlsxWriter's set_paper and Excel's XlPaperSize


@dataclass(frozen=True)
class SheetSetup:
    """Per-sheet presentation: font, column widths, row 1, frozen rows, gridlines, print settings.

    ``margins_in`` are (left, right, top, bottom) in inches; the frozen rows repeat on every
    printed page; every sheet prints ``fit_width`` page wide.
    """

    sheet: str
    font: str
    widths: dict[str, float] = field(default_factory=dict)
    freeze_rows: int = 3
    landscape: bool = False
    fit_height: int = 0  # 0: as many pages tall as needed
    print_area: str | None = None
    font_size: float = FONT_SIZE
    title_row_height: float = 24  # row 1 holds the sheet's title
    row_heights: dict[int, float] = field(default_factory=dict)  # zero-based row -> points: rows whose text wraps
    gridlines: bool = False
    paper_size: int = PAPER_A4
    fit_width: int = 1
    margins_in: tuple[float, float, float, float] = (0.4, 0.4, 0.5, 0.5)


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
