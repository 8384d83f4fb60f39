"""The numbers of a period: per-member measures and KPIs, targets, pace and landing forecasts, alerts.

Pure functions over :class:`~.data.TeamData` (and the daily table when ``kpitree import`` has
it); no workbook is read or written here.

**Pace** (seed 002's milestone idea; spec "pace (mid-period)"): with ``e`` working days of the
period elapsed (up to the last day with data) out of ``n``,

* a count KPI (opportunities per month, won amount per quarter): landing forecast
  (着地見込み) = actual so far ÷ e × n, pace = forecast ÷ the period's target;
* a per-working-day KPI (calls per day): the daily average so far is the forecast of the
  daily average, pace = daily average ÷ daily target;
* a rate or score: the rate so far is its forecast, pace = rate ÷ target.

A KPI (of the team or of a member) whose pace is below the watch threshold (the dashboard's
``status_watch_from``, 80 % by default) is an **alert**.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Kpi

from .measures import KPI_RECIPES, MEASURES, kpi_table, kpi_value, month_bounds, month_key, quarter_bounds, shift_month, totals

if TYPE_CHECKING:
    import pandas as pd

    from .data import TeamData

SPLIT_UNITS = ("count", "currency")  # a team target of these units is split evenly among members; rates are not
UNASSIGNED = ""


@dataclass
class Figures:
    """Measures of a period (per member, ``""`` for records without one) and of its quarter to date."""

    start: dt.date
    end: dt.date
    as_of: dt.date
    elapsed: int  # working days from start to as_of
    total: int  # working days of the period
    rows: pd.DataFrame
    q_start: dt.date
    q_end: dt.date
    q_elapsed: int
    q_total: int
    q_rows: pd.DataFrame
    members: list[str] = field(default_factory=list)

    def period_of(self, kpi: Kpi) -> tuple[pd.DataFrame, int, int]:
        """(rows, working days elapsed, working days in the period) of the KPI's horizon."""
        if kpi.tier == "strategic":
            return self.q_rows, self.q_elapsed, self.q_total
        return self.rows, self.elapsed, self.total

    def table(self, kpis: list[Kpi]) -> pd.DataFrame:
        """KPIs (columns, by id) of every member (rows; ``""`` records without a member): NaN where not computable."""
        import pandas as pd

        parts = []
        for tier_rows, elapsed, group in ((self.rows, self.elapsed, [k for k in kpis if k.tier != "strategic"]),
                                          (self.q_rows, self.q_elapsed, [k for k in kpis if k.tier == "strategic"])):
            if group:
                parts.append(kpi_table(tier_rows, [k.id for k in group], elapsed))
        return pd.concat(parts, axis=1)[[k.id for k in kpis]] if parts else pd.DataFrame(index=self.rows.index)

    def value(self, kpi: Kpi, member: str | None = None) -> float | None:
        """The KPI of a member (None: the team, records without a member included)."""
        rows, elapsed, _ = self.period_of(kpi)
        measures = rows.sum() if member is None else rows.loc[member]
        return kpi_value(kpi.id, measures, elapsed)


def _reindexed(frame: pd.DataFrame, members: list[str], unassigned: bool) -> pd.DataFrame:
    index = [*members, *([UNASSIGNED] if unassigned else [])]
    return frame.reindex(index, fill_value=0.0)[list(MEASURES)].astype(float)


def figures(data: TeamData, start: dt.date, end: dt.date, days: pd.DataFrame | None = None) -> Figures:
    """The figures of ``start``..``end``; from the daily table when given, else from the month rows (whole months)."""
    elapsed, total, as_of = data.elapsed(start, end)
    q_start, q_end = quarter_bounds(end)
    q_elapsed, q_total, _ = data.elapsed(q_start, q_end)
    members, unassigned = data.members, data.unassigned
    if days is not None:
        rows = totals(days, start, as_of)
        q_rows = totals(days, q_start, min(as_of, q_end))
    else:
        key = month_key(start)
        if (start, end) != month_bounds(key):
            raise ValueError("without the daily table a period is a calendar month")
        rows = data.rows("month", key)
        q_keys = [k for k in data.months() if q_start <= month_bounds(k)[0] <= as_of]
        q_rows = rows * 0
        for k in q_keys:
            q_rows = q_rows.add(data.rows("month", k), fill_value=0.0)
    return Figures(start, end, as_of, elapsed, total, _reindexed(rows, members, unassigned), q_start, q_end,
                   q_elapsed, q_total, _reindexed(q_rows, members, unassigned), members)


