"""One-formula workbooks for tables of known answers (Microsoft's examples, values measured in Excel).

A case is a dict from a TOML table: ``cells`` (A1 address → value; a text starting with "=" is a
formula, which is how an error cell (``=1/0``) or an empty text (``=""``) is written, and
``{error = "#DIV/0!"}`` is an error typed in a cell), ``formula`` and ``expected`` (a number, a
text, a logical or an error's text). The formula goes in Z100, spelled as Excel stores it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import xlsxwriter
from engine_values import Err, same

FORMULA_CELL = "Z100"  # no case refers to it
FORMULA_KEY = ("Sheet1", 100, 26)
ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")

# Functions newer than Excel 2007 are stored with the "_xlfn." prefix (XlsxWriter's list of future functions,
# from Microsoft's file format documentation). NETWORKDAYS.INTL and WORKDAY.INTL are stored bare.
XLFN = ("CEILING.MATH", "FLOOR.MATH", "ISOWEEKNUM", "DAYS", "IFNA", "IFS", "SWITCH", "XOR", "MAXIFS", "MINIFS", "CONCAT",
        "TEXTJOIN", "NUMBERVALUE", "XLOOKUP", "XMATCH", "SEQUENCE", "UNIQUE", "SORTBY", "STDEV.P", "STDEV.S", "VAR.P", "VAR.S",
        "RANK.EQ", "RANK.AVG", "PERCENTILE.INC")


def as_stored(formula: str) -> str:
    """``=CEILING.MATH(6.7)`` as it sits in the file: ``=_xlfn.CEILING.MATH(6.7)``."""
    for name in XLFN:
        formula = re.sub(rf"(?<![\w.]){re.escape(name)}\(", f"_xlfn.{name}(", formula)
    return formula


def functions_of(formula: str) -> set[str]:
    return set(re.findall(r"([A-Z][A-Z0-9.]*)\(", re.sub(r'"[^"]*"', '""', formula)))


def build(case: dict[str, Any], path: Path) -> Path:
    wb = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("Sheet1")
    for addr, value in case.get("cells", {}).items():
        if isinstance(value, dict):  # an error typed in a cell: XlsxWriter has no error cells, so a formula giving it
            ws.write_formula(addr, "=" + value["error"], None, value["error"])
        elif isinstance(value, bool):
            ws.write_boolean(addr, value)
        elif isinstance(value, str) and value.startswith("="):
            ws.write_formula(addr, as_stored(value))
        elif isinstance(value, str):
            ws.write_string(addr, value)
        else:
            ws.write_number(addr, value)
    ws.write_formula(FORMULA_CELL, as_stored(case["formula"]))
    wb.close()
    return path


def expected_value(case: dict[str, Any]) -> Any:
    value = case["expected"]
    if isinstance(value, str) and value in ERRORS:
        return Err(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def agrees(case: dict[str, Any], got: Any) -> bool:
    """The engine's answer is the case's: numbers to a relative 1e-9, or within half a unit of the last
    digit a page shows (``digits``); anything else exactly."""
    want = expected_value(case)
    if isinstance(want, float) and isinstance(got, float):
        if "digits" in case:
            return abs(got - want) <= 0.5 * 10.0 ** -case["digits"] + 1e-12
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return same(got, want)


def failure(case: dict[str, Any], got: Any, who: str) -> str:
    return (f"{case['formula']} with {case.get('cells', {})}: {who} {case['expected']!r}, engine {got!r}"
            f" ({case['source']}{'; ' + case['note'] if 'note' in case else ''})")
