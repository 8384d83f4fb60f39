"""``kpitree demo``: the whole job on built-in sample data, end to end.

Builds a workbook from the template with one inside-sales team's sample data (12
months of actuals), rebuilds its dashboard — which recalculates the workbook with the
engine, so every formula cell carries its value — writes the file and prints the
dashboard (achievement, status, bottleneck and stage advice) in the terminal.
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
        help="build, recalculate and show a sample team's KPI workbook",
        description="Build a KPI workbook for a sample inside-sales team (12 months of actuals), rebuild its "
        "dashboard, recalculate it, write it and print the dashboard. Start here.",
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


def build_demo(out: Path, lang: Lang) -> dict[str, Any]:
    """Write the demo workbook to ``out``; its named single-cell values."""
    from kpitree.workbook_templates import build_workbook, rebuild_dashboard, sample_inputs

    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        built = Path(tmp) / out.name
        build_workbook(built, lang, sample_inputs(lang))
        rebuild_dashboard(built, out)  # recalculated on the way: the cached values are the engine's
    return named_values(out)


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
    if os.path.lexists(out):  # a link counts too, even one to a missing file: the demo never writes through it
        raise UserError(f"{out} exists; choose another --out (the demo never overwrites a file)")
    if not out.resolve().parent.is_dir():
        raise UserError(f"folder {out.resolve().parent} does not exist")
    values = build_demo(out.resolve(), lang)
    report = demo_report(values, lang)
    report["written"] = os.fspath(out)
    if args.json:
        print_json(report)
        return 0
    print_demo(report, lang)
    return 0


def demo_report(values: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """What the demo shows: the dashboard rows, the bottleneck with its cause and action, the stage."""
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
    return {
        "dashboard": [dict(zip(heads, row)) for row in dashboard_rows(values, lang)],
        "bottleneck": bottleneck,
        "stage": {"id": stage.id, "label": stage.label(lang), "focus": stage.focus(lang),
                  "recommended": [{"kpi": r.kpi_label, "stars": r.stars} for r in recommend(stage, lang)],
                  "tips": list(stage.tips(lang))},
    }


def print_demo(report: dict[str, Any], lang: Lang) -> None:
    from kpitree.udfs.texts import text, text_list

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
    print(text("demo.written", lang, path=report["written"]))
