"""Stage engine, KPI-tree engine and the catalogue they read."""

from __future__ import annotations

import numpy as np
import pytest
from kpitree.udfs.catalogue import load_catalogue
from kpitree.udfs.excel_values import XlError
from kpitree.udfs.kpi_tree import LEVERS, back_calculate, evaluate_bottleneck, find_bottleneck
from kpitree.udfs.stage import design_check, evaluate_stage_index, recommend, resolve_stage, stage_for_months

CAT = load_catalogue()


# --- catalogue --------------------------------------------------------------------


def test_catalogue_covers_the_three_tiers_of_the_spec():
    spec_ids = {
        "strategic": {"revenue_contribution", "ltv", "cac", "ltv_cac", "forecast_accuracy"},
        "tactical": {"opportunities", "conversion_rate", "sql_count", "mql_to_sql_rate", "bant_rate",
                     "handoff_win_rate", "quality_score", "win_rate"},
        "action": {"calls", "connect_rate", "effective_contacts", "avg_talk_time", "required_calls",
                   "email_open_rate", "email_reply_rate", "materials_sent", "material_view_rate", "followup_rate"},
    }
    for tier, ids in spec_ids.items():
        assert ids <= {k.id for k in CAT.kpis if k.tier == tier}, tier


def test_catalogue_entries_are_complete_and_consistent():
    from kpitree.udfs import kpi_formulas

    units = {"count", "rate", "currency", "score", "minutes", "ratio", "months"}
    for k in CAT.kpis:
        assert k.id.isidentifier() and k.id == k.id.lower()
        assert k.tier in {t.id for t in CAT.tiers} and k.unit in units and k.direction in {"higher", "lower"}
        assert k.ja and k.en and k.formula_ja and k.formula_en and k.cadence and k.source
        if k.function:
            fn = getattr(kpi_formulas, k.function)
            assert len(fn.args) >= len(k.inputs) > 0, k.id
        for b in k.benchmarks:
            assert b.source in {"000", "001", "002", "003", "004"}
            assert b.high is None or b.high >= b.low
    assert len({k.id for k in CAT.kpis}) == len(CAT.kpis)


def test_seed_000_conversion_benchmarks():
    conv = CAT.kpi("conversion_rate")
    assert (conv.benchmark("saas_low_price").low, conv.benchmark("saas_low_price").high) == (0.08, 0.15)
    assert (conv.benchmark("saas_high_price").low, conv.benchmark("saas_high_price").high) == (0.03, 0.08)
    assert (conv.benchmark("consulting").low, conv.benchmark("consulting").high) == (0.05, 0.12)
    assert (conv.benchmark("manufacturing").low, conv.benchmark("manufacturing").high) == (0.02, 0.05)
    assert CAT.kpi("ltv_cac").benchmark("anything").low == 3.0
    assert CAT.kpi("cac").lower_is_better


def test_stage_recommendations_reference_catalogue_kpis():
    for stage in CAT.stages:
        for rec in stage.recommend:
            CAT.kpi(rec.kpi)
            assert rec.priority in (1, 2, 3)
    with pytest.raises(KeyError, match="kpitree catalog"):
        CAT.kpi("nope")
    with pytest.raises(KeyError, match="choose one of"):
        CAT.industry("nope")


# --- stage engine -----------------------------------------------------------------


@pytest.mark.parametrize("months,stage", [(0, "launch"), (5.99, "launch"), (6, "growth"), (11.99, "growth"), (12, "mature"),
                                          (120, "mature")])
def test_stage_boundaries(months, stage):
    assert stage_for_months(months).id == stage


def test_stage_vectorised_and_bad_months():
    index, codes = evaluate_stage_index([0, 6, 12, -1, "x", None])
    assert list(index[:3]) == [0, 1, 2]
    assert list(codes) == [0, 0, 0, XlError.NUM, XlError.VALUE, 0]
    with pytest.raises(ValueError, match="months since launch"):
        stage_for_months(-3)
    assert resolve_stage("成熟期").id == "mature" and resolve_stage("#N/A") is XlError.NA
    assert resolve_stage(True) is XlError.VALUE


def test_recommend_follows_seed_000_table():
    launch = recommend(CAT.stage("launch"), "ja")
    assert [(r.kpi_label, r.stars) for r in launch][:2] == [("架電数", "★★★"), ("メール送信数", "★★★")]
    mature = {r.kpi: r.stars for r in recommend(CAT.stage("mature"), "en")}
    assert mature == {"revenue_contribution": "★★★", "ltv_cac": "★★★", "handoff_win_rate": "★★★",
                      "forecast_accuracy": "★★☆", "quality_score": "★★☆"}


