"""The openpyxl writer of a :class:`~.dashboard.DashboardPlan`, and ``kpitree dashboard`` in file mode.

``rebuild_dashboard(path, out=None)``: read sheets 1–3, check the named cells (one
:class:`~.checks.NamedCellError` listing every wrong name; nothing written), plan sheet 4
from the KPI rows found, apply the plan, and write ``out`` — or ``path`` itself, replaced
only after the new file was written completely next to it.

What the rebuild touches: columns A:R of the dashboard sheet (cells, styles, merged
cells, conditional formats, validations, charts anchored there) and the defined names
``target_/actual_/achievement_<id>`` (re-pointed for KPI rows moved, added for KPI rows
added, removed for KPI rows removed) plus the plan's own names. Cells of sheets 1–3 are
never written; content outside A:R of the dashboard is kept.

openpyxl and dynamic arrays: openpyxl reads ``KPI_STAGE_RECOMMEND``'s dynamic array as a
legacy array formula over its last spill range and writes it back without the ``cm``
attribute and without ``xl/metadata.xml`` — Excel 365 would then show a fixed CSE array.
:func:`restore_dynamic_arrays` puts both back after saving (tested). openpyxl also drops
every cached value, so the saved file goes through the recalculation engine
(:func:`kpitree.recalculation.recalc_file`, which writes only cached values) before the
marks are restored (:func:`save_atomic`): the rebuilt workbook carries real cached values,
as the shipped template does, and does not ask Excel to recalculate on load. If the engine
cannot recalculate the workbook (a function it does not know, …), the file is written
without cached values and with ``fullCalcOnLoad`` instead, and a note on stderr says why.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from kpitree.errors import UserError

from .checks import NamedCellError, workbook_problems
from .contract import facts_from_openpyxl
from .dashboard import BLOCK_FIRST_COL, BLOCK_LAST_COL, DashboardPlan, plan_from_facts
from .layout import BORDER, FONT_SIZE, PlannedChart, split_ref, style_properties


def load(path: str | os.PathLike) -> Any:
    """The workbook through openpyxl, after the engine's safe reader vouched for the file.

    What is wrong with a file that is no workbook is said as it is (not a zip, an
    ``.xls``, password-protected, an entity bomb, past the size limits, ...) — a
    :class:`~kpitree.errors.UserError`, not a named-cell problem.
    """
    import openpyxl
    from kpitree.recalculation import WorkbookError
    from kpitree.recalculation.io.package import read_members

    try:
        infos, _ = read_members(path)  # zip limits, DTDs, member names, encryption, .xls/.ods/.xlsb: refused here first
    except WorkbookError as exc:
        raise UserError(str(exc)) from None
    macros = any(i.filename == "xl/vbaProject.bin" for i in infos)
    try:
        return openpyxl.load_workbook(path, keep_vba=macros)  # an .xlsm keeps its macros, byte for byte
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a file it cannot read
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UserError(f"cannot be read as an .xlsx workbook ({exc.__class__.__name__}{': ' + detail if detail else ''})") from None


def plan_for(wb: Any) -> DashboardPlan:
    """Check the workbook and plan its dashboard; raises NamedCellError listing every problem.

    A dashboard sheet the user renamed (found by its names, see
    :func:`.contract.resolve_sheets`) is rebuilt under its new title, not created again.
    """
    facts = facts_from_openpyxl(wb)
    problems = workbook_problems(facts)
    if problems:
        raise NamedCellError(problems)
    plan = plan_from_facts(facts)
    title = facts.sheets[3] if len(facts.sheets) > 3 else None
    return plan if title is None or title == plan.sheet else retitled(plan, plan.sheet, title)


def retitled(plan: Any, old: str, new: str) -> Any:
    """``plan`` with sheet ``old`` called ``new``: every ``sheet`` field, and every reference ``'old'!…`` in a text."""
    from dataclasses import fields, is_dataclass, replace

    from .layout import quote_sheet

    refs = [(quote_sheet(old) + "!", quote_sheet(new) + "!"), (old + "!", quote_sheet(new) + "!")]

    def walk(value: Any, field: str = "") -> Any:
        if is_dataclass(value) and not isinstance(value, type):
            return replace(value, **{f.name: walk(getattr(value, f.name), f.name) for f in fields(value) if f.init})
        if isinstance(value, tuple):
            return tuple(walk(v, field) for v in value)
        if isinstance(value, list):
            return [walk(v, field) for v in value]
        if isinstance(value, dict):
            return {k: walk(v, field) for k, v in value.items()}
        if isinstance(value, str):
            if field == "sheet" and value == old:
                return new
            if "!" in value:
                for a, b in refs:
                    value = value.replace(a, b)
            return value
        return value

    return walk(plan)


def rebuild_dashboard(path: str | os.PathLike, out: str | os.PathLike | None = None, *,
                      notes: list[str] | None = None) -> Path:
    """Rebuild sheet 4 of ``path`` into ``out`` (or ``path`` itself); see the module doc.

    ``out`` must not be ``path`` under another name (a link: then omit it to replace
    ``path``); a file that may not be replaced (read-only, hard links) is refused before
    anything is read. A note (the engine could not compute the cached values) goes to
    ``notes`` when given, else to stderr.
    """
    from kpitree.recalculation.io.outputs import OutputError, check_replaceable, real, same_file

    path = Path(path)
    target = Path(out) if out else path
    if out and same_file(out, path):
        raise OutputError(f"--out {out} is the workbook itself; omit --out to rebuild it in place")
    check_replaceable(real(target))
    wb = load(path)
    plan = plan_for(wb)
    apply_plan(wb, plan)
    note = save_atomic(wb, target, source=path, plan=plan)
    if note and notes is not None:
        notes.append(note)
    elif note:
        print(f"kpitree dashboard: note: {note}", file=sys.stderr)
    return target


def save_atomic(wb: Any, target: Path, *, source: str | os.PathLike | None = None, plan: DashboardPlan | None = None) -> str | None:
    """Save next to ``target``, add cached values, restore dynamic arrays and charts, then replace ``target``.

    Charts: openpyxl writes every chart anew and loses value labels, markers and title sizes; the
    charts of ``plan`` get the parts the template's writer writes for them, and the other charts
    the parts they had in ``source`` (the file ``wb`` was read from), :func:`restore_charts`.

    ``source`` is the file ``wb`` was loaded from: when the saved workbook holds less than it
    of something openpyxl cannot carry (shapes, embedded objects, … :mod:`.losses`), nothing is
    written and a :class:`~kpitree.errors.UserError` names what would be lost. A workbook
    with macros is saved only under an ``.xlsm`` name, one without only under another (Excel
    refuses a file whose extension and contents disagree).

    Order: openpyxl's file goes through the engine first (it reads the spills from the array
    formulas' ranges, marked or not) and :func:`restore_dynamic_arrays` runs last, on the file
    that is renamed onto ``target`` — so the ``cm="1"`` marks and ``xl/metadata.xml`` are in
    the final file whatever the engine rewrites in a cell's start tag. When the engine fails,
    the file without cached values is written with ``fullCalcOnLoad`` (Excel recalculates it
    on open) and the returned note says why. ``target`` is never seen half-written; a file
    it replaces keeps its mode (and owner, where the process may set it), a symbolic link
    stays a link and its target is written (:mod:`kpitree.recalculation.io.outputs`).
    """
    from kpitree.recalculation.io.outputs import atomic_path, check_replaceable, real
    from kpitree.udfs.texts import user_error

    from .folders import check_folder

    note = None
    check_folder(target)
    folder = Path(real(target)).parent
    if bool(getattr(wb, "vba_archive", None)) != (target.suffix.lower() == ".xlsm"):
        raise user_error("workbook.macro_suffix" if getattr(wb, "vba_archive", None) else "workbook.plain_suffix",
                         file=target)
    check_replaceable(real(target))
    wb.template = False  # an .xltx/.xltm read as a template is written as a workbook, as its new name says
    with tempfile.TemporaryDirectory(prefix=".kpitree-", dir=folder) as tmp:
        staged = Path(tmp) / target.name  # a message that names a file names the user's
        (Path(tmp) / "out").mkdir()
        final = Path(tmp) / "out" / target.name
        wb.calculation.fullCalcOnLoad = None  # the cached values will be real
        wb.save(staged)
        try:
            from kpitree.recalculation import recalc_file

            recalc_file(staged, final)
        except Exception as exc:  # noqa: BLE001 - any engine failure: fall back to Excel recalculating
            why = str(exc).replace(str(final), str(target)).replace(str(staged), str(target))
            note = (f"cached values not computed ({exc.__class__.__name__}: {why}); "
                    "Excel recalculates the workbook when it opens it")
            wb.calculation.fullCalcOnLoad = True
            wb.save(staged)
            final = staged
        restore_dynamic_arrays(final)
        restore_charts(final, source, plan)
        if source is not None:
            _refuse_losses(source, final, target)
        with atomic_path(target, suffix=target.suffix.lower()) as placed:  # mode, owner and links of a replaced file kept
            os.replace(final, placed)
    return note


def _refuse_losses(source: str | os.PathLike, saved: Path, target: Path) -> None:
    """Nothing is replaced when the rewrite lost what the source holds (see :mod:`.losses`)."""
    from kpitree.udfs.texts import text

    from .losses import lost_content

    lost = lost_content(source, saved)
    if lost:
        def say(lang: Any, sep: str) -> str:
            what = sep.join(text(kind, lang) for kind in lost)
            return text("workbook.would_lose", lang, file=target, lost=what)

        raise UserError(say("en", ", "), ja=say("ja", "、"))


# --- applying a plan ------------------------------------------------------------------------


def apply_plan(wb: Any, plan: DashboardPlan) -> None:
    """Write ``plan`` into the openpyxl workbook: the managed block, names, formats, charts, setup."""
    from openpyxl.worksheet.formula import ArrayFormula

    ws = wb[plan.sheet] if plan.sheet in wb.sheetnames else wb.create_sheet(plan.sheet)
    clear_block(ws)
    styles = _Styles(plan.setup.font)
    for c in plan.cells:
        cell = ws[c.ref]
        if c.formula and c.spill:
            cell.value = ArrayFormula(c.spill, c.formula)
        elif c.formula:
            cell.value = c.formula
        else:
            cell.value = c.value
        styles.apply(cell, c.style)
    _names(wb, plan)
    _validations(ws, plan)
    _conditional_formats(ws, plan)
    for chart in plan.charts:
        ws.add_chart(_chart(chart), chart.anchor)
    _setup(ws, plan)


def _names(wb: Any, plan: DashboardPlan) -> None:
    """The plan's names (re)defined; names of removed KPI rows (a ``stale_prefixes`` prefix) deleted."""
    from openpyxl.workbook.defined_name import DefinedName

    wanted = {n.name: n.refers_to[1:] for n in plan.names}
    for name in list(wb.defined_names):
        if name.startswith(plan.stale_prefixes) and name not in wanted:
            del wb.defined_names[name]
    for name, text in wanted.items():
        if name in wb.defined_names and wb.defined_names[name].attr_text == text:
            continue
        if name in wb.defined_names:
            del wb.defined_names[name]
        wb.defined_names[name] = DefinedName(name, attr_text=text)


