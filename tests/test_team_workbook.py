"""kpitree import into a team workbook and kpitree review: named inputs, member sheet, data, pace, reviews."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from kpitree.team import write_sample
from kpitree.team.calendar import Calendar
from kpitree.team.data import from_sheet_rows
from kpitree.team.sample import QUIRKS, render, sample_records
from kpitree.team.workbook import import_exports
from kpitree.workbook_templates import new_workbook

from kpitree.cli import main
from kpitree.errors import UserError

APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 17))
APRIL_DAYS = 13  # working days 4/1..4/17 (no holiday before 4/29)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_sample(tmp_path_factory.mktemp("exports"), "kpitree")


@pytest.fixture(scope="module")
def team(exports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("team")
    path = folder / "team.xlsx"
    new_workbook(path, months=14, revenue=120_000_000, deal_size=1_000_000)
    report = import_exports(path, **exports, rejects=folder / "rejects.csv", per_member=folder / "members")
    return path, report


def values(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, data_only=True)


def named(wb: openpyxl.Workbook, name: str) -> Any:
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")].value


def clean_april() -> pd.DataFrame:
    """The sample's activities of 4/1..4/17 without the rows whose date the export spoiled (an independent count)."""
    records = sample_records()
    shown = render(records, "kpitree")["activities"]
    spoiled = set(shown.loc[shown["日付"].isin({"2026/13/45", "不明", "#VALUE!"}), "活動ID"])
    acts = records["activities"]
    acts = acts[~acts["id"].isin(spoiled)]
    day = pd.to_datetime(acts["date"]).dt.date
    return acts[(day >= APRIL[0]) & (day <= APRIL[1])]


def test_the_templates_inputs_hold_the_period_from_the_data(team: tuple[Path, Any]) -> None:
    path, report = team
    wb = values(path)
    april = clean_april()
    calls = april[april["type"] == "call"]
    assert named(wb, "raw_days_worked") == APRIL_DAYS and named(wb, "working_days_per_month") == 21
    assert named(wb, "raw_calls_month") == len(calls)
    assert named(wb, "raw_connects_month") == calls["result"].isin(["connected", "effective"]).sum()
    assert named(wb, "actual_calls") == pytest.approx(len(calls) / APRIL_DAYS)  # the template's own formula, recalculated
    assert named(wb, "achievement_calls") == pytest.approx(len(calls) / APRIL_DAYS / named(wb, "target_calls"))
    assert report.inputs.kept and {k for k, _ in report.inputs.kept} == {"ltv_cac", "forecast_accuracy"}
    trend = [wb["戦術KPI設定"].cell(r, 1).value for r in range(12, 24)]
    assert trend[0] == "2025年5月" and trend[-1] == "2026年4月"


