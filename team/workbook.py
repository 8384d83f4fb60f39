"""``kpitree import`` into a team workbook: plan from the data and the workbook's contract, write, recalculate.

:func:`import_exports` reads the exports (:func:`.importer.read_exports`), opens the team
workbook (a kpitree workbook; created from the template when the file does not exist),
plans what changes (:mod:`.plans`) and writes it with openpyxl: the template's named inputs,
the member sheet, the data sheet and the pace block on the dashboard. The file then goes
through the recalculation engine (the dashboard's ``save_atomic``): every formula carries its
value, and the workbook is replaced only once the new one is complete. The exports are never
written; the manager's own targets on the member sheet are kept.

With ``per_member`` it also writes one full 4-sheet workbook per member (that member's data
and targets) into a folder, recalculated in one batch by ``kpitree.recalc``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Lang, load_catalogue
from kpitree.udfs.texts import text, user_error

from .figures import Figures, Pace, alerts, figures, member_target, paces, trend
from .importer import Imported, read_exports
from .measures import KPI_RECIPES, month_bounds, month_key
from .plans import (
    ACTUALS_MARKER,
    TARGETS_MARKER,
    InputsPlan,
    missing_text,
    plan_data_sheet,
    plan_inputs,
    plan_member_sheet,
    plan_pace_block,
    sheet_title,
)
from .xlsx_rows import append_rows

if TYPE_CHECKING:
    from kpitree.workbook_templates.contract import WorkbookFacts

    from .calendar import Calendar

Progress = Callable[[str], None]


@dataclass
class ImportReport:
    """What ``kpitree import`` did: the files read, the rows kept or not, the KPIs written or not."""

    workbook: Path
    lang: Lang
    period: tuple[dt.date, dt.date]
    as_of: dt.date
    imported: Imported
    inputs: InputsPlan
    members: list[str]
    alerts: list[Pace]
    paces: list[Pace]
    created: bool = False
    note: str | None = None
    rejects_file: Path | None = None
    member_files: list[Path] = field(default_factory=list)
    member_errors: list[str] = field(default_factory=list)


def check_period(period: str | None = None, start: dt.date | None = None, end: dt.date | None = None) -> None:
    """The period arguments make sense together (checked before anything is read)."""
    if period is not None and (start is not None or end is not None):
        raise user_error("team.period_both")
    if period is not None and (not re.fullmatch(r"\d{4}-\d{2}", period) or not 1 <= int(period[5:]) <= 12):
        raise user_error("team.bad_period", period=period)
    if (start is None) != (end is None):
        raise user_error("team.period_half")
    if start is not None and end is not None and end < start:
        raise user_error("team.period_order", start=start, end=end)


def resolve_period(data_through: dt.date, period: str | None = None, start: dt.date | None = None,
                   end: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """``--period 2026-04`` or ``--from … --to …``; default: the month of the last day with data."""
    check_period(period, start, end)
    if period is not None:
        return month_bounds(period)
    if start is not None and end is not None:
        return start, end
    return month_bounds(month_key(data_through))


def _facts(wb: Any, values: Any) -> WorkbookFacts:
    from kpitree.workbook_templates.checks import NamedCellError, workbook_problems
    from kpitree.workbook_templates.contract import facts_from_openpyxl

    facts = facts_from_openpyxl(wb, values)
    problems = workbook_problems(facts)
    if problems:
        raise NamedCellError(problems)
    return facts


def data_titles() -> tuple[str, ...]:
    """The data sheet's title in every language."""
    from kpitree.udfs.catalogue import LANGS

    return tuple(sheet_title("team.sheet_data", lang) for lang in LANGS)


