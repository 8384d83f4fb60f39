"""One test per defect of the template that issue 12 lists, so a regression names the promise it broke.

The stage table holds every stage's list; the funnel's revenue guard fires on a blank; a rebuilt
dashboard's charts are the built template's; the funnel chart shows every stage; labels fit their
cells; user-facing texts cite articles, not "seeds".
"""

from __future__ import annotations

from typing import Any

import pytest
from cell_values import input_places, set_cells
from engine_values import ours_general, stored_values
from kpitree.udfs.catalogue import LANGS, load_catalogue
from kpitree.udfs.stage import recommend, recommend_rows, stage_for_months
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.spec import SHEETS

MONTHS = range(25)


def _block(values: dict[Any, Any], sheet: str, first_row: int, rows: int, cols: int) -> list[list[Any]]:
    return [[values.get((sheet, first_row + i, 1 + j)) for j in range(cols)] for i in range(rows)]


@pytest.fixture(scope="module", params=LANGS)
def by_month(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[int, dict[Any, Any]]]:
    """The engine's values of the template for every month since launch from 0 to 24."""
    lang = request.param
    folder = tmp_path_factory.mktemp(f"months_{lang}")
    (place,) = input_places(lang)["months_since_launch"]
    out = {}
    for m in MONTHS:
        path = set_cells(template_path(lang), folder / f"m{m}.xlsx", {place: float(m)})
        out[m] = ours_general(path)
    return lang, out


def test_the_stage_table_holds_every_stages_list_with_blanks_below(by_month: tuple[str, dict[int, dict[Any, Any]]]) -> None:
    import openpyxl

    lang, values = by_month
    s1 = SHEETS[lang][0]
    wb = openpyxl.load_workbook(template_path(lang))
    sheet, ref = next(iter(wb.defined_names["stage_recommend_kpis"].destinations))
    first, last = (int("".join(ch for ch in part if ch.isdigit())) for part in ref.replace("$", "").split(":"))
    rows = recommend_rows()
    assert sheet == s1 and last - first + 1 == rows == max(len(s.recommend) for s in load_catalogue().stages)
    anchor = wb[s1][f"A{first}"].value
    assert anchor.ref == f"A{first}:D{last}", "the array block must be the whole table"
    for m in MONTHS:
        stage = stage_for_months(m)
        expected = [[r.tier_label, r.kpi_label, r.stars, r.why] for r in recommend(stage, lang)]
        expected += [["", "", "", ""]] * (rows - len(expected))
        assert _block(values[m], s1, first, rows, 4) == expected, f"{lang}, {m} months ({stage.id})"


def test_the_dashboard_marks_exactly_the_stages_kpis_as_focus(by_month: tuple[str, dict[int, dict[Any, Any]]]) -> None:
    from kpitree.udfs.texts import text

    lang, values = by_month
    s4 = SHEETS[lang][3]
    cat = load_catalogue()
    focus, outside = text("dashboard.focus", lang), text("dashboard.outside", lang)
    stored = stored_values(template_path(lang))
    labels = {row: stored[(s4, row, 3)] for row in range(10, 25)}  # the KPI column of the dashboard's table
    for m in MONTHS:
        chosen = {cat.kpi(r.kpi).label(lang) for r in stage_for_months(m).recommend}
        marks = {label: values[m][(s4, row, 9)] for row, label in labels.items()}
        assert marks == {label: focus if label in chosen else outside for label in marks}, f"{lang}, {m} months"
        if m < 6:  # the launch stage's sixth KPI, the one a 5-row block used to hide
            assert marks[cat.kpi("conversion_rate").label(lang)] == focus
