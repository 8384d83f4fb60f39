"""From canonical records to counts per day, week, month and member, and from counts to KPIs.

**Measures** are the counts and sums every KPI is made of (:data:`MEASURES`): calls,
connects, emails sent, opportunities created, won deals and their amount, … A measure is
*supported* when the exports hold the columns it needs (:data:`NEEDS`); an unsupported
measure is never shown as 0 — the KPIs built on it are reported as not computable, naming the
missing column.

Records are counted on their day: an activity on its date, an opportunity on its creation
date (won deals and their amount on the closing date, the creation date when there is none),
a follow-up on its due date (on time when done by then), a lead on its date. Days are
summed per member with ``numpy.bincount`` over factorised keys, so a million activities take
a fraction of a second; weeks (ISO, ``2026-W15``), months (``2026-04``) and quarters follow
from the days.

**KPIs** (:data:`KPI_RECIPES`) are ratios of measures: ``calls`` per working day = calls ÷
working days elapsed; ``connect_rate`` = connects ÷ calls; ``opportunities`` per month =
opportunities; ``revenue_contribution`` per quarter = won amount; …
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .records import TableReport

MEASURES = (
    "calls", "connects", "effective_contacts", "talk_minutes", "emails_sent", "emails_opened", "emails_replied",
    "meetings", "followups_planned", "followups_on_time", "leads", "mql", "sql", "opportunities", "bant_opportunities",
    "quality_sum", "quality_count", "won", "won_amount", "lost",
)
# measure -> the (table, field) it needs; a table named alone: the export itself
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "calls": (("activities", ""),), "meetings": (("activities", ""),), "emails_sent": (("activities", ""),),
    "connects": (("activities", "result"),), "effective_contacts": (("activities", "result"),),
    "emails_opened": (("activities", "result"),), "emails_replied": (("activities", "result"),),
    "talk_minutes": (("activities", "result"), ("activities", "duration")),
    "followups_planned": (("activities", "due"),), "followups_on_time": (("activities", "due"), ("activities", "done")),
    "leads": (("leads", ""),), "mql": (("leads", "status"),), "sql": (("leads", "status"),),
    "opportunities": (("opportunities", ""),), "bant_opportunities": (("opportunities", "bant"),),
    "quality_sum": (("opportunities", "quality"),), "quality_count": (("opportunities", "quality"),),
    "won": (("opportunities", "stage"),), "lost": (("opportunities", "stage"),),
    "won_amount": (("opportunities", "stage"), ("opportunities", "amount")),
}

# KPI id -> (how, numerator, denominator): per_day = numerator ÷ working days; ratio; count
KPI_RECIPES: dict[str, tuple[str, str, str]] = {
    "calls": ("per_day", "calls", ""),
    "connect_rate": ("ratio", "connects", "calls"),
    "effective_contacts": ("per_day", "effective_contacts", ""),
    "emails_sent": ("per_day", "emails_sent", ""),
    "email_open_rate": ("ratio", "emails_opened", "emails_sent"),
    "email_reply_rate": ("ratio", "emails_replied", "emails_sent"),
    "followup_rate": ("ratio", "followups_on_time", "followups_planned"),
    "avg_talk_time": ("ratio", "talk_minutes", "connects"),
    "opportunities": ("count", "opportunities", ""),
    "conversion_rate": ("ratio", "opportunities", "leads"),
    "sql_count": ("count", "sql", ""),
    "mql_count": ("count", "mql", ""),
    "mql_to_sql_rate": ("ratio", "sql", "mql"),
    "bant_rate": ("ratio", "bant_opportunities", "opportunities"),
    "handoff_win_rate": ("ratio", "won", "opportunities"),
    "win_rate": ("ratio", "won", "opportunities"),
    "quality_score": ("ratio", "quality_sum", "quality_count"),
    "revenue_contribution": ("count", "won_amount", ""),
    "won_deals": ("count", "won", ""),
    "avg_deal_size": ("ratio", "won_amount", "won"),
}
# KPIs no CRM export holds: what they need instead (texts.toml [team] key)
NOT_IN_EXPORTS = {"ltv_cac": "team.needs_costs", "ltv": "team.needs_costs", "cac": "team.needs_costs",
                  "cac_payback_months": "team.needs_costs", "forecast_accuracy": "team.needs_forecast"}


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def month_bounds(key: str) -> tuple[dt.date, dt.date]:
    year, month = (int(p) for p in key.split("-"))
    first = dt.date(year, month, 1)
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def week_bounds(key: str) -> tuple[dt.date, dt.date]:
    year, week = key.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    return monday, monday + dt.timedelta(days=6)


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = quarter_start(day)
    last_month = dt.date(first.year, first.month + 2, 1)
    return first, month_bounds(month_key(last_month))[1]


def shift_month(key: str, months: int) -> str:
    year, month = (int(p) for p in key.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class Support:
    """Which measures the exports support, and for the rest which (table, field) is missing."""

    missing: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # measure -> what is missing

    def ok(self, measure: str) -> bool:
        return measure not in self.missing

    def kpi_missing(self, kpi_id: str) -> list[tuple[str, str]]:
        """What a KPI lacks ((table, field) pairs; empty when it can be computed)."""
        recipe = KPI_RECIPES.get(kpi_id)
        if recipe is None:
            return []
        out: list[tuple[str, str]] = []
        for measure in recipe[1:]:
            for need in self.missing.get(measure, []) if measure else []:
                if need not in out:
                    out.append(need)
        return out

    def kpi_ok(self, kpi_id: str) -> bool:
        return kpi_id in KPI_RECIPES and not self.kpi_missing(kpi_id)


def support(reports: dict[str, TableReport | None]) -> Support:
    """Measure support from what reading each table found (``None``: that export was not given)."""
    out = Support()
    for measure, needs in NEEDS.items():
        lacking = []
        for table, name in needs:
            report = reports.get(table)
            if report is None:
                lacking.append((table, ""))
            elif name and name not in report.columns and not _derived(report, name):
                lacking.append((table, name))
        if lacking:
            out.missing[measure] = lacking
    return out


# measure -> (table, column of the canonical records, values): an export none of whose records has one of
# these values does not hold the measure (a Salesforce export has no "effective contact" result, a HubSpot
# call export no email): the measure is unsupported, not 0
EVIDENCE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "calls": ("activities", "kind", ("call",)), "emails_sent": ("activities", "kind", ("email",)),
    "meetings": ("activities", "kind", ("meeting",)), "followups_planned": ("activities", "kind", ("followup",)),
    "followups_on_time": ("activities", "kind", ("followup",)),
    "connects": ("activities", "result", ("connected", "effective")),
    "talk_minutes": ("activities", "result", ("connected", "effective")),
    "effective_contacts": ("activities", "result", ("effective",)),
    "emails_opened": ("activities", "result", ("opened", "replied")), "emails_replied": ("activities", "result", ("replied",)),
    "mql": ("leads", "status", ("mql", "sql")), "sql": ("leads", "status", ("sql",)),
    "won": ("opportunities", "stage", ("won", "lost")), "lost": ("opportunities", "stage", ("won", "lost")),
    "won_amount": ("opportunities", "stage", ("won", "lost")),
}
VALUE_PREFIX = "value:"  # a missing "field" of the form value:<column>:<a|b>: no record has one of those values


def add_evidence(found: Support, records: dict[str, pd.DataFrame]) -> Support:
    """Measures whose columns exist but whose values never occur in the records: unsupported too."""
    for measure, (table, column, values) in EVIDENCE.items():
        if not found.ok(measure):
            continue
        frame = records.get(table)
        if frame is None or column not in frame or not frame[column].isin(values).any():
            found.missing[measure] = [(table, f"{VALUE_PREFIX}{column}:{'|'.join(values)}")]
    return found


def _derived(report: TableReport, name: str) -> bool:
    """Fields a table has without a column of that name: stage from a won flag, BANT from its items, done from result."""
    if name == "stage":
        return "won" in report.columns
    if name == "bant":
        return any(i in report.columns for i in ("budget", "authority", "need", "timeline"))
    if name == "done":
        return "result" in report.columns
    return False


def _measure_rows(tables: dict[str, pd.DataFrame]) -> list[tuple[pd.Series, pd.Series, dict[str, Any]]]:
    """(day, member, {measure: values}) per table, each record counted on its day."""
    import numpy as np
    import pandas as pd

    parts: list[tuple[pd.Series, pd.Series, dict[str, Any]]] = []
    acts = tables.get("activities")
    if acts is not None and len(acts):
        kind, result = acts["kind"].to_numpy(), acts["result"].to_numpy()
        call, email = kind == "call", kind == "email"
        connected = call & ((result == "connected") | (result == "effective"))
        values: dict[str, Any] = {
            "calls": call, "meetings": kind == "meeting", "emails_sent": email, "connects": connected,
            "effective_contacts": (result == "effective") & (call | (kind == "meeting")),
            "emails_opened": email & ((result == "opened") | (result == "replied")),
            "emails_replied": email & (result == "replied"),
        }
        if "duration_min" in acts:
            values["talk_minutes"] = np.where(connected, acts["duration_min"].fillna(0).to_numpy(), 0.0)
        parts.append((acts["date"], acts["member"], values))
        if "due" in acts:
            follow = acts[(acts["kind"] == "followup") & acts["due"].notna()]
            if len(follow):
                on_time = follow["done"].notna() & (follow["done"] <= follow["due"]) if "done" in follow else False
                parts.append((follow["due"], follow["member"],
                              {"followups_planned": np.ones(len(follow), bool),
                               "followups_on_time": np.asarray(on_time, dtype=bool) if "done" in follow
                               else np.zeros(len(follow), bool)}))
    leads = tables.get("leads")
    if leads is not None and len(leads):
        status = leads["status"].to_numpy()
        parts.append((leads["date"], leads["member"],
                      {"leads": np.ones(len(leads), bool), "sql": status == "sql", "mql": (status == "mql") | (status == "sql")}))
    opps = tables.get("opportunities")
    if opps is not None and len(opps):
        values = {"opportunities": np.ones(len(opps), bool)}
        if "bant" in opps:
            values["bant_opportunities"] = (opps["bant"] >= 3).to_numpy()
        if "quality" in opps:
            q = opps["quality"].to_numpy(dtype=float)
            values["quality_sum"], values["quality_count"] = np.nan_to_num(q), ~np.isnan(q)
        parts.append((opps["created"], opps["member"], values))
        stage = opps["stage"].to_numpy()
        closed = opps["closed"].fillna(opps["created"]) if "closed" in opps else opps["created"]
        outcome = {"won": stage == "won", "lost": stage == "lost"}
        if "amount" in opps:
            outcome["won_amount"] = np.where(stage == "won", opps["amount"].fillna(0).to_numpy(dtype=float), 0.0)
        parts.append((closed, opps["member"], outcome))
    return [(pd.Series(d).reset_index(drop=True), pd.Series(m).reset_index(drop=True), v) for d, m, v in parts]


def daily(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Measures per day and member: columns ``date`` (datetime64), ``member``, then :data:`MEASURES`."""
    import numpy as np
    import pandas as pd

    parts = _measure_rows(tables)
    if not parts:
        return pd.DataFrame(columns=["date", "member", *MEASURES])
    all_dates = pd.concat([d for d, _, _ in parts], ignore_index=True)
    all_members = pd.concat([m for _, m, _ in parts], ignore_index=True)
    date_codes, date_uniques = pd.factorize(all_dates, sort=True)
    member_codes, member_uniques = pd.factorize(all_members, sort=True)
    n_members = max(len(member_uniques), 1)
    key = date_codes.astype(np.int64) * n_members + member_codes
    size = len(date_uniques) * n_members
    sums = {m: np.zeros(size) for m in MEASURES}
    start = 0
    for dates, _, values in parts:
        stop = start + len(dates)
        k = key[start:stop]
        ok = k >= 0  # NaT dates were rejected before; a -1 code never reaches here
        for measure, v in values.items():
            sums[measure] += np.bincount(k[ok], weights=np.asarray(v, dtype=float)[ok], minlength=size)
        start = stop
    present = np.zeros(size, dtype=bool)
    for v in sums.values():
        present |= v != 0
    index = np.flatnonzero(present)
    frame = pd.DataFrame({
        "date": pd.DatetimeIndex(date_uniques).take(index // n_members),
        "member": np.asarray(member_uniques, dtype=object)[index % n_members],
        **{m: sums[m][index] for m in MEASURES},
    })
    return frame


def periods(day_table: pd.DataFrame) -> pd.DataFrame:
    """Measures per week and per month and member: ``grain`` (week/month), ``period``, ``member``, measures."""
    import pandas as pd

    if not len(day_table):
        return pd.DataFrame(columns=["grain", "period", "member", *MEASURES])
    codes, uniques = pd.factorize(day_table["date"], sort=True)
    days = [ts.date() for ts in pd.DatetimeIndex(uniques)]
    weeks = pd.Series([week_key(d) for d in days]).take(codes).to_numpy()
    months = pd.Series([month_key(d) for d in days]).take(codes).to_numpy()
    out = []
    for grain, keys in (("month", months), ("week", weeks)):
        summed = day_table.assign(period=keys).groupby(["period", "member"], sort=True)[list(MEASURES)].sum().reset_index()
        summed.insert(0, "grain", grain)
        out.append(summed)
    return pd.concat(out, ignore_index=True)


def totals(table: pd.DataFrame, start: dt.date, end: dt.date, by_member: bool = True) -> pd.DataFrame:
    """Measures summed over the days ``start``..``end`` of a :func:`daily` table, per member (or the team's one row)."""
    import pandas as pd

    days = table[(table["date"] >= pd.Timestamp(start)) & (table["date"] <= pd.Timestamp(end))]
    if by_member:
        return days.groupby("member", sort=True)[list(MEASURES)].sum()
    return days[list(MEASURES)].sum().to_frame().T


def kpi_value(kpi_id: str, measures: Any, working_days: float) -> float | None:
    """One KPI from a row of measures (a mapping or Series); None when it cannot be computed (no denominator)."""
    recipe = KPI_RECIPES.get(kpi_id)
    if recipe is None:
        return None
    how, num, den = recipe
    numerator = float(measures[num])
    if how == "count":
        return numerator
    denominator = float(working_days) if how == "per_day" else float(measures[den])
    return numerator / denominator if denominator > 0 else None


def kpi_table(rows: pd.DataFrame, kpi_ids: list[str], working_days: float) -> pd.DataFrame:
    """KPIs (columns) of each row of measures (members): NaN where a ratio has no denominator."""
    import numpy as np
    import pandas as pd

    out = {}
    for kpi_id in kpi_ids:
        how, num, den = KPI_RECIPES[kpi_id]
        numerator = rows[num].to_numpy(dtype=float)
        if how == "count":
            out[kpi_id] = numerator
            continue
        denominator = np.full(len(rows), float(working_days)) if how == "per_day" else rows[den].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[kpi_id] = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
    return pd.DataFrame(out, index=rows.index)