def _in_block(col: int) -> bool:
    return BLOCK_FIRST_COL + 1 <= col <= BLOCK_LAST_COL + 1


def clear_block(ws: Any) -> None:
    """Empty columns A:R: cells, merged cells, validations, conditional formats, charts."""
    from openpyxl.formatting.formatting import ConditionalFormattingList
    from openpyxl.worksheet.cell_range import CellRange

    for (r, c) in [k for k in ws._cells if _in_block(k[1])]:
        del ws._cells[(r, c)]
    for merged in list(ws.merged_cells.ranges):
        if _in_block(merged.min_col):
            ws.merged_cells.remove(merged)
    keep = []
    for dv in ws.data_validations.dataValidation:
        if not all(_in_block(CellRange(str(r)).min_col) for r in dv.sqref.ranges):
            keep.append(dv)
    ws.data_validations.dataValidation = keep
    old = ws.conditional_formatting
    ws.conditional_formatting = ConditionalFormattingList()
    for cf in old:
        if not all(_in_block(r.min_col) for r in cf.sqref.ranges):
            for rule in cf.rules:
                ws.conditional_formatting.add(str(cf.sqref), rule)
    ws._charts = [ch for ch in ws._charts if not _in_block(_anchor_col(ch))]


def _anchor_col(chart: Any) -> int:
    anchor = chart.anchor
    if isinstance(anchor, str):
        return split_ref(anchor)[1] + 1
    try:
        return anchor._from.col + 1
    except AttributeError:
        return 1


