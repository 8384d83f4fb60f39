"""kpitree dashboard: pure plan, idempotent rebuild, inputs untouched, user content kept, rows added/removed, bad names."""

from __future__ import annotations

import hashlib
import os
import zipfile

import openpyxl
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.contract import OpenpyxlGrid, kpi_rows
from kpitree.workbook_templates.dashboard import plan_dashboard
from kpitree.workbook_templates.spec import SHEETS

from kpitree.cli import main

S1, S2, S3, S4 = SHEETS["ja"]


@pytest.fixture
def book(template_copy):
    return template_copy("ja", "kpi.xlsx")


def _cells(path, sheets=(S1, S2, S3)):
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): getattr(c.value, "text", c.value)
            for ws in wb if ws.title in sheets for row in ws.iter_rows() for c in row if c.value is not None}


def _values(path):
    """Every cell's cached value, as previewers and pandas see them (openpyxl ``data_only``)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    return {(ws.title, c.coordinate): c.value for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}


def _named_cell(path, name):
    """(sheet, 0-based row, 0-based column) of a single-cell defined name."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    sheet, ref = next(iter(openpyxl.load_workbook(path).defined_names[name].destinations))
    letters, row = coordinate_from_string(ref.replace("$", ""))
    return sheet, row - 1, column_index_from_string(letters) - 1


def _names(path):
    wb = openpyxl.load_workbook(path)
    return {n: wb.defined_names[n].attr_text for n in wb.defined_names}


def test_plan_is_pure_plain_data():
    wb = openpyxl.load_workbook(template_path("ja"))
    rows, problems = kpi_rows(OpenpyxlGrid(wb), "ja")
    assert not problems and len(rows) == 15
    a, b = plan_dashboard(rows, "ja"), plan_dashboard(rows, "ja")
    assert a == b
    for cell in a.cells:  # plain values only: no openpyxl or xlsxwriter objects
        assert cell.value is None or isinstance(cell.value, (str, int, float))


def test_rebuild_is_idempotent_and_keeps_inputs(book, tmp_path):
    before = _cells(book)
    once, twice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx"
    assert main(["dashboard", str(book), "--out", str(once)]) == 0
    assert main(["dashboard", str(once), "--out", str(twice)]) == 0
    assert _cells(once, (S1, S2, S3, S4)) == _cells(twice, (S1, S2, S3, S4))
    assert _values(once) == _values(twice)
    assert _names(once) == _names(twice)
    assert _cells(once) == before  # sheets 1-3 untouched
    # the dashboard equals the template's (same plan, and the engine's cached values: the template
    # stores the KPI_BOTTLENECK spill's children C43:E43 as values), and KPI_STAGE_RECOMMEND still spills
    assert _cells(once, (S4,)) == _cells(template_path("ja"), (S4,))
    with zipfile.ZipFile(once) as zf:
        assert "xl/metadata.xml" in zf.namelist()
        assert '<c r="A27" s="' in zf.read("xl/worksheets/sheet1.xml").decode()
        assert 'cm="1"><f t="array" ref="A27:D32">KPI_STAGE_RECOMMEND' in zf.read("xl/worksheets/sheet1.xml").decode()


def test_rebuild_writes_cached_values(book, capsys):
    # openpyxl drops every cached value; the rebuild recalculates with the engine so previewers,
    # pandas and Excel without the add-in see the numbers the shipped template carries
    import pandas as pd

    assert main(["dashboard", str(book)]) == 0
    assert "note" not in capsys.readouterr().err
    shipped = _values(template_path("ja"))
    rebuilt = _values(book)
    assert rebuilt == shipped  # every cached value of every sheet, spills included
    frames = {}
    for name in ("required_calls_month", "stage_label", "achievement_calls", "achievement_revenue_contribution",
                 "required_calls_day"):
        sheet, r, c = _named_cell(book, name)
        expected = shipped[(sheet, openpyxl.utils.get_column_letter(c + 1) + str(r + 1))]
        if sheet not in frames:
            frames[sheet] = pd.read_excel(book, sheet_name=sheet, header=None, engine="openpyxl")
        got = frames[sheet].iloc[r, c]
        assert got is not None and not pd.isna(got), name
        if isinstance(expected, str):
            assert got == expected, name
        else:
            assert isinstance(got, (int, float)) and got == pytest.approx(expected, rel=1e-12), name
    assert rebuilt[(S1, "C24")] == "成熟期"
    assert rebuilt[(S4, "F19")] == pytest.approx(1240 / 19 / 67)  # achievement_calls
    with zipfile.ZipFile(book) as zf:
        assert "fullCalcOnLoad" not in zf.read("xl/workbook.xml").decode()  # the cached values are real
        assert 'cm="1"><f t="array" ref="B43:E43">KPI_BOTTLENECK' in zf.read("xl/worksheets/sheet4.xml").decode()
        assert 'cm="1"><f t="array" ref="A27:D32">KPI_STAGE_RECOMMEND' in zf.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/metadata.xml" in zf.namelist()


