"""Write the template workbook with XlsxWriter; the recalculation engine gives every formula its value.

``build_workbook(path, lang, inputs)`` writes sheets 1–3 from :func:`.spec.sheet_cells` and
sheet 4 from :func:`.dashboard.plan_dashboard` with XlsxWriter, then runs the file through
the same engine ``kpitree recalc`` uses (:func:`kpitree.recalculation.recalc_file`), which
writes the cached value of every formula cell and every cell of a spilled range
(``KPI_STAGE_RECOMMEND``, ``KPI_BOTTLENECK``) and changes nothing else.

How UDF calls are stored: as the bare function name, ``KPI_STAGE(months_since_launch,"ja")``,
no ``_xludf.`` prefix and no ``[1]!`` external-link prefix — see docs/template.md,
"How UDF calls are stored", for what Excel itself writes and why this form.

The workbook asks Excel not to recalculate on load (no ``fullCalcOnLoad``; the calc id of
current Excel): Excel without the add-in then shows the cached values instead of turning
every ``KPI_*`` cell into ``#NAME?``.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kpitree.udfs.catalogue import Lang
from kpitree.udfs.texts import text

from .dashboard import DashboardPlan, plan_dashboard
from .layout import BORDER, FONT_SIZE, PlannedCell, PlannedChart, SheetSetup, ValidationRule, col_index, split_ref, style_properties
from .spec import SHEETS, SheetsSpec, sample_inputs, sheet_cells

EXCEL_365_CALC_ID = 191029
FIXED_CREATED = dt.datetime(2025, 1, 1)  # file properties fixed, so a rebuild is byte-stable


def validation_options(rule: ValidationRule) -> dict[str, Any]:
    """XlsxWriter ``data_validation`` options for a rule."""
    if rule.maximum is not None:
        opts: dict[str, Any] = {"validate": "decimal", "criteria": "between", "minimum": rule.minimum,
                                "maximum": rule.maximum}
    else:
        opts = {"validate": "decimal", "criteria": ">=", "value": rule.minimum}
    return {**opts, "input_title": rule.title, "input_message": rule.message, "error_title": rule.title,
            "error_message": rule.message, "error_type": "stop", "ignore_blank": True}


def workbook_parts(lang: Lang = "ja", inputs: dict[str, Any] | None = None) -> tuple[SheetsSpec, DashboardPlan]:
    spec = sheet_cells(lang, inputs)
    settings = {k: inputs[k] for k in ("status_on_track_from", "status_watch_from") if inputs and inputs.get(k) is not None}
    plan = plan_dashboard(spec.kpi_rows, lang, settings)
    return spec, plan


def build_workbook(path: str | os.PathLike, lang: Lang = "ja", inputs: dict[str, Any] | None = None) -> Path:
    """Write the 4-sheet template to ``path``; ``inputs`` default to :func:`sample_inputs`.

    ``inputs`` maps defined names (and ``trend_*`` to 12 values) to input values; a name
    left out is a blank input. Every formula cell carries the value the kpitree engine
    computes; ``path`` appears complete or not at all.
    """
    from kpitree.recalculation import recalc_file

    from .folders import check_folder

    path = Path(path)
    check_folder(path)
    inputs = sample_inputs(lang) if inputs is None else inputs
    spec, plan = workbook_parts(lang, inputs)
    with tempfile.TemporaryDirectory(prefix=f".{path.stem}.", dir=path.parent) as tmp:
        staged = Path(tmp) / path.name
        _write(staged, lang, spec, plan)
        recalc_file(staged, path)
    return path


# --- the XlsxWriter writer ------------------------------------------------------------------


class _Formats:
    def __init__(self, workbook: Any, font: str) -> None:
        self.workbook = workbook
        self.font = font
        self.cache: dict[str, Any] = {}

    def __call__(self, key: str) -> Any:
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format(xlsxwriter_format(key, self.font))
        return self.cache[key]


_VALIGN = {"center": "vcenter", "top": "top", "bottom": "bottom"}


def xlsxwriter_format(key: str, font: str) -> dict[str, Any]:
    p = style_properties(key)
    f: dict[str, Any] = {"font_name": font, "font_size": p.get("size", FONT_SIZE), "valign": _VALIGN[p["valign"]]}
    if p.get("bold"):
        f["bold"] = True
    if p.get("italic"):
        f["italic"] = True
    if "color" in p:
        f["font_color"] = p["color"]
    if "fill" in p:
        f["bg_color"] = p["fill"]
        f["pattern"] = 1
    if p.get("border"):
        f["border"] = 1
        f["border_color"] = BORDER
    if "align" in p:
        f["align"] = p["align"]
    if p.get("wrap"):
        f["text_wrap"] = True
    if "num_format" in p:
        f["num_format"] = p["num_format"]
    return f


def _write(path: Path, lang: Lang, spec: SheetsSpec, plan: DashboardPlan) -> None:
    import xlsxwriter

    setup = plan.setup
    wb = xlsxwriter.Workbook(str(path), {"default_format_properties": {"font_name": setup.font, "font_size": setup.font_size}})
    wb.set_properties({"title": text("template.workbook_title", lang),
                       "author": "kpitree", "created": FIXED_CREATED})
    wb.set_calc_mode("auto", EXCEL_365_CALC_ID)
    wb.calc_on_load = False  # keep the cached values: no forced full recalculation on open
    fmt = _Formats(wb, setup.font)
    sheets = {title: wb.add_worksheet(title) for title in SHEETS[lang]}
    write_cells(sheets, list(spec.cells) + list(plan.cells), fmt)
    defined = {n.name: n for n in list(spec.names) + list(plan.names)}  # the plan names the KPI rows again
    for name in defined.values():
        wb.define_name(name.name, name.refers_to)
    for v in list(spec.validations) + list(plan.validations):
        sheets[v.sheet].data_validation(v.ref, validation_options(v.rule))
    for cf in plan.conditional_formats:
        sheets[cf.sheet].conditional_format(cf.ref, {
            "type": "cell", "criteria": "==", "value": f'"{cf.equals}"',
            "format": wb.add_format({"bg_color": cf.fill, "font_color": cf.color, "bold": cf.bold})})
    for chart in plan.charts:
        sheets[chart.sheet].insert_chart(chart.anchor, _chart(wb, chart, setup.font), {"object_position": 3})
    for sheet_setup in [*spec.setups, setup]:
        _setup(sheets[sheet_setup.sheet], sheet_setup)
    sheets[SHEETS[lang][0]].activate()
    wb.close()


def write_cells(sheets: dict[str, Any], cells: Iterable[PlannedCell], fmt: _Formats) -> None:
    for c in cells:
        ws = sheets[c.sheet]
        row, col = split_ref(c.ref)
        f = fmt(c.style)
        if c.formula:
            # KPI_* calls are stored bare (KPI_STAGE(...)): not "[1]!KPI_STAGE" (Excel's form for a
            # loaded .xlam function, an external link to the add-in's absolute path) and not
            # "_xludf.KPI_STAGE" (Excel's form for a function unknown when typed). Bare names bind to
            # the loaded add-in's function; see docs/template.md, "How UDF calls are stored".
            if c.spill:
                r2, c2 = split_ref(c.spill.split(":")[1])
                ws.write_dynamic_array_formula(row, col, r2, c2, c.formula, f)
            else:
                ws.write_formula(row, col, c.formula, f)
        elif c.value is None:
            ws.write_blank(row, col, None, f)  # kept as a cell: a spilled value is written into it
        elif isinstance(c.value, str):
            ws.write_string(row, col, c.value, f)
        else:
            ws.write_number(row, col, c.value, f)


def chart_parts(plan: DashboardPlan) -> list[bytes]:
    """The chart parts of the plan's charts as the template's writer writes them, in the plan's order.

    A rebuild through openpyxl (``kpitree dashboard``, the import, the review) writes charts of its own
    that lose value labels, markers and title sizes; the rebuilt file gets these parts instead, so
    its charts are the built template's (:func:`.dashboard_openpyxl.restore_charts`). XlsxWriter takes
    the series' cached values from the sheet's cells, so the plan's cells are written too.
    """
    import io
    import zipfile

    import xlsxwriter

    buffer = io.BytesIO()
    setup = plan.setup
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True,
                                      "default_format_properties": {"font_name": setup.font, "font_size": setup.font_size}})
    sheet = wb.add_worksheet(plan.sheet)
    write_cells({plan.sheet: sheet}, plan.cells, _Formats(wb, setup.font))
    for chart in plan.charts:
        sheet.insert_chart(chart.anchor, _chart(wb, chart, setup.font), {"object_position": 3})
    wb.close()
    with zipfile.ZipFile(buffer) as z:
        return [z.read(f"xl/charts/chart{i}.xml") for i in range(1, len(plan.charts) + 1)]


def _chart(wb: Any, chart: PlannedChart, font: str) -> Any:
    ch = wb.add_chart({"type": chart.kind})
    for s in chart.series:
        series: dict[str, Any] = {"name": s.name, "categories": "=" + s.categories, "values": "=" + s.values}
        if chart.kind == "line":
            series["line"] = {"color": s.color, "width": chart.line_width_pt}
            if chart.marker_size:
                series["marker"] = {"type": "circle", "size": chart.marker_size, "fill": {"color": s.color},
                                    "border": {"color": s.color}}
        else:
            series["fill"] = {"color": s.color}
            series["gap"] = chart.gap_width
        if chart.value_labels:
            series["data_labels"] = {"value": True, "num_format": chart.value_labels,
                                     "font": {"name": font, "size": chart.axis_font_size}}
        ch.add_series(series)
    ch.set_title({"name": chart.title, "name_font": {"name": font, "size": chart.title_size, "bold": True}})
    value_axis: dict[str, Any] = {"num_font": {"name": font, "size": chart.axis_font_size},
                                  "major_gridlines": {"visible": True, "line": {"color": chart.gridline_color}}}
    if chart.y_percent:
        value_axis["num_format"] = "0%"
    if chart.log_axis:
        value_axis["log_base"] = 10
    cat_axis: dict[str, Any] = {"num_font": {"name": font, "size": chart.axis_font_size}}
    if chart.reverse_categories:
        cat_axis["reverse"] = True
    if chart.kind == "bar":  # horizontal bars: XlsxWriter's x axis is the value axis
        ch.set_x_axis(value_axis)
        ch.set_y_axis(cat_axis)
    else:
        ch.set_x_axis(cat_axis)
        ch.set_y_axis(value_axis)
    ch.set_legend({"position": "bottom", "font": {"name": font, "size": chart.legend_font_size}}
                  if len(chart.series) > 1 else {"none": True})
    ch.set_size({"width": chart.width_px, "height": chart.height_px})
    return ch


def _setup(ws: Any, setup: SheetSetup) -> None:
    for letter, width in setup.widths.items():
        i = col_index(letter)
        ws.set_column(i, i, width)
    ws.set_row(0, setup.title_row_height)
    for row, height in setup.row_heights.items():
        ws.set_row(row, height)
    ws.freeze_panes(setup.freeze_rows, 0)
    if not setup.gridlines:
        ws.hide_gridlines(2)
    ws.set_paper(setup.paper_size)
    if setup.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(setup.fit_width, setup.fit_height)
    left, right, top, bottom = setup.margins_in
    ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    ws.repeat_rows(0, setup.freeze_rows - 1)
    if setup.print_area:
        ws.print_area(setup.print_area)
