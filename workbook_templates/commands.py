"""``kpitree template build|names``, ``kpitree new [--template FILE]`` and ``kpitree dashboard``."""

from __future__ import annotations

import argparse
from pathlib import Path

from kpitree.cli_support import add_json, add_lang, amount, non_negative, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="build the packaged template workbooks; print the named-cell table",
                       description="Build the 4-sheet KPI template workbooks from the KPI catalogue, or print the named-cell contract.")
    tsub = p.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    b = tsub.add_parser("build", help="write workbook_templates/inside_sales_kpi_{ja,en}.xlsx")
    b.add_argument("--lang", choices=("ja", "en"), help="only this language (default: both)")
    b.add_argument("--out-dir", type=Path, help="folder to write to (default: the package folder)")
    add_json(b)
    b.set_defaults(run=run_template_build)
    n = tsub.add_parser("names", help="print the named-cell table (Markdown; --json for scripts)")
    add_json(n)
    n.set_defaults(run=run_template_names)

    p = sub.add_parser(
        "new", help="write a fresh KPI workbook with targets for your industry and stage",
        description="Write a fresh 4-sheet KPI workbook: targets from the catalogue's benchmark guides for the\n"
        "industry and the stage (launch: low end, growth: middle, mature: high end), actuals empty.\n\n"
        "--template FILE starts from your own kpitree workbook instead of the shipped one. Its named cells\n"
        "are checked first, as `kpitree dashboard` does: every missing, broken, text or error name in one\n"
        "message, exit 2, nothing written. The copy gets the plan and the targets (addressed by name), its\n"
        "raw data, typed actuals and 12-month history are emptied; styles, labels, extra sheets, notes,\n"
        "working days and status thresholds are kept. Cached values are recalculated (kpitree recalc's engine).",
        epilog="examples: kpitree new kpi.xlsx --months 8 --industry saas_low_price --revenue 1億 --deal-size 100万\n"
        "          kpitree new next_year.xlsx --template this_year.xlsx --months 20",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="the .xlsx file to write")
    add_lang(p)
    p.set_defaults(lang=None)  # None: ja, or the template's own language with --template
    p.add_argument("--template", type=Path, metavar="FILE",
                   help="your own kpitree workbook to start from (kept: styles, labels, extra sheets, notes; "
                   "language: the template's). FILE is never written; OUT must differ from it")
    p.add_argument("--months", type=non_negative, default=0, help="months since the IS team started (default 0)")
    p.add_argument("--industry", default="general", help="industry id for the guides (see `kpitree catalog`; default general)")
    p.add_argument("--revenue", type=amount, default=100_000_000.0, help="annual revenue goal (KGI), e.g. 1億 (default)")
    p.add_argument("--deal-size", type=amount, default=1_000_000.0, help="average deal size, e.g. 100万 (default)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists (atomically, keeping its mode and links; "
                   "a read-only file is refused)")
    add_json(p)
    p.set_defaults(run=run_new)

    p = sub.add_parser(
        "dashboard", help="rebuild the dashboard sheet from sheets 1-3",
        description="Rebuild sheet 4 (columns A:R) from the KPI rows of sheets 1-3: KPIs added or removed, "
        "formulas, status formats and charts. Inputs on sheets 1-3 are never changed. WORKBOOK is replaced "
        "atomically, keeping its mode, owner and links (a read-only file is refused); --out writes elsewhere.")
    p.add_argument("workbook", type=Path, help="the KPI workbook (.xlsx)")
    p.add_argument("--out", type=Path, help="write here instead of replacing WORKBOOK (never WORKBOOK itself under another name)")
    add_json(p)
    p.set_defaults(run=run_dashboard)


def run_template_build(args: argparse.Namespace) -> int:
    from kpitree.udfs.catalogue import LANGS, Lang

    from . import TEMPLATE_FILES
    from .builder import build_workbook

    folder = args.out_dir or Path(__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    langs: tuple[Lang, ...] = (args.lang,) if args.lang else LANGS
    written = [str(build_workbook(folder / TEMPLATE_FILES[lang], lang)) for lang in langs]
    if args.json:
        print_json({"written": written})
    else:
        print("\n".join(written))
    return 0


def run_template_names(args: argparse.Namespace) -> int:
    from .names import NAMED_CELLS, named_cells_markdown

    if args.json:
        print_json([{"name": c.name, "kind": c.kind, "sheet": c.sheet, "cell": c.ref, "meaning": c.meaning} for c in NAMED_CELLS])
        return 0
    print(named_cells_markdown(), end="")
    return 0


def run_new(args: argparse.Namespace) -> int:
    import sys

    from kpitree.recalculation.io.outputs import OutputError

    from kpitree.errors import UserError

    from .new import new_from_template, new_workbook

    if args.out.suffix.lower() != ".xlsx":
        raise UserError(f"{args.out}: the file name must end in .xlsx")
    note = None
    try:
        if args.template is not None:
            path, note = new_from_template(args.template, args.out, lang=args.lang, months=args.months,
                                           industry=args.industry, revenue=args.revenue, deal_size=args.deal_size,
                                           force=args.force)
        else:
            path = new_workbook(args.out, lang=args.lang or "ja", months=args.months, industry=args.industry,
                                revenue=args.revenue, deal_size=args.deal_size, force=args.force)
    except OutputError:  # about OUT, not the template
        raise
    except UserError as exc:
        raise UserError(f"{args.template}: {exc.en}", ja=f"{args.template}: {exc.ja}") from None
    except FileExistsError:
        from kpitree.udfs.texts import user_error

        raise user_error("template.out_exists", file=args.out) from None
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    if args.json:
        print_json({"written": str(path), "template": None if args.template is None else str(args.template),
                    "note": note})
        return 0
    if note:
        print(f"kpitree new: note: {note}", file=sys.stderr)
    print(path)
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    import sys

    from kpitree.recalculation.io.outputs import OutputError

    from kpitree.errors import UserError

    from .dashboard_openpyxl import rebuild_dashboard

    if not args.workbook.exists():
        raise UserError(f"{args.workbook}: no such file")
    notes: list[str] = []
    try:
        path = rebuild_dashboard(args.workbook, args.out, notes=notes)
    except OutputError:  # already names the file
        raise
    except UserError as exc:
        raise UserError(f"{args.workbook}: {exc.en}", ja=f"{args.workbook}: {exc.ja}") from None
    if args.json:
        print_json({"written": str(path), "workbook": str(args.workbook), "note": notes[0] if notes else None})
        return 0
    for note in notes:
        print(f"kpitree dashboard: note: {note}", file=sys.stderr)
    print(path)
    return 0
