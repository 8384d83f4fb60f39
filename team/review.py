"""Weekly and monthly review sheets laid out as seed 000's meeting agendas, as plain plans.

**Weekly** (週次レビュー, 30 minutes): ① last week's KPIs against target — target, actual,
achievement, gap, status (5 min); ② highlights and problems (10 min), ③ causes of misses
(10 min) and ④ this week's actions (5 min) as yellow columns next to each KPI, for the
meeting to fill; then the member × KPI achievement heat map, the bottleneck with its likely
cause and the seed's action, and this month's pace with the alert list.

**Monthly** (月次レビュー, 60 minutes): ① the month's totals (10 min); ② the trend — the last
three months and the same month last year (15 min); ③ success and failure cases (20 min, yellow
columns); ④ next month's targets (15 min) — a suggestion from the trend (the straight line
through the last three months, one month on; a rate or score: their average) next to the
month's target and a yellow column for the target decided; the heat map and a 12-month chart.

What the meeting types (the yellow columns) is read back before a refresh and written again
next to its KPI: user text is never overwritten. Targets: tactical KPIs per month (a week's
target is the template's weekly one, month × 12 ÷ 52), action KPIs per working day
(compared as daily averages), strategic per quarter (a month's third; not in the weekly review).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Kpi, Lang, load_catalogue
from kpitree.udfs.kpi_tree import LEVERS, find_bottleneck
from kpitree.udfs.status import evaluate_status, status_label
from kpitree.udfs.texts import text, text_list, user_error
from kpitree.workbook_templates.layout import (
    FONTS,
    ChartSeries,
    PlannedChart,
    PlannedColorScale,
    SheetSetup,
    absolute,
    col_letter,
    quote_sheet,
    wrapped_row_heights,
)
from kpitree.workbook_templates.team_parts import REVIEW_MARKER

from .figures import Figures, Pace, alerts, figures, member_target, paces
from .measures import KPI_RECIPES, kpi_value, month_bounds, month_key, shift_month, week_bounds, week_key
from .plans import (
    HEAT,
    NO_VALUE,
    SheetPlan,
    _Cells,
    horizon_label,
    kpi_fmt,
    pace_rows,
    sheet_title,
    status_formats,
)

if TYPE_CHECKING:
    import pandas as pd

    from .data import TeamData

TEAM_NOTE_ID = "_team"  # the free-text row under the KPIs: the meeting's notes on the team as a whole
WEEKLY_USER_COLS = 3  # highlights, causes, actions
MONTHLY_USER_COLS = 2  # success cases, failure cases
NEXT_USER_COLS = 2  # next month's target decided, measures
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class KpiLine:
    """One KPI of a review: the team's target, actual, achievement, gap and status."""

    kpi_id: str
    label: str
    target: float | None
    actual: float | None
    achievement: float | None
    gap: float | None
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi_id, "label": self.label, "target": self.target, "actual": self.actual,
                "achievement": self.achievement, "gap": self.gap, "status": self.status}


@dataclass
class Review:
    """What a review shows, as data (the sheet's plan and ``kpitree review --json`` are made from it)."""

    kind: str  # "week" or "month"
    period: str  # "2026-W16" or "2026-04"
    start: dt.date
    end: dt.date
    as_of: dt.date
    elapsed: int
    total: int
    lang: Lang
    lines: list[KpiLine]
    members: list[str]
    heat: pd.DataFrame  # achievement, members × KPI ids
    bottleneck: dict[str, Any] | None
    pace_as_of: dt.date
    pace_elapsed: int
    pace_total: int
    paces: list[Pace]
    alerts: list[Pace]
    watch_from: float
    trend: list[dict[str, Any]] = field(default_factory=list)  # monthly: per KPI
    history: list[tuple[str, dict[str, float | None]]] = field(default_factory=list)  # monthly: 12 months of the team
    kpis: list[Kpi] = field(default_factory=list)
    fig: Figures | None = None

    def as_dict(self) -> dict[str, Any]:
        """The review for scripts (``kpitree review --json``)."""
        return {
            "review": self.kind, "period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "data_through": self.as_of.isoformat(), "working_days": {"elapsed": self.elapsed, "total": self.total},
            "kpis": [line.as_dict() for line in self.lines],
            "members": {m: {k: _num(self.heat.at[m, k]) for k in self.heat.columns} for m in self.members},
            "bottleneck": self.bottleneck,
            "pace": {"as_of": self.pace_as_of.isoformat(), "month": month_key(self.pace_as_of),
                     "working_days": {"elapsed": self.pace_elapsed, "total": self.pace_total},
                     "kpis": [p.as_dict() for p in self.paces if p.member is None]},
            "watch_from": self.watch_from,
            "alerts": [p.as_dict() for p in self.alerts],
            "trend": self.trend,
        }


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if value != value else float(value)