class _Styles:
    def __init__(self, font: str) -> None:
        self.font = font
        self.cache: dict[str, dict[str, Any]] = {}

    def apply(self, cell: Any, key: str) -> None:
        from copy import copy

        if key not in self.cache:
            self.cache[key] = openpyxl_style(key, self.font)
        for attr, value in self.cache[key].items():
            setattr(cell, attr, copy(value))


def openpyxl_style(key: str, font: str) -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    p = style_properties(key)
    color = p.get("color", "#000000").lstrip("#")
    out: dict[str, Any] = {
        "font": Font(name=font, size=p.get("size", FONT_SIZE), bold=p.get("bold", False), italic=p.get("italic", False),
                     color="FF" + color),
        "alignment": Alignment(horizontal=p.get("align"), vertical=p["valign"], wrap_text=p.get("wrap", False)),
        "number_format": p.get("num_format", "General"),
    }
    if "fill" in p:
        out["fill"] = PatternFill("solid", fgColor="FF" + p["fill"].lstrip("#"))
    if p.get("border"):
        side = Side(style="thin", color="FF" + BORDER.lstrip("#"))
        out["border"] = Border(left=side, right=side, top=side, bottom=side)
    return out


def _validations(ws: Any, plan: DashboardPlan) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    for v in plan.validations:
        rule = v.rule
        if rule.maximum is not None:
            dv = DataValidation(type="decimal", operator="between", formula1=str(rule.minimum), formula2=str(rule.maximum))
        else:
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=str(rule.minimum))
        dv.promptTitle, dv.prompt = rule.title, rule.message
        dv.errorTitle, dv.error = rule.title, rule.message
        dv.showInputMessage = dv.showErrorMessage = True
        dv.allow_blank = True
        dv.add(v.ref)
        ws.add_data_validation(dv)


