"""The ribbon's weekly and monthly review buttons, without Excel (the xlwings stand-in over an imported team workbook)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from kpitree.addin import actions
from kpitree.team import write_sample
from kpitree.team.reviewing import LATEST, plan_from_rows
from kpitree.team.sheets import sheet_rows
from kpitree.team.workbook import import_exports
from kpitree.workbook_templates.contract import facts_from_openpyxl
from xlwings_standin import Book


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ribbon")
    path = folder / "team.xlsx"
    import_exports(path, **write_sample(folder / "exports"))
    return path


@pytest.fixture
def team(imported: Path, tmp_path: Path) -> Path:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(imported, path)
    return path


def file_plan(path: Path, month: str | None = None) -> Any:
    wb, values = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    rows = {name: sheet_rows(values[name]) for name in values.sheetnames}
    return plan_from_rows(facts_from_openpyxl(wb, values), rows["集計データ"], rows["メンバー別"], {}, month=month)


def test_weekly_review_button_writes_the_plan_file_mode_makes(team: Path) -> None:
    book = Book(team)
    actions.weekly_review(book=book)
    review, plan, block = file_plan(team)
    assert plan.sheet == "週次 2026-W16"
    assert ("sheet.add", plan.sheet, "集計データ") in book.log and ("activate", plan.sheet) in book.log
    written = book.writes("value")
    for cell in plan.cells:
        if cell.value is not None:
            expected = pytest.approx(cell.value) if isinstance(cell.value, float) else cell.value
            assert written[(plan.sheet, cell.ref)] == expected
    for cell in block.cells:  # the dashboard's pace and alert block, refreshed too
        if cell.value is not None:
            assert (block.sheet, cell.ref) in written
    assert ("clear", block.sheet, block.block) in book.log
    assert book.alerts == [plan.message[0]] and str(len(review.alerts)) in book.alerts[0]


def test_monthly_review_button_reviews_the_month_of_the_last_data(team: Path) -> None:
    book = Book(team)
    actions.monthly_review(book=book)
    review, plan, _ = file_plan(team, LATEST)
    assert plan.sheet == "月次 2026-04" and review.trend
    assert any(e[0] == "chart.add" and e[1] == plan.sheet for e in book.log)


def test_with_com_the_heat_map_is_a_colour_scale(team: Path) -> None:
    book = Book(team, com=True)
    actions.weekly_review(book=book)
    _, plan, _ = file_plan(team)
    (scale,) = plan.color_scales
    calls = [e for e in book.log if e[0] == "call" and e[1] == f"{plan.sheet}!{scale.ref}.FormatConditions.AddColorScale"]
    assert calls and calls[0][3] == {"ColorScaleType": 3}
    values = {e[1].rsplit(".", 1)[0]: e[2] for e in book.log if e[0] == "com" and e[1].endswith(".Value")
              and "ColorScaleCriteria" in e[1]}
    assert sorted(values.values()) == [scale.low, scale.mid, scale.high]


def test_a_workbook_without_imported_data_gets_one_message(template_copy: Any) -> None:
    book = Book(template_copy("ja"))
    actions.weekly_review(book=book)
    assert len(book.alerts) == 1 and "kpitree import" in book.alerts[0]