def test_design_check_counts_tiers_and_flags_out_of_focus():
    chosen = ["revenue_contribution", "ltv_cac", "opportunities", "conversion_rate", "sql_count", "bant_rate",
              "calls", "connect_rate", "effective_contacts", "emails_sent", "email_open_rate"]
    check = design_check(chosen, CAT.stage("growth"), "en")
    assert [(t.tier, t.count, t.status) for t in check.tiers] == [
        ("strategic", 2, "ok"), ("tactical", 4, "ok"), ("action", 5, "ok")]
    assert check.ok
    assert "calls" in check.outside_focus and "conversion_rate" not in check.outside_focus
    assert "won_deals" in check.missing_focus
    assert any("3–5 organisation-wide" in m for m in check.messages)  # the other articles' count rules
    thin = design_check(["calls", "made_up"], CAT.stage("launch"), "ja")
    assert not thin.ok and thin.unknown == ("made_up",)
    assert thin.tiers[0].status == "too_few"


# --- KPI tree ---------------------------------------------------------------------


def test_seed_001_back_calculation():
    # 1億円 → 2,500万円/quarter → 25 won/quarter at 100万円 → 100 opportunities/quarter at 25 % → ≈ 33/month
    plan = back_calculate(100_000_000, 1_000_000, 0.25, 0.10, 0.25)
    assert plan.row("revenue").quarter == pytest.approx(25_000_000)
    assert plan.row("won_deals").quarter == pytest.approx(25)
    assert plan.row("opportunities").quarter == pytest.approx(100)
    assert round(plan.row("opportunities").month) == 33
    # down to action KPIs with seed 000's required-calls formula
    assert plan.row("calls").month == pytest.approx(plan.row("opportunities").month / 0.10 / 0.25)
    assert plan.row("calls").day == pytest.approx(plan.row("calls").month / 20)


def test_back_calculation_refuses_bad_input():
    with pytest.raises(ValueError, match="win_rate must be a rate"):
        back_calculate(1e8, 1e6, 25, 0.1, 0.25)
    with pytest.raises(ValueError, match="avg_deal_size must be a number > 0"):
        back_calculate(1e8, 0, 0.25, 0.1, 0.25)
    with pytest.raises(ValueError, match="working_days_per_month"):
        back_calculate(1e8, 1e6, 0.25, 0.1, 0.25, working_days_per_month=0)


@pytest.mark.parametrize("lever", LEVERS)
def test_each_lever_can_be_the_bottleneck(lever):
    target = dict(calls=800, connect_rate=0.25, conversion_rate=0.10, win_rate=0.25, avg_deal_size=1e6)
    actual = dict(target)
    actual[lever] = target[lever] * 0.6
    result = find_bottleneck(actual, target, "ja")
    assert result.lever == lever
    assert result.action == CAT.bottleneck(lever).action_ja
    assert result.recovered_revenue == pytest.approx(result.target_revenue - result.actual_revenue)


def test_bottleneck_picks_the_lever_recovering_most_revenue():
    target = dict(calls=1000, connect_rate=0.25, conversion_rate=0.10, win_rate=0.25, avg_deal_size=1e6)
    actual = dict(calls=900, connect_rate=0.20, conversion_rate=0.10, win_rate=0.25, avg_deal_size=1e6)
    r = find_bottleneck(actual, target, "en")
    # connect 0.20 → 0.25 (+25 %) recovers more than calls 900 → 1000 (+11 %)
    assert r.lever == "connect_rate" and r.recovered_by_lever["connect_rate"] > r.recovered_by_lever["calls"] > 0
    assert find_bottleneck(target, target).lever is None


def test_bottleneck_vectorised_matches_scalar():
    rng = np.random.default_rng(0)
    scale = np.array([1000, 1, 1, 1, 1e6])
    actual = rng.uniform(0.1, 1, (50, 5)) * scale
    target = rng.uniform(0.1, 1, (50, 5)) * scale
    arrays = evaluate_bottleneck(actual, target)
    for i in range(50):
        r = find_bottleneck(dict(zip(LEVERS, actual[i])), dict(zip(LEVERS, target[i])))
        assert (LEVERS[arrays.lever_index[i]] if arrays.lever_index[i] >= 0 else None) == r.lever


def test_bottleneck_bad_input():
    good = [800, 0.25, 0.1, 0.25, 1e6]
    with pytest.raises(ValueError, match="5 values"):
        evaluate_bottleneck([1, 2], [1, 2])
    assert evaluate_bottleneck([800, 25, 0.1, 0.25, 1e6], good).codes == XlError.NUM
    assert evaluate_bottleneck(good, [800, "#N/A", 0.1, 0.25, 1e6]).codes == XlError.NA
    with pytest.raises(ValueError, match="missing levers: calls"):
        find_bottleneck({}, {})
