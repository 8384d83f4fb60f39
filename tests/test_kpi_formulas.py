"""Formula functions: worked examples from the seeds and the bad-input policy."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from kpitree.udfs import forecast_metrics, kpi_tree, stage
from kpitree.udfs import kpi_formulas as kf
from kpitree.udfs.excel_values import Kind, XlError
from kpitree.udfs.kpi_function import KpiFunction

FUNCTIONS = {name: obj for name, obj in vars(kf).items() if isinstance(obj, KpiFunction)}

# One valid call per function; the bad-input tests vary one argument at a time.
GOOD_ARGS = {
    "revenue_contribution": (25, 1_000_000),
    "ltv": (50_000, 36, 0.7),
    "cac": (3_000_000, 5_000_000, 20),
    "ltv_cac": (1_260_000, 400_000),
    "cac_payback_months": (400_000, 50_000, 0.8),
    "forecast_accuracy": (9e6, 1e7),
    "forecast_abs_accuracy": (11e6, 1e7),
    "conversion_rate": (20, 200),
    "mql_to_sql_rate": (30, 120),
    "bant_rate": (14, 20),
    "win_rate": (25, 100),
    "connect_rate": (50, 200),
    "avg_talk_time": (300, 60),
    "required_calls": (20, 0.10, 0.25),
    "email_open_rate": (60, 200),
    "email_reply_rate": (10, 200),
    "material_view_rate": (25, 50),
    "followup_rate": (45, 50),
    "achievement": (45, 50, False),
    "gap": (45, 50),
    "pace": (20, 50, 0.4),
    "pipeline_coverage": (3e7, 1e7),
    "required_coverage": (0.25,),
    "plan_opportunities": (1e8, 1e6, 0.25, 12),
    "funnel_revenue": (1000, 0.2, 0.25, 1e6),
}

# (function, args) that divide by zero.
ZERO_DENOMINATORS = [
    ("cac", (1, 1, 0)),
    ("ltv_cac", (1, 0)),
    ("cac_payback_months", (1, 0, 0.5)),
    ("cac_payback_months", (1, 10, 0)),
    ("forecast_accuracy", (1, 0)),
    ("forecast_abs_accuracy", (1, 0)),
    ("conversion_rate", (1, 0)),
    ("mql_to_sql_rate", (1, 0)),
    ("bant_rate", (1, 0)),
    ("win_rate", (1, 0)),
    ("connect_rate", (1, 0)),
    ("avg_talk_time", (1, 0)),
    ("required_calls", (20, 0, 0.25)),
    ("required_calls", (20, 0.1, 0)),
    ("email_open_rate", (1, 0)),
    ("email_reply_rate", (1, 0)),
    ("material_view_rate", (1, 0)),
    ("followup_rate", (1, 0)),
    ("achievement", (1, 0, False)),
    ("achievement", (0, 1, True)),
    ("pace", (1, 1, 0)),
    ("pace", (1, 0, 0.5)),
    ("pipeline_coverage", (1, 0)),
    ("required_coverage", (0,)),
    ("plan_opportunities", (1e8, 1e6, 0.25, 0)),
    ("plan_opportunities", (1e8, 0, 0.25, 12)),
    ("plan_opportunities", (1e8, 1e6, 0, 12)),
]


def test_every_function_has_cases():
    assert set(GOOD_ARGS) == set(FUNCTIONS)
    no_denominator = {"revenue_contribution", "ltv", "gap", "funnel_revenue"}
    assert {name for name, _ in ZERO_DENOMINATORS} == set(FUNCTIONS) - no_denominator


@pytest.mark.parametrize("module", [kf, forecast_metrics, kpi_tree, stage])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_seed_000_required_calls():
    # 月間20件の商談創出、商談化率10%、接続率25% → 800件 (20 ÷ 0.1 ÷ 0.25)
    assert kf.required_calls(20, 0.10, 0.25) == pytest.approx(800)


def test_seed_001_plan_opportunities():
    # 1億円, 平均100万円, 受注率25% → 100 per quarter, ≈ 33 per month
    assert kf.plan_opportunities(1e8, 1e6, 0.25, 4) == pytest.approx(100)
    assert kf.plan_opportunities(1e8, 1e6, 0.25) == pytest.approx(100 / 3)


def test_achievement_inverts_for_lower_is_better():
    assert kf.achievement(500_000, 400_000, True) == pytest.approx(0.8)
    assert kf.achievement(500_000, 400_000) == pytest.approx(1.25)
    np.testing.assert_allclose(kf.achievement([2, 2], [4, 4], [True, False]), [2.0, 0.5])


def test_forecast_metrics():
    a, f = [100, 200, 300], [110, 180, 300]
    assert forecast_metrics.mape(a, f) == pytest.approx((0.1 + 0.1 + 0) / 3)
    assert forecast_metrics.wape(a, f) == pytest.approx(30 / 600)
    assert forecast_metrics.bias(a, f) == pytest.approx(-10 / 600)
    assert kf.forecast_abs_accuracy(9e6, 1e7) == pytest.approx(0.9)
    assert kf.forecast_abs_accuracy(11e6, 1e7) == pytest.approx(0.9)
    _values, codes = forecast_metrics.evaluate_mape([[1, 2], [0, 1], ["x", "#N/A"]], [[1, 2], [1, 1], [1, 1]])
    assert list(codes) == [0, XlError.DIV0, XlError.VALUE]
    with pytest.raises(ValueError, match="same non-empty shape"):
        forecast_metrics.mape([1, 2], [1])


@pytest.mark.parametrize("name,args", ZERO_DENOMINATORS)
def test_zero_denominator_gives_div0(name, args):
    assert FUNCTIONS[name].excel(*args) is XlError.DIV0
    assert math.isnan(FUNCTIONS[name](*args))


def _bad_values(kind: Kind) -> list[tuple[object, XlError]]:
    cases = [("abc", XlError.VALUE), ("10%", XlError.VALUE), ("#N/A", XlError.NA), ("#REF!", XlError.REF),
             (XlError.NAME, XlError.NAME)]
    if kind is not Kind.FLAG:
        cases += [(True, XlError.VALUE), (math.inf, XlError.NUM), (-math.inf, XlError.NUM)]
    else:
        cases += [(2, XlError.VALUE)]
    if kind in (Kind.COUNT, Kind.AMOUNT, Kind.RATIO):
        cases += [(-1, XlError.NUM)]
    if kind is Kind.RATE:
        cases += [(10, XlError.NUM), (1.0001, XlError.NUM), (-0.1, XlError.NUM)]
    return cases


BAD_CASES = [
    (name, i, value, expected)
    for name, fn in FUNCTIONS.items()
    for i, arg in enumerate(fn.args)
    for value, expected in _bad_values(arg.kind)
]


@pytest.mark.parametrize("name,position,value,expected", BAD_CASES)
def test_bad_input_gives_documented_error(name, position, value, expected):
    args = list(GOOD_ARGS[name])
    args[position] = value
    assert FUNCTIONS[name].excel(*args) is expected


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_blank_counts_as_zero(name):
    fn = FUNCTIONS[name]
    for position in range(len(fn.args)):
        blank, zero = list(GOOD_ARGS[name]), list(GOOD_ARGS[name])
        blank[position], zero[position] = None, 0
        assert fn.excel(*blank) == fn.excel(*zero)
        blank[position] = ""
        assert fn.excel(*blank) == fn.excel(*zero)


def test_leftmost_error_wins():
    assert kf.conversion_rate.excel("#N/A", "#DIV/0!") is XlError.NA
    assert kf.conversion_rate.excel(-1, "text") is XlError.NUM  # a domain error of arg 1 comes first
    assert kf.required_calls.excel("x", 5, 0) is XlError.VALUE


def test_ten_is_never_ten_percent():
    assert kf.required_calls.excel(20, 10, 25) is XlError.NUM


def test_series_in_series_out():
    opps = pd.Series([20, 30, 0], index=["a", "b", "c"])
    leads = pd.Series([200, 0, 10], index=["a", "b", "c"])
    out = kf.conversion_rate(opps, leads)
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"]
    assert out["a"] == pytest.approx(0.1) and math.isnan(out["b"]) and out["c"] == 0


def test_broadcasting_scalar_with_array():
    np.testing.assert_allclose(kf.required_calls([10, 20, 40], 0.1, 0.25), [400, 800, 1600])
    values, codes = kf.required_calls.evaluate([[20], [40]], [0.1, 0.2], 0.25)
    assert values.shape == codes.shape == (2, 2)


def test_excel_takes_single_values_only():
    with pytest.raises(TypeError, match="single values"):
        kf.conversion_rate.excel([1, 2], [3, 4])
