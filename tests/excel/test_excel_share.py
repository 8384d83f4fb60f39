"""Release check of the portable copy in a real Excel on Windows (python -m pytest tests/excel -m excel).

The copy ``kpitree share`` writes of each template opens without a link or a macro and, recomputed by
Excel itself (a full recalculation), gives every formula cell the value kpitree's engine cached in it.
CI proves the same against LibreOffice (tests/test_portable.py); this is the check against Excel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from excel_cells import check_cells
from openpyxl import load_workbook

pytestmark = pytest.mark.excel


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_excel_recomputes_the_copy_to_the_engines_values(excel_app, tmp_path: Path, lang: str) -> None:
    from kpitree.portable import share
    from kpitree.workbook_templates import template_path

    copy = share(template_path(lang), tmp_path / f"copy_{lang}.xlsx").out
    formulas, cached = load_workbook(copy), load_workbook(copy, data_only=True)
    book = excel_app.books.open(str(copy))
    try:
        assert book.api.LinkSources(1) is None and not book.api.HasVBProject
        excel_app.api.CalculateFull()
        checked = check_cells(book, formulas, cached, lambda text: text.startswith("="))
        assert checked > 100
    finally:
        book.close()
