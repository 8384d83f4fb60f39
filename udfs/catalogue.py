"""The KPI catalogue (``catalogue.toml``) as typed, read-only Python objects."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")


class Bilingual:
    """Texts come in pairs: the label as ``ja`` / ``en``, any other text as ``x_ja`` / ``x_en``."""

    def label(self, lang: Lang) -> str:
        return getattr(self, lang)

    def text(self, field: str, lang: Lang) -> Any:
        return getattr(self, f"{field}_{lang}")


@dataclass(frozen=True)
class Benchmark(Bilingual):
    context: str
    low: float
    high: float | None
    source: str
    ja: str
    en: str



@dataclass(frozen=True)
class Kpi(Bilingual):
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


    def formula(self, lang: Lang) -> str:
        return self.text("formula", lang)

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"

    def benchmark(self, context: str) -> Benchmark | None:
        """The guide for ``context``, else the one for all contexts."""
        by_context = {b.context: b for b in self.benchmarks}
        return by_context.get(context) or by_context.get("all")


@dataclass(frozen=True)
class Tier(Bilingual):
    id: str
    ja: str
    en: str
    horizon_ja: str
    horizon_en: str
    owner_ja: str
    owner_en: str
    min_count: int
    max_count: int



@dataclass(frozen=True)
class Recommendation(Bilingual):
    kpi: str
    priority: int  # 1..3 stars
    why_ja: str
    why_en: str

    def why(self, lang: Lang) -> str:
        return self.text("why", lang)


@dataclass(frozen=True)
class Stage(Bilingual):
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


    def focus(self, lang: Lang) -> str:
        return self.text("focus", lang)

    def tips(self, lang: Lang) -> tuple[str, ...]:
        return self.text("tips", lang)


@dataclass(frozen=True)
class Industry(Bilingual):
    id: str
    ja: str
    en: str
    conversion_context: str



@dataclass(frozen=True)
class Bottleneck(Bilingual):
    lever: str
    source: str
    ja: str
    en: str
    cause_ja: str
    cause_en: str
    action_ja: str
    action_en: str


    def cause(self, lang: Lang) -> str:
        return self.text("cause", lang)

    def action(self, lang: Lang) -> str:
        return self.text("action", lang)


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
