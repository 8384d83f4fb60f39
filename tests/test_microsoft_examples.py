"""Microsoft's own worked examples, evaluated by kpitree's engine: answers that no one here wrote.

The cases are in ``tests/data/microsoft_examples.toml``: the example tables of the Excel function
pages on support.microsoft.com (each case keeps its page URL). Only cases whose functions are all in ``native_table()``
are kept. Each case becomes a one-sheet .xlsx written by XlsxWriter (the page's cells at their own
addresses, the formula in Z100, stored as Excel stores it) and is evaluated with ``ours_general``.

To add a case: copy a ``[[case]]`` block in the TOML and fill in the page's formula, data cells,
result and URL, exactly as the page shows them. Add ``digits = N`` when the page shows a rounded
number, a ``note`` when the example needs reading, and ``doubtful = "why"`` when the sources
disagree on the result (such a case is skipped, not asserted). Never fix a result to match the engine.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from case_books import FORMULA_KEY, agrees, build, failure, functions_of
from engine_values import ours_general
from kpitree.recalculation.functions import native_table

CASES = tomllib.loads((Path(__file__).parent / "data" / "microsoft_examples.toml").read_text(encoding="utf-8"))["case"]


def test_every_case_uses_engine_functions_only() -> None:
    table = native_table()
    assert {c["id"]: sorted(functions_of(c["formula"]) - table.keys()) for c in CASES} == {c["id"]: [] for c in CASES}
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c["source"].startswith("https://support.microsoft.com/") for c in CASES)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c['id']}-{c['function']}",
                  marks=[pytest.mark.skip(reason=f"doubtful: {c['doubtful']}")] if "doubtful" in c else [])
     for c in CASES],
)
def test_microsoft_example(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / f"{case['id']}.xlsx"
    got = ours_general(build(case, path))[FORMULA_KEY]
    assert agrees(case, got), failure(case, got, "Microsoft")
