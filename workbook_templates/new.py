"""``kpitree new``: a fresh workbook with targets from the catalogue's guides, actuals empty.

Targets: a KPI with a benchmark guide for the industry (conversion rate: the industry's
context; others: their "all" guide) takes the guide's low / middle / high end as the
stage's ``target_level`` says (launch low, growth mid, mature high; a "≥ x" guide gives
x). KPIs the plan determines take the plan: revenue contribution = KGI ÷ 4 per quarter,
opportunities = back-calculated per month, calls = back-calculated per working day,
connect rate = the plan's. The rest take :data:`.spec.DEFAULT_TARGETS` (kpitree
defaults, not seed figures). The plan's conversion rate is the industry guide at the
stage's level; win rate 25 % and connect rate 25 % are seed 001/000's figures.

``kpitree new --template FILE`` (:func:`new_from_template`) applies the same targets to a
user's own kpitree workbook, checked and addressed by its defined names (docs/template.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Lang, load_catalogue
from kpitree.udfs.kpi_tree import back_calculate
from kpitree.udfs.stage import stage_for_months
from kpitree.udfs.texts import text_list

from .spec import DEFAULT_TARGETS, TEMPLATE_KPIS

if TYPE_CHECKING:
    from .contract import WorkbookFacts

PLAN_WIN_RATE = 0.25  # seed 001/003: ≈ 25 %
PLAN_CONNECT_RATE = 0.25  # seed 000's worked example


def level_value(low: float, high: float | None, level: str) -> float:
    if high is None:
        return low
    return {"low": low, "mid": (low + high) / 2, "high": high}[level]


def new_inputs(*, months: float = 0, industry: str = "general", revenue: float = 100_000_000,
               deal_size: float = 1_000_000, lang: Lang = "ja", working_days: float = 20,
               kpi_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """Inputs of a fresh workbook: plan and targets filled, actuals and history empty.

    ``kpi_ids`` (default: the shipped template's KPIs) are the KPIs that get a
    ``target_<id>``; a KPI with neither a guide, a plan figure nor a kpitree default
    gets none. ``working_days`` per month turns the monthly calls into the daily target.
    """
    cat = load_catalogue()
    ind = cat.industry(industry)  # KeyError names the choices
    stage = stage_for_months(months)
    level = stage.target_level
    conv = cat.kpi("conversion_rate").benchmark(ind.conversion_context)
    if conv is None:  # the catalogue gives every industry's context a conversion guide (a test holds it to that)
        raise KeyError(f"the catalogue has no conversion-rate guide for {ind.conversion_context!r}")
    conversion = level_value(conv.low, conv.high, level)
    plan = back_calculate(revenue, deal_size, PLAN_WIN_RATE, conversion, PLAN_CONNECT_RATE, working_days)
    inputs: dict[str, Any] = {
        "months_since_launch": months, "kgi_annual_revenue": revenue, "avg_deal_size": deal_size,
        "plan_win_rate": PLAN_WIN_RATE, "plan_conversion_rate": conversion, "plan_connect_rate": PLAN_CONNECT_RATE,
        "working_days_per_month": working_days, "status_on_track_from": 1.0, "status_watch_from": 0.8,
    }
    opportunities = math.ceil(plan.row("opportunities").month - 1e-9)
    from_plan = {
        "revenue_contribution": revenue / 4,
        "opportunities": opportunities,
        "sql_count": math.ceil(opportunities * DEFAULT_TARGETS["sql_count_share"]),
        "calls": math.ceil(plan.row("calls").day - 1e-9),
        "connect_rate": PLAN_CONNECT_RATE,
        "conversion_rate": conversion,
    }
    ids = [k for tier in TEMPLATE_KPIS.values() for k in tier] if kpi_ids is None else list(kpi_ids)
    for kpi_id in ids:
        kpi = cat.kpi(kpi_id)
        bench = kpi.benchmark(ind.conversion_context if kpi_id == "conversion_rate" else "all")
        if kpi_id in from_plan:
            value = from_plan[kpi_id]
        elif bench is not None:
            value = level_value(bench.low, bench.high, level)
        elif kpi_id in DEFAULT_TARGETS:
            value = DEFAULT_TARGETS[kpi_id]
        else:
            continue
        inputs[f"target_{kpi_id}"] = value
    inputs["trend_month"] = list(text_list("template.months", lang))
    del stage
    return inputs


def new_workbook(out: str | os.PathLike, *, lang: Lang = "ja", months: float = 0, industry: str = "general",
                 revenue: float = 100_000_000, deal_size: float = 1_000_000, force: bool = False) -> Path:
    """Write a fresh workbook to ``out``; FileExistsError unless ``force``.

    With ``force`` an existing file is replaced atomically, keeping its mode (and owner
    where the process may), a symbolic link stays a link and its target is written; a
    read-only file is refused (:class:`~kpitree.recalculation.io.outputs.OutputError`).
    """
    from kpitree.recalculation.io.outputs import check_replaceable, real

    from .builder import build_workbook

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; use --force to overwrite it")
    check_replaceable(real(out))  # a read-only file or a folder is refused before anything is built
    inputs = new_inputs(months=months, industry=industry, revenue=revenue, deal_size=deal_size, lang=lang)
    return build_workbook(out, lang, inputs)


# --- kpitree new --template FILE ------------------------------------------------------------

# Settings a user's template keeps when it holds a value (filled from new_inputs when blank).
KEPT_SETTINGS = ("working_days_per_month", "status_on_track_from", "status_watch_from")
# Inputs the arguments decide: always written.
PLAN_INPUTS = ("months_since_launch", "kgi_annual_revenue", "avg_deal_size", "plan_win_rate",
               "plan_conversion_rate", "plan_connect_rate")
TREND_DATA = ("trend_leads", "trend_opportunities", "trend_won", "trend_calls", "trend_connects")


def template_problems(facts: WorkbookFacts) -> list[str]:
    """Every problem of a template: the dashboard's checks, plus the names ``new`` writes through.

    Beyond ``kpitree dashboard``'s checks: ``target_<id>`` and ``actual_<id>`` of every
    KPI row, ``trend_month`` and the ``trend_*`` history ranges must exist (they are how
    the targets are written and the actuals emptied; ``kpitree dashboard`` names KPI rows
    the user added).
    """
    from .checks import cell_problem, name_problem, workbook_problems

    problems = workbook_problems(facts)
    for row in facts.kpi_rows:
        for prefix in ("target", "actual"):
            name = f"{prefix}_{row.kpi_id}"
            if (problem := name_problem(facts, name)) is not None:
                problems.append(problem + (" (run `kpitree dashboard` on the template to name added KPI rows)"
                                           if name not in facts.broken else ""))
                continue
            sheet, ref = facts.names[name]
            if ":" in ref:
                problems.append(f"{name}: refers to a range {ref}, expected one cell")
                continue
            issue = cell_problem(facts.cells[(sheet, ref)], formula_ok=prefix == "actual")
            if issue:
                problems.append(f"{name} ({sheet}!{ref}): {issue}")
    for name in ("trend_month", *TREND_DATA):
        if (problem := name_problem(facts, name)) is not None:
            problems.append(problem)
    return list(dict.fromkeys(problems))  # a cell reported by row and by name is listed once


def _cells(wb: Any, place: tuple[str, str]) -> list[Any]:
    """The openpyxl cells of a (sheet, ref) place, a range flattened."""
    cells = wb[place[0]][place[1]]
    if not isinstance(cells, tuple):
        return [cells]
    return [c for row in cells for c in (row if isinstance(row, tuple) else (row,))]


def _is_formula(cell: Any) -> bool:
    return hasattr(cell.value, "text") or (isinstance(cell.value, str) and cell.value.startswith("="))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _full_recommend_block(wb: Any) -> None:
    """KPI_STAGE_RECOMMEND's array block as large as its table always is (:func:`recommend_rows` × 4).

    A workbook built before the table had one size holds a block sized for its own stage (5 rows
    at the mature stage), which hid the launch stage's sixth KPI; its cached children are plain
    values to openpyxl and are emptied. The recalculation fills the stored block only.
    """
    from kpitree.udfs.stage import recommend_rows
    from openpyxl.utils import get_column_letter, range_boundaries

    height, width = recommend_rows(), 4
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not (hasattr(cell.value, "text") and "KPI_STAGE_RECOMMEND" in (cell.value.text or "")):
                    continue
                c1, r1, c2, r2 = range_boundaries(cell.value.ref or cell.coordinate)
                for r in range(r1, max(r2, r1 + height - 1) + 1):
                    for c in range(c1, max(c2, c1 + width - 1) + 1):
                        if (r, c) != (r1, c1):
                            ws.cell(r, c).value = None
                cell.value.ref = f"{cell.coordinate}:{get_column_letter(c1 + width - 1)}{r1 + height - 1}"


def _check_paths(template: Path, out: Path, force: bool) -> None:
    """The template exists, OUT is another file, and OUT is new unless ``force``."""
    from kpitree.recalculation.io.outputs import check_replaceable, real, same_file

    if not template.is_file():
        raise FileNotFoundError(f"{template}: no such file")
    if same_file(out, template):  # through a link, a hard link or ..: the template is never written
        raise ValueError(f"{out}: OUT must differ from the template file")
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; use --force to overwrite it")
    check_replaceable(real(out))


def _write_plan(wb: Any, facts: WorkbookFacts, inputs: dict[str, Any], cell: Callable[[str], Any]) -> None:
    """The plan inputs and targets; settings and month labels only where the template has none."""
    for name in PLAN_INPUTS + tuple(f"target_{r.kpi_id}" for r in facts.kpi_rows):
        if name in inputs:
            cell(name).value = inputs[name]
    for name in KEPT_SETTINGS:
        if _blank(cell(name).value):
            cell(name).value = inputs[name]
    month_cells = _cells(wb, facts.names["trend_month"])
    if all(_blank(c.value) for c in month_cells):
        for c, label in zip(month_cells, inputs["trend_month"]):
            c.value = label


def _empty_actuals(wb: Any, facts: WorkbookFacts, cell: Callable[[str], Any]) -> None:
    """Raw data, typed actuals and the history emptied; formulas kept."""
    from .checks import REQUIRED_INPUTS

    for name in [n for n in REQUIRED_INPUTS if n.startswith("raw_")]:
        cell(name).value = None
    for row in facts.kpi_rows:
        actual = cell(f"actual_{row.kpi_id}")
        if not _is_formula(actual):
            actual.value = None
    for name in TREND_DATA:
        for c in _cells(wb, facts.names[name]):
            if not _is_formula(c):
                c.value = None


def new_from_template(template: str | os.PathLike, out: str | os.PathLike, *, lang: str | None = None,
                      months: float = 0, industry: str = "general", revenue: float = 100_000_000,
                      deal_size: float = 1_000_000, force: bool = False) -> tuple[Path, str | None]:
    """``kpitree new --template``: copy a user's kpitree workbook with fresh targets, actuals empty.

    Checked first (:class:`~.checks.NamedCellError` listing every wrong name; nothing
    written). Cells are addressed by defined names only. Written: the plan inputs, the
    targets :func:`new_inputs` gives for the template's KPI rows (a KPI without a guide,
    plan figure or default keeps the template's target), and — only where the template
    has none — working days and status thresholds. Emptied: ``raw_*``, typed actuals
    (``actual_<id>`` cells that are not formulas) and the ``trend_*`` history (month
    labels kept), and what the team commands added removed (members, reviews, data
    sheet, the dashboard's pace block: :mod:`.team_parts`). Everything else (styles,
    other sheets, notes, the dashboard) is kept as openpyxl round-trips it.

    Then the kpitree recalculation engine gives every formula its cached value and the
    file does not ask Excel to recalculate on load (as ``kpitree new``). If the engine
    cannot recalculate the workbook, the file is written with ``fullCalcOnLoad`` (as
    ``kpitree dashboard``) and the second element of the result says why.
    """
    from .checks import NamedCellError
    from .contract import facts_from_openpyxl
    from .dashboard_openpyxl import load, save_atomic
    from .team_parts import remove_team_parts

    template, out = Path(template), Path(out)
    _check_paths(template, out, force)
    load_catalogue().industry(industry)  # KeyError names the choices, before the template is read
    wb = load(template)
    facts = facts_from_openpyxl(wb)
    problems = template_problems(facts)
    if problems:
        raise NamedCellError(problems)
    if lang is not None and lang != facts.lang:
        raise ValueError(f"--lang {lang}: the template is a {facts.lang} workbook (its language is kept; omit --lang)")

    def cell(name: str) -> Any:
        sheet, ref = facts.names[name]
        return wb[sheet][ref]

    days = cell("working_days_per_month").value
    days = days if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0 else 20
    inputs = new_inputs(months=months, industry=industry, revenue=revenue, deal_size=deal_size, lang=facts.lang,
                        working_days=days, kpi_ids=[r.kpi_id for r in facts.kpi_rows])
    _write_plan(wb, facts, inputs, cell)
    _empty_actuals(wb, facts, cell)
    _full_recommend_block(wb)
    dashboard = facts.sheets[3] if len(facts.sheets) > 3 else None
    remove_team_parts(wb, dashboard)  # last year's members, reviews, data and pace stay with last year's workbook
    return out, save_atomic(wb, out, source=template)