def _conditional_formats(ws: Any, plan: DashboardPlan) -> None:
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill

    for cf in plan.conditional_formats:
        ws.conditional_formatting.add(cf.ref, CellIsRule(
            operator="equal", formula=[f'"{cf.equals}"'],
            fill=PatternFill("solid", bgColor="FF" + cf.fill.lstrip("#")),
            font=Font(color="FF" + cf.color.lstrip("#"), bold=cf.bold)))


def _chart(chart: PlannedChart) -> Any:
    from openpyxl.chart import BarChart, LineChart, Reference, Series
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.marker import Marker
    from openpyxl.chart.shapes import GraphicalProperties

    ch: Any = LineChart() if chart.kind == "line" else BarChart()
    if chart.kind in ("bar", "column"):
        ch.type = "bar" if chart.kind == "bar" else "col"
        ch.gapWidth = chart.gap_width
    ch.title = chart.title
    ch.width, ch.height = chart.width_px / 37.8, chart.height_px / 37.8  # cm
    for s in chart.series:
        series = Series(Reference(range_string=s.values.replace("$", "")), title=s.name)
        if chart.kind == "line":
            series.graphicalProperties.line.solidFill = s.color.lstrip("#")
            series.graphicalProperties.line.width = int(chart.line_width_pt * 12700)  # EMU
            if chart.marker_size:
                series.marker = Marker(symbol="circle", size=chart.marker_size)
                series.marker.graphicalProperties = GraphicalProperties(solidFill=s.color.lstrip("#"))
                series.marker.graphicalProperties.line.solidFill = s.color.lstrip("#")
        else:
            series.graphicalProperties.solidFill = s.color.lstrip("#")
        if chart.value_labels:
            series.dLbls = DataLabelList(showVal=True, numFmt=chart.value_labels)
        ch.series.append(series)
        ch.set_categories(Reference(range_string=s.categories.replace("$", "")))
    if chart.y_percent:
        ch.y_axis.number_format = "0%"
    if chart.log_axis:
        ch.y_axis.scaling.logBase = 10
    if chart.reverse_categories:
        ch.x_axis.scaling.orientation = "maxMin"
    if len(chart.series) < 2:
        ch.legend = None
    else:
        ch.legend.position = "b"
    return ch


