"""``kpitree new``: a fresh workbook with targets from the catalogue's guides, actuals empty.

Targets: a KPI with a benchmark guide for the industry (conversion rate: the industry's
context; others: their "all" guide) takes the guide's low / middle / high end as the
stage's ``target_level`` says (launch low, growth mid, mature high; a "≥ x" guide gives
x). KPIs the plan determines take the plan: revenue contribution = KGI ÷ 4 per quarter,
opportunities = back-calculated per month, calls = back-calculated per working day,
connect rate = the plan's. The rest take :data:`.spec.DEFAULT_TARGETS` (kpitree
defaults, not seed figures). The plan's conversion rate is the industry guide at the
stage's level; win rate 25 % and connect rate 25 % are seed 001/000's figures.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from kpitree.udfs.catalogue import load_catalogue
from kpitree.udfs.kpi_tree import back_calculate
from kpitree.udfs.stage import stage_for_months

from .spec import DEFAULT_TARGETS, TEMPLATE_KPIS

PLAN_WIN_RATE = 0.25  # seed 001/003: ≈ 25 %
PLAN_CONNECT_RATE = 0.25  # seed 000's worked example


def level_value(low: float, high: float | None, level: str) -> float:
    if high is None:
        return low
    return {"low": low, "mid": (low + high) / 2, "high": high}[level]


def new_inputs(*, months: float = 0, industry: str = "general", revenue: float = 100_000_000,
               deal_size: float = 1_000_000, lang: str = "ja") -> dict[str, Any]:
    """Inputs of a fresh workbook: plan and targets filled, actuals and history empty."""
    cat = load_catalogue()
    ind = cat.industry(industry)  # KeyError names the choices
    stage = stage_for_months(months)
    level = stage.target_level
    conv = cat.kpi("conversion_rate").benchmark(ind.conversion_context)
    conversion = level_value(conv.low, conv.high, level)
    plan = back_calculate(revenue, deal_size, PLAN_WIN_RATE, conversion, PLAN_CONNECT_RATE)
    inputs: dict[str, Any] = {
        "months_since_launch": months, "kgi_annual_revenue": revenue, "avg_deal_size": deal_size,
        "plan_win_rate": PLAN_WIN_RATE, "plan_conversion_rate": conversion, "plan_connect_rate": PLAN_CONNECT_RATE,
        "working_days_per_month": 20, "status_on_track_from": 1.0, "status_watch_from": 0.8,
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
    for ids in TEMPLATE_KPIS.values():
        for kpi_id in ids:
            kpi = cat.kpi(kpi_id)
            bench = kpi.benchmark(ind.conversion_context if kpi_id == "conversion_rate" else "all")
            if kpi_id in from_plan:
                value = from_plan[kpi_id]
            elif bench is not None:
                value = level_value(bench.low, bench.high, level)
            else:
                value = DEFAULT_TARGETS[kpi_id]
            inputs[f"target_{kpi_id}"] = value
    from .spec import T

    inputs["trend_month"] = list(T[lang]["months"])
    del stage
    return inputs


def new_workbook(out: str | os.PathLike, *, lang: str = "ja", months: float = 0, industry: str = "general",
                 revenue: float = 100_000_000, deal_size: float = 1_000_000, force: bool = False) -> Path:
    """Write a fresh workbook to ``out``; FileExistsError unless ``force``."""
    from .builder import build_workbook

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; use --force to overwrite it")
    inputs = new_inputs(months=months, industry=industry, revenue=revenue, deal_size=deal_size, lang=lang)
    return build_workbook(out, lang, inputs)
