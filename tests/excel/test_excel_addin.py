"""kpitree.xlam in a real Excel on Windows (run before a release: python -m pytest tests/excel -m excel).

What CI cannot check: that Excel compiles and loads the built VBA project, that the
UDF wrappers reach Python through xlwings' DLL, that every KPI_* cell of the template
equals the recalculation engine's value, and that each ribbon macro, run through
xlwings, leaves the dashboard the file mode would produce.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from excel_cells import check_cells, same_value
from openpyxl import load_workbook

pytestmark = pytest.mark.excel

MACROS = ("KpiBackCalculate", "KpiRecommendStage", "KpiCheckDesign", "KpiRebuildDashboard")


@pytest.fixture(params=["ja", "en"])
def workbook(request, tmp_path: Path) -> Path:
    from kpitree.workbook_templates import template_path

    path = tmp_path / f"kpi_{request.param}.xlsx"
    shutil.copyfile(template_path(request.param), path)
    return path


def test_every_kpi_cell_equals_the_recalculation_engine(excel_app, workbook: Path, tmp_path: Path) -> None:
    import kpitree

    engine = tmp_path / "engine.xlsx"
    kpitree.recalc_file(workbook, engine)
    expected = load_workbook(engine, data_only=True)
    formulas = load_workbook(workbook)
    book = excel_app.books.open(str(workbook))
    try:
        excel_app.calculate()
        checked = check_cells(book, formulas, expected, lambda text: "KPI_" in text)
        assert checked > 0
    finally:
        book.close()


def test_ribbon_macros_match_the_file_mode(excel_app, workbook: Path, tmp_path: Path) -> None:
    from kpitree.workbook_templates import rebuild_dashboard
    from kpitree.workbook_templates.dashboard_openpyxl import plan_for

    import kpitree

    book = excel_app.books.open(str(workbook))
    try:
        for macro in MACROS:
            excel_app.macro(f"'kpitree.xlam'!{macro}")()
        excel_app.calculate()
        live = book.sheets
        sheet_names = [s.name for s in live]
        from kpitree.addin.plans import REPORT_SHEETS

        assert any(n in sheet_names for n in REPORT_SHEETS["stage"].values())
        assert any(n in sheet_names for n in REPORT_SHEETS["check"].values())
        # file mode on the same inputs: back-calculation applied to a copy, dashboard rebuilt, recalculated
        from kpitree.addin.file_writer import run_file_action
        from kpitree.addin.plans import plan_back_calculation

        file_copy = tmp_path / "file_mode.xlsx"
        run_file_action(workbook, plan_back_calculation, file_copy)
        rebuild_dashboard(file_copy, file_copy)
        recalculated = tmp_path / "file_mode_recalc.xlsx"
        kpitree.recalc_file(file_copy, recalculated)
        expected = load_workbook(recalculated, data_only=True)
        plan = plan_for(load_workbook(file_copy))
        for cell in plan.cells:
            got = live[plan.sheet].range(cell.ref).value
            want = expected[plan.sheet][cell.ref].value
            assert same_value(got, want), f"{plan.sheet}!{cell.ref}: Excel {got!r}, file mode {want!r}"
    finally:
        book.close()


def test_no_error_dialog_state_left_behind(excel_app) -> None:
    """The add-in registered its function help without leaving itself dirty."""
    addin = excel_app.books["kpitree.xlam"]
    assert addin.api.IsAddin
    assert addin.api.Saved