def _setup(ws: Any, plan: DashboardPlan) -> None:
    from openpyxl.worksheet.page import PageMargins

    setup = plan.setup
    for letter, width in setup.widths.items():
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[1].height = setup.title_row_height
    for row, height in setup.row_heights.items():
        ws.row_dimensions[row + 1].height = height
    ws.freeze_panes = f"A{setup.freeze_rows + 1}"
    ws.sheet_view.showGridLines = setup.gridlines
    ws.page_setup.paperSize = setup.paper_size
    ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    ws.page_setup.fitToWidth = setup.fit_width
    ws.page_setup.fitToHeight = setup.fit_height
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    left, right, top, bottom = setup.margins_in
    ws.page_margins = PageMargins(left=left, right=right, top=top, bottom=bottom)
    ws.print_title_rows = f"1:{setup.freeze_rows}"
    if setup.print_area:
        ws.print_area = setup.print_area


# --- dynamic arrays after openpyxl ---------------------------------------------------------

METADATA_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray"><metadataTypes count="1">'
    '<metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" '
    'splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" coerce="1" cellMeta="1"/>'
    '</metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)
_ARRAY_CELL = re.compile(r'(<c r="[A-Z]+[0-9]+"[^>]*?)(>\s*<f t="array")')


def _read_parts(path: str | os.PathLike) -> dict[str, bytes]:
    """Every member of a package, by name, in the package's order."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _write_parts(path: Path, parts: dict[str, bytes]) -> None:
    """``path`` rewritten with ``parts`` (in their order), through a ``.part`` file renamed over it."""
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    os.replace(tmp, path)


def restore_dynamic_arrays(path: str | os.PathLike) -> int:
    """Mark every array formula of ``path`` as a dynamic array (``cm="1"`` + metadata part).

    The template writes only dynamic arrays, so every array formula openpyxl wrote back
    was one. Returns the number of formulas marked.
    """
    path = Path(path)
    parts = _read_parts(path)
    marked = 0
    for name, data in list(parts.items()):
        if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
            text = data.decode("utf-8")
            new, n = _ARRAY_CELL.subn(lambda m: (m.group(1) if ' cm="' in m.group(1) else m.group(1) + ' cm="1"') + m.group(2), text)
            marked += n
            parts[name] = new.encode("utf-8")
    if marked and "xl/metadata.xml" not in parts:
        parts["xl/metadata.xml"] = METADATA_XML.encode("utf-8")
        ct = parts["[Content_Types].xml"].decode("utf-8")
        ct = ct.replace("</Types>", '<Override PartName="/xl/metadata.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/></Types>')
        parts["[Content_Types].xml"] = ct.encode("utf-8")
        rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
        rels = rels.replace("</Relationships>", '<Relationship Id="rIdKpitreeMeta" Type="http://schemas.openxmlformats.org/'
                            'officeDocument/2006/relationships/sheetMetadata" Target="metadata.xml"/></Relationships>')
        parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    _write_parts(path, parts)
    return marked


# --- charts after openpyxl -----------------------------------------------------------------------------

_ANCHOR = re.compile(rb"<(?:\w+:)?(?:twoCellAnchor|oneCellAnchor)\b.*?</(?:\w+:)?(?:twoCellAnchor|oneCellAnchor)>", re.S)
_FROM = re.compile(rb"<(?:\w+:)?from>\s*<(?:\w+:)?col>(\d+)</(?:\w+:)?col>.*?<(?:\w+:)?row>(\d+)</(?:\w+:)?row>", re.S)
_CHART_RID = re.compile(rb"<(?:\w+:)?chart\b[^>]*?\bid\s*=\s*\"([^\"]+)\"")


def chart_anchors(parts: dict[str, bytes]) -> dict[tuple[str, int, int], str]:
    """``(sheet title, column, row)`` of each chart's top-left cell (0-based, as drawings count) -> its chart part."""
    import html
    import posixpath

    def rels(owner: str) -> dict[str, str]:
        name = posixpath.join(posixpath.dirname(owner), "_rels", posixpath.basename(owner) + ".rels")
        out = {}
        for m in re.finditer(rb"<Relationship\b[^>]*>", parts.get(name, b"")):
            rid = re.search(rb'\bId="([^"]+)"', m.group(0))
            target = re.search(rb'\bTarget="([^"]+)"', m.group(0))
            if rid and target:
                t = html.unescape(target.group(1).decode())
                out[rid.group(1).decode()] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(owner), t))
        return out

    book = rels("xl/workbook.xml")
    found: dict[tuple[str, int, int], str] = {}
    for m in re.finditer(rb"<(?:\w+:)?sheet\b[^>]*>", parts.get("xl/workbook.xml", b"")):
        name = re.search(rb'\bname="([^"]*)"', m.group(0))
        rid = re.search(rb'\b\w+:id="([^"]+)"', m.group(0))
        sheet = book.get(rid.group(1).decode(), "") if rid else ""
        drawing = re.search(rb"<(?:\w+:)?drawing\b[^>]*?\bid=\"([^\"]+)\"", parts.get(sheet, b""))
        if not (name and drawing):
            continue
        drawing_part = rels(sheet).get(drawing.group(1).decode(), "")
        charts = rels(drawing_part)
        for anchor in _ANCHOR.finditer(parts.get(drawing_part, b"")):
            place, chart = _FROM.search(anchor.group(0)), _CHART_RID.search(anchor.group(0))
            if place and chart and charts.get(chart.group(1).decode()) in parts:
                key = (html.unescape(name.group(1).decode()), int(place.group(1)), int(place.group(2)))
                found[key] = charts[chart.group(1).decode()]
    return found


