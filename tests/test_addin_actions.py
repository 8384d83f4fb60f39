"""The Python side of the ribbon buttons, without Excel.

The xlwings writer and readers run against a recording stand-in of exactly the
xlwings surface they use (tests/xlwings_standin.py), backed by the shipped template read
with openpyxl; the plans are checked against the file-mode planners and through the
openpyxl file writer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kpitree.addin import actions
from kpitree.addin.file_writer import run_file_action
from kpitree.addin.plans import REPORT_SHEETS, plan_back_calculation, plan_design_check, plan_stage_recommendation
from kpitree.addin.xlwings_writer import XlwingsWriter, bgr
from kpitree.udfs.kpi_tree import back_calculate
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.contract import facts_from_openpyxl, facts_from_xlwings, parse_refers_to
from kpitree.workbook_templates.dashboard_openpyxl import plan_for
from openpyxl import load_workbook
from xlwings_standin import Book, Chart


@pytest.fixture(params=["ja", "en"])
def template(request: pytest.FixtureRequest, template_copy: Any) -> Path:
    return template_copy(request.param)


# --- reading ------------------------------------------------------------------------------


def test_xlwings_and_openpyxl_readers_agree(template: Path) -> None:
    via_xlwings = facts_from_xlwings(Book(template))
    via_file = facts_from_openpyxl(load_workbook(template), load_workbook(template, data_only=True))
    assert via_xlwings == via_file
    assert len(via_xlwings.kpi_rows) >= 12
    assert via_xlwings.values["kgi_annual_revenue"] > 0


def test_parse_refers_to() -> None:
    assert parse_refers_to("='KGI・戦略KPI設定'!$C$6") == ("KGI・戦略KPI設定", "C6")
    assert parse_refers_to("=Sheet1!$A$1:$B$2") is None
    assert parse_refers_to("='it''s'!$B$3") == ("it's", "B3")


# --- plans: live workbook == file mode ------------------------------------------------------


@pytest.mark.parametrize("planner", [plan_back_calculation, plan_stage_recommendation, plan_design_check])
def test_live_plans_equal_file_plans_and_apply_to_a_file(template: Path, planner: Any, tmp_path: Path) -> None:
    live = planner(facts_from_xlwings(Book(template)))
    out = tmp_path / "out.xlsx"
    file_plan = run_file_action(template, planner, out)
    assert live == file_plan
    wb = load_workbook(out)
    for cell in live.cells:
        if cell.value is not None:
            expected = pytest.approx(cell.value, rel=1e-14) if isinstance(cell.value, float) else cell.value
            assert wb[cell.sheet][cell.ref].value == expected  # the file keeps Excel's 15 digits


def test_back_calculation_fills_monthly_and_daily_targets(template: Path) -> None:
    book = Book(template)
    actions.back_calculate_plan(book=book)
    facts = facts_from_xlwings(Book(template))
    v = facts.values
    plan = back_calculate(v["kgi_annual_revenue"], v["avg_deal_size"], v["plan_win_rate"], v["plan_conversion_rate"],
                          v["plan_connect_rate"], v["working_days_per_month"])
    written = book.writes("value")
    assert written[facts.names["target_opportunities"]] == pytest.approx(plan.row("opportunities").month)
    assert written[facts.names["target_calls"]] == pytest.approx(plan.row("calls").day)
    assert written[facts.names["target_connect_rate"]] == plan.connect_rate
    assert {s for s, _ in written} <= {facts.names["target_calls"][0], facts.names["target_opportunities"][0]}
    assert len(book.alerts) == 1 and ("33.3" in book.alerts[0])


def test_stage_recommendation_writes_report_and_marks_outside_focus(template: Path) -> None:
    book = Book(template)
    actions.recommend_stage_kpis(book=book)
    facts = facts_from_xlwings(Book(template))
    report = REPORT_SHEETS["stage"][facts.lang]
    assert ("sheet.add", report, list(Book(template).sheets)[-1].name) in book.log
    assert ("activate", report) in book.log
    fills = {k: v for k, v in book.writes("color").items() if k[0] != report}
    marked = {ref for ref, color in fills.items() if color == "#FCE4D6"}
    plan = plan_stage_recommendation(facts)
    assert marked and len(marked) + sum(1 for c in fills.values() if c is None) == len(facts.kpi_rows)
    assert plan.message[0 if facts.lang == "ja" else 1] == book.alerts[0]


def test_design_check_report(template: Path) -> None:
    book = Book(template)
    actions.check_kpi_design(book=book)
    report = REPORT_SHEETS["check"][facts_from_xlwings(Book(template)).lang]
    values = {ref: v for (sheet, ref), v in book.writes("value").items() if sheet == report}
    assert values["A1"] in ("KPI設計チェック", "KPI design check")
    assert ("clear", report, "A1:E300") in book.log


def test_design_check_flags_missing_target_and_guide(template: Path) -> None:
    facts = facts_from_xlwings(Book(template))
    values = dict(facts.values, target_conversion_rate=None, target_connect_rate=0.9)
    plan = plan_design_check(type(facts)(facts.lang, values, facts.kpi_rows, facts.names))
    texts = [c.value for c in plan.cells if isinstance(c.value, str)]
    assert any(t in ("目標が未入力", "target missing") for t in texts)


# --- the dashboard -------------------------------------------------------------------------


def test_dashboard_plan_of_the_live_workbook_is_the_file_modes(template: Path) -> None:
    assert actions.dashboard_plan_for(Book(template)) == plan_for(load_workbook(template))


def test_dashboard_writer_applies_every_planned_cell_and_name(template: Path) -> None:
    book = Book(template)
    actions.rebuild_dashboard(book=book)
    plan = plan_for(load_workbook(template))
    assert ("clear", plan.sheet, plan.block) in book.log
    formulas = {**book.writes("formula"), **book.writes("formula2")}
    for cell in plan.cells:
        if cell.formula is not None:
            assert formulas[(plan.sheet, cell.ref)] == cell.formula
            if cell.spill:
                assert (plan.sheet, cell.ref) in book.writes("formula2")
        elif cell.value is not None:
            assert book.writes("value")[(plan.sheet, cell.ref)] == cell.value
    assert {e[1] for e in book.log if e[0] == "name"} == {n.name for n in plan.names}
    assert sum(1 for e in book.log if e[0] == "chart.add") == len(plan.charts)
    # no COM here (as on macOS): series, validations and conditional formats are skipped, and the user told
    assert len(book.alerts) == 1 and ("Windows" in book.alerts[0])


# Every field of the plan's records, and every style property, that the xlwings writer applies;
# the rest must be in xlwings_writer.NOT_EXPRESSIBLE with its reason.
APPLIED = {
    "DashboardPlan": {"sheet", "block", "cells", "names", "validations", "conditional_formats", "charts", "setup",
                      "stale_prefixes"},
    "PlannedCell": {"sheet", "ref", "value", "formula", "style", "name"},
    "PlannedName": {"name", "sheet", "ref"},
    "PlannedValidation": {"sheet", "ref", "rule"},
    "ValidationRule": {"minimum", "maximum", "title", "message"},
    "PlannedConditionalFormat": {"sheet", "ref", "equals", "fill", "color", "bold"},
    "PlannedChart": {"sheet", "kind", "title", "anchor", "width_px", "height_px", "series", "y_percent", "value_labels",
                     "reverse_categories", "marker_size", "log_axis", "gap_width", "line_width_pt", "title_size", "axis_font_size",
                     "legend_font_size", "gridline_color"},
    "ChartSeries": {"name", "categories", "values", "color"},
    "SheetSetup": {"sheet", "font", "widths", "freeze_rows", "landscape", "fit_height", "print_area", "font_size",
                   "title_row_height", "row_heights", "gridlines", "paper_size", "fit_width", "margins_in"},
}
APPLIED_STYLE = {"fill", "num_format", "bold", "italic", "size", "color", "wrap", "align", "border"}


def test_every_planned_property_is_applied_or_listed_as_not_expressible() -> None:
    import dataclasses

    from kpitree.addin.xlwings_writer import NOT_EXPRESSIBLE
    from kpitree.workbook_templates import dashboard, layout

    for name, applied in APPLIED.items():
        cls = getattr(dashboard, name, None) or getattr(layout, name)
        listed = {k.split(".")[1] for k in NOT_EXPRESSIBLE if k.split(".")[0] == name}
        assert {f.name for f in dataclasses.fields(cls)} == applied | listed, name
        assert not applied & listed, name
    assert all(reason.strip() for reason in NOT_EXPRESSIBLE.values())
    style_keys = {k for props in layout.STYLES.values() for k in props} | {"num_format"}
    assert style_keys <= APPLIED_STYLE


def test_dashboard_writer_with_com_does_what_the_plan_says(template: Path) -> None:
    """Excel on Windows: every planned property, and the openpyxl file writer's conventions, reach Excel."""
    import re

    from kpitree.addin.xlwings_writer import XL_HALIGN
    from kpitree.workbook_templates.builder import validation_options
    from kpitree.workbook_templates.layout import BORDER, FONT_SIZE, FONTS, style_properties
    from kpitree.workbook_templates.spec import SHEETS

    book = Book(template, com=True)
    actions.rebuild_dashboard(book=book)
    assert book.alerts in (["ダッシュボードを作り直しました。"], ["Dashboard rebuilt."])  # nothing skipped
    plan = plan_for(load_workbook(template))
    lang = "ja" if plan.sheet in SHEETS["ja"] else "en"
    log = book.log
    com: dict[str, Any] = {}
    for e in log:
        if e[0] == "com":
            com[e[1]] = e[2]  # the last value set
    calls: dict[str, list] = {}
    for e in log:
        if e[0] == "call":
            calls.setdefault(e[1], []).append((e[2], e[3]))
    fonts = {(e[1], e[2], e[3]): e[4] for e in log if e[0] == "font"}
    sh = plan.sheet

    # cells: value / formula, and every style property
    assert ("clear", sh, plan.block) in log
    formulas = {**book.writes("formula"), **book.writes("formula2")}
    for cell in plan.cells:
        key = (sh, cell.ref)
        if cell.formula is not None:
            assert formulas[key] == cell.formula
        elif cell.value is not None:
            assert book.writes("value")[key] == cell.value
        p = style_properties(cell.style)
        assert book.writes("color")[key] == p.get("fill")
        assert book.writes("number_format").get(key) == p.get("num_format")
        assert fonts[(sh, cell.ref, "name")] == FONTS[lang]
        assert fonts[(sh, cell.ref, "bold")] == p.get("bold", False)
        assert fonts[(sh, cell.ref, "italic")] == p.get("italic", False)
        assert fonts[(sh, cell.ref, "size")] == p.get("size", FONT_SIZE)
        assert fonts[(sh, cell.ref, "color")] == p.get("color", "#000000")
        assert book.writes("wrap_text")[key] == p.get("wrap", False)
        at = f"{sh}!{cell.ref}"
        assert com[f"{at}.HorizontalAlignment"] == XL_HALIGN[p.get("align")]
        assert com[f"{at}.VerticalAlignment"] == -4108  # xlCenter, as openpyxl's vertical="center"
        borders = {k.rsplit(".", 1)[1]: v for k, v in com.items() if k.startswith(f"{at}.Borders.")}
        assert borders == ({"LineStyle": 1, "Weight": 2, "Color": bgr(BORDER)} if p.get("border") else {})
        if cell.name:
            assert cell.name in {n.name for n in plan.names}
    # names
    assert {e[1]: e[2] for e in log if e[0] == "name"} == {n.name: n.refers_to for n in plan.names}
    # validations: bounds and messages of the file writers (validation_options)
    for v in plan.validations:
        at = f"{v.sheet}!{v.ref}.Validation"
        o = validation_options(v.rule)
        (_, kwargs), = calls[f"{at}.Add"]
        if o["criteria"] == "between":
            assert (kwargs["Operator"], kwargs["Formula1"], kwargs["Formula2"]) == (1, str(o["minimum"]), str(o["maximum"]))
        else:
            assert (kwargs["Operator"], kwargs["Formula1"], "Formula2" in kwargs) == (7, str(o["value"]), False)
        assert kwargs["Type"] == 2 and kwargs["AlertStyle"] == 1  # decimal, stop
        assert (com[f"{at}.InputTitle"], com[f"{at}.InputMessage"]) == (o["input_title"], o["input_message"])
        assert (com[f"{at}.ErrorTitle"], com[f"{at}.ErrorMessage"]) == (o["error_title"], o["error_message"])
        assert com[f"{at}.IgnoreBlank"] and com[f"{at}.ShowInput"] and com[f"{at}.ShowError"]
    # conditional formats (several per range: the n-th Add of a range is its n-th planned format)
    seen: dict[str, int] = {}
    for cf in plan.conditional_formats:
        at = f"{cf.sheet}!{cf.ref}.FormatConditions.Add"
        n = seen[at] = seen.get(at, -1) + 1
        assert calls[at][n][1] == {"Type": 1, "Operator": 3, "Formula1": f'="{cf.equals}"'}
        rule = f"{at}()#{n}"
        assert (com[f"{rule}.Interior.Color"], com[f"{rule}.Font.Color"], com[f"{rule}.Font.Bold"]) == \
            (bgr(cf.fill), bgr(cf.color), True)
    # charts
    added = [e for e in log if e[0] == "chart.add"]
    assert len(added) == len(plan.charts)
    types = [e[2] for e in log if e[0] == "chart.chart_type"]
    for i, chart in enumerate(plan.charts):
        anchor = book.sheets[sh].range(chart.anchor)
        assert added[i][2:] == (anchor.left, anchor.top, chart.width_px * 0.75, chart.height_px * 0.75)
        assert types[i] == {"bar": "bar_clustered", "column": "column_clustered", "line": "line_markers"}[chart.kind]
        c = f"chart{i}[1]"
        assert com[f"{c}.HasTitle"] and com[f"{c}.ChartTitle.Text"] == chart.title
        for k, s in enumerate(chart.series):
            new = f"{c}.SeriesCollection()#{k}.NewSeries()#0"
            assert (com[f"{new}.Name"], com[f"{new}.Values"], com[f"{new}.XValues"]) == \
                (s.name, "=" + s.values, "=" + s.categories)
            if chart.kind == "line":
                assert (com[f"{new}.Format.Line.ForeColor.RGB"], com[f"{new}.Format.Line.Weight"]) == (bgr(s.color), 2.25)
            else:
                assert com[f"{new}.Format.Fill.ForeColor.RGB"] == bgr(s.color)
        assert com.get(f"{c}.ChartGroups(1)#0.GapWidth") == (None if chart.kind == "line" else 60)
        assert com.get(f"{c}.Axes(2)#0.TickLabels.NumberFormat") == ("0%" if chart.y_percent else None)
        assert com.get(f"{c}.Axes(2)#0.ScaleType") == (-4133 if chart.log_axis else None)
        assert com.get(f"{c}.Axes(1)#0.ReversePlotOrder") == (True if chart.kind == "bar" else None)
        assert com[f"{c}.HasLegend"] == (len(chart.series) > 1)
        assert com.get(f"{c}.Legend.Position") == (-4107 if len(chart.series) > 1 else None)
    # setup: widths, row 1, frozen rows and gridlines of the (active) dashboard, print settings
    setup = plan.setup
    assert {k[1]: v for k, v in book.writes("column_width").items()} == {f"{c}:{c}": w for c, w in setup.widths.items()}
    assert book.writes("row_height")[(sh, "1:1")] == 24
    assert setup.row_heights and all(book.writes("row_height")[(sh, f"{r + 1}:{r + 1}")] == h for r, h in setup.row_heights.items())
    first_window = next(i for i, e in enumerate(log) if e[0] == "com" and e[1].startswith("app.ActiveWindow."))
    assert [e for e in log[:first_window] if e[0] == "activate"][-1] == ("activate", sh)
    assert (com["app.ActiveWindow.SplitRow"], com["app.ActiveWindow.SplitColumn"]) == (setup.freeze_rows, 0)
    assert com["app.ActiveWindow.FreezePanes"] is True and com["app.ActiveWindow.DisplayGridlines"] is False
    ps = f"sheet:{sh}.PageSetup"
    assert com[f"{ps}.Orientation"] == (2 if setup.landscape else 1) and com[f"{ps}.PaperSize"] == 9
    assert (com[f"{ps}.Zoom"], com[f"{ps}.FitToPagesWide"], com[f"{ps}.FitToPagesTall"]) == \
        (False, 1, setup.fit_height or False)
    assert com[f"{ps}.PrintTitleRows"] == f"$1:${setup.freeze_rows}"
    assert com[f"{ps}.PrintArea"] == re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", setup.print_area)
    assert com["app.PrintCommunication"] is True
    assert log[-1] == ("activate", sh)


