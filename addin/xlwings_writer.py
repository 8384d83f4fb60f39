"""Apply a plan to a live workbook through xlwings.

Plans are :class:`~kpitree.workbook_templates.dashboard.DashboardPlan` (the dashboard,
sheet 4) or :class:`~.plans.EditPlan` (the other buttons); both carry the template's
:class:`~kpitree.workbook_templates.layout.PlannedCell` records. The xlwings surface
used, and nothing else (tests/test_addin_actions.py records exactly this):

- ``book.sheets`` (iterate ``.name``; ``[title]``; ``.add(name=, after=)``), ``book.names.add(name, refers_to)``,
  ``book.app.api`` (COM ``Application``: ``ActiveWindow``, ``PrintCommunication``);
- ``sheet.range(ref)``: ``.clear()``, ``.unmerge()``, ``.value``, ``.formula``, ``.formula2`` (spills),
  ``.number_format``, ``.color``, ``.font.bold/.italic/.size/.color/.name``, ``.wrap_text``, ``.column_width``,
  ``.row_height``, ``.left``, ``.top``;
- ``sheet.charts`` (iterate ``.left``, ``.delete()``; ``.add(left, top, width, height)`` → ``.name``, ``.chart_type``),
  ``sheet.activate()``, ``sheet.api`` (COM ``Worksheet.PageSetup``);
- Excel's object model through ``.api`` (Windows COM) for what xlwings has no API for: borders
  (``Borders.LineStyle/.Weight/.Color``), alignment (``HorizontalAlignment``, ``VerticalAlignment``), data
  validation (``Validation.Delete/Add``, input and error messages), conditional formats
  (``FormatConditions.Delete/Add``, ``.Interior.Color``, ``.Font.Color/.Bold``), chart details
  (``SeriesCollection().NewSeries()``, ``.Name/.Values/.XValues``, fill or line colour and weight,
  ``ChartGroups(1).GapWidth``, ``Axes()``, legend), frozen rows and gridlines (``ActiveWindow.FreezePanes``,
  ``SplitRow``, ``DisplayGridlines``) and print settings (``PageSetup.PaperSize/Orientation/Zoom/
  FitToPagesWide/FitToPagesTall/PrintTitleRows/PrintArea``).
  Where ``.api`` is not COM (Excel for Mac) these are skipped and reported in :attr:`XlwingsWriter.skipped`.

A dashboard plan carries everything a writer applies — cells and their styles, names,
validations with their rules, conditional formats, charts with their details, and the sheet
setup (font, row 1's height, frozen rows, gridlines, paper, margins, print scaling) — and
this writer maps it, as the openpyxl file writer (:mod:`kpitree.workbook_templates.dashboard_openpyxl`)
maps the same plan. :data:`NOT_EXPRESSIBLE` lists the planned properties this writer cannot
set, with the reason; the test checks every planned field is applied or listed there. An
:class:`~.plans.EditPlan` gets what its own file writer (:mod:`.file_writer`) applies: values,
fill, number format and font.

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
XL_CONTINUOUS, XL_THIN = 1, 2  # XlLineStyle, XlBorderWeight
XL_HALIGN = {None: 1, "left": -4131, "center": -4108, "right": -4152}  # xlGeneral, xlLeft, xlCenter, xlRight
XL_VALIGN = {"center": -4108, "top": -4160, "bottom": -4107}  # xlCenter, xlTop, xlBottom
XL_PORTRAIT, XL_LANDSCAPE = 1, 2
XL_CATEGORY, XL_VALUE, XL_LEGEND_BOTTOM = 1, 2, -4107
XL_MARKER_CIRCLE = 8  # XlMarkerStyle
XL_SCALE_LOGARITHMIC = -4133  # XlScaleType
XL_CONDITION_VALUE_NUMBER = 0  # XlConditionValueTypes: a colour scale's point is a number
POINTS_PER_INCH = 72

# Planned properties this writer does not set, and why (tests/test_addin_actions.py checks that every
# field of the plan's records and every style property is either applied or listed here).
NOT_EXPRESSIBLE = {
    "PlannedCell.spill": "Excel sizes a dynamic array's spill itself from the result of Range.Formula2; the "
                         "planned range is where the result will spill, not a property a writer can set",
    "DashboardPlan.inputs": "not a property: the names of the plan's own input cells, for readers (their "
                            "cells, validations and names are written from cells/validations/names)",
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
        self.skipped: list[str] = []  # what needed COM and was not done, once per kind
        self.setup: Any = None  # a dashboard plan's SheetSetup: then every style property is set

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
            if what not in self.skipped:
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
        if self.setup is not None:
            font.name = self.setup.font
        font.bold = bool(props.get("bold", False))
        font.italic = bool(props.get("italic", False))
        if "size" in props:
            font.size = props["size"]
        elif self.setup is not None:
            font.size = self.setup.font_size
        font.color = props.get("color", "#000000")
        if self.setup is not None:
            rng.wrap_text = bool(props.get("wrap", False))
            self._com(lambda: self._align_and_border(rng, props), "cell borders and alignment")
        elif props.get("wrap"):
            rng.wrap_text = True

    @staticmethod
    def _align_and_border(rng: Any, props: dict[str, Any]) -> None:
        api = rng.api
        borders = api.Borders  # read first: without COM (appscript on a Mac) this raises before anything is set
        api.HorizontalAlignment = XL_HALIGN[props.get("align")]
        api.VerticalAlignment = XL_VALIGN[props["valign"]]
        if props.get("border"):
            from kpitree.workbook_templates.layout import BORDER

            # the collection: the four edges of a one-cell range
            borders.LineStyle = XL_CONTINUOUS
            borders.Weight = XL_THIN
            borders.Color = bgr(BORDER)

    def apply(self, plan: Any) -> None:
        """Apply a DashboardPlan or an EditPlan."""
        setup = self.setup = getattr(plan, "setup", None)  # a dashboard plan: everything the file writers apply
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
        self._names(plan)
        for validation in getattr(plan, "validations", ()):
            self._validation(self.sheet(validation.sheet), validation)
        for fmt in getattr(plan, "conditional_formats", ()):
            self._conditional_format(self.sheet(fmt.sheet), fmt)
        for scale in getattr(plan, "color_scales", ()):
            self._color_scale(self.sheet(scale.sheet), scale)
        for chart in getattr(plan, "charts", ()):
            self._chart(self.sheet(chart.sheet), chart)
        if setup is not None:
            self._setup(self.sheet(setup.sheet), setup)
        target = getattr(plan, "activate", None) or own
        if target:
            self.sheet(target).activate()

    def _names(self, plan: Any) -> None:
        """The plan's names (re)defined; names of removed KPI rows (a ``stale_prefixes`` prefix) deleted."""
        wanted = {n.name for n in getattr(plan, "names", ())}
        stale = getattr(plan, "stale_prefixes", ())
        if stale:
            for name in list(self.book.names):
                if name.name.startswith(stale) and name.name not in wanted:
                    name.delete()
        for name in getattr(plan, "names", ()):
            self.book.names.add(name.name, name.refers_to)

    def _validation(self, sheet: Any, validation: Any) -> None:
        rule = validation.rule
        rng = sheet.range(validation.ref)

        def add() -> None:
            api = rng.api
            api.Validation.Delete()
            if rule.maximum is None:
                api.Validation.Add(Type=XL_VALIDATE_DECIMAL, AlertStyle=XL_VALID_ALERT_STOP, Operator=XL_GREATER_EQUAL,
                                   Formula1=str(rule.minimum))
            else:
                api.Validation.Add(Type=XL_VALIDATE_DECIMAL, AlertStyle=XL_VALID_ALERT_STOP, Operator=XL_BETWEEN,
                                   Formula1=str(rule.minimum), Formula2=str(rule.maximum))
            v = api.Validation
            v.IgnoreBlank = True
            v.InputTitle, v.InputMessage = rule.title, rule.message
            v.ErrorTitle, v.ErrorMessage = rule.title, rule.message
            v.ShowInput = v.ShowError = True

        self._com(add, f"validation {validation.sheet}!{validation.ref}")

    def _conditional_format(self, sheet: Any, fmt: Any) -> None:
        rng = sheet.range(fmt.ref)
        text = fmt.equals.replace('"', '""')

        def add() -> None:
            condition = rng.api.FormatConditions.Add(Type=XL_CELL_VALUE, Operator=XL_EQUAL, Formula1=f'="{text}"')
            condition.Interior.Color = bgr(fmt.fill)
            condition.Font.Color = bgr(fmt.color)
            condition.Font.Bold = fmt.bold

        self._com(add, f"conditional format {fmt.sheet}!{fmt.ref}")

    def _color_scale(self, sheet: Any, scale: Any) -> None:
        """A three-colour scale (a heat map) with numeric points, as the openpyxl writer's ColorScaleRule."""
        rng = sheet.range(scale.ref)

        def add() -> None:
            condition = rng.api.FormatConditions.AddColorScale(ColorScaleType=3)
            points = ((scale.low, scale.low_color), (scale.mid, scale.mid_color), (scale.high, scale.high_color))
            for i, (value, color) in enumerate(points, start=1):
                point = condition.ColorScaleCriteria(i)
                point.Type = XL_CONDITION_VALUE_NUMBER
                point.Value = value
                point.FormatColor.Color = bgr(color)

        self._com(add, f"color scale {scale.sheet}!{scale.ref}")

    def _chart(self, sheet: Any, planned: Any) -> None:
        anchor = sheet.range(planned.anchor)
        # xlwings sizes charts in points; the plan in pixels (96 dpi)
        chart = sheet.charts.add(anchor.left, anchor.top, planned.width_px * 0.75, planned.height_px * 0.75)
        chart.chart_type = CHART_TYPES[planned.kind]
        chart.name = f"kpitree {planned.title}"[:250]

        def details() -> None:
            com = chart.api[1]
            com.HasTitle = True
            com.ChartTitle.Text = planned.title
            com.ChartTitle.Font.Size = planned.title_size
            com.ChartTitle.Font.Bold = True
            if self.setup is not None:
                com.ChartArea.Font.Name = self.setup.font
            for s in planned.series:
                new = com.SeriesCollection().NewSeries()
                new.Name = s.name
                new.Values = "=" + s.values
                new.XValues = "=" + s.categories
                if planned.kind == "line":
                    new.Format.Line.ForeColor.RGB = bgr(s.color)
                    new.Format.Line.Weight = planned.line_width_pt
                    if planned.marker_size:
                        new.MarkerStyle = XL_MARKER_CIRCLE
                        new.MarkerSize = planned.marker_size
                        new.MarkerBackgroundColor = new.MarkerForegroundColor = bgr(s.color)
                else:
                    new.Format.Fill.ForeColor.RGB = bgr(s.color)
                if planned.value_labels:
                    new.HasDataLabels = True
                    labels = new.DataLabels()
                    labels.NumberFormat = planned.value_labels
                    labels.Font.Size = planned.axis_font_size
            if planned.kind != "line":
                com.ChartGroups(1).GapWidth = planned.gap_width
            values, categories = com.Axes(XL_VALUE), com.Axes(XL_CATEGORY)  # each fetched once
            if planned.y_percent:
                values.TickLabels.NumberFormat = "0%"
            if planned.log_axis:
                values.ScaleType = XL_SCALE_LOGARITHMIC  # base 10
            values.TickLabels.Font.Size = planned.axis_font_size
            values.MajorGridlines.Format.Line.ForeColor.RGB = bgr(planned.gridline_color)
            if planned.reverse_categories:
                categories.ReversePlotOrder = True  # first KPI at the top
            categories.TickLabels.Font.Size = planned.axis_font_size
            com.HasLegend = len(planned.series) > 1
            if len(planned.series) > 1:
                com.Legend.Position = XL_LEGEND_BOTTOM
                com.Legend.Font.Size = planned.legend_font_size

        self._com(details, f"chart series of {planned.title}")

    # -- sheet setup: widths, row 1, frozen rows, gridlines, print settings
    def _setup(self, sheet: Any, setup: Any) -> None:
        for col, width in setup.widths.items():
            sheet.range(f"{col}:{col}").column_width = width
        sheet.range("1:1").row_height = setup.title_row_height
        for row, height in setup.row_heights.items():
            sheet.range(f"{row + 1}:{row + 1}").row_height = height
        sheet.activate()  # ActiveWindow's panes and gridlines are the active sheet's

        def window() -> None:
            win = self.book.app.api.ActiveWindow
            win.FreezePanes = False
            win.ScrollRow, win.ScrollColumn = 1, 1  # SplitRow counts from the top visible row
            win.SplitColumn = 0
            win.SplitRow = setup.freeze_rows
            win.FreezePanes = True
            win.DisplayGridlines = setup.gridlines

        self._com(window, "frozen rows and gridlines")

        def page() -> None:
            ps = sheet.api.PageSetup  # read first: without COM this raises before anything is set
            app = self.book.app.api
            app.PrintCommunication = False  # one printer round trip for all settings, not one per property
            try:
                ps.PaperSize = setup.paper_size
                ps.Orientation = XL_LANDSCAPE if setup.landscape else XL_PORTRAIT
                ps.Zoom = False  # use FitToPages*
                ps.FitToPagesWide = setup.fit_width
                left, right, top, bottom = (inches * POINTS_PER_INCH for inches in setup.margins_in)
                ps.LeftMargin, ps.RightMargin, ps.TopMargin, ps.BottomMargin = left, right, top, bottom
                ps.FitToPagesTall = setup.fit_height or False  # 0 in the plan: as many pages as needed
                ps.PrintTitleRows = f"$1:${setup.freeze_rows}"
                if setup.print_area:
                    from kpitree.workbook_templates.layout import absolute

                    ps.PrintArea = absolute(setup.print_area)
            finally:
                app.PrintCommunication = True

        self._com(page, "print settings")
