"""``kpitree import``, ``kpitree review`` and ``kpitree sample``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.cli_support import add_json, add_lang, positive_int, print_json, print_table, printable

if TYPE_CHECKING:
    from kpitree.udfs.catalogue import Lang

    from .calendar import Calendar
    from .workbook import ImportReport

MAX_LISTED = 10  # rejects and alerts listed in the terminal; the rest: --rejects FILE, the review sheet, --json

IMPORT_EPILOG = """\
examples:
  kpitree import --activities calls.csv --opportunities deals.csv --leads leads.csv --into team.xlsx
  kpitree import --activities report.xlsx --into team.xlsx --period 2026-04 --map salesforce
  kpitree import --activities log.csv --into team.xlsx --from 2026-04-01 --to 2026-04-15 --map my_sfa.toml

The standard format (columns date/日付, member/担当者, type/種別, result/結果, duration_min, …), the presets
(kpitree, salesforce, hubspot, japanese_log) and the mapping file are described in docs/team.md.
CSV in UTF-8, UTF-8 with BOM, UTF-16 with BOM or cp932 (Shift_JIS), or xlsx. Dates as 2026/4/1, 2026/4/1(水),
2026年4月1日, 2026-04-01, 20260401 or Excel serial numbers; amounts as 1,200,000, 120万円 or 1億2000万; full-width digits are fine.
"""


def _date(text: str) -> dt.date:
    from .jp import parse_date

    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write 2026-04-01 or 2026/4/1)")
    return day


def _add_calendar(p: argparse.ArgumentParser, stored: bool = False) -> None:
    default = " (default: the calendar the import used)" if stored else " (default)"
    p.add_argument("--calendar", choices=("jp", "weekdays"), default=None if stored else "jp",
                   help=f"working days for pace and forecasts: jp = Mon–Fri minus Japanese public holidays{'' if stored else default}, "
                        f"weekdays = Mon–Fri{default if stored else ''}")
    p.add_argument("--holidays", type=Path, metavar="FILE",
                   help="company holidays to take off as well (年末年始, お盆…): a text or CSV file, one date per line")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import CRM/SFA exports into a team workbook: per-member KPIs, pace and alerts",
        description="Read CRM/SFA exports (activities, opportunities, leads) and write the team workbook: the template's "
        "actuals for the period, a member sheet (targets, actuals, achievement, spread, top performer, bottleneck), "
        "the data the reviews read, and the pace and alert block on the dashboard. The exports are never changed; "
        "unreadable rows are counted and listed, duplicated ids counted once.",
        epilog=IMPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--activities", type=Path, metavar="FILE", help="calls, emails, meetings, follow-ups (CSV or xlsx)")
    p.add_argument("--opportunities", type=Path, metavar="FILE", help="opportunities / deals (CSV or xlsx)")
    p.add_argument("--leads", type=Path, metavar="FILE", help="leads / contacts with MQL and SQL status (CSV or xlsx)")
    p.add_argument("--into", type=Path, required=True, metavar="TEAM.xlsx",
                   help="the team workbook (created from the template when it does not exist)")
    p.add_argument("--period", metavar="YYYY-MM", help="the month to write (default: the month of the last day with data)")
    p.add_argument("--from", dest="start", type=_date, metavar="DATE", help="first day of a period other than a month")
    p.add_argument("--to", dest="end", type=_date, metavar="DATE", help="last day of that period")
    p.add_argument("--map", metavar="PRESET|FILE", default="auto",
                   help="column mapping: auto (default: the preset that recognises the most columns), kpitree, "
                        "salesforce, hubspot, japanese_log, or a mapping file (.toml)")
    _add_calendar(p)
    p.add_argument("--rejects", type=Path, metavar="FILE", help="write the rows that could not be read to this CSV")
    p.add_argument("--per-member", type=Path, metavar="DIR",
                   help="also write one full 4-sheet workbook per member into DIR, recalculated in one batch")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_lang(p)
    add_json(p)
    p.set_defaults(run=run_import)

    r = sub.add_parser(
        "review", help="add or refresh a weekly or monthly review sheet in a team workbook",
        description="Add or refresh a review sheet laid out as the weekly or monthly meeting's agenda: KPIs against "
        "target with gap and status, yellow columns for highlights, causes and actions (kept when the sheet is "
        "refreshed), the member × KPI heat map, the bottleneck, and this month's pace with the alert list "
        "(also refreshed on the dashboard). Reads only the workbook: run `kpitree import` first.",
        epilog="examples:\n  kpitree review team.xlsx                    # the last complete week\n"
               "  kpitree review team.xlsx --week 2026-W15\n  kpitree review team.xlsx --month 2026-04 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("workbook", type=Path, metavar="TEAM.xlsx")
    when = r.add_mutually_exclusive_group()
    when.add_argument("--week", metavar="YYYY-Www", help="an ISO week, e.g. 2026-W15 (default: the last complete week)")
    when.add_argument("--month", metavar="YYYY-MM", help="a month, e.g. 2026-04: the monthly review")
    _add_calendar(r, stored=True)
    add_lang(r)
    r.add_argument("--json", action="store_true",
                   help="print the review as JSON (KPIs, members, bottleneck, pace, alerts) for scripts to send on")
    r.set_defaults(run=run_review)

    s = sub.add_parser(
        "sample", help="write a sample CRM/SFA export (8 members, 12 months, with the quirks real exports have)",
        description="Write deterministic sample exports: activities, opportunities and leads of an inside-sales team, "
        "in the kpitree standard format with Japanese headers in cp932 (default), or shaped like Salesforce's or "
        "HubSpot's exports, or as xlsx. A few rows have unreadable dates or amounts, some are exported twice and "
        "some have no owner — the import reports them.")
    s.add_argument("folder", type=Path, metavar="DIR")
    s.add_argument("--style", choices=("kpitree", "salesforce", "hubspot", "xlsx"), default="kpitree")
    s.add_argument("--members", type=positive_int, default=8, help="team size (default 8, with Japanese names)")
    s.add_argument("--variant", type=int, default=13, help="another number gives another team with the same flaws; the "
                   "same number writes the same files (default 13)")
    s.add_argument("--force", action="store_true", help="overwrite sample files already in DIR")
    add_lang(s)
    s.set_defaults(run=run_sample)


def calendar_from(args: argparse.Namespace) -> Calendar | None:
    """The calendar the arguments ask for; None when they ask for none (a review: the import's own)."""
    from kpitree.errors import UserError

    from .calendar import make_calendar

    if args.calendar is None and args.holidays is None:
        return None
    try:
        return make_calendar(args.calendar or "jp", args.holidays)
    except (OSError, ValueError) as exc:
        raise UserError(f"--holidays: {exc}") from None


def mapping_from(name: str) -> Any:
    """``--map``: None (auto), a preset or a mapping file; a file that is missing or not a mapping is one message."""
    from kpitree.errors import UserError

    from .mapping import mapping_for

    try:
        return mapping_for(name)
    except UserError:  # already names the file and the key
        raise
    except OSError as exc:
        raise UserError(f"--map {name}: {exc.strerror or exc}") from None
    except (KeyError, ValueError) as exc:
        raise UserError(f"--map {name}: {exc.args[0] if exc.args else exc}") from None


def run_import(args: argparse.Namespace) -> int:
    from kpitree.errors import UserError

    from .workbook import import_exports

    if args.activities is None and args.opportunities is None and args.leads is None:
        raise UserError("give at least one export: --activities, --opportunities or --leads")
    quiet = args.quiet or args.json

    def progress(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    report = import_exports(args.into, args.activities, args.opportunities, args.leads, period=args.period,
                            start=args.start, end=args.end, mapping=mapping_from(args.map), calendar=calendar_from(args),
                            rejects=args.rejects, per_member=args.per_member, lang=args.lang, progress=progress,
                            inputs=[*([("--map", args.map)] if Path(args.map).is_file() else []),
                                    *([("--holidays", args.holidays)] if args.holidays is not None else [])])
    if args.json:
        print_json(import_json(report))
    else:
        print_import(report, args.lang)
    return 0


def import_json(report: ImportReport) -> dict[str, Any]:
    """``kpitree import --json``: what was read, written, kept and alerted."""
    imported = report.imported
    return {
        "workbook": str(report.workbook), "created": report.created,
        "period": {"start": report.period[0].isoformat(), "end": report.period[1].isoformat()},
        "data_through": imported.data.data_through.isoformat(), "mapping": imported.mapping.id,
        "files": [{"table": r.table, "file": r.file, "encoding": r.encoding, "rows": r.rows, "kept": r.kept,
                   "rejected": r.rejected, "duplicates": r.duplicates, "no_member": r.unassigned, "columns": r.columns,
                   "unknown_values": r.unknown_values} for r in imported.reports.values()],
        "rejects": [{"table": t, "file": f, "row": n, "reason": why, "column": c, "value": v}
                    for t, f, n, why, c, v in imported.rejects.rows],
        "kpis_from_data": list(report.inputs.computed),
        "kpis_kept": [{"kpi": k, "why": why} for k, why in report.inputs.kept],
        "members": report.members, "alerts": [p.as_dict() for p in report.alerts],
        "rejects_file": None if report.rejects_file is None else str(report.rejects_file),
        "member_workbooks": [str(p) for p in report.member_files], "member_errors": report.member_errors,
        "note": report.note,
    }


def print_import(report: ImportReport, lang: Lang) -> None:
    from kpitree.udfs.texts import text, text_list

    from .records import REASONS
    from .workbook import summary_rows

    imported = report.imported
    rows = [(r.table, r.file, r.encoding, f"{r.rows:,}", f"{r.kept:,}", f"{r.rejected:,}", f"{r.duplicates:,}",
             f"{r.unassigned:,}") for r in imported.reports.values()]
    print_table(text("team.cli_files_title", lang, mapping=imported.mapping.label(lang)), text_list("team.cli_files_heads", lang),
                rows, right=(3, 4, 5, 6, 7))
    for r in imported.reports.values():
        for name, values in r.unknown_values.items():
            listed = ", ".join(f"{printable(v)} ({n})" for v, n in list(values.items())[:5])
            print(text("team.cli_unknown", lang, table=r.table, field=name, values=listed))
    for _t, f, n, reason, c, v in imported.rejects.rows[:MAX_LISTED]:  # cells of the export: escaped
        print(text("team.cli_reject" if c else "team.cli_reject_row", lang, file=printable(Path(f).name), row=n,
                   reason=text(REASONS[reason], lang), column=printable(c), value=printable(v)))
    if len(imported.rejects) > MAX_LISTED:
        print(text("team.cli_more_rejects", lang, count=len(imported.rejects) - MAX_LISTED))
    print_table(text("team.cli_kpis_title", lang, start=report.period[0].isoformat(), end=report.period[1].isoformat(),
                     as_of=report.as_of.isoformat()), text_list("team.cli_kpis_heads", lang), summary_rows(report))
    print_alerts(report.alerts, lang)
    if report.rejects_file is not None:
        print(text("team.cli_rejects_written", lang, path=printable(report.rejects_file)))
    if report.member_files or report.member_errors:
        print(text("team.cli_members_written", lang, count=len(report.member_files),
                   folder=printable(report.member_files[0].parent) if report.member_files else ""))
        for error in report.member_errors:
            print(text("cli.bullet", lang, item=printable(error)))
    if report.note:
        print(f"kpitree import: note: {printable(report.note)}", file=sys.stderr)
    print(text("demo.written", lang, path=printable(report.workbook)))


def print_alerts(alerts: list[Any], lang: Lang) -> None:
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.texts import text, text_list

    cat = load_catalogue()
    if not alerts:
        print(text("team.no_alerts", lang))
        return
    rows = [(text("team.team", lang) if p.member is None else (p.member or text("team.unassigned", lang)),
             cat.kpi(p.kpi_id).label(lang), _fmt(p.forecast, cat.kpi(p.kpi_id).unit), _fmt(p.target, cat.kpi(p.kpi_id).unit),
             f"{p.pace:.0%}") for p in alerts[:MAX_LISTED]]
    print_table(text("team.cli_alerts_title", lang, count=len(alerts)), text_list("team.alert_cols", lang), rows,
                right=(2, 3, 4))
    if len(alerts) > MAX_LISTED:
        print(text("team.cli_more_alerts", lang, count=len(alerts) - MAX_LISTED))


def _fmt(value: Any, unit: str = "count") -> str:
    """A value as the terminal shows it: rates in %, amounts in yen, counts with one decimal."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "currency":
        return f"¥{value:,.0f}"
    return f"{value:,.1f}"


def run_review(args: argparse.Namespace) -> int:
    from kpitree.udfs.texts import text, text_list

    from .reviewing import review_workbook

    result = review_workbook(args.workbook, week=args.week, month=args.month, calendar=calendar_from(args))
    review = result.review
    if args.json:
        print_json({"workbook": str(result.workbook), "sheet": result.sheet, **review.as_dict()})
        return 0
    lang = args.lang
    from kpitree.udfs.catalogue import load_catalogue

    cat = load_catalogue()
    rows = [(line.label, _fmt(line.target, cat.kpi(line.kpi_id).unit), _fmt(line.actual, cat.kpi(line.kpi_id).unit),
             _fmt(line.achievement, "rate"), line.status) for line in review.lines]
    print_table(text("team.cli_review_title", lang, sheet=result.sheet, as_of=review.as_of.isoformat()),
                text_list("team.cli_review_heads", lang), rows, right=(1, 2, 3))
    b = review.bottleneck
    if b is not None:
        print(text("demo.bottleneck", lang, label=b["label"], cause=b["cause"], action=b["action"]))
    print_alerts(review.alerts, lang)
    if result.note:
        print(f"kpitree review: note: {printable(result.note)}", file=sys.stderr)
    print(text("demo.written", lang, path=printable(f"{result.workbook} [{result.sheet}]")))
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from kpitree.udfs.texts import text

    from .sample import MEMBERS, write_sample

    members: int | tuple[str, ...] = MEMBERS if args.members == len(MEMBERS) else args.members
    files = write_sample(args.folder, args.style, members=members, seed=args.variant, force=args.force)
    for path in files.values():
        print(printable(path))
    print(printable(text("team.cli_sample_next", args.lang, activities=files["activities"],
                         opportunities=files["opportunities"], leads=files["leads"])))
    return 0