def test_dashboard_writer_without_com_degrades_with_a_message(template: Path) -> None:
    """Excel for Mac: what xlwings itself can set is set; the COM-only parts are skipped and named."""
    from kpitree.workbook_templates.layout import FONTS

    book = Book(template)
    writer = XlwingsWriter(book)
    plan = plan_for(load_workbook(template))
    writer.apply(plan)
    assert {"cell borders and alignment", "frozen rows and gridlines", "print settings"} <= set(writer.skipped)
    assert len(writer.skipped) == len(set(writer.skipped))  # once per kind, not once per cell
    assert book.writes("row_height")[(plan.sheet, "1:1")] == 24
    assert {e[4] for e in book.log if e[0] == "font" and e[3] == "name"} <= set(FONTS.values())
    assert not any(e[0] in ("com", "call") for e in book.log)


def test_edit_plans_get_what_their_file_writer_applies(template: Path) -> None:
    book = Book(template, com=True)
    actions.recommend_stage_kpis(book=book)
    assert not any(e[0] == "com" for e in book.log)  # no borders, alignment or page setup
    assert {e[1].rsplit(".", 1)[1] for e in book.log if e[0] == "call"} <= {"Delete"}  # clearing the report block
    assert not any(e[0] == "font" and e[3] == "name" for e in book.log)


