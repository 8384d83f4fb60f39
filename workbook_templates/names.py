"""The named-cell contract: workbook-scoped defined names that scripts, batch recalculation,
the dashboard rebuild and the add-in address — never cell coordinates.

:data:`NAMED_CELLS` lists every name the shipped template defines, with its kind:

* ``input`` — a cell the user types (validated; blank allowed);
* ``computed`` — a formula over named inputs (``actual_<id>`` of a computed rate, ``calc_*``);
* ``output`` — a result others read (``achievement_<id>``, ``stage_label``, ``required_*``);
* ``input range`` / ``output range`` — a block (the 12-month history, the stage's spilled KPIs).

:data:`NAMED_INPUTS` and :data:`NAMED_OUTPUTS` are the names of the input and output cells.
:func:`named_cells_markdown` renders the table pasted into the README between
``<!-- named-cells:start -->`` and ``<!-- named-cells:end -->``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from kpitree.udfs.catalogue import load_catalogue

from .spec import PLAN_FIELDS, RAW_FIELDS, SHEETS, TREND_FIELDS, sheet_cells

OUTPUT_PREFIXES = ("achievement_", "required_", "stage_label", "bottleneck")


@dataclass(frozen=True)
class NamedCell:
    name: str
    kind: str
    sheet: int  # 1..4
    ref: str
    meaning: str


@functools.cache
def _named_cells() -> tuple[NamedCell, ...]:
    from .dashboard import plan_dashboard

    cat = load_catalogue()
    spec = sheet_cells("en", None)
    plan = plan_dashboard(spec.kpi_rows, "en")
    titles = SHEETS["en"]
    formulas = {(c.sheet, c.ref): c for c in list(spec.cells) + list(plan.cells)}
    fields = {f.name: f.en for f in PLAN_FIELDS + sum(RAW_FIELDS.values(), ()) + TREND_FIELDS}
    fields.update({"status_on_track_from": "achievement from which a KPI is on track (default 100 %)",
                   "status_watch_from": "achievement from which a KPI is on watch (default 80 %); below: behind",
                   "calc_ltv": "LTV computed from the raw inputs", "calc_cac": "CAC computed from the raw inputs",
                   "stage_label": "the team's stage from KPI_STAGE(months_since_launch)",
                   "stage_recommend_kpis": "KPI column of the stage's recommended KPIs (KPI_STAGE_RECOMMEND spill)",
                   "bottleneck": "KPI_BOTTLENECK's spill: lever, cause, action, revenue recovered per month",
                   "required_won_deals_month": "won deals needed per month (KGI back-calculation)",
                   "required_opportunities_month": "opportunities needed per month",
                   "required_connects_month": "connects needed per month",
                   "required_calls_month": "calls needed per month",
                   "required_calls_day": "calls needed per working day"})
    period = {"strategic": "per quarter", "tactical": "per month", "action": "per working day"}
    for row in spec.kpi_rows:
        label = cat.kpi(row.kpi_id).en
        fields[f"target_{row.kpi_id}"] = f"target: {label} ({period[row.tier]})"
        fields[f"actual_{row.kpi_id}"] = f"actual: {label} ({period[row.tier]})"
        fields[f"achievement_{row.kpi_id}"] = f"achievement: {label} (actual ÷ target)"
    out = []
    defined = {n.name: n for n in list(spec.names) + list(plan.names)}  # the plan names the KPI rows again
    for n in defined.values():
        cell = formulas.get((n.sheet, n.ref.split(":")[0]))
        is_range = ":" in n.ref
        if n.name.startswith(OUTPUT_PREFIXES) or (is_range and cell is not None and cell.formula is None and n.name.startswith("stage")):
            kind = "output range" if is_range else "output"
        elif is_range:
            kind = "input range"
        elif cell is not None and cell.formula:
            kind = "computed"
        else:
            kind = "input"
        out.append(NamedCell(n.name, kind, titles.index(n.sheet) + 1, n.ref, fields.get(n.name, "")))
    return tuple(out)


NAMED_CELLS: tuple[NamedCell, ...] = _named_cells()
NAMED_INPUTS: tuple[str, ...] = tuple(c.name for c in NAMED_CELLS if c.kind == "input")
NAMED_OUTPUTS: tuple[str, ...] = tuple(c.name for c in NAMED_CELLS if c.kind == "output")


def named_cells_markdown() -> str:
    """The named-cell contract as a Markdown table (the README's, between the markers)."""
    lines = ["| name | kind | sheet | cell | meaning |", "|---|---|---|---|---|"]
    for c in NAMED_CELLS:
        lines.append(f"| `{c.name}` | {c.kind} | {c.sheet} | {c.ref} | {c.meaning} |")
    return "\n".join(lines) + "\n"
