"""Apply a plan to a live workbook through xlwings.

Plans are :class:`~kpitree.workbook_templates.dashboard.DashboardPlan` (the dashboard,
sheet 4) or :class:`~.plans.EditPlan` (the other buttons); both carry the template's
:class:`~kpitree.workbook_templates.layout.PlannedCell` records. The xlwings surface
used, and nothing else (tests/test_addin_actions.py records exactly this):

- ``book.sheets`` (iterate ``.name``; ``[title]``; ``.add(name=, after=)``), ``book.names.add(name, refers_to)``;
- ``sheet.range(ref)``: ``.clear()``, ``.unmerge()``, ``.value``, ``.formula``, ``.formula2`` (spills),
  ``.number_format``, ``.color``, ``.font.bold/.italic/.size/.color``, ``.wrap_text``, ``.column_width``, ``.left``;
- ``sheet.charts`` (iterate ``.left``, ``.delete()``; ``.add(left, top, width, height)`` → ``.name``, ``.chart_type``),
  ``sheet.activate()``;
- Excel's object model through ``.api`` (Windows COM) for what xlwings has no API for: data validation
  (``Validation.Delete/Add``), conditional formats (``FormatConditions.Delete/Add``, ``.Interior.Color``,
  ``.Font.Color``) and chart series (``SeriesCollection().NewSeries()``, ``.Name/.Values/.XValues``).
  Where ``.api`` is not COM (Excel for Mac) these are skipped and reported in :attr:`XlwingsWriter.skipped`.

A writer clears the plan's managed block first (values, formats, merges, validations,
conditional formats and charts anchored in it) and leaves everything else alone. A cell
planned with neither value nor formula only gets its style (how marks are set and unset).
"""

from __future__ import annotations

import re
from typing import Any

from .styles import properties

CHART_TYPES = {"bar": "bar_clustered", "column": "column_clustered", "line": "line_markers"}
# Excel constants (XlDVType, XlFormatConditionOperator, ...)
XL_VALIDATE_DECIMAL, XL_BETWEEN, XL_GREATER_EQUAL, XL_CELL_VALUE, XL_EQUAL, XL_VALID_ALERT_STOP = 2, 1, 7, 1, 3, 1
VALIDATION_BOUNDS = {  # kind -> (operator, formula1, formula2)
    "count": (XL_GREATER_EQUAL, "0", None), "amount": (XL_GREATER_EQUAL, "0", None),
    "rate": (XL_BETWEEN, "0", "1"), "ratio": (XL_GREATER_EQUAL, "0", None),
    "score": (XL_BETWEEN, "1", "5"), "months": (XL_GREATER_EQUAL, "0", None),
}


def bgr(color: str) -> int:
    """'#RRGGBB' as the BGR integer Excel's object model takes."""
    value = color.lstrip("#")
    r, g, b = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    return r + (g << 8) + (b << 16)


def _last_col(block: str) -> str:
    return re.findall(r"[A-Z]+", block.split(":")[-1])[0]


def _next_col(col: str) -> str:
    from kpitree.workbook_templates.layout import col_index, col_letter

    return col_letter(col_index(col) + 1)