def test_writer_deletes_only_charts_anchored_in_the_block(template: Path) -> None:
    book = Book(template)
    sheet = book.sheets[plan_for(load_workbook(template)).sheet]
    inside, outside = Chart(sheet, 100.0), Chart(sheet, 50.0 * 30)
    sheet.chart_list += [inside, outside]
    XlwingsWriter(book).clear_block(sheet, "A:R")
    assert sheet.chart_list == [outside]


def test_bgr() -> None:
    assert bgr("#FF0000") == 0x0000FF and bgr("#0000FF") == 0xFF0000


# --- failures: one message box, traceback in the log -----------------------------------------


def test_user_error_is_one_friendly_message(tmp_path: Path) -> None:
    path = tmp_path / "plain.xlsx"
    from openpyxl import Workbook

    Workbook().save(path)
    book = Book(path)
    actions.back_calculate_plan(book=book)
    assert len(book.alerts) == 1 and "Traceback" not in book.alerts[0]
    assert "template" in book.alerts[0] or "テンプレート" in book.alerts[0]


def test_unexpected_error_is_logged_not_shown(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions.Path, "home", classmethod(lambda cls: tmp_path))

    def boom(book: Any) -> None:
        raise RuntimeError("kaboom")

    book = Book(template)
    actions._run("test_action", boom, book=book)
    log = tmp_path / ".kpitree" / "addin.log"
    assert "RuntimeError: kaboom" in log.read_text(encoding="utf-8")
    assert len(book.alerts) == 1 and str(log) in book.alerts[0] and "kaboom" not in book.alerts[0]


