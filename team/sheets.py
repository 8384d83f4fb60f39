"""Apply :class:`~.plans.SheetPlan` records to an openpyxl workbook, and read back what users typed.

A plan's sheet is either kpitree's own (``owned``: removed and created anew at the same place)
or a block of another sheet (cleared, then written). Styles resolve through the template's
:func:`~kpitree.workbook_templates.dashboard_openpyxl.openpyxl_style`, so the team sheets look
like the template's. Every value is written as data: a text that starts with ``=`` is stored as
text (``data_type = "s"``), never as a formula; only a plan's ``formula`` is a formula.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from kpitree.workbook_templates.team_parts import clear_area

from .plans import SheetPlan

HEADER_ROW_HEIGHT = 27  # points: two lines of the sheets' 10-point font


def sheet_rows(ws: Any) -> list[list[Any]]:
    """Every row of an openpyxl sheet as a list of values."""
    return [list(row) for row in ws.iter_rows(values_only=True)]


def _sheet(wb: Any, plan: SheetPlan) -> Any:
    if not plan.owned:
        return wb[plan.sheet]
    index = None
    if plan.sheet in wb.sheetnames:
        index = wb.sheetnames.index(plan.sheet)
        wb.remove(wb[plan.sheet])
    elif plan.after is not None and plan.after in wb.sheetnames:
        index = wb.sheetnames.index(plan.after) + 1
    return wb.create_sheet(plan.sheet, index)


def apply(wb: Any, plan: SheetPlan, rows: bool = True) -> Any:
    """Write ``plan`` into ``wb`` (its ``rows`` too unless ``rows`` is False: :mod:`.xlsx_rows` appends them); returns the sheet."""
    ws = _sheet(wb, plan)
    if not plan.owned:
        clear_area(ws, plan.block)
    _cells(ws, plan)
    if rows:
        _rows(ws, plan)
    _names(wb, plan)
    _validations(ws, plan)
    _formats(ws, plan)
    for chart in plan.charts:
        ws.add_chart(_line_chart(chart), chart.anchor)
    _setup(ws, plan)
    return ws


def _cells(ws: Any, plan: SheetPlan) -> None:
    from kpitree.workbook_templates.dashboard_openpyxl import openpyxl_style
    from openpyxl.worksheet.formula import ArrayFormula

    from .safety import cell_text

    font = plan.setup.font if plan.setup else "Calibri"
    styles: dict[str, Any] = {}  # style key -> a styled cell whose style the others copy
    header_rows: set[int] = set()
    for c in plan.cells:
        cell = ws[c.ref]
        if c.style == "header":
            header_rows.add(cell.row)
        if c.formula and c.spill:
            cell.value = ArrayFormula(c.spill, c.formula)
        elif c.formula:
            cell.value = c.formula
        elif c.value is not None:
            cell.value = cell_text(c.value) if isinstance(c.value, str) else c.value
            if isinstance(c.value, str):
                cell.data_type = "s"  # data, never a formula
        proto = styles.get(c.style)
        if proto is None:
            for attr, value in openpyxl_style(c.style, font).items():
                setattr(cell, attr, value)
            styles[c.style] = cell
        else:
            cell._style = copy(proto._style)  # the same style ids: no search of the workbook's style tables
    for row in header_rows:  # two lines: headings wrap in the narrow KPI columns
        ws.row_dimensions[row].height = HEADER_ROW_HEIGHT


def _rows(ws: Any, plan: SheetPlan) -> None:
    from .safety import cell_text

    for offset, row in enumerate(plan.rows):
        r = plan.first_row + offset + 1
        for j, value in enumerate(row):
            if value is None or (isinstance(value, float) and value == 0.0 and j >= 3):
                continue  # zeros of a measure are left blank: a sparse table, read back as 0
            cell = ws.cell(r, j + 1, cell_text(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"


def _setup(ws: Any, plan: SheetPlan) -> None:
    for letter, width in plan.widths.items():
        ws.column_dimensions[letter].width = width
    setup = plan.setup
    if setup is None:
        return
    for letter, width in setup.widths.items():
        ws.column_dimensions[letter].width = width
    for row, height in setup.row_heights.items():  # rows whose text wraps
        ws.row_dimensions[row + 1].height = height
    if plan.owned:
        ws.freeze_panes = f"A{setup.freeze_rows + 1}"
        ws.sheet_view.showGridLines = setup.gridlines
        ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
        ws.page_setup.paperSize = setup.paper_size
        ws.page_setup.fitToWidth = setup.fit_width
        ws.page_setup.fitToHeight = setup.fit_height
        ws.sheet_properties.pageSetUpPr.fitToPage = True


def _names(wb: Any, plan: SheetPlan) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    for name in plan.names:
        if name.name in wb.defined_names:
            del wb.defined_names[name.name]
        wb.defined_names[name.name] = DefinedName(name.name, attr_text=name.refers_to[1:])


def _validations(ws: Any, plan: SheetPlan) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    for v in plan.validations:
        rule = v.rule
        if rule.maximum is not None:
            dv = DataValidation(type="decimal", operator="between", formula1=str(rule.minimum), formula2=str(rule.maximum))
        else:
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=str(rule.minimum))
        dv.promptTitle, dv.prompt, dv.errorTitle, dv.error = rule.title, rule.message, rule.title, rule.message
        dv.showInputMessage = dv.showErrorMessage = True
        dv.allow_blank = True
        dv.add(v.ref)
        ws.add_data_validation(dv)


def _formats(ws: Any, plan: SheetPlan) -> None:
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, FormulaRule
    from openpyxl.styles import Font, PatternFill

    for cf in plan.conditional_formats:
        ws.conditional_formatting.add(cf.ref, CellIsRule(
            operator="equal", formula=[f'"{cf.equals}"'], fill=PatternFill("solid", bgColor="FF" + cf.fill.lstrip("#")),
            font=Font(color="FF" + cf.color.lstrip("#"), bold=cf.bold)))
    from .plans import STATUS_COLORS

    for ref in plan.status_scales:
        first = ref.split(":")[0]
        for test, status in ((f"{first}>=status_on_track_from", "on_track"), (f"{first}>=status_watch_from", "watch"),
                             (f"{first}<status_watch_from", "behind")):
            fill, color = STATUS_COLORS[status]
            ws.conditional_formatting.add(ref, FormulaRule(
                formula=[f"AND(ISNUMBER({first}),{test})"], stopIfTrue=True,
                fill=PatternFill("solid", bgColor="FF" + fill.lstrip("#")), font=Font(color="FF" + color.lstrip("#"))))
    for scale in plan.color_scales:
        ws.conditional_formatting.add(scale.ref, ColorScaleRule(
            start_type="num", start_value=scale.low, start_color="FF" + scale.low_color.lstrip("#"),
            mid_type="num", mid_value=scale.mid, mid_color="FF" + scale.mid_color.lstrip("#"),
            end_type="num", end_value=scale.high, end_color="FF" + scale.high_color.lstrip("#")))


def _line_chart(chart: Any) -> Any:
    """An openpyxl line chart of a :class:`~kpitree.workbook_templates.layout.PlannedChart` (the reviews' trend)."""
    from openpyxl.chart import LineChart, Reference, Series
    from openpyxl.chart.marker import Marker

    out = LineChart()
    out.title = chart.title
    out.width, out.height = chart.width_px / 37.8, chart.height_px / 37.8  # cm
    for s in chart.series:
        series = Series(Reference(range_string=s.values.replace("$", "")), title=s.name)
        series.graphicalProperties.line.solidFill = s.color.lstrip("#")
        series.graphicalProperties.line.width = int(chart.line_width_pt * 12700)  # EMU
        if chart.marker_size:
            series.marker = Marker(symbol="circle", size=chart.marker_size)
        out.series.append(series)
        out.set_categories(Reference(range_string=s.categories.replace("$", "")))
    out.legend.position = "b"
    return out