def trend(data: TeamData, last_month: str, months: int = 12) -> list[tuple[str, pd.Series | None]]:
    """The team's measures of the ``months`` months ending with ``last_month`` (None: no data that month)."""
    have = set(data.months())
    out = []
    for i in range(months - 1, -1, -1):
        key = shift_month(last_month, -i)
        out.append((key, data.team("month", key) if key in have else None))
    return out


def member_target(kpi: Kpi, team_target: Any, members: int) -> float | None:
    """The default target of one member: the team's split evenly (counts, amounts), or the team's (rates, scores)."""
    if not isinstance(team_target, (int, float)) or isinstance(team_target, bool):
        return None
    if kpi.unit in SPLIT_UNITS:
        return float(team_target) / max(members, 1)
    return float(team_target)


@dataclass(frozen=True)
class Pace:
    """One KPI's pace in its period: for the team (``member`` None) or a member."""

    kpi_id: str
    member: str | None
    target: float | None  # for the period (count KPIs) or per day / the rate
    actual: float | None  # so far: a total, a daily average or a rate
    forecast: float | None  # 着地見込み, same unit as target
    pace: float | None  # forecast ÷ target
    elapsed: int
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi_id, "member": self.member, "target": self.target, "actual": self.actual,
                "forecast": self.forecast, "pace": self.pace, "elapsed_working_days": self.elapsed,
                "working_days": self.total}


def pace_of(kpi: Kpi, fig: Figures, target: Any, member: str | None = None) -> Pace:
    """The pace of ``kpi`` (see the module doc); ``target`` is the KPI's target as the workbook states it."""
    rows, elapsed, total = fig.period_of(kpi)
    measures = rows.sum() if member is None else rows.loc[member]
    how = KPI_RECIPES[kpi.id][0]
    actual = kpi_value(kpi.id, measures, elapsed)
    goal = float(target) if isinstance(target, (int, float)) and not isinstance(target, bool) else None
    if how == "count":
        so_far = float(measures[KPI_RECIPES[kpi.id][1]])
        forecast = so_far / elapsed * total if elapsed > 0 else None
        actual = so_far
    else:
        forecast = actual
    if kpi.lower_is_better:
        pace = goal / forecast if goal is not None and forecast else None
    else:
        pace = forecast / goal if forecast is not None and goal else None
    return Pace(kpi.id, member, goal, actual, forecast, pace, elapsed, total)


def paces(kpis: list[Kpi], fig: Figures, team_targets: dict[str, Any],
          member_targets: dict[tuple[str, str], Any]) -> list[Pace]:
    """The team's pace of every KPI, then each member's (member targets by ``(member, kpi id)``)."""
    import math

    out = [pace_of(k, fig, team_targets.get(k.id)) for k in kpis]
    tactical = [k for k in kpis if k.tier != "strategic"]
    if not tactical or not fig.members:
        return out
    values = fig.table(tactical)
    for k in tactical:
        how, num, _ = KPI_RECIPES[k.id]
        so_far = fig.rows[num]
        for member in fig.members:
            goal = member_targets.get((member, k.id))
            goal = float(goal) if isinstance(goal, (int, float)) and not isinstance(goal, bool) else None
            actual: float | None
            if how == "count":
                count = float(so_far[member])
                actual, forecast = count, (count / fig.elapsed * fig.total if fig.elapsed > 0 else None)
            else:
                v = float(values.at[member, k.id])
                actual = forecast = None if math.isnan(v) else v
            if k.lower_is_better:
                pace = goal / forecast if goal is not None and forecast else None
            else:
                pace = forecast / goal if forecast is not None and goal else None
            out.append(Pace(k.id, member, goal, actual, forecast, pace, fig.elapsed, fig.total))
    return out


def alerts(items: list[Pace], watch_from: float) -> list[Pace]:
    """Paces below ``watch_from``, the team's first, then the lowest pace first."""
    low = [p for p in items if p.pace is not None and p.pace < watch_from]
    return sorted(low, key=lambda p: (p.member is not None, p.pace))