def read_rows(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's values (formulas' cached values) as rows, read once in read-only mode."""
    import openpyxl

    from .safety import quiet_reader, safe_members

    safe_members(path)  # within the package limits before openpyxl reads it
    with quiet_reader():
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def load_light(path: Path) -> tuple[Any, Any]:
    """The workbook (formulas) and its cached values, loaded without the data sheet's table rows (see ``xlsx_rows``)."""
    import openpyxl
    from kpitree.workbook_templates.dashboard_openpyxl import load

    from .safety import quiet_reader
    from .xlsx_rows import light_copy

    with tempfile.TemporaryDirectory() as tmp, quiet_reader():
        light = light_copy(path, data_titles(), Path(tmp) / path.name)
        return load(light), openpyxl.load_workbook(light, data_only=True)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def kept_member_targets(rows: list[list[Any]]) -> dict[tuple[str, str], float]:
    """The numbers typed in the member sheet's targets table (formulas are kpitree's defaults: not kept)."""
    kept: dict[tuple[str, str], float] = {}
    marker = next((i for i, r in enumerate(rows) if r and r[0] == TARGETS_MARKER), None)
    if marker is None:
        return kept
    ids = rows[marker]
    for row in rows[marker + 4:]:  # header, team target, split, then members
        if not row or row[0] in (None, "") or row[0] == ACTUALS_MARKER:
            break
        for j in range(1, len(ids)):
            number = _number(row[j] if j < len(row) else None)
            if isinstance(ids[j], str) and number is not None:
                kept[(str(row[0]), ids[j])] = number
    return kept


def team_targets(facts: WorkbookFacts) -> dict[str, Any]:
    return {r.kpi_id: facts.values.get(f"target_{r.kpi_id}") for r in facts.kpi_rows}


def default_member_targets(kpi_ids: list[str], members: list[str], targets: dict[str, Any],
                           kept: dict[tuple[str, str], float]) -> dict[tuple[str, str], Any]:
    cat = load_catalogue()
    out: dict[tuple[str, str], Any] = {}
    for kpi_id in kpi_ids:
        kpi = cat.kpi(kpi_id)
        for member in members:
            out[(member, kpi_id)] = kept.get((member, kpi_id), member_target(kpi, targets.get(kpi_id), len(members)))
    return out


def _write_inputs(wb: Any, facts: WorkbookFacts, values: dict[str, Any]) -> None:
    for name, value in values.items():
        sheet, ref = facts.names[name]
        if isinstance(value, list):
            cells = [c for row in wb[sheet][ref] for c in (row if isinstance(row, tuple) else (row,))]
            for cell, v in zip(cells, value):
                cell.value = v
        else:
            wb[sheet][ref].value = value


def _member_kpis(facts: WorkbookFacts, imported: Imported) -> tuple[list[Any], list[tuple[str, str]]]:
    """Tactical and action KPIs of the workbook the data supports, and (label, why) of those it does not."""
    cat = load_catalogue()
    lang = facts.lang
    kpis, unsupported = [], []
    for row in facts.kpi_rows:
        if row.tier == "strategic" or row.kpi_id not in {k.id for k in cat.kpis}:
            continue
        kpi = cat.kpi(row.kpi_id)
        if row.kpi_id not in KPI_RECIPES:
            unsupported.append((kpi.label(lang), text("team.no_recipe", lang)))
        elif imported.support.kpi_missing(row.kpi_id):
            unsupported.append((kpi.label(lang), missing_text(imported.support.kpi_missing(row.kpi_id), lang)))
        else:
            kpis.append(kpi)
    return kpis, unsupported


def pace_kpis(facts: WorkbookFacts, imported_support: Any) -> list[Any]:
    """The workbook's KPIs whose pace the data gives (every tier)."""
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    return [cat.kpi(r.kpi_id) for r in facts.kpi_rows
            if r.kpi_id in known and r.kpi_id in KPI_RECIPES and imported_support.kpi_ok(r.kpi_id)]


