"""``kpitree demo``: the whole job on built-in sample data, end to end.

Writes the sample CRM export of an 8-member inside-sales team (12 months, cp932, Japanese
dates, a few bad and duplicated rows — :mod:`kpitree.team.sample`), builds the team's
workbook from the template with the team's plan and targets, imports the export into it
(the template's actuals, the member sheet, the data, pace and alerts — every formula
recalculated by the engine), adds the weekly review of the last complete week, writes the
file and prints the dashboard (achievement, status, bottleneck and stage advice), what the
import read and the alerts.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.cli_support import add_json, add_lang, print_json, print_table

if TYPE_CHECKING:
    from kpitree.udfs.catalogue import Lang

DEFAULT_OUT = "kpitree-demo.xlsx"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="import a sample team's CRM export into a KPI workbook and show it",
        description="Write a sample CRM export of an 8-member inside-sales team (12 months, with the flaws real exports "
        "have), import it into a new team workbook (dashboard, member sheet, pace and alerts), add the weekly review, "
        "write the workbook and print the dashboard and the alerts. Start here.",
    )
    p.add_argument("--out", type=Path, help=f"where to write the workbook (default: {DEFAULT_OUT}, or a numbered "
                   "name next to it if that exists — an existing file is never overwritten)")
    add_lang(p)
    add_json(p)
    p.set_defaults(run=run_demo)


def free_path(path: Path) -> Path:
    """``path``, or ``stem-1.xlsx``, ``stem-2.xlsx``, … — the first that does not exist."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


# The sample team's plan: 1.5億 a year at 100万 a deal, 25 % won, 4 % of connects become opportunities,
# 25 % of calls connect (so 238 calls a working day for the team); the targets below are the team's
# (per month for tactical KPIs, per working day for action KPIs), set against the sample's level.
DEMO_PLAN: dict[str, Any] = {
    "kgi_annual_revenue": 150_000_000, "avg_deal_size": 1_000_000, "plan_win_rate": 0.25, "plan_conversion_rate": 0.04,
    "plan_connect_rate": 0.25, "target_revenue_contribution": 37_500_000, "target_opportunities": 50,
    "target_conversion_rate": 0.12, "target_sql_count": 60, "target_bant_rate": 0.7, "target_handoff_win_rate": 0.3,
    "target_quality_score": 4.0, "target_calls": 238, "target_connect_rate": 0.25, "target_effective_contacts": 30,
    "target_emails_sent": 130, "target_email_open_rate": 0.3, "target_followup_rate": 0.9,
}


def build_demo(out: Path, lang: Lang) -> tuple[dict[str, Any], Any, Any]:
    """Write the demo workbook to ``out``: (its named single-cell values, the import report, the weekly review)."""
    from kpitree.recalculation.io.outputs import new_file_mode
    from kpitree.team import write_sample
    from kpitree.team.reviewing import review_workbook
    from kpitree.team.workbook import import_exports
    from kpitree.workbook_templates import build_workbook, sample_inputs

    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        exports = write_sample(Path(tmp) / "exports")
        built = Path(tmp) / out.name
        build_workbook(built, lang, {**sample_inputs(lang), **DEMO_PLAN})
        report = import_exports(built, exports["activities"], exports["opportunities"], exports["leads"])  # recalculated
        review = review_workbook(built).review
        os.chmod(built, new_file_mode())  # a new output: the mode the umask gives, like every other output
        os.replace(built, out)
    return named_values(out), report, review


def named_values(path: Path) -> dict[str, Any]:
    """Cached values of a workbook's single-cell workbook-scoped names."""
    import openpyxl

    from kpitree.workbook_templates.contract import facts_from_openpyxl

    return facts_from_openpyxl(openpyxl.load_workbook(path, data_only=True)).values


def dashboard_rows(values: dict[str, Any], lang: Lang) -> list[tuple[str, ...]]:
    """One row per dashboard KPI: tier, label, target, actual, achievement, status."""
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.status import evaluate_status, status_label
    from kpitree.workbook_templates import NAMED_OUTPUTS

    cat = load_catalogue()
    rows: list[tuple[str, ...]] = []
    for name in NAMED_OUTPUTS:  # the dashboard's order: strategic, tactical, action
        if not name.startswith("achievement_") or name not in values:
            continue
        achievement = values[name]
        kpi = cat.kpi(name.removeprefix("achievement_"))
        index, code = evaluate_status(achievement, values["status_on_track_from"], values["status_watch_from"])
        status = str(achievement) if code else status_label(int(index), lang)
        rows.append((
            cat.tier(kpi.tier).label(lang),
            kpi.label(lang),
            _fmt(values.get(f"target_{kpi.id}"), kpi.unit),
            _fmt(values.get(f"actual_{kpi.id}"), kpi.unit),
            _fmt(achievement, "rate"),
            status,
        ))
    return rows


