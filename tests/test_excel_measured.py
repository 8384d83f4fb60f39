"""Values that third parties measured in real Excel, evaluated by kpitree's engine: answers that no one here wrote.

The cases are in ``tests/data/excel_measured.toml``. Only two kinds of fact are used:

* values captured from real Excel by others (``evidence = "excel-capture"``): formualizer's oracle rows from
  Excel 16.105.3 for Mac (PSU3D0/formualizer issues #317, #326 and PR #438), the cached results in IronCalc's
  test workbooks last saved by Excel (ironcalc/IronCalc at commit 0d797798, ``xlsx/tests/**.xlsx``), and the
  office-kit/xlsx Excel oracle fixture recalculated in Excel 16.113.3 for macOS;
* values stated on Microsoft pages (``evidence = "microsoft"``).

Each case keeps the URL of its source in ``source`` and says where in that source the value sits in ``note``.
Third-party claims and inferences are left out, and so are values that depend on the locale of
the capturing Mac (date text, DOLLAR), TEXT(x,"General"), and functions outside ``native_table()``.

Each case becomes a one-sheet .xlsx written by XlsxWriter (the source's cells at their own addresses, the
formula in Z100, stored as Excel stores it) and is evaluated with ``ours_general``. Nothing is skipped or
marked xfail: a failing case is either an engine bug or a transcription error, and must be looked at. Never
change an expected value to make the engine pass; re-read the source instead.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from case_books import FORMULA_CELL, FORMULA_KEY, agrees, build, failure, functions_of
from engine_values import ours_general
from kpitree.recalculation.functions import native_table

CASES = tomllib.loads((Path(__file__).parent / "data" / "excel_measured.toml").read_text(encoding="utf-8"))["case"]
SOURCES = ("https://github.com/PSU3D0/formualizer/", "https://github.com/ironcalc/IronCalc/blob/",
           "https://github.com/office-kit/xlsx/blob/", "https://support.microsoft.com/", "https://learn.microsoft.com/")


def test_every_case_is_well_formed() -> None:
    table = native_table()
    assert {c["id"]: sorted(functions_of(c["formula"]) - table.keys() - {"LET"}) for c in CASES} == {c["id"]: [] for c in CASES}
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c["source"].startswith(SOURCES) for c in CASES)
    assert all(c["evidence"] in ("excel-capture", "microsoft") for c in CASES)
    assert all(FORMULA_CELL not in c["cells"] for c in CASES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_excel_measured(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / f"{case['id']}.xlsx"
    got = ours_general(build(case, path))[FORMULA_KEY]
    assert agrees(case, got), failure(case, got, "Excel")
