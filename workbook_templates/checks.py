"""Checking a workbook's named cells before anything is written (``kpitree dashboard``, ``kpitree new``).

Problems are collected, not raised one at a time: :class:`NamedCellError` names every
wrong name in one message ("kgi_annual_revenue: missing; target_calls: holds text '40件'").
"""

from __future__ import annotations

from typing import Any

from kpitree.errors import UserError
from kpitree.udfs.catalogue import load_catalogue

from .spec import COL_ACTUAL, COL_ID, COL_TARGET, KPI_HEADER_ID, PLAN_FIELDS, RAW_FIELDS, SHEETS, TIER_SHEET, KpiRow
from .layout import cell_ref

REQUIRED_INPUTS = tuple(f.name for f in PLAN_FIELDS) + tuple(f.name for fs in RAW_FIELDS.values() for f in fs) + (
    "status_on_track_from", "status_watch_from")
REQUIRED_OUTPUTS = ("required_won_deals_month", "required_opportunities_month", "required_connects_month",
                    "required_calls_month", "stage_label", "stage_recommend_kpis")


class NamedCellError(UserError):
    """Named cells are missing, broken, text or errors; the message lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("wrong named cells — " + "; ".join(problems) + " (nothing was changed)")


def workbook_lang(wb: Any) -> str:
    titles = list(wb.sheetnames)
    for lang, sheets in SHEETS.items():
        if all(s in titles for s in sheets[:3]):
            return lang
    raise NamedCellError([f"sheets: expected {', '.join(SHEETS['ja'][:3])} (or the English ones), found {', '.join(titles)}"])


def scan_kpi_rows(wb: Any, lang: str) -> tuple[list[KpiRow], list[str]]:
    """KPI rows of sheets 1–3 (found by the ``KPI ID`` header and catalogue ids), and problems."""
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    rows: list[KpiRow] = []
    problems: list[str] = []
    for tier, index in TIER_SHEET.items():
        ws = wb[SHEETS[lang][index]]
        header = next((c.row for c in ws["A"] if c.value == KPI_HEADER_ID), None)
        if header is None:
            problems.append(f"{ws.title}: no '{KPI_HEADER_ID}' table header in column A")
            continue
        for r in range(header + 1, ws.max_row + 1):
            value = ws.cell(r, COL_ID + 1).value
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            kpi_id = str(value).strip()
            if kpi_id not in known:
                problems.append(f"{ws.title}!{cell_ref(r - 1, COL_ID)}: '{kpi_id}' is not a KPI id of the catalogue")
                continue
            label = ws.cell(r, 2).value or cat.kpi(kpi_id).label(lang)
            rows.append(KpiRow(kpi_id, cat.kpi(kpi_id).tier, ws.title, r - 1, str(label)))
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.kpi_id] = seen.get(row.kpi_id, 0) + 1
    problems += [f"{k}: listed {n} times" for k, n in seen.items() if n > 1]
    return rows, problems


def destination(wb: Any, name: str) -> tuple[str, str] | None:
    """(sheet, ref) a workbook-scoped name points to, or None if missing / broken."""
    dn = wb.defined_names.get(name)
    if dn is None:
        return None
    try:
        dests = list(dn.destinations)
    except Exception:  # noqa: BLE001 - a formula name openpyxl cannot parse is broken for us
        return None
    if len(dests) != 1 or "#REF!" in (dn.attr_text or ""):
        return None
    sheet, ref = dests[0]
    if sheet not in wb.sheetnames:
        return None
    return sheet, ref.replace("$", "")


def cell_problem(cell: Any, *, formula_ok: bool) -> str | None:
    value = cell.value
    if cell.data_type == "e" or (isinstance(value, str) and value.strip().upper() in _ERRORS):
        return f"holds the error {value}"
    if isinstance(value, str) and value.startswith("="):
        return None if formula_ok else "holds a formula, expected an input"
    if isinstance(value, bool) or isinstance(value, str):
        return f"holds text {value!r}, expected a number"
    if hasattr(value, "text"):  # ArrayFormula
        return None if formula_ok else "holds a formula, expected an input"
    return None


_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"}


def check_named_cells(wb: Any, names: tuple[str, ...] = REQUIRED_INPUTS, outputs: tuple[str, ...] = REQUIRED_OUTPUTS,
                      kpi_rows: list[KpiRow] | None = None) -> list[str]:
    """Problems with the workbook's named cells: missing, broken (#REF!), text, errors."""
    problems: list[str] = []

    def located(name: str) -> tuple[str, str] | None:
        dest = destination(wb, name)
        if dest is None:
            problems.append(f"{name}: {'missing' if name not in wb.defined_names else 'broken reference'}")
        return dest

    for name in names:
        if (dest := located(name)) is None:
            continue
        sheet, ref = dest
        if ":" in ref:
            problems.append(f"{name}: refers to a range {ref}, expected one cell")
            continue
        issue = cell_problem(wb[sheet][ref], formula_ok=False)
        if issue:
            problems.append(f"{name} ({sheet}!{ref}): {issue}")
    for name in outputs:
        if (dest := located(name)) is None:
            continue
        sheet, ref = dest
        if ":" in ref:  # a spill range: its cells are values, the formula sits in the anchor
            continue
        cell = wb[sheet][ref]
        if cell.data_type == "e" or (isinstance(cell.value, str) and not cell.value.startswith("=")):
            problems.append(f"{name} ({sheet}!{ref}): holds {cell.value!r}, expected its formula")
    for row in kpi_rows or ():
        ws = wb[row.sheet]
        for prefix, col in (("target", COL_TARGET), ("actual", COL_ACTUAL)):
            cell = ws.cell(row.row + 1, col + 1)
            issue = cell_problem(cell, formula_ok=prefix == "actual")
            if issue:
                problems.append(f"{prefix}_{row.kpi_id} ({ws.title}!{cell.coordinate}): {issue}")
    return problems