def test_batch_recalculate_missing_folder_is_a_message(template: Path, tmp_path: Path) -> None:
    book = Book(template)
    actions.batch_recalculate(str(tmp_path / "nope"), book=book)
    assert len(book.alerts) == 1 and "nope" in book.alerts[0]


def test_batch_recalculate_opens_the_summary(template: Path, tmp_path: Path) -> None:
    folder = tmp_path / "teams"
    folder.mkdir()
    (folder / "a.xlsx").write_bytes(template.read_bytes())
    book = Book(template)
    actions.batch_recalculate(str(folder), book=book)
    _, summary = actions.summary_paths(str(folder))
    assert book.opened == [str(summary)] and summary.is_file()
    assert len(book.alerts) == 1


def test_new_workbook_copies_the_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> None:
    monkeypatch.setattr(actions.Path, "home", classmethod(lambda cls: tmp_path))
    book = Book(template)
    actions.new_workbook("en", book=book)
    assert book.opened == [str(tmp_path / "kpitree_en_1.xlsx")]
    assert Path(book.opened[0]).read_bytes() == template_path("en").read_bytes()
    assert actions.new_workbook_path("en") == tmp_path / "kpitree_en_2.xlsx"


def test_surrogates_from_vba_escapes_are_joined() -> None:
    assert actions._fix_surrogates("\ud83d\ude00 フォルダ") == "😀 フォルダ"