def test_the_member_sheet_has_actuals_spread_and_top_performer(team: tuple[Path, Any]) -> None:
    path, _report = team
    ws = values(path)["メンバー別"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    ids_row = next(i for i, r in enumerate(rows) if r[0] == "member_actuals")
    col = rows[ids_row].index("calls")
    april = clean_april()
    per_member = april[april["type"] == "call"].groupby("member").size() / APRIL_DAYS
    first = ids_row + 2
    shown = {rows[first + i][0]: rows[first + i][col] for i in range(8)}
    assert shown == pytest.approx(per_member.to_dict())
    stats = {r[0]: r[col] for r in rows[first + 8:first + 14] if r[0]}
    assert stats["メンバー平均"] == pytest.approx(statistics.fmean(per_member))
    assert stats["標準偏差(ばらつき)"] == pytest.approx(statistics.pstdev(per_member))
    assert stats["トップパフォーマー"] == per_member.idxmax()
    # achievement is a formula over the editable targets; the bottleneck is KPI_BOTTLENECK per member
    formulas = openpyxl.load_workbook(path)["メンバー別"]
    cells = [c for row in formulas.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert any("IFERROR(" in c.value for c in cells)
    bottlenecks = [c for row in formulas.iter_rows() for c in row if hasattr(c.value, "text") and "KPI_BOTTLENECK" in c.value.text]
    assert len(bottlenecks) + sum(1 for r in rows if "データ不足" in r) == 8
    labels = {r[11] for r in rows if r and len(r) > 11 and isinstance(r[11], str)}
    assert labels & {"架電数が少ない", "接続率が低い", "商談化率が低い", "成約率が低い", "平均受注単価が低い", "ボトルネックなし"}


def test_a_target_the_manager_typed_survives_the_next_import(team: tuple[Path, Any], exports: dict[str, Path],
                                                              tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    wb = openpyxl.load_workbook(path)
    ws = wb["メンバー別"]
    marker = next(r for r in range(1, ws.max_row) if ws.cell(r, 1).value == "member_targets")
    calls_col = next(c for c in range(2, 20) if ws.cell(marker, c).value == "calls")
    member_row = marker + 4
    member = ws.cell(member_row, 1).value
    default = ws.cell(member_row + 1, calls_col).value
    ws.cell(member_row, calls_col).value = 33
    wb.save(path)
    import_exports(path, **exports)
    ws = openpyxl.load_workbook(path)["メンバー別"]
    assert ws.cell(member_row, 1).value == member and ws.cell(member_row, calls_col).value == 33
    assert ws.cell(member_row + 1, calls_col).value == default  # the others keep the split


def test_rejects_are_written_with_row_and_reason(team: tuple[Path, Any]) -> None:
    _path, report = team
    rejects = pd.read_csv(report.rejects_file, encoding="utf-8-sig")
    assert len(rejects) == QUIRKS["bad_dates"] + QUIRKS["bad_amounts"]
    assert set(rejects["理由"]) == {"日付を読めない", "概算の金額(「約」「程度」など)。確定した金額を書く"}
    assert set(rejects["値"]) == {"2026/13/45", "不明", "#VALUE!", "約100万"}


def test_one_recalculated_workbook_per_member(team: tuple[Path, Any]) -> None:
    path, report = team
    assert len(report.member_files) == 8 and not report.member_errors
    april = clean_april()
    calls = april[april["type"] == "call"].groupby("member").size()
    team_wb = values(path)
    for file in report.member_files:
        wb = values(file)
        assert len(wb.sheetnames) == 4
        member = file.stem.removeprefix("team_")
        assert named(wb, "raw_calls_month") == calls[member]
        assert named(wb, "target_calls") == pytest.approx(named(team_wb, "target_calls") / 8)  # the even split
        assert named(wb, "actual_calls") == pytest.approx(calls[member] / APRIL_DAYS)  # recalculated in the batch


def test_the_data_sheet_reads_back_as_the_import_counted(team: tuple[Path, Any]) -> None:
    path, report = team
    rows = [list(r) for r in values(path)["集計データ"].iter_rows(values_only=True)]
    data = from_sheet_rows(rows)
    assert data.data_through == dt.date(2026, 4, 17) and data.members == report.imported.data.members
    mine = data.table.groupby(["grain", "period", "member"]).sum(numeric_only=True).sort_index()
    theirs = report.imported.data.table.groupby(["grain", "period", "member"]).sum(numeric_only=True).sort_index()
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


def test_pace_and_alerts_on_the_dashboard_survive_a_dashboard_rebuild(team: tuple[Path, Any], tmp_path: Path) -> None:
    from kpitree.workbook_templates import rebuild_dashboard

    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    rebuild_dashboard(path)
    ws = values(path)["KPIダッシュボード"]
    column_t = [ws.cell(r, 20).value for r in range(1, 80)]
    assert any(isinstance(v, str) and v.startswith("ペースと着地見込み") for v in column_t)
    assert any(isinstance(v, str) and v.startswith("アラート") for v in column_t)
    forecast = next(r for r in range(1, 80) if ws.cell(r, 20).value == "商談創出数(月間)")
    actual, landing = ws.cell(forecast, 22).value, ws.cell(forecast, 23).value
    assert landing == pytest.approx(actual / APRIL_DAYS * 21)  # 着地見込み = actual ÷ elapsed × working days


def _reviewed(team: tuple[Path, Any], tmp_path: Path, week: str) -> tuple[Path, openpyxl.Workbook, Any, int]:
    """A copy of the team workbook with the review of ``week``: (path, workbook, its review sheet, the calls row)."""
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    assert main(["review", str(path), "--week", week]) == 0
    wb = openpyxl.load_workbook(path)
    ws = wb[f"週次 {week}"]
    return path, wb, ws, next(r for r in range(1, 40) if ws.cell(r, 1).value == "calls")


def test_weekly_review_keeps_what_the_meeting_typed(team: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    path, wb, ws, row = _reviewed(team, tmp_path, "2026-W15")
    ws.cell(row, 8).value = "=架電ブロックが効いた"  # typed text, even one that looks like a formula ('=… in Excel)
    ws.cell(row, 8).data_type = "s"
    ws.cell(row, 10).value = "午前のコールブロックを継続"
    wb.save(path)
    assert main(["review", str(path), "--week", "2026-W15"]) == 0
    ws = openpyxl.load_workbook(path)["週次 2026-W15"]
    row = next(r for r in range(1, 40) if ws.cell(r, 1).value == "calls")
    assert ws.cell(row, 8).value == "=架電ブロックが効いた" and ws.cell(row, 8).data_type == "s"
    assert ws.cell(row, 10).value == "午前のコールブロックを継続"
    out = capsys.readouterr().out
    assert "週次 2026-W15" in out


def test_a_formula_the_meeting_typed_survives_a_refresh(team: tuple[Path, Any], tmp_path: Path) -> None:
    path, wb, ws, row = _reviewed(team, tmp_path, "2026-W16")
    ws.cell(row, 8).value = "=SUM(1,2)"  # a formula (no cached value: openpyxl saves none)
    ws.cell(row, 9).value = "=SUM(1,2)"
    ws.cell(row, 9).data_type = "s"  # text that looks like one stays text
    wb.save(path)
    assert main(["review", str(path), "--week", "2026-W16"]) == 0
    ws = openpyxl.load_workbook(path)["週次 2026-W16"]
    row = next(r for r in range(1, 40) if ws.cell(r, 1).value == "calls")
    assert ws.cell(row, 8).value == "=SUM(1,2)" and ws.cell(row, 8).data_type == "f"
    assert ws.cell(row, 9).value == "=SUM(1,2)" and ws.cell(row, 9).data_type == "s"
    assert values(path)["週次 2026-W16"].cell(row, 8).value == 3  # recalculated with the rest


def test_review_json_lists_kpis_pace_and_alerts(team: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    capsys.readouterr()
    assert main(["review", str(path), "--month", "2026-04", "--json"]) == 0
    review = json.loads(capsys.readouterr().out)
    assert review["review"] == "month" and review["sheet"] == "月次 2026-04"
    assert review["working_days"] == {"elapsed": APRIL_DAYS, "total": 21}
    watch = review["watch_from"]
    assert review["alerts"] and all(a["pace"] < watch for a in review["alerts"])
    assert {a["member"] for a in review["alerts"]} - {None} <= set(review["members"])
    trend = {t["kpi"]: t for t in review["trend"]}
    assert list(trend["opportunities"]["months"]) == ["2026-02", "2026-03", "2026-04"]
    assert trend["opportunities"]["same_month_last_year"] is not None and trend["calls"]["year_on_year"] is not None
    assert trend["calls"]["suggested_next_target"] > 0
    charts = openpyxl.load_workbook(path)["月次 2026-04"]._charts
    assert len(charts) == 1 and charts[0].tagname == "lineChart"  # the 12-month trend lines
    kpis = {k["kpi"]: k for k in review["kpis"]}
    april = clean_april()
    assert kpis["calls"]["actual"] == pytest.approx((april["type"] == "call").sum() / APRIL_DAYS)


def test_the_default_week_is_the_last_complete_one(team: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    assert main(["review", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"] == "2026-W16"  # 4/17 is that week's Friday


@pytest.mark.parametrize("args,message", [
    (["--week", "2026-15"], "ISO week"), (["--month", "2026-13"], "2026-04"), (["--week", "2024-W10"], "no working day"),
])
def test_review_arguments_are_checked(team: tuple[Path, Any], tmp_path: Path, capsys: Any, args: list[str], message: str) -> None:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    assert main(["review", str(path), *args, "--lang", "en"]) == 2
    assert message in capsys.readouterr().err


def test_an_argument_error_is_said_in_the_commands_language(team: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    """Trial: `kpitree review` spoke Japanese but said its errors in English. ja is the default, en with --lang en."""
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    assert main(["review", str(path), "--week", "2026-15"]) == 2
    ja = capsys.readouterr().err
    assert main(["review", str(path), "--week", "2026-15", "--lang", "en"]) == 2
    en = capsys.readouterr().err
    assert "kpitree review: エラー: " in ja and "ISO week" not in ja and any(ord(ch) > 0x3000 for ch in ja.split("エラー")[1])
    assert "kpitree review: error: " in en and "ISO week" in en


def test_review_without_imported_data_says_to_import(template_copy: Any, capsys: Any) -> None:
    assert main(["review", str(template_copy("ja"))]) == 2
    assert "kpitree import" in capsys.readouterr().err


def test_a_period_other_than_the_last_month(exports: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    report = import_exports(path, **exports, period="2026-03")
    assert report.created and report.period == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert named(values(path), "raw_days_worked") == 21  # March 2026: 22 weekdays, 3/20 春分の日
    report = import_exports(path, exports["activities"], start=dt.date(2026, 4, 6), end=dt.date(2026, 4, 10))
    assert named(values(path), "raw_days_worked") == 5
    with pytest.raises(UserError, match="2026-04"):
        import_exports(path, exports["activities"], period="April")


def test_cells_from_an_export_are_data_never_formulas(tmp_path: Path) -> None:
    frame = pd.DataFrame({"日付": ["2026/4/1", "2026/4/2"], "担当者": ["=HYPERLINK(\"http://x\")", "+81 3"],
                          "種別": ["架電", "架電"], "結果": ["接続", "不在"]})
    path = tmp_path / "team.xlsx"
    import_exports(path, frame)
    ws = openpyxl.load_workbook(path)["メンバー別"]
    names = [c for row in ws.iter_rows() for c in row if c.value in ("=HYPERLINK(\"http://x\")", "+81 3")]
    assert names and all(c.data_type == "s" for c in names)


@pytest.mark.parametrize("year,days", [
    (2026, [20, 18, 21, 21, 18, 22, 22, 20, 19, 21, 19, 23]), (2027, [19, 18, 22, 21, 18, 22, 21, 21, 20, 20, 20, 23]),
])
def test_working_days_per_month_follow_the_cabinet_office_list(year: int, days: list[int]) -> None:
    from kpitree.team.measures import month_bounds

    cal = Calendar()
    assert [cal.working_days(*month_bounds(f"{year}-{m:02d}")) for m in range(1, 13)] == days
    assert Calendar("weekdays").working_days(dt.date(2026, 5, 1), dt.date(2026, 5, 31)) == 21
    assert Calendar("jp", frozenset({dt.date(2026, 5, 1)})).working_days(dt.date(2026, 5, 1), dt.date(2026, 5, 31)) == 17


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice (soffice) or pdftoppm (poppler-utils) is not installed")
def test_render_writes_the_member_sheet_and_weekly_review_pictures(tmp_path: Path) -> None:
    import os
    import struct
    import subprocess
    import sys

    # exactly what `python tools/render_sheets.py --team` does for the README, into a temporary folder
    tool = Path(__file__).resolve().parents[1] / "tools" / "render_sheets.py"
    done = subprocess.run([sys.executable, str(tool), "--team", "--lang", "ja", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "TQDM_DISABLE": "1"})
    assert done.returncode == 0, done.stderr
    committed = Path(__file__).resolve().parents[1] / "docs" / "images"
    for name in ("members_ja.png", "weekly_review_ja.png"):
        picture = tmp_path / name
        assert 50_000 < picture.stat().st_size < 5_000_000  # a page of tables, not a blank one
        sizes = [struct.unpack(">II", p.read_bytes()[16:24]) for p in (picture, committed / name)]
        assert sizes[0] == sizes[1] and sizes[0][0] > sizes[0][1]  # landscape, as committed


@pytest.mark.parametrize("args,message", [
    (["--map", "nosuch"], "--map nosuch"), (["--period", "2026-4"], "2026-04"),
    (["--period", "2026-04", "--from", "2026-04-01", "--to", "2026-04-02"], "not both"),
    (["--from", "2026-04-01"], "both --from and --to"),
])
def test_import_arguments_are_one_line_errors(exports: dict[str, Path], tmp_path: Path, capsys: Any,
                                              args: list[str], message: str) -> None:
    assert main(["import", "--activities", str(exports["activities"]), "--into", str(tmp_path / "t.xlsx"), *args,
                 "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err
    assert not (tmp_path / "t.xlsx").exists() and not list(tmp_path.iterdir())  # nothing left behind


def test_import_json_says_what_was_read_and_kept(exports: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    assert main(["import", *[f"--{t}={p}" for t, p in exports.items()], "--into", str(tmp_path / "t.xlsx"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] and out["mapping"] == "kpitree" and out["data_through"] == "2026-04-17"
    assert {f["table"]: f["rejected"] for f in out["files"]} == {"activities": 3, "opportunities": 1, "leads": 0}
    assert [r["value"] for r in out["rejects"] if r["table"] == "opportunities"] == ["約100万"]
    assert {k["kpi"] for k in out["kpis_kept"]} == {"ltv_cac", "forecast_accuracy"}


def test_a_failed_import_leaves_no_new_workbook(tmp_path: Path) -> None:
    frame = pd.DataFrame({"日付": ["2026/4/1"], "担当者": ["佐藤"], "種別": ["架電"]})
    with pytest.raises(UserError, match="no working day"):
        import_exports(tmp_path / "t.xlsx", frame, start=dt.date(2025, 1, 6), end=dt.date(2025, 1, 10))
    assert not list(tmp_path.iterdir())


def test_the_rejects_file_never_carries_a_formula(tmp_path: Path) -> None:
    frame = pd.DataFrame({"日付": ["=HYPERLINK(\"http://x\",\"y\")", "2026/4/1"], "担当者": ["佐藤", "佐藤"],
                          "種別": ["架電", "架電"]})
    report = import_exports(tmp_path / "t.xlsx", frame, rejects=tmp_path / "rejects.csv")
    rejects = pd.read_csv(report.rejects_file, encoding="utf-8-sig")
    assert list(rejects["値"]) == ["'=HYPERLINK(\"http://x\",\"y\")"]  # Excel shows it as text


def test_the_review_uses_the_calendar_of_the_import(exports: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    holidays = tmp_path / "company.txt"
    holidays.write_text("日付\n2026/4/13\n2026年4月14日\n", encoding="cp932")
    path = tmp_path / "t.xlsx"
    assert main(["import", "--activities", str(exports["activities"]), "--into", str(path), "--holidays", str(holidays),
                 "--quiet", "--json"]) == 0
    capsys.readouterr()
    assert main(["review", str(path), "--week", "2026-W16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["working_days"] == {"elapsed": 3, "total": 3}  # 4/13 and 4/14 off
    assert main(["review", str(path), "--week", "2026-W16", "--calendar", "weekdays", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["working_days"] == {"elapsed": 5, "total": 5}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_label_of_the_member_sheet_fits(exports: dict[str, Path], tmp_path: Path, monkeypatch: Any, lang: str) -> None:
    """The member sheet as the import lays it out: headings, long labels and the bottleneck's cause and action
    fit (the rendered sheet once cut them, and English headings ran to a third line in two-line rows)."""
    from kpitree.team import workbook
    from test_template_defects import unfit_labels

    planned = []
    real = workbook.plan_member_sheet
    monkeypatch.setattr(workbook, "plan_member_sheet", lambda *a, **k: planned.append(real(*a, **k)) or planned[-1])
    path = tmp_path / "team.xlsx"
    new_workbook(path, months=14, revenue=120_000_000, deal_size=1_000_000, lang=lang)
    import_exports(path, **exports)
    plan = planned[0]
    assert plan.setup is not None and plan.setup.row_heights
    assert not unfit_labels([c for c in plan.cells if c.style != "id"], {plan.sheet: plan.setup})
    # and the weekly and monthly review's headings (the heat map's narrow KPI columns)
    from kpitree.team import reviewing

    reviews = []
    real_review = reviewing.plan_review_sheet
    monkeypatch.setattr(reviewing, "plan_review_sheet", lambda *a, **k: reviews.append(real_review(*a, **k)) or reviews[-1])
    reviewing.review_workbook(path)
    reviewing.review_workbook(path, month="2026-04")
    assert len(reviews) == 2
    for review in reviews:
        assert review.setup is not None
        assert not unfit_labels([c for c in review.cells if c.style == "header"], {review.sheet: review.setup})


def test_next_years_workbook_from_a_team_workbook_carries_no_members_reviews_data_or_pace(
        team: tuple[Path, Any], tmp_path: Path) -> None:
    """`kpitree new --template` starts the new year from the design only (trial: last year's team came along)."""
    path = tmp_path / "team.xlsx"
    shutil.copyfile(team[0], path)
    assert main(["review", str(path), "--week", "2026-W15"]) == 0
    before = openpyxl.load_workbook(path)
    assert {"メンバー別", "集計データ", "週次 2026-W15"} <= set(before.sheetnames)
    user_sheet = before.create_sheet("メモ")  # a sheet of the user's own is kept
    user_sheet["A1"] = "来期の方針"
    before["KPIダッシュボード"]["S2"] = "自分のメモ"  # the dashboard's spare column S is the user's
    before["KPIダッシュボード"]["AC1"] = "右端のメモ"  # and what lies outside the pace block
    last_month = before.create_sheet("前月集計データ")  # a sheet whose name contains the data sheet's
    last_month["A1"] = 42
    from openpyxl.workbook.defined_name import DefinedName

    before.defined_names["last_month"] = DefinedName("last_month", attr_text="前月集計データ!$A$1")
    before.save(path)
    out = tmp_path / "next.xlsx"
    assert main(["new", str(out), "--template", str(path), "--months", "18"]) == 0
    wb = openpyxl.load_workbook(out)
    assert not {"メンバー別", "集計データ", "週次 2026-W15"} & set(wb.sheetnames)
    assert wb["メモ"]["A1"].value == "来期の方針" and wb["KPIダッシュボード"]["S2"].value == "自分のメモ"
    dashboard = wb["KPIダッシュボード"]
    assert not [c.coordinate for row in dashboard.iter_rows(min_col=20, max_col=27) for c in row if c.value is not None]
    assert dashboard["AC1"].value == "右端のメモ" and "last_month" in wb.defined_names and "前月集計データ" in wb.sheetnames
    for name, defined in wb.defined_names.items():
        assert name == "last_month" or not any(t in (defined.attr_text or "") for t in ("メンバー別", "集計データ", "週次")), name
    from kpitree.recalculation import recalc

    frame = recalc([out], progress=False, report=False)
    assert frame["error"].tolist() == [""], frame["error"].tolist()  # no formula points at a removed sheet