def restore_charts(path: str | os.PathLike, source: str | os.PathLike | None, plan: DashboardPlan | None = None) -> int:
    """Put back the chart parts openpyxl rewrote in ``path``: the plan's charts as the template's writer writes
    them (:func:`.builder.chart_parts`), every other chart as it was in ``source`` — when it is the same chart
    (the same data ranges and texts: a chart a plan redrew differently keeps its new part) and its part stood
    alone (no relationships of its own to carry along). Charts are matched by sheet and top-left cell.
    Returns how many parts were put back."""
    from .builder import chart_parts
    from .layout import split_ref

    path = Path(path)
    parts = _read_parts(path)
    wanted: dict[tuple[str, int, int], bytes] = {}
    if source is not None:
        old = _read_parts(source)
        for key, part in chart_anchors(old).items():
            rels = part.rsplit("/", 1)[0] + "/_rels/" + part.rsplit("/", 1)[1] + ".rels"
            if rels not in old:
                wanted[key] = old[part]
    written = chart_anchors(parts)
    wanted = {k: xml for k, xml in wanted.items() if k in written and _same_chart(xml, parts[written[k]])}
    if plan is not None and plan.charts:
        for chart, xml in zip(plan.charts, chart_parts(plan)):
            row, col = split_ref(chart.anchor)
            wanted[(plan.sheet, col, row)] = xml
    restored = 0
    for key, part in written.items():
        if key in wanted and parts[part] != wanted[key]:
            parts[part] = wanted[key]
            restored += 1
    if restored:
        _write_parts(path, parts)
    return restored


def _same_chart(a: bytes, b: bytes) -> bool:
    """Whether two chart parts show the same data with the same texts (series ranges, titles, names), however
    each writer spells a reference (quotes, $)."""

    def signature(xml: bytes) -> list[bytes]:
        refs = re.findall(rb"<(?:\w+:)?f>(.*?)</(?:\w+:)?f>", xml, re.S)
        texts = re.findall(rb"<(?:\w+:)?t>(.*?)</(?:\w+:)?t>", xml, re.S)
        return [r.replace(b"$", b"").replace(b"'", b"") for r in refs] + texts

    return signature(a) == signature(b)