def import_exports(workbook: str | os.PathLike[str], activities: Any = None, opportunities: Any = None, leads: Any = None,
                   *, period: str | None = None, start: dt.date | None = None, end: dt.date | None = None,
                   mapping: Any = None, calendar: Calendar | None = None, rejects: str | os.PathLike[str] | None = None,
                   per_member: str | os.PathLike[str] | None = None, lang: Lang = "ja",
                   progress: Progress | None = None, inputs: Sequence[tuple[str, str | os.PathLike[str]]] = ()) -> ImportReport:
    """``kpitree import``: the exports into the team ``workbook`` (see the module doc); returns an :class:`ImportReport`.

    ``lang`` is the language of a workbook created because ``workbook`` does not exist; an
    existing workbook keeps its own. ``inputs``: other files the import reads, as
    ``(what, path)`` (the mapping file, the holidays file): no output may be one of them,
    nor an export (:func:`.safety.check_outputs`, before anything is read).
    """
    from .safety import check_outputs, check_replaceable, named_inputs

    say = progress or (lambda _msg: None)
    target = Path(workbook)
    if target.suffix.lower() != ".xlsx":
        raise user_error("team.not_xlsx", file=target)
    if not target.resolve().parent.is_dir():
        raise user_error("team.no_folder", folder=target.resolve().parent)
    check_period(period, start, end)
    sources = [*named_inputs([("--activities", activities), ("--opportunities", opportunities), ("--leads", leads),
                              ("--map", mapping)]), *inputs]
    outputs: list[tuple[str, str | os.PathLike[str]]] = [("--into", target)]
    if rejects is not None:
        outputs.append(("--rejects", rejects))
    check_outputs(outputs, sources)
    if per_member is not None and os.path.exists(per_member) and not os.path.isdir(per_member):
        raise user_error("team.per_member_file", folder=per_member)  # before the team workbook is written
    check_replaceable(target)
    if rejects is not None:
        from kpitree.workbook_templates.folders import check_folder

        check_folder(rejects)
        check_replaceable(rejects)
    say(text("team.progress_reading", lang))
    imported = read_exports(activities, opportunities, leads, mapping=mapping, calendar=calendar)
    if per_member is not None:  # every member's file, before the team workbook is written
        names = member_file_names(target.stem, imported.data.members)
        check_outputs([*outputs, *(("--per-member", Path(per_member) / f"{n}.xlsx") for n in names)], sources)
    if target.exists():
        report = write_team_workbook(target, imported, period=period, start=start, end=end, progress=say)
    else:  # a new workbook appears only once the import into it succeeded
        from kpitree.workbook_templates import new_workbook

        say(text("team.progress_creating", lang, file=target))
        from kpitree.recalculation.io.outputs import TEMP_PREFIX, atomic_path

        with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX, dir=target.resolve().parent) as tmp:
            staged = Path(tmp) / target.name  # a message about it names the user's file
            new_workbook(staged, lang=lang, months=12)
            report = write_team_workbook(staged, imported, period=period, start=start, end=end, progress=say)
            with atomic_path(target, suffix=".xlsx") as placed:  # a new file: the mode the umask gives
                os.replace(staged, placed)
        report.workbook, report.created = target, True
    if rejects is not None:
        report.rejects_file = write_rejects(Path(rejects), imported, report.lang)
    if per_member is not None:
        say(text("team.progress_members", report.lang, count=len(report.members)))
        report.member_files, report.member_errors = write_member_workbooks(target, Path(per_member), imported, report)
    return report


