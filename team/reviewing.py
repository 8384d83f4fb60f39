"""``kpitree review``: add or refresh a weekly or monthly review sheet in a team workbook, from its own data.

The workbook holds what the review needs — the data sheet written by ``kpitree import``, the
targets (sheets 2–3 and the member sheet), the status thresholds (the dashboard) — so a review
needs no export. The same reading and planning serve the ribbon (through xlwings, in
``kpitree.addin.actions``) and this file mode (through openpyxl): :func:`plan_from_rows`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.udfs.texts import user_error

from .data import TeamData, from_sheet_rows
from .plans import SheetPlan, plan_pace_block, sheet_title
from .review import Review, build_review, default_targets, kept_text, plan_review_sheet, resolve, review_sheet_title, team_kpis

if TYPE_CHECKING:
    from kpitree.workbook_templates.contract import WorkbookFacts

    from .calendar import Calendar


LATEST = "latest"  # ``month=LATEST``: the month of the last day with data (the ribbon's monthly review)


@dataclass
class ReviewResult:
    review: Review
    sheet: str
    workbook: Path | None = None
    note: str | None = None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def plan_from_rows(facts: WorkbookFacts, data_rows: list[list[Any]], member_rows: list[list[Any]],
                   review_rows: dict[str, list[list[Any]]], week: str | None = None, month: str | None = None,
                   calendar: Calendar | None = None, source: str = "") -> tuple[Review, SheetPlan, SheetPlan]:
    """The review, its sheet's plan and the dashboard's pace block, from a workbook's contract and sheets' values.

    ``data_rows`` and ``member_rows`` are the values of the data sheet and the member sheet
    (cached values of formulas); ``review_rows`` the rows of existing sheets by title (the
    meeting's text is kept from the review sheet being refreshed).
    """
    from .workbook import kept_member_targets, team_targets

    lang = facts.lang
    try:
        data: TeamData = from_sheet_rows(data_rows, calendar)
    except ValueError:
        raise user_error("team.no_data_sheet", file=source) from None
    if month == LATEST:
        from .measures import month_key

        month = month_key(data.data_through)
    kind, period, start, end = resolve(data, week, month)
    kpis = team_kpis([r.kpi_id for r in facts.kpi_rows], data.support)
    targets = team_targets(facts)
    member_targets = default_targets([k for k in kpis if k.tier != "strategic"], data.members, targets,
                                     kept_member_targets(member_rows))
    thresholds = (_number(facts.values.get("status_on_track_from")) or 1.0, _number(facts.values.get("status_watch_from")) or 0.8)
    review = build_review(data, kind, period, start, end, kpis, targets, member_targets, thresholds, lang,
                          deal_size=facts.values.get("avg_deal_size"))
    title = review_sheet_title(kind, period, lang)
    members_title = sheet_title("team.sheet_members", lang)
    plan = plan_review_sheet(review, kept_text(review_rows.get(title, [])), after=members_title)
    from kpitree.workbook_templates.spec import SHEETS

    from .figures import figures
    from .measures import month_bounds, month_key

    pace_fig = figures(data, *month_bounds(month_key(data.data_through)))
    block = plan_pace_block(lang, SHEETS[lang][3], review.paces, review.alerts, pace_fig, review.watch_from)
    return review, plan, block


def _with_formulas(rows: list[list[Any]], ws: Any) -> list[list[Any]]:
    """A sheet's values with its formulas in place of their cached values (:class:`.review.KeptFormula`).

    What the meeting typed is kept as typed: ``=SUM(1,2)`` stays a formula (its cached
    value alone would lose it, and a file saved by openpyxl has none).
    """
    from .review import KeptFormula

    out = [list(r) for r in rows]
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" and isinstance(cell.value, str):
                r, c = cell.row - 1, cell.column - 1
                while len(out) <= r:
                    out.append([])
                out[r].extend([None] * (c + 1 - len(out[r])))
                out[r][c] = KeptFormula(cell.value)
    return out


def review_workbook(workbook: str | os.PathLike[str], week: str | None = None, month: str | None = None,
                    calendar: Calendar | None = None) -> ReviewResult:
    """``kpitree review``: plan the review and write it (and the dashboard's pace block) into ``workbook``.

    The data sheet's table is read once (read-only), left out of the copy openpyxl loads, and
    appended again after the recalculation (:mod:`.xlsx_rows`): a review of 200 members' data
    loads and saves in seconds.
    """
    from kpitree.workbook_templates.dashboard_openpyxl import save_atomic

    from . import sheets
    from .plans import plan_data_sheet
    from .workbook import _facts, load_light, read_rows
    from .xlsx_rows import append_rows

    path = Path(workbook)
    if not path.is_file():
        raise user_error("team.no_file", file=path)
    rows = read_rows(path)
    wb, values = load_light(path)
    facts = _facts(wb, values)
    lang = facts.lang
    data_title, members_title = sheet_title("team.sheet_data", lang), sheet_title("team.sheet_members", lang)
    if data_title not in rows:
        raise user_error("team.no_data_sheet", file=path)
    existing = {name: _with_formulas(r, wb[name]) if name in wb.sheetnames else r
                for name, r in rows.items() if name not in (data_title, members_title)}
    review, plan, block = plan_from_rows(facts, rows[data_title], rows.get(members_title, []), existing, week, month,
                                         calendar, str(path))
    sheets.apply(wb, plan)
    sheets.apply(wb, block)
    data_plan = plan_data_sheet(lang, from_sheet_rows(rows[data_title]))  # as stored: its own calendar and settings
    sheets.apply(wb, data_plan, rows=False)
    note = save_atomic(wb, path, source=path)  # the charts as they were, not as openpyxl redraws them
    append_rows(path, data_plan.sheet, data_plan.rows, data_plan.first_row + 1, skip_zero_from=3)
    return ReviewResult(review, plan.sheet, path, note)
