"""The KPI catalogue (``catalogue.toml``) as typed, read-only Python objects."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")


@dataclass(frozen=True)
class Benchmark:
    context: str
    low: float
    high: float | None
    source: str
    ja: str
    en: str

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class Kpi:
    id: str
    tier: str
    ja: str
    en: str
    unit: str
    direction: Literal["higher", "lower"]
    function: str
    inputs: tuple[str, ...]
    cadence: str
    source: str
    formula_ja: str
    formula_en: str
    family: str = "inside_sales"
    benchmarks: tuple[Benchmark, ...] = ()

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en

    def formula(self, lang: Lang) -> str:
        return self.formula_ja if lang == "ja" else self.formula_en

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"

    def benchmark(self, context: str) -> Benchmark | None:
        """The guide for ``context``, else the one for all contexts."""
        by_context = {b.context: b for b in self.benchmarks}
        return by_context.get(context) or by_context.get("all")


@dataclass(frozen=True)
class Tier:
    id: str
    ja: str
    en: str
    horizon_ja: str
    horizon_en: str
    owner_ja: str
    owner_en: str
    min_count: int
    max_count: int

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class Recommendation:
    kpi: str
    priority: int  # 1..3 stars
    why_ja: str
    why_en: str

    def why(self, lang: Lang) -> str:
        return self.why_ja if lang == "ja" else self.why_en


@dataclass(frozen=True)
class Stage:
    id: str
    ja: str
    en: str
    from_months: float
    focus_ja: str
    focus_en: str
    target_level: Literal["low", "mid", "high"]
    tips_ja: tuple[str, ...]
    tips_en: tuple[str, ...]
    recommend: tuple[Recommendation, ...]

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en

    def focus(self, lang: Lang) -> str:
        return self.focus_ja if lang == "ja" else self.focus_en

    def tips(self, lang: Lang) -> tuple[str, ...]:
        return self.tips_ja if lang == "ja" else self.tips_en


@dataclass(frozen=True)
class Industry:
    id: str
    ja: str
    en: str
    conversion_context: str

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class Bottleneck:
    lever: str
    source: str
    ja: str
    en: str
    cause_ja: str
    cause_en: str
    action_ja: str
    action_en: str

    def label(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.en

    def cause(self, lang: Lang) -> str:
        return self.cause_ja if lang == "ja" else self.cause_en

    def action(self, lang: Lang) -> str:
        return self.action_ja if lang == "ja" else self.action_en


@dataclass(frozen=True)
class Catalogue:
    tiers: tuple[Tier, ...]
    kpis: tuple[Kpi, ...]
    stages: tuple[Stage, ...]
    industries: tuple[Industry, ...]
    bottlenecks: tuple[Bottleneck, ...]
    _by_id: dict[str, Kpi] = field(repr=False, compare=False, default_factory=dict)

    def kpi(self, kpi_id: str) -> Kpi:
        try:
            return self._by_id[kpi_id]
        except KeyError:
            raise KeyError(f"unknown KPI id {kpi_id!r}; see `kpitree catalog`") from None

    def tier(self, tier_id: str) -> Tier:
        return next(t for t in self.tiers if t.id == tier_id)

    def stage(self, stage_id: str) -> Stage:
        return next(s for s in self.stages if s.id == stage_id)

    def industry(self, industry_id: str) -> Industry:
        for industry in self.industries:
            if industry.id == industry_id:
                return industry
        known = ", ".join(i.id for i in self.industries)
        raise KeyError(f"unknown industry {industry_id!r}; choose one of: {known}")

    def bottleneck(self, lever: str) -> Bottleneck:
        return next(b for b in self.bottlenecks if b.lever == lever)


def _benchmarks(raw: list[dict]) -> tuple[Benchmark, ...]:
    return tuple(Benchmark(b["context"], b["low"], b.get("high"), b["source"], b["ja"], b["en"]) for b in raw)


@functools.cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue, parsed once per process."""
    raw = tomllib.loads(resources.files(__package__).joinpath("catalogue.toml").read_text("utf-8"))
    kpis = tuple(
        Kpi(**{**k, "inputs": tuple(k["inputs"]), "benchmarks": _benchmarks(k.get("benchmarks", []))})
        for k in raw["kpi"]
    )
    stages = tuple(
        Stage(
            **{
                **s,
                "tips_ja": tuple(s["tips_ja"]),
                "tips_en": tuple(s["tips_en"]),
                "recommend": tuple(Recommendation(**r) for r in s["recommend"]),
            }
        )
        for s in raw["stage"]
    )
    return Catalogue(
        tiers=tuple(Tier(**t) for t in raw["tier"]),
        kpis=kpis,
        stages=stages,
        industries=tuple(Industry(**i) for i in raw["industry"]),
        bottlenecks=tuple(Bottleneck(**b) for b in raw["bottleneck"]),
        _by_id={k.id: k for k in kpis},
    )
