"""Release checks of the self-healing KPI links, in a real Excel on Windows with kpitree.xlam loaded
(python -m pytest tests/excel -m excel; skipped everywhere else, CI included).

Two workbooks that travelled, made from the template:

* saved on "another machine": every ``KPI_*`` call stored as ``[1]!KPI_…`` with external link 1 pointing
  at ``C:\\Users\\someone-else\\…\\kpitree.xlam``;
* saved without the add-in: every call stored as ``_xludf.KPI_…`` with ``#NAME?`` cached.

Opening each must point the link at the loaded add-in and bind every call without a prompt (the
application-event class), give every ``KPI_*`` cell the recalculation engine's value, and leave the
file unsaved; healing again (macro KpiRelinkOpenBooks, what runs when the add-in loads) changes nothing.
The ribbon button (KpiRelinkActive) runs the same with a message box, so it is clicked by hand
(docs/addin.md).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from excel_cells import check_cells
from openpyxl import load_workbook

pytestmark = pytest.mark.excel

FOREIGN = r"C:\Users\someone-else\AppData\Roaming\Microsoft\AddIns\kpitree.xlam"


def _rewrite_calls(path: Path, spelling: str, cached: str | None) -> Path:
    """Every ``KPI_`` call of the workbook's sheets stored as ``spelling + KPI_…``; with ``cached``, that error
    value cached in the cell (what Excel saves for a call it could not bind)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}

    def cell(m: re.Match[str]) -> str:
        attributes = re.sub(r' t="\w+"', "", m.group(1)) + ' t="e"' if cached else m.group(1)
        formula = re.sub(r"(?<![\w.!])KPI_", spelling + "KPI_", m.group(3))
        return f"<c{attributes}>{m.group(2)}{formula}</f>" + (f"<v>{cached}</v>" if cached else m.group(4) or "") + "</c>"

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        xml = parts[name].decode("utf-8")
        parts[name] = re.sub(r"<c([^>]*)>(<f[^>]*>)([^<]*KPI_[^<]*)</f>(<v>[^<]*</v>)?</c>", cell, xml).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


@pytest.fixture(params=["ja", "en"])
def template(request, tmp_path: Path) -> Path:
    from kpitree.workbook_templates import template_path

    path = tmp_path / f"kpi_{request.param}.xlsx"
    shutil.copyfile(template_path(request.param), path)
    return path


def _travelled_from_another_machine(path: Path) -> Path:
    from test_fidelity_classes import with_external_link

    return with_external_link(_rewrite_calls(path, "[1]!", None), "file:///" + FOREIGN)


def _saved_without_the_add_in(path: Path) -> Path:
    return _rewrite_calls(path, "_xludf.", "#NAME?")


@pytest.mark.parametrize("travel", [_travelled_from_another_machine, _saved_without_the_add_in])
def test_a_travelled_workbook_heals_on_open(excel_app, template: Path, tmp_path: Path, travel) -> None:
    import kpitree

    engine = tmp_path / "engine.xlsx"
    kpitree.recalc_file(template, engine)
    expected = load_workbook(engine, data_only=True)
    formulas = load_workbook(template)
    path = travel(template)
    before = path.read_bytes()
    addin = next(b for b in excel_app.books if b.name.lower() == "kpitree.xlam")
    book = excel_app.books.open(str(path), update_links=False)
    try:
        links = book.api.LinkSources(1) or ()
        assert all(str(link).lower() == addin.fullname.lower() for link in links), links
        checked = check_cells(book, formulas, expected, lambda text: "KPI_" in text)
        assert checked > 0
        excel_app.macro("'kpitree.xlam'!KpiRelinkOpenBooks")()  # again, as when the add-in loads: nothing left to change
        assert (book.api.LinkSources(1) or ()) == links
    finally:
        book.close()  # display_alerts is off: closes without saving
    assert path.read_bytes() == before  # never saved
