"""Stage engine: stage from months, recommended KPIs, and the KPI-design check.

Stage rule (seed 000, spec section 5): months since the inside-sales team started;
below 6 is launch (立ち上げ期), 6 up to below 12 growth (成長期), 12 and more mature
(成熟期). The seed's ranges share their end points; a boundary month goes to the
later stage, as the seed's headings "6ヶ月-1年" and "1年以降" read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .catalogue import Lang, Stage, load_catalogue
from .excel_values import OK, Kind, XlError, check_domain, to_checked
from .texts import stage_bounds_text, text, text_list  # noqa: F401 - stage_bounds_text: its home before, imported from here

STARS = {3: "★★★", 2: "★★☆", 1: "★☆☆"}
# a tier's count status -> its verdict text (texts.toml [stage])
VERDICT_KEYS = {"ok": "stage.verdict_ok", "too_few": "stage.verdict_too_few", "too_many": "stage.verdict_too_many"}


def evaluate_stage_index(months: Any) -> tuple[np.ndarray, np.ndarray]:
    """Index into the catalogue's stages, and Excel error codes, for months since launch."""
    values, codes = to_checked(months)
    codes = check_domain(values, codes, Kind.COUNT)
    bounds = np.array([s.from_months for s in load_catalogue().stages[1:]])
    index = np.searchsorted(bounds, np.where(codes == OK, values, 0.0), side="right")
    return index, codes


def stage_for_months(months: float) -> Stage:
    """The stage of a team ``months`` after it started; ValueError for bad months.

    >>> stage_for_months(6).id
    'growth'
    """
    index, code = evaluate_stage_index(months)
    if code:
        raise ValueError(f"months since launch must be a number >= 0, got {months!r}")
    return load_catalogue().stages[int(index)]


def resolve_stage(stage_or_months: Any) -> Stage | XlError:
    """A stage from its id, its ja/en label, or months since launch."""
    if isinstance(stage_or_months, str):
        key = stage_or_months.strip().lower()
        for stage in load_catalogue().stages:
            if key in (stage.id, stage.ja, stage.en.lower()):
                return stage
        # text that names no stage follows the input policy: an error text is that
        # error, anything else (numeric text included) is #VALUE!
        return XlError.from_text(stage_or_months) or XlError.VALUE
    index, code = evaluate_stage_index(stage_or_months)
    if np.ndim(index) != 0:
        return XlError.VALUE
    return XlError(int(code)) if code else load_catalogue().stages[int(index)]


@dataclass(frozen=True)
class RecommendedKpi:
    tier: str
    tier_label: str
    kpi: str
    kpi_label: str
    priority: int
    stars: str
    why: str


def recommend(stage: Stage, lang: Lang = "ja") -> list[RecommendedKpi]:
    """The stage's recommended KPIs, highest priority first (seed 000's order within)."""
    cat = load_catalogue()
    rows = []
    for rec in sorted(stage.recommend, key=lambda r: -r.priority):
        kpi = cat.kpi(rec.kpi)
        rows.append(
            RecommendedKpi(
                kpi.tier, cat.tier(kpi.tier).label(lang), kpi.id, kpi.label(lang), rec.priority, STARS[rec.priority], rec.why(lang)
            )
        )
    return rows


def recommend_rows() -> int:
    """Rows of KPI_STAGE_RECOMMEND's table: the longest stage list, so the table never changes size."""
    return max(len(s.recommend) for s in load_catalogue().stages)


def recommend_table(stage: Stage, lang: Lang = "ja") -> list[list[Any]]:
    """KPI_STAGE_RECOMMEND's table: tier, KPI, priority, why per recommended KPI, then blank rows ("") up to
    :func:`recommend_rows`, so a block sized once shows blank, not ``#N/A``, below a shorter list in every
    Excel (a pre-365 array formula fills cells past its result with ``#N/A``)."""
    rows: list[list[Any]] = [[r.tier_label, r.kpi_label, r.stars, r.why] for r in recommend(stage, lang)]
    return rows + [["", "", "", ""] for _ in range(recommend_rows() - len(rows))]


@dataclass(frozen=True)
class TierCount:
    tier: str
    label: str
    count: int
    min_count: int
    max_count: int

    @property
    def status(self) -> str:
        if self.count < self.min_count:
            return "too_few"
        return "too_many" if self.count > self.max_count else "ok"

    def verdict(self, lang: Lang) -> str:
        return text(VERDICT_KEYS[self.status], lang)


@dataclass(frozen=True)
class DesignCheck:
    stage: str
    tiers: tuple[TierCount, ...]
    outside_focus: tuple[str, ...]
    missing_focus: tuple[str, ...]
    unknown: tuple[str, ...]
    messages: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(t.status == "ok" for t in self.tiers) and not self.unknown


def design_check(kpi_ids: Iterable[str], stage: Stage, lang: Lang = "ja") -> DesignCheck:
    """Check a chosen KPI set against the 3-tier counts and the stage's focus.

    Counts per tier are compared with seed 000's 2–3 / 4–6 / 5–8; KPIs outside the
    stage's recommended set, and recommended ones not chosen, are listed.
    """
    cat = load_catalogue()
    chosen = list(dict.fromkeys(k for k in kpi_ids if k))
    known = [k for k in chosen if k in {kpi.id for kpi in cat.kpis}]
    unknown = tuple(k for k in chosen if k not in known)
    tiers = tuple(
        TierCount(t.id, t.label(lang), sum(cat.kpi(k).tier == t.id for k in known), t.min_count, t.max_count)
        for t in cat.tiers
    )
    focus = {r.kpi for r in stage.recommend}
    outside = tuple(k for k in known if k not in focus)
    missing = tuple(r.kpi for r in stage.recommend if r.kpi not in known)
    messages = []
    for t in tiers:
        if t.status != "ok":
            messages.append(text("stage.tier_count", lang, label=t.label, count=t.count, low=t.min_count, high=t.max_count))
    for k in outside:
        messages.append(text("stage.outside_focus", lang, label=cat.kpi(k).label(lang), stage=stage.label(lang)))
    for k in unknown:
        messages.append(text("stage.not_in_catalogue", lang, kpi=k))
    # count rules other seeds give, reported next to the 3-tier rule (spec section 2)
    messages.extend(text_list("stage.other_count_rules", lang))
    return DesignCheck(stage.id, tiers, outside, missing, unknown, tuple(messages))