def write_team_workbook(target: Path, imported: Imported, *, period: str | None = None, start: dt.date | None = None,
                        end: dt.date | None = None, progress: Progress | None = None) -> ImportReport:
    """Plan and write the team workbook ``target`` from ``imported`` (the exports already read)."""
    from kpitree.workbook_templates.dashboard_openpyxl import save_atomic

    from . import sheets

    say = progress or (lambda _msg: None)
    wb, values = load_light(target)  # the data sheet is written anew below
    facts = _facts(wb, values)
    lang = facts.lang
    data = imported.data
    first, last = resolve_period(data.data_through, period, start, end)
    fig = figures(data, first, last, imported.days)
    if fig.elapsed == 0:
        raise user_error("team.no_data_in_period", start=first, end=last, data_from=data.data_from, data_through=data.data_through)
    say(text("team.progress_planning", lang))
    trend_rows = trend(data, month_key(last))
    inputs = plan_inputs(facts, data, fig, trend_rows, lang)
    _write_inputs(wb, facts, inputs.values)
    kpis, unsupported = _member_kpis(facts, imported)
    members_title = sheet_title("team.sheet_members", lang)
    old_rows = sheets.sheet_rows(wb[members_title]) if members_title in wb.sheetnames else []
    kept = kept_member_targets(old_rows)
    targets = team_targets(facts)
    member_plan = plan_member_sheet(lang, kpis, fig, kept, unsupported, after=_dashboard(lang))
    sheets.apply(wb, member_plan)
    data_plan = plan_data_sheet(lang, data, after=members_title)
    sheets.apply(wb, data_plan, rows=False)  # its table is appended after the recalculation (xlsx_rows)
    watch = _number(facts.values.get("status_watch_from")) or 0.8
    every = pace_kpis(facts, imported.support)
    member_goals = default_member_targets([k.id for k in kpis], fig.members, targets, kept)
    items = paces(every, fig, targets, member_goals)
    low = alerts(items, watch)
    sheets.apply(wb, plan_pace_block(lang, _dashboard(lang), items, low, fig, watch))
    say(text("team.progress_saving", lang))
    note = save_atomic(wb, target, source=target)  # the charts as they were, not as openpyxl redraws them
    say(text("team.progress_data", lang, rows=len(data_plan.rows)))
    append_rows(target, data_plan.sheet, data_plan.rows, data_plan.first_row + 1, skip_zero_from=3)
    return ImportReport(target, lang, (first, last), fig.as_of, imported, inputs, fig.members, low, items, note=note)


def _dashboard(lang: Lang) -> str:
    from kpitree.workbook_templates.spec import SHEETS

    return SHEETS[lang][3]


def write_rejects(path: Path, imported: Imported, lang: Lang) -> Path:
    """The rejected rows as CSV (UTF-8 with BOM, so Excel opens it): table, file, row, reason, column, value."""
    import pandas as pd

    heads = list(text_list_of("team.rejects_cols", lang))
    from .records import REASONS

    rows = [(table, as_text(file), line, text(REASONS[reason], lang), as_text(column), as_text(value))
            for table, file, line, reason, column, value in imported.rejects.rows]
    frame = pd.DataFrame(rows, columns=heads)
    from kpitree.recalculation.io.outputs import atomic_path

    with atomic_path(path, suffix=".csv") as tmp:  # mode and links of a replaced file kept; a new one: the umask's mode
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """A cell of the rejects CSV that Excel would read as a formula (``=HYPERLINK(…)``, ``+81…``), quoted as text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def text_list_of(key: str, lang: Lang) -> tuple[str, ...]:
    from kpitree.udfs.texts import text_list

    return text_list(key, lang)


def safe_name(member: str) -> str:
    """A member's name as a file name: characters Windows forbids become ``_``."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", member).strip(" .")
    return cleaned or "_"


MAX_NAME_BYTES = 200  # a file name's bytes, room left for ".xlsx" and the engine's temporary suffix (255 on most systems)


def member_file_name(stem: str, member: str, used: set[str]) -> str:
    """The file name (without ``.xlsx``) of a member's workbook: ``<team>_<member>``, shortened, unique in ``used``."""
    base = f"{stem}_{safe_name(member)}"
    while len(base.encode("utf-8")) > MAX_NAME_BYTES:
        base = base[:-1]
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def member_file_names(stem: str, members: Sequence[str]) -> list[str]:
    used: set[str] = set()
    return [member_file_name(stem, m, used) for m in members]


