"""Reading and writing a workbook's defined names through openpyxl, as the tests need it."""

from __future__ import annotations

from typing import Any


def place(wb: Any, name: str) -> tuple[str, str]:
    """(sheet, "D12" or "A1:B2") a workbook-scoped name points at."""
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return sheet, ref.replace("$", "")


def value(wb: Any, name: str) -> Any:
    sheet, ref = place(wb, name)
    return wb[sheet][ref].value


def set_value(wb: Any, name: str, new: Any) -> None:
    sheet, ref = place(wb, name)
    wb[sheet][ref].value = new


def values(wb: Any, name: str) -> list[Any]:
    """The values of a named range, row by row."""
    sheet, ref = place(wb, name)
    return [c.value for row in wb[sheet][ref] for c in row]
