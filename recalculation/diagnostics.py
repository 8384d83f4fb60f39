"""Why a cell is ``#NAME?`` or ``#REF!``: the report of a workbook's ``error`` column.

The compiler notes the origin of each (an unknown function, a name or sheet that does not
exist, a reference it cannot follow); the report lists origins first, so a user sees the cell
to fix rather than every cell downstream of it. Broken defined names are reported too.
"""

from __future__ import annotations

from typing import Any

from kpitree.udfs.excel_values import XlError

from .graph import Key, address, parse_formula
from .io.package import WorkbookData, WorkbookError

MAX_LISTED = 20


def name_problems(wb: WorkbookData) -> list[str]:
    """Defined names that point nowhere (a deleted sheet, #REF!)."""
    problems = []
    for n in wb.names:
        if n.name.startswith("_xlnm."):
            continue
        if "#REF!" in n.text.upper():
            problems.append(f"defined name {n.name!r} is #REF! ({n.text})")
            continue
        try:
            node = parse_formula(n.text)
        except WorkbookError:
            continue
        if node.kind == "ref" and node.ref is not None and node.ref[0] is not None and wb.sheet(node.ref[0]) is None:
            problems.append(f"defined name {n.name!r} refers to a missing sheet {node.ref[0]!r}")
    return problems


def error_report(wb: WorkbookData, results: dict[Key, Any], causes: dict[Key, str]) -> str:
    """Every #NAME?/#REF! among the results, origins (with their cause) first."""
    bad = [k for k, v in results.items() if isinstance(v, XlError) and v in (XlError.NAME, XlError.REF)]  # (cheap test first)
    if not bad:
        return ""
    bad.sort(key=lambda k: (k not in causes, k))
    listed = [f"{address(wb, k)} {causes[k] if k in causes else results[k].text}" for k in bad[:MAX_LISTED]]
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return f"#NAME?/#REF! in {len(bad)} cell(s): " + "; ".join(listed) + more
