"""Why a cell is ``#NAME?`` or ``#REF!``: unknown functions and names, missing sheets, broken names.

The batch reports these in a workbook's ``error`` column, origins first, so a user sees
the cell to fix rather than every cell downstream of it.
"""

from __future__ import annotations

from typing import Any

from kpitree.udfs.excel_values import XlError

from .graph import Graph, Key, address, parse_formula
from .io.package import WorkbookData, WorkbookError

MAX_LISTED = 20


def static_diagnostics(graph: Graph) -> dict[Key, str]:
    """Why a cell will be #NAME? or #REF!: unknown functions and names, missing sheets, #REF! in the text."""
    from .compiler import function_table
    from .general import general_function_names

    fast = function_table()

    def known(fn: str) -> bool:  # formulas' table (a heavy import) only for names the fast path lacks
        return fn in fast or fn in general_function_names()

    out: dict[Key, str] = {}

    def walk(node: Any, sheet: int, key: Key, depth: int) -> None:
        if depth > 20:
            return
        if node.kind == "fn" and not known(node.value):
            out.setdefault(key, f"#NAME?: unknown function {node.value}")
        elif node.kind == "name":
            target = graph.resolver.name_node(node.value, sheet)
            if target is None:
                out.setdefault(key, f"#NAME?: no defined name {node.value!r}")
            else:
                walk(target, sheet, key, depth + 1)
        elif node.kind == "ref" and graph.resolver.sheet_index(node.ref[0], sheet) is None:
            out.setdefault(key, f"#REF!: no sheet named {node.ref[0]!r}")
        elif node.kind == "err" and node.value in ("#REF!", "#NAME?"):
            out.setdefault(key, f"{node.value} written in the formula")
        for arg in node.args:
            walk(arg, sheet, key, depth)

    for key, tree in graph.trees.items():
        walk(tree, key[0], key, 0)
    return out


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
    bad = [k for k, v in results.items() if v in (XlError.NAME, XlError.REF) and isinstance(v, XlError)]
    if not bad:
        return ""
    bad.sort(key=lambda k: (k not in causes, k))
    listed = [f"{address(wb, k)} {causes[k] if k in causes else results[k].text}" for k in bad[:MAX_LISTED]]
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return f"#NAME?/#REF! in {len(bad)} cell(s): " + "; ".join(listed) + more