class XlwingsWriter:
    def __init__(self, book: Any):
        self.book = book
        self.skipped: list[str] = []

    # -- sheets
    def sheet(self, title: str, create: bool = False) -> Any:
        for sheet in self.book.sheets:
            if sheet.name == title:
                return sheet
        if not create:
            raise KeyError(title)
        last = list(self.book.sheets)[-1]
        return self.book.sheets.add(name=title, after=last)

    def clear_block(self, sheet: Any, block: str) -> None:
        rng = sheet.range(block)
        rng.unmerge()
        self._com(lambda: rng.api.FormatConditions.Delete(), "conditional formats of " + block)
        self._com(lambda: rng.api.Validation.Delete(), "validations of " + block)
        rng.clear()
        if ":" in block:
            edge = sheet.range(f"{_next_col(_last_col(block))}1").left
            for chart in list(sheet.charts):
                if chart.left < edge:
                    chart.delete()

    def _com(self, action: Any, what: str) -> Any:
        try:
            return action()
        except (AttributeError, TypeError):  # no COM object model (macOS) or a stand-in without it
            self.skipped.append(what)
            return None

    # -- cells
    def write_cell(self, sheet: Any, cell: Any) -> None:
        rng = sheet.range(cell.ref)
        if cell.formula is not None:
            if cell.spill:
                rng.formula2 = cell.formula
            else:
                rng.formula = cell.formula
        elif cell.value is not None:
            rng.value = cell.value
        props = properties(cell.style)
        rng.color = props.get("fill")  # None clears a fill (unmarking)
        if "num_format" in props:
            rng.number_format = props["num_format"]
        font = rng.font
        font.bold = bool(props.get("bold", False))
        font.italic = bool(props.get("italic", False))
        if "size" in props:
            font.size = props["size"]
        font.color = props.get("color", "#000000")
        if props.get("wrap"):
            rng.wrap_text = True

    def apply(self, plan: Any) -> None:
        """Apply a DashboardPlan or an EditPlan."""
        own = getattr(plan, "sheet", None)
        if own:
            sheet = self.sheet(own, create=True)
            if getattr(plan, "block", None):
                self.clear_block(sheet, plan.block)
        sheets: dict[str, Any] = {}
        for cell in plan.cells:
            if cell.sheet not in sheets:
                sheets[cell.sheet] = self.sheet(cell.sheet, create=cell.sheet == own)
            self.write_cell(sheets[cell.sheet], cell)
        for name in getattr(plan, "names", ()):
            self.book.names.add(name.name, name.refers_to)
        for validation in getattr(plan, "validations", ()):
            self._validation(self.sheet(validation.sheet), validation)
        for fmt in getattr(plan, "conditional_formats", ()):
            self._conditional_format(self.sheet(fmt.sheet), fmt)
        for chart in getattr(plan, "charts", ()):
            self._chart(self.sheet(chart.sheet), chart)
        setup = getattr(plan, "setup", None)
        if setup is not None:
            sheet = self.sheet(setup.sheet)
            for col, width in setup.widths.items():
                sheet.range(f"{col}:{col}").column_width = width
        target = getattr(plan, "activate", None) or own
        if target:
            self.sheet(target).activate()

    def _validation(self, sheet: Any, validation: Any) -> None:
        operator, low, high = VALIDATION_BOUNDS.get(validation.kind, (XL_GREATER_EQUAL, "0", None))
        rng = sheet.range(validation.ref)

        def add() -> None:
            api = rng.api
            api.Validation.Delete()
            if high is None:
                api.Validation.Add(Type=XL_VALIDATE_DECIMAL, AlertStyle=XL_VALID_ALERT_STOP, Operator=operator, Formula1=low)
            else:
                api.Validation.Add(Type=XL_VALIDATE_DECIMAL, AlertStyle=XL_VALID_ALERT_STOP, Operator=operator,
                                   Formula1=low, Formula2=high)

        self._com(add, f"validation {validation.sheet}!{validation.ref}")

    def _conditional_format(self, sheet: Any, fmt: Any) -> None:
        rng = sheet.range(fmt.ref)
        text = fmt.equals.replace('"', '""')

        def add() -> None:
            condition = rng.api.FormatConditions.Add(Type=XL_CELL_VALUE, Operator=XL_EQUAL, Formula1=f'="{text}"')
            condition.Interior.Color = bgr(fmt.fill)
            condition.Font.Color = bgr(fmt.color)

        self._com(add, f"conditional format {fmt.sheet}!{fmt.ref}")

    def _chart(self, sheet: Any, planned: Any) -> None:
        anchor = sheet.range(planned.anchor)
        # xlwings sizes charts in points; the plan in pixels (96 dpi)
        chart = sheet.charts.add(anchor.left, anchor.top, planned.width_px * 0.75, planned.height_px * 0.75)
        chart.chart_type = CHART_TYPES[planned.kind]
        chart.name = f"kpitree {planned.title}"[:250]

        def series() -> None:
            com = chart.api[1]
            com.HasTitle = True
            com.ChartTitle.Text = planned.title
            for s in planned.series:
                new = com.SeriesCollection().NewSeries()
                new.Name = s.name
                new.Values = "=" + s.values
                new.XValues = "=" + s.categories
                new.Format.Fill.ForeColor.RGB = bgr(s.color)

        self._com(series, f"chart series of {planned.title}")
