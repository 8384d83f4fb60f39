"""``kpitree recalc``: recalculate workbooks or run scenarios over a template, without Excel.

Exit codes: 0 every workbook recalculated cleanly; 1 at least one workbook has an
``error`` (unreadable, circular, #NAME?/#REF! ...; the others were still written);
2 a usage problem found before anything ran (bad arguments, an output that would
overwrite an input, a scenario column that names no input); 130 interrupted (Ctrl-C),
143 and 129 ended by SIGTERM and SIGHUP (no partial output file is left, workers stop).

This module uses the engine's public API only (:func:`kpitree.recalculation.recalc`,
its options and errors).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from typing import Any

from kpitree.cli_support import add_json, positive_int, print_json
from kpitree.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recalc",
        help="recalculate workbooks (or a template over scenarios) without Excel",
        description="Recalculate every workbook given (files or folders) and write each to --out/<name>, "
        "with only the cached values of formula cells changed; or, with --scenarios, run one template over "
        "a table of named inputs and write every named output per row to --summary.\n\n"
        "Inputs are never written: an output that is an input under any name (a link, ..) is refused. "
        "A file that cannot be read gets one summary row saying why; the others go on. Subfolders of a "
        "folder are searched with --recursive (copies keep their relative path), else each is noted.",
        epilog="examples:\n"
        "  kpitree recalc teams/ --out recalculated/ --summary month.csv\n"
        "  kpitree recalc teams/ --recursive --out recalculated/ --summary month.xlsx --jobs 4\n"
        "  kpitree recalc template.xlsx --scenarios what_if.csv --summary what_if_out.csv\n"
        "scenario CSVs may be UTF-8 (with or without BOM), UTF-16 or cp932 (Shift_JIS, Japanese Excel's CSV).\n"
        "summary CSVs are written with a UTF-8 BOM (Japanese Excel opens them as they are) unless --no-bom;\n"
        "text that a spreadsheet would run as a formula (=, +, -, @ first) is written as text, see docs/recalc.md.\n"
        "exit codes: 0 all clean, 1 some workbook has an error (see the summary's error column and stderr), "
        "2 usage error, 130 interrupted (143 SIGTERM, 129 SIGHUP)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="FILE_OR_DIR", help="workbooks (.xlsx/.xlsm) or folders of them")
    p.add_argument("--out", metavar="DIR", help="folder for the recalculated copies (files mode)")
    p.add_argument("--summary", metavar="FILE", help="summary table: .csv, .xlsx or .parquet")
    p.add_argument("--scenarios", metavar="INPUTS", help="table (.csv/.xlsx/.parquet) whose columns name input cells of the template")
    p.add_argument("--recursive", "-r", action="store_true", help="also search the subfolders of folders given")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="worker processes, 1 or more (default: as many as the batch gains from, at most one per CPU)")
    p.add_argument("--no-bom", dest="bom", action="store_false",
                   help="write a .csv summary without the UTF-8 byte-order mark (for tools that do not expect one)")
    add_json(p)
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
        if not os.path.exists(args.scenarios):
            raise UserError(f"no such file: {args.scenarios}")
        if args.recursive or args.out:
            raise UserError("--scenarios writes only --summary; --out and --recursive are for files mode")
        return
    if not args.out and not args.summary:
        raise UserError("give --out DIR (recalculated copies) and/or --summary FILE")
    missing = [s for s in args.sources if not os.path.exists(s)]
    if missing:
        dangling = [s for s in missing if os.path.islink(s)]
        what = f"a link to a missing file: {', '.join(dangling)}" if dangling else f"no such file or folder: {', '.join(missing)}"
        raise UserError(what)


def _jobs(args: argparse.Namespace) -> int | None:
    from kpitree.recalculation.workers import cpu_count

    cpus = cpu_count()
    if args.jobs is None:
        return None  # the batch's size decides: workers only when they gain
    if args.jobs > cpus:
        print(f"kpitree recalc: note: --jobs {args.jobs} is more than the {cpus} CPU(s) here; using {cpus} "
              "(more processes than CPUs only add memory and switching)", file=sys.stderr)
        return cpus
    return int(args.jobs)


def run_recalc(args: argparse.Namespace) -> int:
    _check_arguments(args)  # before the engine is imported: a usage error costs no numpy
    from kpitree.recalculation import WorkbookError
    from kpitree.recalculation import summary_table as recalc

    if args.scenarios:
        try:
            frame = recalc(args.sources[0], scenarios=args.scenarios, summary=args.summary, general=args.general,
                           bom=args.bom)
        except (ValueError, OSError) as exc:
            raise UserError(str(exc)) from None
        except WorkbookError as exc:
            print(f"kpitree recalc: {args.sources[0]}: {exc}", file=sys.stderr)
            return 1
        failed = sum(1 for e in frame["error"] if e != "")
        if args.json:
            print_json({"mode": "scenarios", "template": args.sources[0], "scenarios": len(frame),
                        "path": frame.attrs["path"], "general_because": frame.attrs.get("general_because", ""),
                        "errors": failed, "summary": args.summary,
                        "encoding": frame.attrs.get("encoding"), "notes": frame.attrs.get("notes", [])})
        else:
            because = frame.attrs.get("general_because", "")
            print(f"{len(frame)} scenario(s) via the {frame.attrs['path']} path" + (f" ({because})" if because else "")
                  + f" -> {args.summary}", file=sys.stderr)
        if failed:
            print(f"kpitree recalc: {failed} scenario(s) with an error: an input that is not a number, or #NAME?/#REF! "
                  "(see the error column)", file=sys.stderr)
        return 1 if failed else 0

    try:
        frame = recalc(args.sources, args.out, summary=args.summary, jobs=_jobs(args), general=args.general,
                       recursive=args.recursive, bom=args.bom)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    failed = sum(1 for e in frame["error"] if e != "")
    paths = collections.Counter(frame["path"])
    if args.json:
        print_json(_files_json(frame, args, failed))
    else:
        print(f"{len(frame)} workbook(s): {paths.get('fast', 0)} fast, {paths.get('general', 0)} general, {failed} with errors",
              file=sys.stderr)
    return 1 if failed else 0


def _files_json(frame: Any, args: argparse.Namespace, failed: int) -> dict[str, Any]:
    paths = collections.Counter(frame["path"])
    return {
        "mode": "files", "workbooks": len(frame), "fast": int(paths.get("fast", 0)), "general": int(paths.get("general", 0)),
        "errors": failed, "out": args.out, "summary": args.summary, "notes": frame.attrs.get("notes", []),
        "failed": [{"file": f, "error": e} for f, e in zip(frame["file"], frame["error"]) if e != ""],
        "general_because": [{"file": f, "because": b} for f, p, b in zip(frame["file"], frame["path"], frame["general_because"])
                            if p == "general"],
    }