def default_week(data: TeamData) -> str:
    """The last week whose working days all have data: the data's last week if it reached that week's last working day."""
    last = data.data_through
    monday, sunday = week_bounds(week_key(last))
    remaining = data.calendar.working_days(last + dt.timedelta(days=1), sunday)
    return week_key(last if remaining == 0 else monday - dt.timedelta(days=1))


def resolve(data: TeamData, week: str | None, month: str | None) -> tuple[str, str, dt.date, dt.date]:
    """(kind, period, start, end) of ``--week``/``--month``; default the last complete week."""
    if week is not None and month is not None:
        raise user_error("team.review_both")
    if month is not None:
        m = MONTH_RE.match(month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise user_error("team.bad_period", period=month)
        return ("month", month, *month_bounds(month))
    week = week or default_week(data)
    m = WEEK_RE.match(week)
    if not m:
        raise user_error("team.bad_week", week=week)
    try:
        start, end = week_bounds(week)
    except ValueError:
        raise user_error("team.bad_week", week=week) from None
    return "week", week, start, end


def _period_target(kpi: Kpi, target: Any, kind: str) -> float | None:
    """A KPI's target for a week or a month, from the workbook's (per quarter, month or working day)."""
    if not isinstance(target, (int, float)) or isinstance(target, bool):
        return None
    how = KPI_RECIPES[kpi.id][0]
    if how != "count":
        return float(target)  # rates, scores, daily averages
    if kpi.tier == "strategic":
        return float(target) / 3 if kind == "month" else float(target) * 4 / 52
    return float(target) if kind == "month" else float(target) * 12 / 52


def _achievement(kpi: Kpi, actual: float | None, target: float | None) -> float | None:
    if actual is None or not target:
        return None
    if kpi.lower_is_better:
        return target / actual if actual else None
    return actual / target


def _status(achievement: float | None, on_track: float, watch: float, lang: Lang) -> str:
    if achievement is None:
        return ""
    index, code = evaluate_status(achievement, on_track, watch)
    return "" if code else status_label(int(index), lang)


def build_review(data: TeamData, kind: str, period: str, start: dt.date, end: dt.date, kpis: list[Kpi],
                 team_targets: dict[str, Any], member_targets: dict[tuple[str, str], Any], thresholds: tuple[float, float],
                 lang: Lang, deal_size: Any = None) -> Review:
    """The review of ``period`` (pure: data, targets and thresholds in, numbers out).

    ``deal_size`` is the plan's average deal size, the fifth lever's target of the bottleneck.
    """
    on_track, watch = thresholds
    fig = _period_figures(data, kind, period, start, end)
    if fig.elapsed == 0:
        raise user_error("team.no_data_in_period", start=start, end=end, data_from=data.data_from, data_through=data.data_through)
    shown = [k for k in kpis if kind == "month" or k.tier != "strategic"]
    table = fig.table(shown)
    team_rows = fig.rows.sum()
    lines = []
    for k in shown:
        actual = kpi_value(k.id, team_rows, fig.elapsed)
        target = _period_target(k, team_targets.get(k.id), kind)
        ach = _achievement(k, actual, target)
        gap = actual - target if actual is not None and target is not None else None
        lines.append(KpiLine(k.id, horizon_label(k, lang, kind), target, actual, ach, gap, _status(ach, on_track, watch, lang)))
    heat = _heat(fig, shown, table, member_targets, kind)
    pace_fig = figures(data, *month_bounds(month_key(data.data_through)))
    items = paces(kpis, pace_fig, team_targets, member_targets)
    review = Review(kind, period, start, end, fig.as_of, fig.elapsed, fig.total, lang, lines, fig.members, heat,
                    _bottleneck(fig, team_targets, deal_size, lang), pace_fig.as_of, pace_fig.elapsed, pace_fig.total, items,
                    alerts(items, watch), watch, kpis=shown, fig=fig)
    if kind == "month":
        review.trend, review.history = _trend(data, period, shown, team_targets)
    return review


def _period_figures(data: TeamData, kind: str, period: str, start: dt.date, end: dt.date) -> Figures:
    if kind == "month":
        return figures(data, start, end)
    elapsed, total, as_of = data.elapsed(start, end)
    rows = data.rows("week", period)
    fig = figures(data, *month_bounds(month_key(end)))
    return Figures(start, end, as_of, elapsed, total, rows, fig.q_start, fig.q_end, fig.q_elapsed, fig.q_total, fig.q_rows,
                   data.members)


def _heat(fig: Figures, kpis: list[Kpi], table: pd.DataFrame, member_targets: dict[tuple[str, str], Any],
          kind: str) -> pd.DataFrame:
    """Achievement of each member and KPI of the period against the member's target."""
    import pandas as pd

    tactical = [k for k in kpis if k.tier != "strategic"]
    out = pd.DataFrame(index=pd.Index(fig.members, dtype=object), columns=[k.id for k in tactical], dtype=float)
    for member in fig.members:
        for k in tactical:
            actual = table.at[member, k.id]
            target = _period_target(k, member_targets.get((member, k.id)), kind)
            ach = _achievement(k, None if actual != actual else float(actual), target)
            out.at[member, k.id] = float("nan") if ach is None else ach
    return out


def _bottleneck(fig: Figures, targets: dict[str, Any], deal_size: Any, lang: Lang) -> dict[str, Any] | None:
    """The team's bottleneck of the period (kpitree's find_bottleneck, seed 000's cause and action)."""
    team = fig.rows.sum()
    size = kpi_value("avg_deal_size", team, fig.elapsed) or kpi_value("avg_deal_size", fig.q_rows.sum(), fig.q_elapsed)
    actual = {
        "calls": float(team["calls"]) / fig.elapsed if fig.elapsed else None,
        "connect_rate": kpi_value("connect_rate", team, fig.elapsed),
        "conversion_rate": kpi_value("conversion_rate", team, fig.elapsed),
        "win_rate": kpi_value("handoff_win_rate", team, fig.elapsed),
        "avg_deal_size": size,
    }
    goal = {
        "calls": targets.get("calls"), "connect_rate": targets.get("connect_rate"),
        "conversion_rate": targets.get("conversion_rate"), "win_rate": targets.get("handoff_win_rate"),
        "avg_deal_size": deal_size,
    }
    if any(v is None for v in actual.values()) or any(not isinstance(v, (int, float)) for v in goal.values()):
        return None
    try:
        result = find_bottleneck({k: float(v) for k, v in actual.items() if v is not None},
                                 {k: float(v) for k, v in goal.items()}, lang)
    except ValueError:
        return None
    return {"lever": result.lever, "label": result.label, "cause": result.cause, "action": result.action,
            "revenue_recovered_per_working_day": result.recovered_revenue,
            "levers": {x: actual[x] for x in LEVERS}, "targets": {x: float(goal[x]) for x in LEVERS}}


def _month_value(data: TeamData, kpi: Kpi, key: str) -> float | None:
    if key not in data.months():
        return None
    start, end = month_bounds(key)
    elapsed, _, _ = data.elapsed(start, end)
    return kpi_value(kpi.id, data.team("month", key), elapsed) if elapsed else None


def _suggest(kpi: Kpi, values: list[float | None]) -> float | None:
    """Next month from the last three: the least-squares line one month on (counts), the average (rates, scores)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return None
    how = KPI_RECIPES[kpi.id][0]
    if how == "ratio" or len(known) < 2:
        guess = sum(v for _, v in known) / len(known)
    else:
        n = len(known)
        mx = sum(i for i, _ in known) / n
        my = sum(v for _, v in known) / n
        slope = sum((i - mx) * (v - my) for i, v in known) / sum((i - mx) ** 2 for i, _ in known)
        guess = my + slope * (len(values) - mx)
    guess = max(guess, 0.0)
    return min(guess, 1.0) if kpi.unit == "rate" else guess


def _trend(data: TeamData, period: str, kpis: list[Kpi], targets: dict[str, Any]) -> tuple[
        list[dict[str, Any]], list[tuple[str, dict[str, float | None]]]]:
    """Per KPI: the last three months, same month last year, year-on-year, 3-month average, next month's suggestion."""
    out = []
    keys = [shift_month(period, -2), shift_month(period, -1), period]
    for k in kpis:
        values = [_month_value(data, k, key) for key in keys]
        if KPI_RECIPES[k.id][0] == "count" and values[-1] is not None:
            start, end = month_bounds(period)
            elapsed, total, _ = data.elapsed(start, end)
            values[-1] = values[-1] / elapsed * total if elapsed else values[-1]  # this month's landing forecast
        last_year = _month_value(data, k, shift_month(period, -12))
        current = values[-1]
        known = [v for v in values if v is not None]
        out.append({
            "kpi": k.id, "months": dict(zip(keys, values)), "average_3_months": sum(known) / len(known) if known else None,
            "same_month_last_year": last_year,
            "year_on_year": current / last_year - 1 if current is not None and last_year else None,
            "target": _period_target(k, targets.get(k.id), "month"), "suggested_next_target": _suggest(k, values),
        })
    history = []
    for i in range(11, -1, -1):
        key = shift_month(period, -i)
        history.append((key, {k.id: _month_value(data, k, key) for k in kpis if KPI_RECIPES[k.id][0] != "ratio"}))
    return out, history


# --- the sheet ----------------------------------------------------------------------------------


def review_sheet_title(kind: str, period: str, lang: Lang) -> str:
    return sheet_title("team.sheet_week" if kind == "week" else "team.sheet_month", lang, period=period)


@dataclass(frozen=True)
class KeptFormula:
    """A formula the meeting typed in a yellow column (``=SUM(1,2)``): kept as a formula, not as its value."""

    formula: str


def _put_kept(c: _Cells, row: int, col: int, value: Any) -> None:
    """A yellow cell as the meeting left it: its formula, or its value (text stays text)."""
    if isinstance(value, KeptFormula):
        c.put(row, col, formula=value.formula, style="input")
    else:
        c.put(row, col, value, style="input")


def kept_text(rows: list[list[Any]]) -> dict[str, list[Any]]:
    """The yellow columns of an existing review sheet — what the meeting typed — by table and KPI id.

    Each table of yellow columns starts with a marker row ``review_kpis:<first column>:<count>[:name]``
    in column A; its rows follow (column A the KPI id) until a row whose column A is empty.
    """
    kept: dict[str, list[Any]] = {}
    marker: str | None = None
    first = width = 0
    header = False
    for row in rows:
        head = row[0] if row else None
        if isinstance(head, str) and head.startswith(REVIEW_MARKER + ":"):
            marker, parts = head, head.split(":")
            first, width, header = int(parts[1]), int(parts[2]), True
            continue
        if marker is None:
            continue
        if header:  # the column headings under the marker
            header = False
            continue
        if head is None or head == "":
            marker = None
            continue
        values = [row[first + j] if first + j < len(row) else None for j in range(width)]
        if any(v not in (None, "") for v in values):
            kept[f"{marker}/{head}"] = values
    return kept


def plan_review_sheet(review: Review, kept: dict[str, list[Any]], after: str | None = None) -> SheetPlan:
    """The review sheet of ``review`` (a week or a month), the meeting's text ``kept`` in its yellow columns."""
    lang = review.lang
    sheet = review_sheet_title(review.kind, review.period, lang)
    c = _Cells(sheet)
    put = c.put
    key = "team.week_title" if review.kind == "week" else "team.month_title"
    put(0, 0, text(key, lang, period=review.period, start=review.start.isoformat(), end=review.end.isoformat()), style="title")
    put(1, 0, text("team.week_agenda" if review.kind == "week" else "team.month_agenda", lang), style="note")
    put(2, 0, text("team.review_facts", lang, as_of=review.as_of.isoformat(), elapsed=review.elapsed, total=review.total),
        style="note")
    formats: list[Any] = []
    scales: list[PlannedColorScale] = []
    if review.kind == "week":
        r = _kpi_table(c, review, 4, "team.week_section_kpis", text_list("team.week_user_cols", lang), kept, formats)
    else:
        r = _kpi_table(c, review, 4, "team.month_section_totals", text_list("team.month_user_cols", lang), kept, formats)
        r = _trend_table(c, review, r + 1)
        r = _next_targets(c, review, r + 1, kept)
    r = _heat_section(c, review, r + 1, scales)
    r = _bottleneck_section(c, review, r + 1)
    r = _pace_section(c, review, r + 1)
    charts: tuple[PlannedChart, ...] = ()
    if review.kind == "month":
        charts, r = _history(c, review, r + 1)
    widths: dict[str, float] = {"A": 18, "B": 30, **{col_letter(j): 12 for j in range(2, 7)}, "H": 28, "I": 28, "J": 28,
                                **{col_letter(j): 12 for j in range(10, 16)}}
    # headings as tall as their lines (the heat map's narrow KPI columns); rows the meeting types in keep Excel's own height
    headers = [x for x in c.cells if x.style == "header"]
    setup = SheetSetup(sheet, FONTS[lang], widths, freeze_rows=3, landscape=True, row_heights=wrapped_row_heights(headers, widths))
    return SheetPlan(sheet, tuple(c.cells), after=after, conditional_formats=tuple(formats), color_scales=tuple(scales),
                     charts=charts, setup=setup, activate=sheet,
                     message=(text("team.review_done", "ja", sheet=sheet, alerts=len(review.alerts)),
                              text("team.review_done", "en", sheet=sheet, alerts=len(review.alerts))))


def _fmt(kpi: Kpi, how: str | None = None) -> str:
    how = how or KPI_RECIPES[kpi.id][0]
    return kpi_fmt(kpi, per_day=how == "per_day")


def _kpi_table(c: _Cells, review: Review, r: int, title: str, user_cols: tuple[str, ...], kept: dict[str, list[Any]],
               formats: list[Any]) -> int:
    """Target, actual, achievement, gap, status per KPI, with the meeting's yellow columns; the next free row."""
    put, lang = c.put, review.lang
    cat = load_catalogue()
    put(r, 0, text(title, lang), style="section")
    marker = f"{REVIEW_MARKER}:7:{len(user_cols)}"
    put(r + 1, 0, marker, style="id")
    heads = [*text_list("team.review_cols", lang), *user_cols]
    for j, h in enumerate(heads):
        put(r + 2, j, h, style="header")
    first = r + 3
    ids = [line.kpi_id for line in review.lines] + [TEAM_NOTE_ID]
    for i, kpi_id in enumerate(ids):
        rr = first + i
        put(rr, 0, kpi_id, style="id")
        if kpi_id == TEAM_NOTE_ID:
            put(rr, 1, text("team.team_notes", lang), style="label")
        else:
            line = review.lines[i]
            fmt = _fmt(cat.kpi(kpi_id))
            put(rr, 1, line.label)
            put(rr, 2, line.target, style=f"calc:{fmt}")
            put(rr, 3, NO_VALUE if line.actual is None else line.actual, style=f"calc:{fmt}")
            put(rr, 4, line.achievement, style="calc:rate")
            put(rr, 5, line.gap, style=f"calc:{fmt}")
            put(rr, 6, line.status or None, style="status")
        saved = kept.get(f"{marker}/{kpi_id}", [])
        for j in range(len(user_cols)):
            _put_kept(c, rr, 7 + j, saved[j] if j < len(saved) else None)
    last = first + len(ids) - 1
    formats.extend(status_formats(c.sheet, f"G{first + 1}:G{last + 1}", lang))
    return last + 2


def _trend_table(c: _Cells, review: Review, r: int) -> int:
    put, lang = c.put, review.lang
    cat = load_catalogue()
    put(r, 0, text("team.month_section_trend", lang), style="section")
    months = list(review.trend[0]["months"]) if review.trend else []
    heads = [text("team.review_kpi_id", lang), "KPI", *months, *text_list("team.trend_cols", lang)]
    for j, h in enumerate(heads):
        put(r + 1, j, h, style="header")
    for i, t in enumerate(review.trend):
        rr = r + 2 + i
        k = cat.kpi(t["kpi"])
        fmt = _fmt(k)
        put(rr, 0, k.id, style="id")
        put(rr, 1, horizon_label(k, lang, "month"))
        for j, key in enumerate(months):
            value = t["months"][key]
            put(rr, 2 + j, NO_VALUE if value is None else value, style=f"calc:{fmt}")
        put(rr, 5, t["average_3_months"], style=f"calc:{fmt}")
        put(rr, 6, NO_VALUE if t["same_month_last_year"] is None else t["same_month_last_year"], style=f"calc:{fmt}")
        put(rr, 7, t["year_on_year"], style="calc:rate")
    put(r + 2 + len(review.trend), 0, text("team.trend_note", lang), style="note")
    return r + 3 + len(review.trend)


def _next_targets(c: _Cells, review: Review, r: int, kept: dict[str, list[Any]]) -> int:
    put, lang = c.put, review.lang
    cat = load_catalogue()
    put(r, 0, text("team.month_section_next", lang), style="section")
    user_cols = text_list("team.next_user_cols", lang)
    marker = f"{REVIEW_MARKER}:4:{len(user_cols)}:next"
    put(r + 1, 0, marker, style="id")
    for j, h in enumerate([*text_list("team.next_cols", lang), *user_cols]):
        put(r + 2, j, h, style="header")
    for i, t in enumerate(review.trend):
        rr = r + 3 + i
        k = cat.kpi(t["kpi"])
        fmt = _fmt(k)
        put(rr, 0, k.id, style="id")
        put(rr, 1, horizon_label(k, lang, "month"))
        put(rr, 2, t["target"], style=f"calc:{fmt}")
        put(rr, 3, t["suggested_next_target"], style=f"calc:{fmt}")
        saved = kept.get(f"{marker}/{k.id}", [])
        for j in range(len(user_cols)):
            _put_kept(c, rr, 4 + j, saved[j] if j < len(saved) else None)
    return r + 4 + len(review.trend)


def _heat_section(c: _Cells, review: Review, r: int, scales: list[PlannedColorScale]) -> int:
    put, lang = c.put, review.lang
    cat = load_catalogue()
    put(r, 0, text("team.heat_section", lang), style="section")
    ids = list(review.heat.columns)
    heads = [text("team.member", lang), *[horizon_label(cat.kpi(k), lang, review.kind) for k in ids]]
    for j, h in enumerate(heads):
        put(r + 1, j, h, style="header")
    for i, member in enumerate(review.members):
        put(r + 2 + i, 0, member, style="label")
        for j, k in enumerate(ids):
            put(r + 2 + i, 1 + j, _num(review.heat.at[member, k]), style="calc:rate")
    if review.members and ids:
        ref = f"B{r + 3}:{col_letter(len(ids))}{r + 2 + len(review.members)}"
        scales.append(PlannedColorScale(c.sheet, ref, *HEAT))
    return r + 3 + len(review.members)


def _bottleneck_section(c: _Cells, review: Review, r: int) -> int:
    put, lang = c.put, review.lang
    put(r, 0, text("team.review_bottleneck", lang), style="section")
    b = review.bottleneck
    if b is None:
        put(r + 1, 0, text("team.review_no_bottleneck", lang), style="note")
        return r + 3
    # one line each, label and text: the text runs on over the empty cells to its right
    for i, (heading, value) in enumerate(zip(text_list("team.bottleneck_cols", lang)[:3], (b["label"], b["cause"], b["action"]))):
        put(r + 1 + i, 0, heading, style="header")
        put(r + 1 + i, 1, value, style="status" if i == 0 else "label")
    return r + 5


def _pace_section(c: _Cells, review: Review, r: int) -> int:
    put, lang = c.put, review.lang
    rows, alert_rows = pace_rows(lang, review.paces, review.alerts, None)
    put(r, 0, text("team.pace_title", lang, as_of=review.pace_as_of.isoformat(), elapsed=review.pace_elapsed,
                   total=review.pace_total), style="section")
    for j, h in enumerate(text_list("team.pace_cols", lang)[:5]):
        put(r + 1, 1 + j, h, style="header")
    for i, (label, target, actual, forecast, pace, k) in enumerate(rows):
        rr = r + 2 + i
        fmt = _fmt(k)
        put(rr, 1, label)
        put(rr, 2, target, style=f"calc:{fmt}")
        put(rr, 3, actual, style=f"calc:{fmt}")
        put(rr, 4, forecast, style=f"calc:{fmt}")
        put(rr, 5, pace, style="calc:rate")
    r = r + 3 + len(rows)
    put(r, 0, text("team.alerts_title", lang, count=len(review.alerts), watch=f"{review.watch_from:.0%}"), style="section")
    for j, h in enumerate(text_list("team.alert_cols", lang)):
        put(r + 1, j, h, style="header")
    if not alert_rows:
        put(r + 2, 0, text("team.no_alerts", lang), style="note")
    for i, (who, label, forecast, target, pace, k) in enumerate(alert_rows):
        rr = r + 2 + i
        fmt = _fmt(k)
        put(rr, 0, who)
        put(rr, 1, label)
        put(rr, 2, forecast, style=f"calc:{fmt}")
        put(rr, 3, target, style=f"calc:{fmt}")
        put(rr, 4, pace, style="calc:rate")
    return r + 3 + max(len(alert_rows), 1)


def _history(c: _Cells, review: Review, r: int) -> tuple[tuple[PlannedChart, ...], int]:
    """Twelve months of the team's counts and a line chart of them."""
    put, lang = c.put, review.lang
    cat = load_catalogue()
    put(r, 0, text("team.history_section", lang), style="section")
    ids = [k for k in ("opportunities", "sql_count", "calls") if review.history and k in review.history[0][1]]
    for j, h in enumerate([text("team.month", lang), *[horizon_label(cat.kpi(k), lang) for k in ids]]):
        put(r + 1, j, h, style="header")
    first = r + 2
    for i, (key, values) in enumerate(review.history):
        put(first + i, 0, key, style="label")
        for j, k in enumerate(ids):
            put(first + i, 1 + j, values.get(k), style=f"calc:{_fmt(cat.kpi(k))}")
    last = first + len(review.history) - 1
    q = quote_sheet(c.sheet)

    def rng(col: int) -> str:
        return f"{q}!{absolute(f'{col_letter(col)}{first + 1}:{col_letter(col)}{last + 1}')}"

    colors = ("#2F5597", "#C55A11", "#548235")
    series = tuple(ChartSeries(horizon_label(cat.kpi(k), lang), rng(0), rng(1 + j), colors[j]) for j, k in enumerate(ids)
                   if k != "calls")
    charts = (PlannedChart(c.sheet, "line", text("team.history_chart", lang), f"E{r + 1}", 560, 280, series, marker_size=5),)
    return (charts if series else ()), last + 2


def team_kpis(kpi_ids: list[str], support: Any) -> list[Kpi]:
    """The workbook's KPIs the data gives, in the workbook's order."""
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    return [cat.kpi(i) for i in kpi_ids if i in known and i in KPI_RECIPES and support.kpi_ok(i)]


def default_targets(kpis: list[Kpi], members: list[str], team_targets: dict[str, Any],
                    from_sheet: dict[tuple[str, str], float]) -> dict[tuple[str, str], Any]:
    """Member targets: the member sheet's, else the team's split evenly."""
    out: dict[tuple[str, str], Any] = {}
    for k in kpis:
        for m in members:
            out[(m, k.id)] = from_sheet.get((m, k.id), member_target(k, team_targets.get(k.id), len(members)))
    return out
