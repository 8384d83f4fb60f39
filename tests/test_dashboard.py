"""kpitree dashboard: pure plan, idempotent rebuild, inputs untouched, user content kept, rows added/removed, bad names."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile

import openpyxl
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

from kpitree.cli import main
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.checks import scan_kpi_rows
from kpitree.workbook_templates.dashboard import plan_dashboard
from kpitree.workbook_templates.spec import SHEETS

S1, S2, S3, S4 = SHEETS["ja"]


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "kpi.xlsx"
    shutil.copyfile(template_path("ja"), path)
    return path


def _cells(path, sheets=(S1, S2, S3)):
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): getattr(c.value, "text", c.value)
            for ws in wb if ws.title in sheets for row in ws.iter_rows() for c in row if c.value is not None}


def _names(path):
    wb = openpyxl.load_workbook(path)
    return {n: wb.defined_names[n].attr_text for n in wb.defined_names}


def test_plan_is_pure_plain_data():
    wb = openpyxl.load_workbook(template_path("ja"))
    rows, problems = scan_kpi_rows(wb, "ja")
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
    assert _names(once) == _names(twice)
    assert _cells(once) == before  # sheets 1-3 untouched
    # the dashboard equals the template's (same plan), and KPI_STAGE_RECOMMEND still spills
    # (the template also stores the spill's cached children C43:E43; openpyxl writes no cached values)
    shipped = {k: v for k, v in _cells(template_path("ja"), (S4,)).items() if k[1] not in ("C43", "D43", "E43")}
    assert _cells(once, (S4,)) == shipped
    with zipfile.ZipFile(once) as zf:
        assert "xl/metadata.xml" in zf.namelist()
        assert '<c r="A27" s="' in zf.read("xl/worksheets/sheet1.xml").decode()
        assert 'cm="1"><f t="array" ref="A27:D31">KPI_STAGE_RECOMMEND' in zf.read("xl/worksheets/sheet1.xml").decode()


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
