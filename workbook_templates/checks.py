"""Checking a workbook's named cells before anything is written (``kpitree dashboard``, ``kpitree new``, the ribbon).

The checks read :class:`~.contract.WorkbookFacts` only, so a file and a live workbook are
checked alike. Problems are collected, not raised one at a time: :class:`NamedCellError`
names every wrong name in one message ("kgi_annual_revenue: missing; target_calls: holds
text '40件'").
"""

from __future__ import annotations

from kpitree.udfs.catalogue import load_catalogue
from kpitree.udfs.texts import both

from kpitree.errors import UserError

from .contract import CellFacts, WorkbookFacts
from .layout import cell_ref
from .spec import COL_ACTUAL, COL_TARGET, PLAN_FIELDS, RAW_FIELDS

REQUIRED_INPUTS = tuple(f.name for f in PLAN_FIELDS) + tuple(f.name for fs in RAW_FIELDS.values() for f in fs) + (
    "status_on_track_from", "status_watch_from")
REQUIRED_OUTPUTS = ("required_won_deals_month", "required_opportunities_month", "required_connects_month",
                    "required_calls_month", "stage_label", "stage_recommend_kpis")


class NamedCellError(UserError):
    """Named cells are missing, broken, text or errors; the message lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        ja, en = both("checks.named_cells", problems="; ".join(problems))
        super().__init__(en, ja=ja)


def cell_problem(cell: CellFacts, *, formula_ok: bool) -> str | None:
    """What is wrong with an input cell (a formula only where ``formula_ok``), or None."""
    if cell.formula is not None:
        return None if formula_ok else "holds a formula, expected an input"
    if cell.is_error:
        return f"holds the error {cell.value}"
    if isinstance(cell.value, (bool, str)):
        return f"holds text {cell.value!r}, expected a number"
    return None


def name_problem(facts: WorkbookFacts, name: str) -> str | None:
    """``name: missing`` or ``name: broken reference`` when a name cannot be used, else None."""
    if name in facts.names:
        return None
    return f"{name}: {'broken reference' if name in facts.broken else 'missing'}"


def check_named_cells(facts: WorkbookFacts, names: tuple[str, ...] = REQUIRED_INPUTS,
                      outputs: tuple[str, ...] = REQUIRED_OUTPUTS) -> list[str]:
    """Problems with the workbook's named cells (missing, broken, text, errors) and its KPI rows' cells."""
    return [*_input_problems(facts, names), *_output_problems(facts, outputs), *_kpi_row_problems(facts)]


def _input_problems(facts: WorkbookFacts, names: tuple[str, ...]) -> list[str]:
    """Input names: one cell each, holding a number (or nothing), not a formula."""
    problems: list[str] = []
    for name in names:
        if (problem := name_problem(facts, name)) is not None:
            problems.append(problem)
            continue
        sheet, ref = facts.names[name]
        if ":" in ref:
            problems.append(f"{name}: refers to a range {ref}, expected one cell")
            continue
        issue = cell_problem(facts.cells[(sheet, ref)], formula_ok=False)
        if issue:
            problems.append(f"{name} ({sheet}!{ref}): {issue}")
    return problems


def _output_problems(facts: WorkbookFacts, outputs: tuple[str, ...]) -> list[str]:
    """Output names: present, and still their formula (not a typed-over value)."""
    problems: list[str] = []
    for name in outputs:
        if (problem := name_problem(facts, name)) is not None:
            problems.append(problem)
            continue
        sheet, ref = facts.names[name]
        if ":" in ref:  # a spill range: its cells are values, the formula sits in the anchor
            continue
        cell = facts.cells[(sheet, ref)]
        if cell.formula is None and (cell.is_error or isinstance(cell.value, str)):
            problems.append(f"{name} ({sheet}!{ref}): holds {cell.value!r}, expected its formula")
    return problems


def _kpi_row_problems(facts: WorkbookFacts) -> list[str]:
    """The target and actual cells of every catalogue KPI row (an actual may be a formula)."""
    problems: list[str] = []
    known = {k.id for k in load_catalogue().kpis}
    for row in facts.kpi_rows:
        if row.kpi_id not in known:  # already a problem of the rows
            continue
        for prefix, col in (("target", COL_TARGET), ("actual", COL_ACTUAL)):
            ref = cell_ref(row.row, col)
            issue = cell_problem(facts.cells[(row.sheet, ref)], formula_ok=prefix == "actual")
            if issue:
                problems.append(f"{prefix}_{row.kpi_id} ({row.sheet}!{ref}): {issue}")
    return problems


def workbook_problems(facts: WorkbookFacts) -> list[str]:
    """Everything that stops a dashboard rebuild: the KPI rows' problems and the named cells'."""
    return list(facts.problems) + check_named_cells(facts)
