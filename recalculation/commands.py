"""``kpitree recalc``: recalculate workbooks or run scenarios over a template, without Excel.

Exit codes: 0 every workbook recalculated cleanly; 1 at least one workbook has an
``error`` (unreadable, circular, #NAME?/#REF! ...; the others were still written);
2 a usage problem found before anything ran (bad arguments, a scenario column that
names no input); 130 interrupted (no partial output file is left).

This module uses the engine's public API only (:func:`kpitree.recalculation.recalc`,
its options and errors).
"""

from __future__ import annotations

import argparse
import os
import sys

from kpitree.cli_support import positive_int
from kpitree.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recalc",
        help="recalculate workbooks (or a template over scenarios) without Excel",
        description="Recalculate every workbook given (files or folders) and write each to --out/<name>, "
        "with only the cached values of formula cells changed; or, with --scenarios, run one template over "
        "a table of named inputs and write every named output per row to --summary.",
        epilog="examples:\n"
        "  kpitree recalc teams/ --out recalculated/ --summary month.csv\n"
        "  kpitree recalc template.xlsx --scenarios what_if.csv --summary what_if_out.csv\n"
        "exit codes: 0 all clean, 1 some workbook has an error (see the summary's error column and stderr), "
        "2 usage error, 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="FILE_OR_DIR", help="workbooks (.xlsx/.xlsm) or folders of them")
    p.add_argument("--out", metavar="DIR", help="folder for the recalculated copies (files mode)")
    p.add_argument("--summary", metavar="FILE", help="summary table: .csv, .xlsx or .parquet")
    p.add_argument("--scenarios", metavar="INPUTS", help="table (.csv/.xlsx/.parquet) whose columns name input cells of the template")
    p.add_argument("--jobs", type=positive_int, metavar="N", help="worker processes, 1 or more (default: one per CPU for large batches)")
    p.add_argument("--general", action="store_true", help=argparse.SUPPRESS)  # debugging: skip the fast path
    p.set_defaults(run=run_recalc)


def _check_arguments(args: argparse.Namespace) -> None:
    """Usage problems found before anything runs (exit code 2)."""
    from kpitree.recalculation import SUMMARY_SUFFIXES

    if args.summary and os.path.splitext(args.summary)[1].lower() not in SUMMARY_SUFFIXES:
        raise UserError("--summary must end in .csv, .xlsx or .parquet")
    if args.scenarios:
        if len(args.sources) != 1:
            raise UserError("--scenarios takes exactly one template workbook")
        if not args.summary:
            raise UserError("--scenarios needs --summary OUT.csv")
        return
    if not args.out and not args.summary:
        raise UserError("give --out DIR (recalculated copies) and/or --summary FILE")
    missing = [s for s in args.sources if not os.path.exists(s)]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")


def run_recalc(args: argparse.Namespace) -> int:
    from kpitree.recalculation import WorkbookError, recalc

    _check_arguments(args)
    if args.scenarios:
        try:
            frame = recalc(args.sources[0], scenarios=args.scenarios, summary=args.summary, general=args.general)
        except (ValueError, OSError) as exc:
            raise UserError(str(exc)) from None
        except WorkbookError as exc:
            print(f"kpitree recalc: {args.sources[0]}: {exc}", file=sys.stderr)
            return 1
        failed = int((frame["error"] != "").sum())
        print(f"{len(frame)} scenario(s) via the {frame.attrs['path']} path -> {args.summary}", file=sys.stderr)
        if failed:
            print(f"kpitree recalc: {failed} scenario(s) with #NAME?/#REF! (see the error column)", file=sys.stderr)
        return 1 if failed else 0

    try:
        frame = recalc(args.sources, args.out, summary=args.summary, jobs=args.jobs or (os.cpu_count() or 1),
                       general=args.general)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    failed = int((frame["error"] != "").sum())
    paths = frame["path"].value_counts()
    print(f"{len(frame)} workbook(s): {paths.get('fast', 0)} fast, {paths.get('general', 0)} general, {failed} with errors",
          file=sys.stderr)
    return 1 if failed else 0
