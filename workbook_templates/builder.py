"""Write the template workbook with XlsxWriter, every formula carrying its computed value.

``build_workbook(path, lang, inputs)`` writes sheets 1–3 from :func:`.spec.sheet_cells`
and sheet 4 from :func:`.dashboard.plan_dashboard`, in two passes: the first file has no
cached values; the ``formulas`` package (with the ``KPI_*`` functions registered)
evaluates it; the second pass writes the same cells with those values next to the
formulas. Spilled ranges (``KPI_STAGE_RECOMMEND``, ``KPI_BOTTLENECK``) take their values
from the Python engines themselves, as ``formulas`` evaluates an array formula over its
stored range only.

How UDF calls are stored: as the bare function name, ``KPI_STAGE(months_since_launch,"ja")``,
no ``_xludf.`` prefix and no ``[1]!`` external-link prefix — see docs/template.md,
"How UDF calls are stored", for what Excel itself writes and why this form.

The workbook asks Excel not to recalculate on load (no ``fullCalcOnLoad``; the calc id of
current Excel): Excel without the add-in then shows the cached values instead of turning
every ``KPI_*`` cell into ``#NAME?``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .dashboard import DashboardPlan, plan_dashboard
from .layout import (BORDER, FONT_SIZE, FONTS, PlannedCell, PlannedChart, PlannedConditionalFormat, PlannedName,
                     PlannedValidation, SheetSetup, split_ref, style_properties)
from .spec import SHEETS, SheetsSpec, recommend_values, sample_inputs, sheet_cells

EXCEL_365_CALC_ID = 191029
FIXED_CREATED = dt.datetime(2025, 1, 1)  # file properties fixed, so a rebuild is byte-stable

VALIDATION_TEXT = {
    "ja": {
        "rate": ("率", "0%〜100%の値を入力してください(例: 25%)。"),
        "score": ("スコア", "1〜5の値を入力してください。"),
        "other": ("数値", "0以上の数値を入力してください(文字は不可)。"),
    },
    "en": {
        "rate": ("Rate", "Enter a rate from 0 % to 100 % (e.g. 25%)."),
        "score": ("Score", "Enter a score from 1 to 5."),
        "other": ("Number", "Enter a number of 0 or more (no text)."),
    },
}


def validation_options(kind: str, lang: str) -> dict[str, Any]:
    """XlsxWriter ``data_validation`` options for an input of ``kind``."""
    key = kind if kind in ("rate", "score") else "other"
    title, message = VALIDATION_TEXT[lang][key]
    if kind == "rate":
        opts: dict[str, Any] = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1}
    elif kind == "score":
        opts = {"validate": "decimal", "criteria": "between", "minimum": 1, "maximum": 5}
    else:
        opts = {"validate": "decimal", "criteria": ">=", "value": 0}
    return {**opts, "input_title": title, "input_message": message, "error_title": title, "error_message": message,
            "error_type": "stop"}


def workbook_parts(lang: str = "ja", inputs: dict[str, Any] | None = None) -> tuple[SheetsSpec, DashboardPlan]:
    spec = sheet_cells(lang, inputs)
    settings = {k: inputs[k] for k in ("status_on_track_from", "status_watch_from") if inputs and inputs.get(k) is not None}
    plan = plan_dashboard(spec.kpi_rows, lang, settings)
    return spec, plan


def build_workbook(path: str | os.PathLike, lang: str = "ja", inputs: dict[str, Any] | None = None,
                   *, with_values: bool = True) -> Path:
    """Write the 4-sheet template to ``path``; ``inputs`` default to :func:`sample_inputs`.

    ``inputs`` maps defined names (and ``trend_*`` to 12 values) to input values; a name
    left out is a blank input. With ``with_values`` (default) every formula cell carries
    the value the kpitree engine computes.
    """
    path = Path(path)
    inputs = sample_inputs(lang) if inputs is None else inputs
    spec, plan = workbook_parts(lang, inputs)
    values: dict[tuple[str, str], Any] = {}
    if with_values:
        with tempfile.TemporaryDirectory() as tmp:
            first = Path(tmp) / "pass1.xlsx"
            _write(first, lang, spec, plan, {})
            values = compute_values(first)
        values.update(_spill_values(spec, plan, inputs, lang))
    tmp_out = path.with_name(f".{path.name}.tmp")
    _write(tmp_out, lang, spec, plan, values)
    os.replace(tmp_out, path)
    return path


def _spill_values(spec: SheetsSpec, plan: DashboardPlan, inputs: dict[str, Any], lang: str) -> dict[tuple[str, str], Any]:
    """Values of spilled ranges, straight from the Python engines."""
    from kpitree.udfs.excel_functions import KPI_STAGE_RECOMMEND  # noqa: F401  (documented source)

    out: dict[tuple[str, str], Any] = {}
    for cell in list(spec.cells) + list(plan.cells):
        if not cell.spill:
            continue
        r0, c0 = split_ref(cell.ref)
        if "KPI_STAGE_RECOMMEND" in (cell.formula or ""):
            rows = recommend_values(inputs.get("months_since_launch"), lang)
        else:
            rows = None
        if rows is None:
            continue
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                out[(cell.sheet, _ref(r0 + i, c0 + j))] = value
    return out


def _ref(row: int, col: int) -> str:
    from .layout import cell_ref

    return cell_ref(row, col)


# --- evaluation -------------------------------------------------------------------------


def compute_values(path: str | os.PathLike, *, with_udfs: bool = True) -> dict[tuple[str, str], Any]:
    """Every formula cell's value as the ``formulas`` package computes it.

    Keys are (sheet title, A1 ref); values are numbers, strings, bools, ``None`` for an
    empty result, or Excel error texts (``"#DIV/0!"``). With ``with_udfs=False`` the
    ``KPI_*`` functions are unknown (``#NAME?``), as in LibreOffice.
    """
    os.environ.setdefault("TQDM_DISABLE", "1")
    import formulas
    import numpy as np
    import schedula as sh

    table = formulas.get_functions()
    saved: dict[str, Any] = {}
    if with_udfs:
        from kpitree.udfs.formulas_udfs import register_kpi_functions

        register_kpi_functions()
    else:
        for key in list(table):
            if "KPI_" in key:
                saved[key] = table.pop(key)
    try:
        path = Path(path)
        with tempfile.TemporaryDirectory() as tmp:
            # formulas keys results by file name; a plain ASCII copy keeps keys simple
            src = Path(tmp) / "book.xlsx"
            shutil.copyfile(path, src)
            model = formulas.ExcelModel().loads(str(src)).finish()
            solution = model.calculate()
    finally:
        if saved:
            table.update(saved)
            if with_udfs is False:
                from kpitree.udfs import formulas_udfs

                formulas_udfs.register_kpi_functions.cache_clear()
    titles = {name.upper(): name for name in _sheet_titles(path)}
    out: dict[tuple[str, str], Any] = {}
    for key, value in solution.items():
        key = str(key)
        if "!" not in key or not key.startswith("'["):
            continue
        sheet_part, ref = key.rsplit("!", 1)
        sheet_upper = sheet_part.split("]", 1)[1].rstrip("'").replace("''", "'")
        sheet = titles.get(sheet_upper.upper())
        if sheet is None:
            continue
        arr = getattr(value, "value", value)
        arr = np.asarray(arr, dtype=object)
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        first, _, last = ref.partition(":")
        r0, c0 = split_ref(first)
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                out[(sheet, _ref(r0 + i, c0 + j))] = _plain(arr[i, j], sh)
    return out


def _plain(value: Any, sh: Any) -> Any:
    from formulas.tokens.operand import XlError

    if value is sh.EMPTY:
        return None
    if isinstance(value, XlError):
        return str(value)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return value
    return value


def _sheet_titles(path: Path) -> list[str]:
    import zipfile
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("xl/workbook.xml"))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    return [s.get("name") for s in root.iter(f"{ns}sheet")]


# --- the XlsxWriter writer ------------------------------------------------------------------


class _Formats:
    def __init__(self, workbook: Any, lang: str) -> None:
        self.workbook = workbook
        self.font = FONTS[lang]
        self.cache: dict[str, Any] = {}

    def __call__(self, key: str) -> Any:
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format(xlsxwriter_format(key, self.font))
        return self.cache[key]


def xlsxwriter_format(key: str, font: str) -> dict[str, Any]:
    p = style_properties(key)
    f: dict[str, Any] = {"font_name": font, "font_size": p.get("size", FONT_SIZE), "valign": "vcenter"}
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


def _write(path: Path, lang: str, spec: SheetsSpec, plan: DashboardPlan, values: dict[tuple[str, str], Any]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"default_format_properties": {"font_name": FONTS[lang], "font_size": FONT_SIZE}})
    wb.set_properties({"title": "3階層KPI設計テンプレート" if lang == "ja" else "3-tier KPI design template",
                       "author": "kpitree", "created": FIXED_CREATED})
    wb.set_calc_mode("auto", EXCEL_365_CALC_ID)
    wb.calc_on_load = False  # keep the cached values: no forced full recalculation on open
    fmt = _Formats(wb, lang)
    sheets = {title: wb.add_worksheet(title) for title in SHEETS[lang]}
    write_cells(sheets, spec.cells, fmt, values)
    write_cells(sheets, plan.cells, fmt, values)
    for name in list(spec.names) + list(plan.names):
        wb.define_name(name.name, name.refers_to)
    for v in list(spec.validations) + list(plan.validations):
        sheets[v.sheet].data_validation(v.ref, validation_options(v.kind, lang))
    for cf in plan.conditional_formats:
        sheets[cf.sheet].conditional_format(cf.ref, {
            "type": "cell", "criteria": "==", "value": f'"{cf.equals}"',
            "format": wb.add_format({"bg_color": cf.fill, "font_color": cf.color, "bold": True})})
    for chart in plan.charts:
        sheets[chart.sheet].insert_chart(chart.anchor, _chart(wb, chart, FONTS[lang]), {"object_position": 3})
    for setup in list(spec.setups) + [plan.setup]:
        _setup(sheets[setup.sheet], setup)
    sheets[SHEETS[lang][0]].activate()
    wb.close()


def write_cells(sheets: dict[str, Any], cells: Iterable[PlannedCell], fmt: _Formats,
                values: dict[tuple[str, str], Any]) -> None:
    for c in cells:
        ws = sheets[c.sheet]
        row, col = split_ref(c.ref)
        f = fmt(c.style)
        key = (c.sheet, c.ref)
        if c.formula:
            # KPI_* calls are stored bare (KPI_STAGE(...)): not "[1]!KPI_STAGE" (Excel's form for a
            # loaded .xlam function, an external link to the add-in's absolute path) and not
            # "_xludf.KPI_STAGE" (Excel's form for a function unknown when typed). Bare names bind to
            # the loaded add-in's function; see docs/template.md, "How UDF calls are stored".
            value = _cached(values.get(key))
            if c.spill:
                r2, c2 = split_ref(c.spill.split(":")[1])
                ws.write_dynamic_array_formula(row, col, r2, c2, c.formula, f, value)
            else:
                ws.write_formula(row, col, c.formula, f, value)
        elif c.value is None:
            cached = values.get(key)
            if cached is not None:  # a spilled cell: its value, stored as Excel stores spill children
                ws.write(row, col, cached, f)
            else:
                ws.write_blank(row, col, None, f)
        elif isinstance(c.value, str):
            ws.write_string(row, col, c.value, f)
        else:
            ws.write_number(row, col, c.value, f)


def _cached(value: Any) -> Any:
    if value is None:
        return 0  # what Excel shows for a formula whose result is an empty reference
    if isinstance(value, float) and not math.isfinite(value):
        return "#NUM!"
    return value


def _chart(wb: Any, chart: PlannedChart, font: str) -> Any:
    ch = wb.add_chart({"type": chart.kind})
    for s in chart.series:
        series: dict[str, Any] = {"name": s.name, "categories": "=" + s.categories, "values": "=" + s.values}
        if chart.kind == "line":
            series["line"] = {"color": s.color, "width": 2.25}
            series["marker"] = {"type": "circle", "size": 5, "fill": {"color": s.color}, "border": {"color": s.color}}
        else:
            series["fill"] = {"color": s.color}
            series["gap"] = 60
        if chart.kind == "bar" and chart.y_percent:
            series["data_labels"] = {"value": True, "num_format": "0%", "font": {"name": font, "size": 8}}
        ch.add_series(series)
    ch.set_title({"name": chart.title, "name_font": {"name": font, "size": 11, "bold": True}})
    value_axis = {"num_font": {"name": font, "size": 8}, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
    if chart.y_percent:
        value_axis["num_format"] = "0%"
    cat_axis = {"num_font": {"name": font, "size": 8}}
    if chart.kind == "bar":
        cat_axis["reverse"] = True  # first KPI at the top
        ch.set_x_axis(value_axis)
        ch.set_y_axis(cat_axis)
    else:
        ch.set_x_axis(cat_axis)
        ch.set_y_axis(value_axis)
    ch.set_legend({"position": "bottom", "font": {"name": font, "size": 9}} if len(chart.series) > 1 else {"none": True})
    ch.set_size({"width": chart.width_px, "height": chart.height_px})
    return ch


def _setup(ws: Any, setup: SheetSetup) -> None:
    from .layout import col_index

    for letter, width in setup.widths.items():
        i = col_index(letter)
        ws.set_column(i, i, width)
    ws.set_row(0, 24)
    ws.freeze_panes(setup.freeze_rows, 0)
    ws.hide_gridlines(2)
    ws.set_paper(9)  # A4
    if setup.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, setup.fit_height)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.repeat_rows(0, setup.freeze_rows - 1)
    if setup.print_area:
        ws.print_area(setup.print_area)
