"""What ``kpitree import`` writes into a team workbook, as plain data (no openpyxl, no xlwings).

* :func:`plan_inputs` — the template's named inputs from the data: ``raw_*`` counts of the
  period, typed ``actual_<id>`` cells, the 12-month ``trend_*`` history, the period's working
  days. A KPI the data cannot support keeps what the workbook has, and the report says why.
* :func:`plan_member_sheet` — the member sheet (ja メンバー別, en Members): per member the
  targets (yellow, the manager's to edit; by default the team target split evenly, the split
  shown), the actuals, achievement (a heat map) and status, the team's total and average, the
  spread (standard deviation) and the top performer per KPI, and each member's bottleneck by
  ``KPI_BOTTLENECK`` with the seed's cause and action.
* :func:`plan_data_sheet` — the data sheet (:mod:`.data`): the measures the reviews read.
* :func:`plan_pace_block` — the pace and alert block on the dashboard, right of the columns a
  dashboard rebuild owns (``T`` on), so ``kpitree dashboard`` keeps it.

Every plan is a :class:`SheetPlan` of :mod:`kpitree.workbook_templates.layout` records; the
openpyxl writer (:mod:`.sheets`) and the add-in's xlwings writer apply them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Kpi, Lang, load_catalogue
from kpitree.udfs.kpi_tree import LEVERS
from kpitree.udfs.texts import text, text_list
from kpitree.workbook_templates.layout import (
    FONTS,
    PlannedCell,
    PlannedChart,
    PlannedColorScale,
    PlannedConditionalFormat,
    PlannedName,
    PlannedValidation,
    SheetSetup,
    cell_ref,
    col_letter,
    validation_rule,
    wrapped_row_heights,
)
from kpitree.workbook_templates.team_parts import ACTUALS_MARKER, PACE_BLOCK_COLS, PACE_BLOCK_ROWS, PACE_COL, TARGETS_MARKER

from .figures import SPLIT_UNITS, UNASSIGNED, Figures, Pace
from .measures import KPI_RECIPES, kpi_value, month_bounds

if TYPE_CHECKING:
    from .data import TeamData

STATUS_COLORS = {"on_track": ("#C6EFCE", "#006100"), "watch": ("#FFEB9C", "#9C5700"), "behind": ("#FFC7CE", "#9C0006")}
HEAT = (0.6, 0.9, 1.1)  # achievement at the red, yellow and green ends of the heat maps
DASHBOARD_ALERT_ROWS = 30  # the dashboard lists this many alerts; the review sheet and --json list all


@dataclass(frozen=True)
class SheetPlan:
    """A sheet (or a block of one) to write: cells and what goes with them, pure data.

    ``owned``: the whole sheet is kpitree's (recreated, at ``after``'s right when new);
    otherwise only ``block`` is cleared and rewritten. ``rows`` are plain value rows appended
    below ``cells`` (the data sheet's table: thousands of rows written without styles).
    """

    sheet: str
    cells: tuple[PlannedCell, ...]
    block: str = "A:AZ"
    owned: bool = True
    after: str | None = None
    names: tuple[PlannedName, ...] = ()
    validations: tuple[PlannedValidation, ...] = ()
    conditional_formats: tuple[PlannedConditionalFormat, ...] = ()
    color_scales: tuple[PlannedColorScale, ...] = ()
    status_scales: tuple[str, ...] = ()  # ranges of achievements coloured by the dashboard's status thresholds
    charts: tuple[PlannedChart, ...] = ()
    setup: SheetSetup | None = None
    rows: tuple[tuple[Any, ...], ...] = ()
    first_row: int = 0  # 0-based row where ``rows`` start
    widths: dict[str, float] = field(default_factory=dict)  # column widths of a block (a sheet's own: ``setup``)
    activate: str | None = None
    message: tuple[str, str] = ("", "")


class _Cells:
    def __init__(self, sheet: str):
        self.sheet = sheet
        self.cells: list[PlannedCell] = []
        self.names: list[PlannedName] = []

    def put(self, row: int, col: int, value: Any = None, formula: str | None = None, style: str = "label",
            name: str | None = None, spill: str | None = None) -> str:
        ref = cell_ref(row, col)
        if isinstance(value, float) and value != value:
            value = None
        self.cells.append(PlannedCell(self.sheet, ref, value, formula, style, name, spill))
        if name:
            self.names.append(PlannedName(name, self.sheet, ref))
        return ref


def kpi_fmt(kpi: Kpi, per_day: bool = True) -> str:
    from kpitree.workbook_templates.spec import kpi_format

    fmt = kpi_format(kpi)
    return fmt if per_day else ("count" if fmt == "count1" else fmt)


def sheet_title(key: str, lang: Lang, **fields: Any) -> str:
    return text(key, lang, **fields)[:31]  # Excel's limit for a sheet name


def status_formula(ref: str, lang: Lang) -> str:
    behind, watch, on_track = text_list("status.labels", lang)
    return (f'=IF({ref}="","",IF({ref}>=status_on_track_from,"{on_track}",'
            f'IF({ref}>=status_watch_from,"{watch}","{behind}")))')


def status_formats(sheet: str, ref: str, lang: Lang) -> tuple[PlannedConditionalFormat, ...]:
    labels = text_list("status.labels", lang)
    return tuple(PlannedConditionalFormat(sheet, ref, labels[i], *STATUS_COLORS[s])
                 for i, s in enumerate(("behind", "watch", "on_track")))


NO_VALUE = "—"  # an actual the data cannot give (a rate with no denominator)


def achievement_formula(actual: str, target: str, kpi: Kpi) -> str:
    """Actual ÷ target (target ÷ actual when lower is better); blank when either is blank, a dash or zero.

    IFERROR keeps the formula short (a member sheet of 200 members has thousands): a blank
    target is 0 (division by zero) and a dash is text (``#VALUE!``), both blank here.
    """
    ratio = f"{target}/{actual}" if kpi.lower_is_better else f"{actual}/{target}"
    return f'=IFERROR({ratio},"")'


PERIOD_TEXTS = {"quarter": "team.per_quarter", "month": "team.per_month", "week": "team.per_week", "day": "team.per_day"}
TABLE_TEXTS = {"activities": "team.table_activities", "opportunities": "team.table_opportunities", "leads": "team.table_leads"}


def horizon_label(kpi: Kpi, lang: Lang, period: str | None = None) -> str:
    """``架電数(日次)``: the KPI's label and what its value is per — a working day (action counts), the
    ``period`` a count covers (default: a quarter for strategic KPIs, a month otherwise); rates as they are."""
    how = KPI_RECIPES.get(kpi.id, ("count",))[0]
    if how == "ratio":
        return kpi.label(lang)
    if how == "per_day":
        period = "day"
    elif period is None:
        period = "quarter" if kpi.tier == "strategic" else "month"
    return text("team.kpi_per", lang, label=kpi.label(lang), period=text(PERIOD_TEXTS[period], lang))


# --- the template's inputs ---------------------------------------------------------------------

# raw input -> (measure, period): "period" the import's period, "quarter" its quarter to date
RAW_INPUTS = {
    "raw_calls_month": ("calls", "period"), "raw_connects_month": ("connects", "period"),
    "raw_effective_contacts_month": ("effective_contacts", "period"), "raw_emails_sent_month": ("emails_sent", "period"),
    "raw_emails_opened_month": ("emails_opened", "period"), "raw_followups_planned": ("followups_planned", "period"),
    "raw_followups_on_time": ("followups_on_time", "period"), "raw_leads": ("leads", "period"),
    "raw_bant_opportunities": ("bant_opportunities", "period"), "raw_handoff_won": ("won", "period"),
    "raw_won_deals": ("won", "quarter"),
}
TREND_INPUTS = {"trend_leads": "leads", "trend_opportunities": "opportunities", "trend_won": "won", "trend_calls": "calls",
                "trend_connects": "connects"}


@dataclass(frozen=True)
class InputsPlan:
    """Named cells to write (``values``; a list for a range), and what was kept or left out, with why."""

    values: dict[str, Any]
    computed: tuple[str, ...]  # KPI ids the data gives
    kept: tuple[tuple[str, str], ...]  # (KPI id, why): left as the workbook has it


def plan_inputs(facts: Any, data: TeamData, fig: Figures, trend_rows: list[tuple[str, Any]], lang: Lang) -> InputsPlan:
    """The template's named inputs from the period's figures (``facts``: the workbook's contract)."""
    values = _raw_values(facts, data, fig)
    computed, kept = _kpi_values(facts, data, fig, lang, values)
    if "trend_month" in facts.names:
        values["trend_month"] = [month_label(key, lang) for key, _ in trend_rows]
        for name, measure in TREND_INPUTS.items():
            if name in facts.names:
                values[name] = ([None if m is None else float(m[measure]) for _, m in trend_rows]
                                if data.support.ok(measure) else [None] * len(trend_rows))
    return InputsPlan(values, tuple(computed), tuple(kept))


def _raw_values(facts: Any, data: TeamData, fig: Figures) -> dict[str, Any]:
    """``raw_*`` counts of the period (quarter to date for the strategic ones) and its working days."""
    team, quarter = fig.rows.sum(), fig.q_rows.sum()
    values: dict[str, Any] = {}
    if "raw_days_worked" in facts.names:
        values["raw_days_worked"] = fig.elapsed
    if "working_days_per_month" in facts.names:
        values["working_days_per_month"] = fig.total
    for name, (measure, period) in RAW_INPUTS.items():
        if name in facts.names and data.support.ok(measure):
            values[name] = float((team if period == "period" else quarter)[measure])
    if "raw_actual_deal_size" in facts.names and data.support.ok("won_amount") and quarter["won"] > 0:
        values["raw_actual_deal_size"] = float(quarter["won_amount"] / quarter["won"])
    return values


def _kpi_values(facts: Any, data: TeamData, fig: Figures, lang: Lang, values: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """Typed ``actual_<id>`` cells into ``values``; (KPIs the data gives, (KPI, why) of those it does not)."""
    from .measures import NOT_IN_EXPORTS

    computed: list[str] = []
    kept: list[tuple[str, str]] = []
    cat = load_catalogue()
    for row in facts.kpi_rows:
        kpi_id = row.kpi_id
        if kpi_id in NOT_IN_EXPORTS:
            kept.append((kpi_id, text(NOT_IN_EXPORTS[kpi_id], lang)))
        elif kpi_id not in KPI_RECIPES:
            kept.append((kpi_id, text("team.no_recipe", lang)))
        elif data.support.kpi_missing(kpi_id):
            kept.append((kpi_id, missing_text(data.support.kpi_missing(kpi_id), lang)))
        else:
            cell = facts.cell(f"actual_{kpi_id}")
            if cell is not None and cell.formula is None:  # a typed actual: the KPI itself
                values[f"actual_{kpi_id}"] = fig.value(cat.kpi(kpi_id))
            computed.append(kpi_id)
    return computed, kept


def month_label(key: str, lang: Lang) -> str:
    first, _ = month_bounds(key)
    return text("team.month_label", lang, year=first.year, month=first.month)


def missing_text(lacking: list[tuple[str, str]], lang: Lang) -> str:
    """Why a KPI cannot be computed: the columns or exports it needs, or the values no row has."""
    from .measures import VALUE_PREFIX

    needs, values = [], []
    for table, name in lacking:
        table_label = text(TABLE_TEXTS[table], lang)
        if name.startswith(VALUE_PREFIX):
            column, _, wanted = name[len(VALUE_PREFIX):].partition(":")
            field = {"kind": "type"}.get(column, column)
            shown = text("team.or", lang).join(_value_alias(table, field, v) for v in wanted.split("|"))
            values.append(text("team.missing_value", lang, table=table_label, field=field, values=shown))
        elif not name:
            needs.append(text("team.missing_table", lang, table=table_label))
        else:
            needs.append(text("team.missing_field", lang, table=table_label, field=name, alias=_first_japanese_alias(table, name)))
    sentences = ([text("team.needs", lang, what=text("team.and", lang).join(needs))] if needs else []) + values
    return text("team.sentence_sep", lang).join(sentences)


def _value_alias(table: str, field: str, value: str) -> str:
    """``effective(有効コンタクト)``: a canonical value and the first Japanese word the standard format reads as it."""
    from .mapping import standard

    vocab = standard().values.get(table, {}).get(field, {})
    word = next((w for w, v in vocab.items() if v == value and any(ord(ch) > 0x2E80 for ch in w)), "")
    return f"{value}({word})" if word else value


def _first_japanese_alias(table: str, name: str) -> str:
    from .mapping import standard

    for alias in standard().columns.get(table, {}).get(name, ()):
        if any(ord(ch) > 0x2E80 for ch in alias.column):
            return alias.column
    return name


# --- the member sheet --------------------------------------------------------------------------


def plan_member_sheet(lang: Lang, kpis: list[Kpi], fig: Figures, kept_targets: dict[tuple[str, str], float],
                      unsupported: list[tuple[str, str]], after: str | None = None) -> SheetPlan:
    """The member sheet of the figures' members and ``kpis`` (tactical and action KPIs the data supports).

    ``kept_targets`` are the numbers the manager typed on the sheet before (by member and KPI
    id): they stay. ``unsupported`` lists ``(KPI label, why)`` for the note at the bottom.
    """
    sheet = sheet_title("team.sheet_members", lang)
    m = _MemberSheet(_Cells(sheet), lang, kpis, fig)
    m.top()
    target_first, validations = m.targets(4, kept_targets)
    actual_first, next_row = m.actuals(target_first + len(m.members) + 1)
    achievement_first, heat_ref = m.achievement(next_row + 1, actual_first, target_first)
    r = _bottleneck_section(m.c, achievement_first + len(m.members) + 1, lang, kpis, fig, m.members, target_first)
    if unsupported:
        m.c.put(r + 1, 0, text("team.unsupported_title", lang), style="section")
        for i, (label, why) in enumerate(unsupported):
            m.c.put(r + 2 + i, 0, label, style="label")
            m.c.put(r + 2 + i, 1, why, style="note")
    # the bottleneck's label (L), cause (M) and action (N) as wide as they read; headings, long labels, the
    # cause and the action wrap, and each row is as tall as its longest (for M and N: the catalogue's longest)
    widths: dict[str, float] = {"A": 24, **{col_letter(j + 1): 14 for j in range(max(len(kpis) + 3, 15))},
                                "L": 20, "M": 22, "N": 28}
    from kpitree.workbook_templates.dashboard import bottleneck_texts

    _labels, causes, actions = bottleneck_texts(lang)
    shown = {c.ref: causes if c.ref.startswith("M") else actions for c in m.c.cells if c.style == "calc_text"}
    setup = SheetSetup(sheet, FONTS[lang], widths, freeze_rows=3, landscape=True,
                       row_heights=wrapped_row_heights(m.c.cells, widths, shown))
    return SheetPlan(sheet, tuple(m.c.cells), owned=True, after=after, names=tuple(m.c.names), validations=tuple(validations),
                     status_scales=(heat_ref,) if m.members and kpis else (), setup=setup)


class _MemberSheet:
    """The member sheet's sections, one method each (rows are 0-based; KPIs from column B)."""

    def __init__(self, c: _Cells, lang: Lang, kpis: list[Kpi], fig: Figures):
        self.c, self.lang, self.kpis, self.fig = c, lang, kpis, fig
        self.members = list(fig.members)
        self.header = [text("team.member", lang)] + [horizon_label(k, lang) for k in kpis]

    def top(self) -> None:
        put, lang, fig, n = self.c.put, self.lang, self.fig, len(self.members)
        last_col = max(len(self.kpis), 1)
        put(0, 0, text("team.members_title", lang, start=fig.start.isoformat(), end=fig.end.isoformat()), style="title")
        put(1, 0, text("team.members_note", lang), style="note")
        put(2, 0, text("team.members_facts", lang, members=n, as_of=fig.as_of.isoformat(), elapsed=fig.elapsed,
                       total=fig.total), style="note")
        put(2, last_col + 1, text("team.member_count", lang), style="label")
        put(2, last_col + 2, n, style="calc:count", name="team_members")

    def _table_head(self, r: int, title: str, marker: str | None) -> int:
        put = self.c.put
        put(r, 0, title, style="section")
        if marker is not None:
            put(r + 1, 0, marker, style="id")
            for j, k in enumerate(self.kpis):
                put(r + 1, j + 1, k.id, style="id")
            r += 1
        for j, h in enumerate(self.header):
            put(r + 1, j, h, style="header")
        return r + 2

    def targets(self, r: int, kept: dict[tuple[str, str], float]) -> tuple[int, list[PlannedValidation]]:
        """Team target, its even split, and one yellow row per member (the split, or the manager's number)."""
        from kpitree.workbook_templates.spec import validation_kind

        put, lang, n = self.c.put, self.lang, len(self.members)
        team_row = self._table_head(r, text("team.targets_section", lang), TARGETS_MARKER)
        split_row = team_row + 1
        put(team_row, 0, text("team.team_target", lang), style="label")
        put(split_row, 0, text("team.split", lang, members=n), style="text")  # a long label: it wraps
        validations = []
        for j, k in enumerate(self.kpis):
            col, fmt = j + 1, kpi_fmt(k)
            team_ref = put(team_row, col, formula=f'=IF(target_{k.id}="","",target_{k.id})', style=f"calc:{fmt}")
            divide = "/team_members" if k.unit in SPLIT_UNITS else ""
            put(split_row, col, formula=f'=IF({team_ref}="","",{team_ref}{divide})', style=f"calc:{fmt}")
            if n:
                ref = f"{col_letter(col)}{split_row + 2}:{col_letter(col)}{split_row + 1 + n}"
                validations.append(PlannedValidation(self.c.sheet, ref, validation_rule(validation_kind(k), lang)))
        first = split_row + 1
        for i, member in enumerate(self.members):
            put(first + i, 0, member, style="label")
            for j, k in enumerate(self.kpis):
                typed = kept.get((member, k.id))
                if typed is not None:
                    put(first + i, j + 1, typed, style=f"input:{kpi_fmt(k)}")
                else:
                    put(first + i, j + 1, formula=f"={col_letter(j + 1)}${split_row + 1}", style=f"input:{kpi_fmt(k)}")
        return first, validations

    def actuals(self, r: int) -> tuple[int, int]:
        """Members' actuals, then the no-member row, team total, average, spread and top performer; (first row, next row)."""
        put, lang, fig = self.c.put, self.lang, self.fig
        first = self._table_head(r, text("team.actuals_section", lang, start=fig.start.isoformat(), as_of=fig.as_of.isoformat()),
                                 ACTUALS_MARKER)
        table = fig.table(self.kpis)
        values = {k.id: [None if v != v else float(v) for v in table.loc[self.members, k.id]] if self.members else []
                  for k in self.kpis}
        for i, member in enumerate(self.members):
            put(first + i, 0, member, style="label")
            for j, k in enumerate(self.kpis):
                # no value (a rate with no denominator): a dash, which the achievement formula turns into a blank
                value = values[k.id][i]
                put(first + i, j + 1, NO_VALUE if value is None else value, style=f"calc:{kpi_fmt(k)}")
        rr = first + len(self.members)
        if UNASSIGNED in fig.rows.index and fig.rows.loc[UNASSIGNED].any():
            put(rr, 0, text("team.unassigned", lang), style="note")
            for j, k in enumerate(self.kpis):
                v = table.at[UNASSIGNED, k.id]
                put(rr, j + 1, None if v != v else float(v), style=f"calc:{kpi_fmt(k)}")
            rr += 1
        return first, self._statistics(rr, values)

    def _statistics(self, rr: int, values: dict[str, list[float | None]]) -> int:
        put, lang, fig = self.c.put, self.lang, self.fig
        stats = [("team.team_total", lambda k, v: fig.value(k)),
                 ("team.average", lambda k, v: statistics.fmean(v) if v else None),
                 ("team.stdev", lambda k, v: statistics.pstdev(v) if v else None),
                 ("team.top_value", lambda k, v: (min(v) if k.lower_is_better else max(v)) if v else None)]
        for key, fn in stats:
            put(rr, 0, text(key, lang), style="text")
            for j, k in enumerate(self.kpis):
                put(rr, j + 1, fn(k, [v for v in values[k.id] if v is not None]), style=f"calc:{kpi_fmt(k)}")
            rr += 1
        put(rr, 0, text("team.top_member", lang), style="label")
        for j, k in enumerate(self.kpis):
            put(rr, j + 1, top_performer(k, values[k.id], self.members), style="calc")
        return rr + 1

    def achievement(self, r: int, actual_first: int, target_first: int) -> tuple[int, str]:
        """Achievement per member and KPI (coloured by status) and the KPIs per status; (first row, matrix range)."""
        put, lang = self.c.put, self.lang
        self.header += list(reversed(text_list("status.labels", lang)))  # on track, watch, behind
        first = self._table_head(r, text("team.achievement_section", lang), None)
        last_letter = col_letter(max(len(self.kpis), 1))
        count_col = len(self.kpis) + 1
        for i, member in enumerate(self.members):
            row = first + i
            put(row, 0, member, style="label")
            for j, k in enumerate(self.kpis):
                col = col_letter(j + 1)
                put(row, j + 1, formula=achievement_formula(f"{col}{actual_first + i + 1}", f"{col}{target_first + i + 1}", k),
                    style="calc:rate")
            cells = f"B{row + 1}:{last_letter}{row + 1}"
            on_ref = put(row, count_col, formula=f'=COUNTIF({cells},">="&status_on_track_from)', style="calc:count")
            watch_ref = put(row, count_col + 1, formula=f'=COUNTIF({cells},">="&status_watch_from)-{on_ref}', style="calc:count")
            put(row, count_col + 2, formula=f"=COUNT({cells})-{on_ref}-{watch_ref}", style="calc:count")
        return first, f"B{first + 1}:{last_letter}{first + max(len(self.members), 1)}"


def top_performer(kpi: Kpi, values: list[float | None], members: list[str]) -> str | None:
    """The member with the best value (ties: the first in the sheet's order); None when nobody has one."""
    best: tuple[float, str] | None = None
    for value, member in zip(values, members):
        if value is None:
            continue
        better = best is None or (value < best[0] if kpi.lower_is_better else value > best[0])
        if better:
            best = (value, member)
    return None if best is None else best[1]


# lever -> (KPI whose per-member target is the lever's target, the workbook's plan name otherwise)
LEVER_TARGETS = {"calls": ("calls", "required_calls_month"), "connect_rate": ("connect_rate", "plan_connect_rate"),
                 "conversion_rate": ("conversion_rate", "plan_conversion_rate"),
                 "win_rate": ("handoff_win_rate", "plan_win_rate"), "avg_deal_size": ("", "avg_deal_size")}


def lever_actuals(fig: Figures, member: str, team_deal_size: float | None) -> dict[str, float | None]:
    """A member's five levers this period: calls landing in the month, connect, conversion, win rate, deal size.

    A member with no won deal this period has no deal size of their own: the team's is used
    (``team_deal_size``; the section's note says so) — with a win rate of 0 it decides how much
    revenue lifting the win rate would recover.
    """
    m = fig.rows.loc[member]
    calls = float(m["calls"]) / fig.elapsed * fig.total if fig.elapsed else None
    size = kpi_value("avg_deal_size", m, fig.elapsed)
    return {
        "calls": calls,
        "connect_rate": kpi_value("connect_rate", m, fig.elapsed),
        "conversion_rate": kpi_value("conversion_rate", m, fig.elapsed),
        "win_rate": kpi_value("handoff_win_rate", m, fig.elapsed),
        "avg_deal_size": size if size is not None else team_deal_size,
    }


def team_deal_size(fig: Figures) -> float | None:
    """The team's average deal size this period, else this quarter (None: no won deal yet)."""
    return kpi_value("avg_deal_size", fig.rows.sum(), fig.elapsed) or kpi_value("avg_deal_size", fig.q_rows.sum(), fig.q_elapsed)


def _bottleneck_section(c: _Cells, r: int, lang: Lang, kpis: list[Kpi], fig: Figures, members: list[str],
                        target_first: int) -> int:
    """Five lever actuals, their targets and ``KPI_BOTTLENECK`` per member; returns the next free row."""
    put = c.put
    put(r, 0, text("team.bottleneck_section", lang), style="section")
    short = text_list("team.lever_labels", lang)
    header = [text("team.member", lang), *[text("team.actual_of", lang, label=s) for s in short],
              *[text("team.target_of", lang, label=s) for s in short], *text_list("team.bottleneck_cols", lang)]
    for j, h in enumerate(header):
        put(r + 1, j, h, style="header")
    formats = ("count1", "rate", "rate", "rate", "amount")
    col_of = {k.id: j + 1 for j, k in enumerate(kpis)}
    first = r + 2
    size = team_deal_size(fig)
    for i, member in enumerate(members):
        rr = first + i
        put(rr, 0, member, style="label")
        actual = lever_actuals(fig, member, size)
        for j, lever in enumerate(LEVERS):
            put(rr, 1 + j, actual[lever], style=f"calc:{formats[j]}")
            kpi_id, plan_name = LEVER_TARGETS[lever]
            if kpi_id in col_of:
                ref = f"{col_letter(col_of[kpi_id])}{target_first + i + 1}"
                formula = f'=IF({ref}="","",{ref}*{fig.total})' if lever == "calls" else f"={ref}"
            else:
                formula = f"={plan_name}"
            put(rr, 6 + j, formula=formula, style=f"calc:{formats[j]}")
        missing = [short[j] for j, lever in enumerate(LEVERS) if actual[lever] is None]
        if missing:
            put(rr, 11, text("team.bottleneck_no_data", lang), style="status")
            put(rr, 12, text("team.bottleneck_missing", lang, levers=text("team.and", lang).join(missing)), style="note")
            continue
        acts, tgts = f"B{rr + 1}:F{rr + 1}", f"G{rr + 1}:K{rr + 1}"
        put(rr, 11, formula=f'=KPI_BOTTLENECK({acts},{tgts},"{lang}")', style="status", spill=f"L{rr + 1}:O{rr + 1}")
        put(rr, 12, style="calc_text")  # the cause and the action take lines of their own
        put(rr, 13, style="calc_text")
        put(rr, 14, style="calc:amount")
    put(first + len(members), 0, text("team.bottleneck_note", lang), style="note")
    return first + len(members) + 1


# --- the data sheet ------------------------------------------------------------------------------


def plan_data_sheet(lang: Lang, data: TeamData, after: str | None = None) -> SheetPlan:
    """The data sheet: settings, then one row per grain, period and member (values only)."""
    from .data import TABLE_COLUMNS

    sheet = sheet_title("team.sheet_data", lang)
    c = _Cells(sheet)
    c.put(0, 0, text("team.data_title", lang), style="title")
    c.put(1, 0, text("team.data_note", lang), style="note")
    settings = data.settings()
    labels = dict(zip(("data_from", "data_through", "calendar", "holidays", "mapping", "sources", "members"),
                      text_list("team.data_setting_labels", lang)))
    r = 3
    for key_, value in settings.items():
        c.put(r, 0, key_, style="id")
        c.put(r, 1, labels.get(key_, text("team.data_missing_label", lang)), style="label")
        c.put(r, 2, value if value != "" else None, style="text")
        r += 1
    r += 1
    measure_labels = text_list("team.measure_labels", lang)
    for j, label in enumerate(text_list("team.data_key_labels", lang) + measure_labels):
        c.put(r, j, label, style="header")
    for j, name in enumerate(TABLE_COLUMNS):
        c.put(r + 1, j, name, style="id")
    table = data.table.sort_values(["grain", "period", "member"], kind="stable")
    rows = tuple(
        (g, p, m, *(float(x) for x in vals))
        for g, p, m, *vals in table[list(TABLE_COLUMNS)].itertuples(index=False, name=None)
    )
    widths: dict[str, float] = {"A": 16, "B": 30, "C": 24, **{col_letter(j): 11 for j in range(3, len(TABLE_COLUMNS))}}
    setup = SheetSetup(sheet, FONTS[lang], widths, freeze_rows=3)
    return SheetPlan(sheet, tuple(c.cells), owned=True, after=after, setup=setup, rows=rows, first_row=r + 2)


# --- pace and alerts on the dashboard ------------------------------------------------------------


def pace_rows(lang: Lang, items: list[Pace], alerts: list[Pace], limit: int | None) -> tuple[
        list[list[Any]], list[list[Any]]]:
    """Table rows of the team's paces and of the alerts (kpi label, …), as the dashboard and the reviews show them."""
    cat = load_catalogue()
    team = [p for p in items if p.member is None]
    rows = []
    for p in team:
        k = cat.kpi(p.kpi_id)
        rows.append([horizon_label(k, lang), p.target, p.actual, p.forecast, p.pace, k])
    alert_rows = []
    for p in alerts[:limit] if limit is not None else alerts:
        k = cat.kpi(p.kpi_id)
        who = text("team.team", lang) if p.member is None else (p.member or text("team.unassigned", lang))
        alert_rows.append([who, horizon_label(k, lang), p.forecast, p.target, p.pace, k])
    return rows, alert_rows


def plan_pace_block(lang: Lang, sheet: str, items: list[Pace], alerts: list[Pace], fig: Figures, watch_from: float,
                    first_row: int = 3) -> SheetPlan:
    """The pace table and the alert list on ``sheet`` (the dashboard), from column T."""
    c = _Cells(sheet)
    put = c.put
    col = PACE_COL
    rows, alert_rows = pace_rows(lang, items, alerts, DASHBOARD_ALERT_ROWS)
    r = first_row
    put(r, col, text("team.pace_title", lang, as_of=fig.as_of.isoformat(), elapsed=fig.elapsed, total=fig.total), style="section")
    put(r + 1, col, text("team.pace_note", lang, watch=f"{watch_from:.0%}"), style="note")
    for j, h in enumerate(text_list("team.pace_cols", lang)):
        put(r + 2, col + j, h, style="header")
    first = r + 3
    for i, (label, target, actual, forecast, pace, k) in enumerate(rows):
        rr = first + i
        fmt = kpi_fmt(k, per_day=KPI_RECIPES[k.id][0] == "per_day")
        put(rr, col, label)
        put(rr, col + 1, target, style=f"calc:{fmt}")
        put(rr, col + 2, actual, style=f"calc:{fmt}")
        put(rr, col + 3, forecast, style=f"calc:{fmt}")
        pace_ref = put(rr, col + 4, pace, style="calc:rate")
        put(rr, col + 5, formula=status_formula(pace_ref, lang), style="status")
    last = first + max(len(rows), 1) - 1
    status_ref = f"{col_letter(col + 5)}{first + 1}:{col_letter(col + 5)}{last + 1}"
    r = last + 2
    total_alerts = len(alerts)
    put(r, col, text("team.alerts_title", lang, count=total_alerts, watch=f"{watch_from:.0%}"), style="section")
    for j, h in enumerate(text_list("team.alert_cols", lang)):
        put(r + 1, col + j, h, style="header")
    a_first = r + 2
    if not alert_rows:
        put(a_first, col, text("team.no_alerts", lang), style="note")
    for i, (who, label, forecast, target, pace, k) in enumerate(alert_rows):
        rr = a_first + i
        fmt = kpi_fmt(k, per_day=KPI_RECIPES[k.id][0] == "per_day")
        put(rr, col, who)
        put(rr, col + 1, label)
        put(rr, col + 2, forecast, style=f"calc:{fmt}")
        put(rr, col + 3, target, style=f"calc:{fmt}")
        put(rr, col + 4, pace, style="calc:rate")
    end = a_first + max(len(alert_rows), 1)
    if total_alerts > len(alert_rows):
        put(end, col, text("team.more_alerts", lang, count=total_alerts - len(alert_rows)), style="note")
    letters = [col_letter(col + j) for j in range(PACE_BLOCK_COLS)]
    block = f"{letters[0]}{first_row + 1}:{letters[-1]}{first_row + PACE_BLOCK_ROWS}"
    widths: dict[str, float] = {letters[0]: 24, letters[1]: 22, **{x: 13 for x in letters[2:]}}
    return SheetPlan(sheet, tuple(c.cells), block=block, owned=False,
                     conditional_formats=status_formats(sheet, status_ref, lang), widths=widths)
