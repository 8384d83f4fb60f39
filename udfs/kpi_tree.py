"""KPI-tree engine: back-calculation from the KGI, and funnel bottleneck analysis.

The tree (seeds 000, 001, 003)::

    revenue = calls × connect rate × conversion rate × win rate × average deal size

read top-down it back-calculates activity from the annual revenue goal; read
bottom-up it says which single lever, brought to its target, recovers the most
revenue — the bottleneck, with seed 000's likely cause and improvement action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import kpi_formulas as kf
from .catalogue import LANGS, Bilingual, Lang, load_catalogue
from .excel_values import OK, Kind, XlError, check_domain, first_error, to_checked
from .texts import text, text_list

MONTHS_PER_YEAR = 12
WEEKS_PER_YEAR = 52
DEFAULT_WORKING_DAYS_PER_MONTH = 20

PERIODS = ("year", "quarter", "month", "week", "day")


@dataclass(frozen=True)
class PlanRow(Bilingual):
    """One quantity of the plan per period."""

    key: str
    ja: str
    en: str
    year: float
    quarter: float
    month: float
    week: float
    day: float

    def per(self, period: str) -> float:
        return getattr(self, period)


@dataclass(frozen=True)
class Plan:
    annual_revenue: float
    avg_deal_size: float
    win_rate: float
    conversion_rate: float
    connect_rate: float
    working_days_per_month: float
    rows: tuple[PlanRow, ...]

    def row(self, key: str) -> PlanRow:
        return next(r for r in self.rows if r.key == key)


def _check(name: str, value: Any, kind: Kind, positive: bool) -> float:
    values, codes = to_checked(value)
    codes = check_domain(values, codes, kind)
    if codes or np.ndim(values) != 0 or (positive and float(values) == 0):
        need = "a rate in (0, 1], e.g. 0.25 for 25 %" if kind is Kind.RATE else "a number > 0"
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return float(values)


def back_calculate(
    annual_revenue: float,
    avg_deal_size: float,
    win_rate: float,
    conversion_rate: float,
    connect_rate: float,
    working_days_per_month: float = DEFAULT_WORKING_DAYS_PER_MONTH,
) -> Plan:
    """Back-calculate won deals, opportunities, connects and calls from the KGI.

    ``won = revenue / avg_deal_size``; ``opportunities = won / win_rate``;
    ``connects = opportunities / conversion_rate``; ``calls = connects / connect_rate``.
    Per quarter = year / 4, month = year / 12, week = year / 52, working day = month /
    ``working_days_per_month``. Raises ValueError naming the bad argument.

    >>> plan = back_calculate(100_000_000, 1_000_000, 0.25, 0.10, 0.25)
    >>> plan.row("won_deals").quarter, plan.row("opportunities").quarter
    (25.0, 100.0)
    """
    revenue = _check("annual_revenue", annual_revenue, Kind.AMOUNT, positive=True)
    size = _check("avg_deal_size", avg_deal_size, Kind.AMOUNT, positive=True)
    win = _check("win_rate", win_rate, Kind.RATE, positive=True)
    conv = _check("conversion_rate", conversion_rate, Kind.RATE, positive=True)
    conn = _check("connect_rate", connect_rate, Kind.RATE, positive=True)
    days = _check("working_days_per_month", working_days_per_month, Kind.COUNT, positive=True)

    won = revenue / size
    opportunities = won / win
    connects = opportunities / conv
    calls = float(kf.required_calls(opportunities, conv, conn))
    annual = [
        ("revenue", "plan.revenue", revenue),
        ("won_deals", "plan.won_deals", won),
        ("opportunities", "plan.opportunities", opportunities),
        ("connects", "plan.connects", connects),
        ("calls", "plan.calls", calls),
    ]
    rows = tuple(
        PlanRow(
            key, text(label, "ja"), text(label, "en"), value, value / 4, value / MONTHS_PER_YEAR, value / WEEKS_PER_YEAR,
            value / MONTHS_PER_YEAR / days,
        )
        for key, label, value in annual
    )
    return Plan(revenue, size, win, conv, conn, days, rows)


# --- bottleneck -------------------------------------------------------------------

LEVERS = ("calls", "connect_rate", "conversion_rate", "win_rate", "avg_deal_size")
# lang -> (label, cause, action) when every lever is at or above its target (texts.toml [bottleneck]);
# the worksheet function and the engine's bridge import this table
NO_BOTTLENECK: dict[str, tuple[str, ...]] = {lang: text_list("bottleneck.none", lang) for lang in LANGS}
LEVER_KINDS = (Kind.COUNT, Kind.RATE, Kind.RATE, Kind.RATE, Kind.AMOUNT)  # the input policy of each lever


class BottleneckArrays(NamedTuple):
    lever_index: np.ndarray  # -1: no lever below target, or an error
    recovered: np.ndarray  # (..., 5) revenue recovered by lifting each lever alone
    actual_revenue: np.ndarray
    target_revenue: np.ndarray
    codes: np.ndarray  # Excel error codes


def evaluate_bottleneck(actuals: Any, targets: Any) -> BottleneckArrays:
    """Vectorised bottleneck over the last axis of two (..., 5) arrays of levers."""
    a, ca = to_checked(actuals)
    t, ct = to_checked(targets)
    if a.shape[-1:] != (len(LEVERS),) or t.shape != a.shape:
        raise ValueError(f"actuals and targets need {len(LEVERS)} values each, in the order {', '.join(LEVERS)}")
    for i, kind in enumerate(LEVER_KINDS):
        ca[..., i] = check_domain(a[..., i], ca[..., i], kind)
        ct[..., i] = check_domain(t[..., i], ct[..., i], kind)
    codes = first_error(*(ca[..., i] for i in range(len(LEVERS))), *(ct[..., i] for i in range(len(LEVERS))))
    ok = codes == OK
    a = np.where(np.isfinite(a), a, 0.0)
    t = np.where(np.isfinite(t), t, 0.0)
    actual_revenue = np.prod(a, axis=-1)
    recovered = np.empty(a.shape)
    for i in range(len(LEVERS)):
        lifted = a.copy()
        lifted[..., i] = np.maximum(a[..., i], t[..., i])
        recovered[..., i] = np.prod(lifted, axis=-1) - actual_revenue
    best = np.argmax(recovered, axis=-1)
    gain = np.take_along_axis(recovered, best[..., None], axis=-1)[..., 0]
    return BottleneckArrays(
        np.where(ok & (gain > 0), best, -1),
        np.where(ok[..., None], recovered, np.nan),
        np.where(ok, actual_revenue, np.nan),
        np.where(ok, np.prod(t, axis=-1), np.nan),
        codes,
    )


@dataclass(frozen=True)
class BottleneckResult:
    lever: str | None  # None: every lever is at or above target
    label: str
    cause: str
    action: str
    recovered_revenue: float
    actual_revenue: float
    target_revenue: float
    recovered_by_lever: dict[str, float]


def find_bottleneck(actuals: dict[str, float], targets: dict[str, float], lang: Lang = "ja") -> BottleneckResult:
    """The lever that, brought to target alone, recovers the most revenue.

    ``actuals`` and ``targets`` map each of :data:`LEVERS` to a number (calls per
    period, rates as fractions, average deal size in yen). Raises ValueError on bad
    input.

    >>> r = find_bottleneck(
    ...     dict(calls=800, connect_rate=0.15, conversion_rate=0.10, win_rate=0.25, avg_deal_size=1e6),
    ...     dict(calls=800, connect_rate=0.25, conversion_rate=0.10, win_rate=0.25, avg_deal_size=1e6), "en")
    >>> r.lever, r.action
    ('connect_rate', 'Analyse and move to the best time slots')
    """
    missing = [k for k in LEVERS if k not in actuals or k not in targets]
    if missing:
        raise ValueError(f"missing levers: {', '.join(missing)}")
    r = evaluate_bottleneck([actuals[k] for k in LEVERS], [targets[k] for k in LEVERS])
    if r.codes:
        raise ValueError(f"bad funnel input ({XlError(int(r.codes)).text}): actuals={actuals}, targets={targets}")
    recovered = {lever: float(v) for lever, v in zip(LEVERS, r.recovered)}
    revenue, target = float(r.actual_revenue), float(r.target_revenue)
    if r.lever_index == -1:
        label, cause, action = NO_BOTTLENECK[lang]
        return BottleneckResult(None, label, cause, action, 0.0, revenue, target, recovered)
    b = load_catalogue().bottleneck(LEVERS[int(r.lever_index)])
    return BottleneckResult(
        b.lever, b.label(lang), b.cause(lang), b.action(lang), recovered[b.lever], revenue, target, recovered
    )