def test_importing_the_button_module_stays_light() -> None:
    code = ("import sys, kpitree.addin.actions; "
            "print(sorted(m for m in ('pandas', 'formulas', 'xlwings', 'openpyxl', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_kpi_row_below_a_blank_spare_row_is_read_alike_by_file_mode_and_the_ribbon(template_copy: Any) -> None:
    from kpitree.workbook_templates.spec import SHEETS

    from kpitree.cli import main

    path = template_copy("ja")
    s3, s4 = SHEETS["ja"][2], SHEETS["ja"][3]
    wb = load_workbook(path)
    ws = wb[s3]
    assert ws["A28"].value is None and ws["A29"].value is None  # the two spare rows under the action table
    ws["A29"], ws["D29"], ws["E29"] = "email_reply_rate", 0.05, 0.04  # the second one, below a blank
    wb.save(path)
    via_file = facts_from_openpyxl(load_workbook(path), load_workbook(path, data_only=True))
    via_ribbon = facts_from_xlwings(Book(path))
    assert via_ribbon == via_file
    action = [r.kpi_id for r in via_file.kpi_rows if r.tier == "action"]
    assert len(action) == 7 and action[-1] == "email_reply_rate"
    assert actions.dashboard_plan_for(Book(path)) == plan_for(load_workbook(path))
    assert main(["dashboard", str(path)]) == 0
    ids = [load_workbook(path)[s4].cell(r, 1).value for r in range(10, 30)]
    assert "email_reply_rate" in ids