def _member_figures(fig: Figures, member: str) -> Figures:
    rows = fig.rows.loc[[member]]
    q_rows = fig.q_rows.loc[[member]]
    return Figures(fig.start, fig.end, fig.as_of, fig.elapsed, fig.total, rows, fig.q_start, fig.q_end, fig.q_elapsed,
                   fig.q_total, q_rows, [member])


def write_member_workbooks(team_file: Path, folder: Path, imported: Imported, report: ImportReport) -> tuple[list[Path], list[str]]:
    """One 4-sheet workbook per member in ``folder``, recalculated in one batch; (files, errors)."""
    import openpyxl
    from kpitree.workbook_templates.dashboard_openpyxl import restore_dynamic_arrays
    from kpitree.workbook_templates.spec import SHEETS

    import kpitree

    from .data import TeamData

    folder.mkdir(parents=True, exist_ok=True)
    lang = report.lang
    wb = openpyxl.load_workbook(team_file)
    values = openpyxl.load_workbook(team_file, data_only=True)
    facts = _facts(wb, values)
    for name in list(wb.sheetnames):
        if name not in SHEETS[lang]:
            wb.remove(wb[name])
    from kpitree.workbook_templates.contract import parse_reference

    for name, defined in list(wb.defined_names.items()):  # names of the removed sheets (team_members) go with them
        place = parse_reference(defined.attr_text or "")
        if place is not None and place[0] not in SHEETS[lang]:
            del wb.defined_names[name]
    data = imported.data
    fig = figures(data, *report.period, imported.days)
    targets = team_targets(facts)
    kept = kept_member_targets(_rows_of(values, sheet_title("team.sheet_members", lang)))
    kpi_ids = [k.id for k in _member_kpis(facts, imported)[0]]
    goals = default_member_targets(kpi_ids, fig.members, targets, kept)
    cat = load_catalogue()
    stem = team_file.stem
    with tempfile.TemporaryDirectory(prefix=".kpitree-members.", dir=folder) as tmp:
        staged = []
        used: set[str] = set()
        for member in fig.members:
            one = _member_figures(fig, member)
            member_data = TeamData(data.table[data.table["member"] == member], data.data_from, data.data_through,
                                   data.calendar, data.support, data.mapping, data.sources)
            trend_rows = trend(member_data, month_key(report.period[1]))
            plan = plan_inputs(facts, member_data, one, trend_rows, lang)
            _write_inputs(wb, facts, plan.values)
            for kpi_id, team_goal in targets.items():
                name = f"target_{kpi_id}"
                if name not in facts.names or kpi_id not in {k.id for k in cat.kpis}:
                    continue
                goal = goals.get((member, kpi_id), member_target(cat.kpi(kpi_id), team_goal, len(fig.members)))
                sheet, ref = facts.names[name]
                wb[sheet][ref].value = goal
            name = member_file_name(stem, member, used)
            path = Path(tmp) / f"{name}.xlsx"
            wb.save(path)
            restore_dynamic_arrays(path)
            staged.append(path)
        frame = kpitree.recalc(staged, out=folder, report=False, progress=False)
    files, errors = [], []
    for file, error in zip(frame["file"], frame["error"]):
        if error:
            errors.append(f"{Path(file).name}: {error}")
        else:
            out = folder / Path(file).name
            restore_dynamic_arrays(out)
            files.append(out)
    return files, errors


def _rows_of(wb: Any, title: str) -> list[list[Any]]:
    from . import sheets

    return sheets.sheet_rows(wb[title]) if title in wb.sheetnames else []


def summary_rows(report: ImportReport) -> list[tuple[str, str, str]]:
    """One row per KPI of the workbook: label, written or kept, why."""
    cat = load_catalogue()
    lang = report.lang
    rows = [(cat.kpi(k).label(lang), text("team.kpi_written", lang), "") for k in report.inputs.computed]
    rows += [(cat.kpi(k).label(lang) if k in {x.id for x in cat.kpis} else k, text("team.kpi_kept", lang), why)
             for k, why in report.inputs.kept]
    return rows
