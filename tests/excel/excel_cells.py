"""Comparing what a real Excel shows with what kpitree computed (the release checks' shared helper)."""

from __future__ import annotations


def same_value(got, want) -> bool:
    """Excel's value (through xlwings) and the one kpitree cached or computed: numbers to 1e-9, blanks alike."""
    import math

    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return ((got in (None, "")) and (want in (None, ""))) or got == want


def check_cells(book, formulas, expected, wanted) -> int:
    """Every formula cell of ``formulas`` (an openpyxl workbook) whose text ``wanted(text)`` accepts: its value
    in the live ``book`` equals ``expected``'s (openpyxl, data_only). Returns how many cells were checked."""
    checked = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and wanted(cell.value):
                    got = book.sheets[ws.title].range(cell.coordinate).value
                    want = expected[ws.title][cell.coordinate].value
                    assert same_value(got, want), f"{ws.title}!{cell.coordinate} {cell.value}: Excel {got!r}, kpitree {want!r}"
                    checked += 1
    return checked
