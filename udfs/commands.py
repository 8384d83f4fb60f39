"""``kpitree catalog``, ``kpitree plan`` and ``kpitree stage``."""

from __future__ import annotations

import argparse
import dataclasses

from kpitree.cli_support import add_json, add_lang, amount, non_negative, positive, print_json, print_table, rate, yen


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="list the KPI catalogue",
                       description="List the KPI catalogue: id, tier, label, unit, direction, formula, benchmark guides.")
    add_lang(p)
    p.add_argument("--tier", choices=("strategic", "tactical", "action"), help="only this tier")
    add_json(p)
    p.set_defaults(run=run_catalog)

    p = sub.add_parser(
        "plan",
        help="back-calculate activity from the annual revenue goal (KGI)",
        description="Back-calculate won deals, opportunities, connects and calls per year, quarter, month, "
        "week and working day from the annual revenue goal. Rates as 25% or 0.25 (a bare 25 or 1 is refused as "
        "ambiguous); amounts as 100000000, 1億, 1億5000万, 3千万 or 100万 (full-width digits too).",
        epilog="example (1億円 a year at 100万円 a deal): kpitree plan --revenue 1億 --deal-size 100万 --win-rate 25% "
        "--conversion-rate 10% --connect-rate 25%",
    )
    p.add_argument("--revenue", type=amount, required=True, help="annual revenue goal in yen (KGI)")
    p.add_argument("--deal-size", type=amount, required=True, help="average deal size in yen")
    p.add_argument("--win-rate", type=rate, required=True, help="win rate, e.g. 25%%")
    p.add_argument("--conversion-rate", type=rate, required=True, help="opportunity conversion rate per connected lead, e.g. 10%%")
    p.add_argument("--connect-rate", type=rate, required=True, help="connect rate of calls, e.g. 25%%")
    p.add_argument("--working-days", type=positive, default=20, help="working days per month (default 20)")
    add_lang(p)
    add_json(p)
    p.set_defaults(run=run_plan)

    p = sub.add_parser(
        "stage",
        help="the team's stage and the KPIs to focus on",
        description=f"Stage from months since the inside-sales team started ({_stage_bounds()}), its "
        "recommended KPIs and tips; with --kpis, a KPI-design check.",
    )
    p.add_argument("months", type=non_negative, help="months since the inside-sales team started")
    p.add_argument("--kpis", help="comma-separated KPI ids you track, to check the design (see `kpitree catalog`)")
    add_lang(p)
    add_json(p)
    p.set_defaults(run=run_stage)


def _stage_bounds() -> str:
    from .texts import stage_bounds_text

    return stage_bounds_text("en")


def run_catalog(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue
    from .texts import text, text_list

    cat = load_catalogue()
    kpis = [k for k in cat.kpis if args.tier in (None, k.tier)]
    if args.json:
        print_json([dataclasses.asdict(k) for k in kpis])
        return 0
    lang = args.lang
    rows = []
    for k in kpis:
        guides = "; ".join(
            f"{b.label(lang)} {_fmt_guide(b.low, b.high, k.unit)}" for b in k.benchmarks
        )
        rows.append((k.id, cat.tier(k.tier).label(lang), k.label(lang), k.unit, k.direction, k.formula(lang), guides))
    print_table(text("cli.catalog_title", lang), text_list("cli.catalog_heads", lang), rows)
    return 0


def _fmt_guide(low: float, high: float | None, unit: str) -> str:
    fmt = (lambda v: f"{v:.0%}") if unit == "rate" else (lambda v: f"{v:,g}")
    if high is None:
        return f"≥ {fmt(low)}"
    return fmt(low) if high == low else f"{fmt(low)}–{fmt(high)}"


def run_plan(args: argparse.Namespace) -> int:
    from .kpi_tree import PERIODS, back_calculate
    from .texts import text, text_list

    plan = back_calculate(args.revenue, args.deal_size, args.win_rate, args.conversion_rate, args.connect_rate, args.working_days)
    if args.json:
        print_json(
            {
                "inputs": {k: getattr(plan, k) for k in ("annual_revenue", "avg_deal_size", "win_rate", "conversion_rate",
                                                         "connect_rate", "working_days_per_month")},
                "plan": {r.key: {p: r.per(p) for p in PERIODS} for r in plan.rows},
            }
        )
        return 0
    rows = [(r.label(args.lang), *(yen(r.per(p)) if r.key == "revenue" else f"{r.per(p):,.1f}" for p in PERIODS))
            for r in plan.rows]
    title = text("cli.plan_title", args.lang, win=plan.win_rate, conversion=plan.conversion_rate, connect=plan.connect_rate,
                 days=plan.working_days_per_month)
    print_table(title, text_list("cli.plan_heads", args.lang), rows, right=range(1, 6))
    return 0


def run_stage(args: argparse.Namespace) -> int:
    from kpitree.errors import UserError

    from .catalogue import load_catalogue
    from .stage import design_check, recommend, stage_for_months
    from .texts import text, text_list

    lang = args.lang
    stage = stage_for_months(args.months)
    recs = recommend(stage, lang)
    check = None
    if args.kpis is not None:
        ids = [k.strip() for k in args.kpis.split(",") if k.strip()]
        known = {k.id for k in load_catalogue().kpis}
        unknown = [k for k in ids if k not in known]
        if unknown:
            raise UserError(f"unknown KPI id(s): {', '.join(unknown)} (see `kpitree catalog`)")
        check = design_check(ids, stage, lang)
    if args.json:
        print_json(
            {
                "stage": stage.id,
                "label": stage.label(lang),
                "focus": stage.focus(lang),
                "recommended": [dataclasses.asdict(r) for r in recs],
                "tips": list(stage.tips(lang)),
                "design_check": None if check is None else dataclasses.asdict(check) | {"ok": check.ok},
            }
        )
        return 0
    print_table(f"{stage.label(lang)} — {stage.focus(lang)}", text_list("cli.stage_heads", lang),
                [(r.tier_label, r.kpi_label, r.stars, r.why) for r in recs])
    for tip in stage.tips(lang):
        print(text("cli.bullet", lang, item=tip))
    if check is not None:
        print_table(
            text("cli.check_title", lang),
            text_list("cli.check_heads", lang),
            [(t.label, t.count, f"{t.min_count}–{t.max_count}", t.verdict(lang)) for t in check.tiers],
        )
        for message in check.messages:
            print(text("cli.bullet", lang, item=message))
    return 0
