"""``kpitree share``: the portable copy of a workbook (no add-in, no macros, live everywhere)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpitree.cli_support import add_json, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "share", help="write a portable copy: KPI_* functions replaced by Excel's own, no add-in needed",
        description="Write a copy of WORKBOOK in which every KPI_* call is replaced by Excel's own functions giving the "
        "same result (bad input included), so the copy stays live - inputs editable, everything recalculated - in any "
        "Excel since 2010 (Windows, Mac, web, mobile), LibreOffice and Google Sheets, without the add-in, macros or "
        "Python. Tables (KPI_STAGE_RECOMMEND, KPI_BOTTLENECK) and forecast series (KPI_MAPE, ...) work over a hidden, "
        "protected lookup sheet the copy carries. The external links to kpitree.xlam and any VBA are left out; "
        "defined names are kept (kpitree recalc and scripts address the copy as the original). WORKBOOK is never "
        "written.",
        epilog="examples: kpitree share team.xlsx                      (writes team_共有用.xlsx, or team_shared.xlsx for an "
        "English workbook)\n          kpitree share team.xlsx --out for_sharepoint.xlsx",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workbook", type=Path, help="the workbook (.xlsx or .xlsm) to copy")
    p.add_argument("--out", type=Path, metavar="COPY.xlsx",
                   help="where to write the copy (default: next to WORKBOOK, <name>_共有用.xlsx or <name>_shared.xlsx; "
                   "never a name that exists)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (atomically, keeping its mode and links)")
    add_json(p)
    p.set_defaults(run=run_share)


def run_share(args: argparse.Namespace) -> int:
    from . import default_out, share

    if not args.workbook.is_file():
        raise FileNotFoundError(2, "no such file", str(args.workbook))
    out = args.out if args.out is not None else default_out(args.workbook)
    report = share(args.workbook, out, force=args.force or args.out is None)
    if args.json:
        print_json(report.as_dict())
        return 0
    for note in report.notes:
        print(f"kpitree share: note: {note}", file=sys.stderr)
    calls = ", ".join(f"{name} {count}" for name, count in sorted(report.calls.items())) or "none"
    print(report.out)
    print(f"KPI_* calls replaced: {report.replaced} ({calls}); external links to the add-in removed: {report.links_removed}"
          f"{'; VBA removed' if report.vba_removed else ''}"
          f"{f'; lookup sheet {report.lookup_sheet} (hidden, protected)' if report.lookup_sheet else ''}")
    return 0