def test_rebuild_without_the_engine_asks_excel_to_recalculate(book, tmp_path, capsys, monkeypatch):
    import kpitree.recalculation as engine

    def broken(src, dst, **kwargs):
        raise engine.WorkbookError("no engine today")

    monkeypatch.setattr(engine, "recalc_file", broken)
    out = tmp_path / "out.xlsx"
    assert main(["dashboard", str(book), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "note: cached values not computed" in err and "no engine today" in err
    with zipfile.ZipFile(out) as zf:
        assert 'fullCalcOnLoad="1"' in zf.read("xl/workbook.xml").decode()
        assert 'cm="1"><f t="array" ref="A27:D32">KPI_STAGE_RECOMMEND' in zf.read("xl/worksheets/sheet1.xml").decode()
    assert _cells(out, (S4,)) == {k: v for k, v in _cells(template_path("ja"), (S4,)).items()
                                  if k[1] not in ("C43", "D43", "E43")}  # no cached spill children
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_user_content_outside_the_block_is_kept(book):
    wb = openpyxl.load_workbook(book)
    wb[S4]["T5"] = "メモ: 来月はBANT徹底"
    wb[S4]["A80"] = "managed column: replaced"
    wb.save(book)
    assert main(["dashboard", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    assert wb[S4]["T5"].value == "メモ: 来月はBANT徹底"
    assert wb[S4]["A80"].value is None
    assert len(wb[S4]._charts) == 3


def test_added_and_removed_kpi_rows(book):
    wb = openpyxl.load_workbook(book)
    ws = wb[S3]
    ws["A28"], ws["D28"], ws["E28"] = "email_reply_rate", 0.05, 0.04  # a spare row
    wb[S2]["A32"] = None  # quality_score removed
    wb.save(book)
    before = _cells(book)
    assert main(["dashboard", str(book)]) == 0
    assert _cells(book) == before
    wb = openpyxl.load_workbook(book)
    ids = [wb[S4].cell(r, 1).value for r in range(10, 25)]
    assert "email_reply_rate" in ids and "quality_score" not in ids
    assert "achievement_email_reply_rate" in wb.defined_names and "target_quality_score" not in wb.defined_names
    assert wb.defined_names["target_email_reply_rate"].attr_text == f"'{S3}'!$D$28"
    sheet, r, c = _named_cell(book, "achievement_email_reply_rate")
    assert openpyxl.load_workbook(book, data_only=True)[sheet].cell(r + 1, c + 1).value == pytest.approx(0.04 / 0.05)


@pytest.mark.parametrize("breakage, expected", [
    ("missing", "kgi_annual_revenue: missing"),
    ("text", "avg_deal_size"),
    ("error", "holds the error #N/A"),
    ("ref", "plan_win_rate: broken reference"),
])
def test_bad_names_are_reported_and_nothing_changes(book, capsys, breakage, expected):
    wb = openpyxl.load_workbook(book)
    if breakage == "missing":
        del wb.defined_names["kgi_annual_revenue"]
    elif breakage == "text":
        wb[S1]["C8"] = "100万円"
        wb[S3]["D22"] = "67件"
    elif breakage == "error":
        wb[S2]["C6"] = "#N/A"
    else:
        wb.defined_names["plan_win_rate"].attr_text = "#REF!"
    wb.save(book)
    digest = hashlib.sha256(book.read_bytes()).hexdigest()
    assert main(["dashboard", str(book)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "nothing was changed" in err
    if breakage == "text":
        assert "target_calls" in err  # every wrong name in the one message
    assert hashlib.sha256(book.read_bytes()).hexdigest() == digest