def _fmt(value: Any, unit: str) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "" if value is None else str(value)
    if unit == "currency":
        return f"¥{value:,.0f}"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "ratio":
        return f"{value:,.2f}"
    return f"{value:,.1f}"


def run_demo(args: argparse.Namespace) -> int:
    from kpitree.errors import UserError

    lang = args.lang
    out = args.out if args.out is not None else free_path(Path(DEFAULT_OUT))
    if out.suffix.lower() != ".xlsx":  # said of --out, before a temporary copy of it exists
        raise UserError(f"--out {out}: the demo writes an Excel workbook; give a name ending in .xlsx")
    if os.path.lexists(out):  # a link counts too, even one to a missing file: the demo never writes through it
        raise UserError(f"{out} exists; choose another --out (the demo never overwrites a file)")
    if not out.resolve().parent.is_dir():
        raise UserError(f"folder {out.resolve().parent} does not exist")
    values, imported, review = build_demo(out.resolve(), lang)
    report = demo_report(values, imported, review, lang)
    report["written"] = os.fspath(out)
    if args.json:
        print_json(report)
        return 0
    print_demo(report, review.alerts, lang)
    return 0


def demo_report(values: dict[str, Any], imported: Any, review: Any, lang: Lang) -> dict[str, Any]:
    """What the demo shows: what the import read, the dashboard rows, the bottleneck with its cause and
    action, the stage, the weekly review's alerts."""
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.stage import recommend, stage_for_months

    cat = load_catalogue()
    label = values.get("bottleneck")
    lever = next((b for b in cat.bottlenecks if b.label(lang) == label), None)
    bottleneck: dict[str, Any] | None = None
    if lever is not None:
        bottleneck = {"lever": lever.label(lang), "cause": lever.cause(lang), "action": lever.action(lang)}
    elif label:
        bottleneck = {"lever": str(label), "cause": None, "action": None}
    stage = stage_for_months(values["months_since_launch"])
    heads = ("tier", "kpi", "target", "actual", "achievement", "status")
    reports = imported.imported.reports
    return {
        "import": {"rows": sum(r.rows for r in reports.values()), "rejected": len(imported.imported.rejects),
                   "duplicates": sum(r.duplicates for r in reports.values()), "no_member": reports["activities"].unassigned,
                   "members": len(imported.members), "through": imported.imported.data.data_through.isoformat()},
        "review": {"week": review.period, "members": len(review.members),
                   "alerts": [{"member": a.member, "kpi": a.kpi_id, "forecast": a.forecast, "target": a.target, "pace": a.pace}
                              for a in review.alerts]},
        "dashboard": [dict(zip(heads, row)) for row in dashboard_rows(values, lang)],
        "bottleneck": bottleneck,
        "stage": {"id": stage.id, "label": stage.label(lang), "focus": stage.focus(lang),
                  "recommended": [{"kpi": r.kpi_label, "stars": r.stars} for r in recommend(stage, lang)],
                  "tips": list(stage.tips(lang))},
    }


def print_demo(report: dict[str, Any], alerts: list[Any], lang: Lang) -> None:
    from kpitree.team.commands import print_alerts
    from kpitree.udfs.texts import text, text_list

    read = report["import"]
    print(text("demo.imported", lang, rows=read["rows"], rejected=read["rejected"], duplicates=read["duplicates"],
               no_member=read["no_member"], members=read["members"], through=read["through"]))
    print_table(text("demo.title", lang), text_list("demo.heads", lang), [tuple(r.values()) for r in report["dashboard"]],
                right=(2, 3, 4))
    b = report["bottleneck"]
    if b is not None and b["cause"] is not None:
        print(text("demo.bottleneck", lang, label=b["lever"], cause=b["cause"], action=b["action"]))
    elif b is not None:
        print(text("demo.bottleneck_label", lang, label=b["lever"]))
    stage = report["stage"]
    focus = ", ".join(f"{r['kpi']} {r['stars']}" for r in stage["recommended"])
    print(text("demo.stage", lang, label=stage["label"], focus=stage["focus"]))
    print(text("demo.focus", lang, kpis=focus))
    for tip in stage["tips"]:
        print(text("cli.bullet", lang, item=tip))
    print(text("demo.review", lang, week=report["review"]["week"], members=report["review"]["members"]))
    print_alerts(alerts, lang)
    print(text("demo.written", lang, path=report["written"]))
