"""The review buttons and the member sheet in a real Excel on Windows (run before a release: pytest tests/excel -m excel).

What CI cannot check: that Excel evaluates the member sheet's formulas (achievement, the status
counts with COUNTIF over the dashboard's thresholds, KPI_BOTTLENECK per member) to the values the
recalculation engine cached, and that the review buttons write the heat map as a colour scale.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.excel


@pytest.fixture
def team(tmp_path: Path) -> Path:
    from kpitree.team import import_exports, write_sample

    path = tmp_path / "team.xlsx"
    import_exports(path, **write_sample(tmp_path / "exports"))
    return path


def test_excel_computes_the_member_sheet_as_the_engine_cached_it(excel_app, team: Path) -> None:
    cached = load_workbook(team, data_only=True)["メンバー別"]
    formulas = load_workbook(team)["メンバー別"]
    book = excel_app.books.open(str(team))
    try:
        excel_app.calculate()
        sheet = book.sheets["メンバー別"]
        checked = 0
        for row in formulas.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    got, want = sheet.range(cell.coordinate).value, cached[cell.coordinate].value
                    if isinstance(got, float) and isinstance(want, (int, float)):
                        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), cell.coordinate
                    else:
                        assert (got in (None, "")) == (want in (None, "")) or got == want, cell.coordinate
                    checked += 1
        assert checked > 100
    finally:
        book.close()


def test_the_weekly_review_button_writes_a_colour_scale(excel_app, team: Path) -> None:
    book = excel_app.books.open(str(team))
    try:
        excel_app.macro("'kpitree.xlam'!KpiWeeklyReview")()
        sheet = book.sheets["週次 2026-W16"]
        scales = [c for c in sheet.api.Cells.FormatConditions if c.Type == 3]  # xlColorScale
        assert scales
    finally:
        book.close()
