"""Property tests: the Excel-like input domain never raises, arrays equal scalars, identities hold."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kpitree.udfs import excel_functions as xf
from kpitree.udfs import forecast_metrics as fm
from kpitree.udfs import kpi_formulas as kf
from kpitree.udfs.excel_values import XlError
from kpitree.udfs.kpi_function import KpiFunction
from kpitree.udfs.kpi_tree import evaluate_bottleneck
from kpitree.udfs.stage import evaluate_stage_index
from kpitree.udfs.status import evaluate_status

FUNCTIONS = {name: obj for name, obj in vars(kf).items() if isinstance(obj, KpiFunction)}

excel_like = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**6, 10**6),
    st.none(),
    st.just(""),
    st.text(max_size=5),
    st.booleans(),
    st.sampled_from([e.text for e in XlError]),
    st.sampled_from(list(XlError)),
    st.floats(0, 1),
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _assert_rows_match(evaluate, rows):
    """``evaluate`` over columns of ``rows`` equals ``evaluate`` row by row."""
    columns = [np.array([row[i] for row in rows], dtype=object) for i in range(len(rows[0]))]
    values, codes = evaluate(*columns)
    for k, row in enumerate(rows):
        v, c = evaluate(*row)
        assert int(codes[k]) == int(c)
        assert _same(float(values[k]), float(v))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_formula_functions(name, data):
    fn = FUNCTIONS[name]
    rows = [[data.draw(excel_like) for _ in fn.args] for _ in range(4)]
    _assert_rows_match(fn.evaluate, rows)
    for row in rows:
        values, codes = fn.evaluate(*row)
        assert (int(codes) == 0) == math.isfinite(float(values))  # a value, or an error: never both
        fn(*row)  # the Python API never raises on data either
        fn.excel(*row)


@pytest.mark.parametrize("evaluate", [fm.evaluate_mape, fm.evaluate_wape, fm.evaluate_bias])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_forecast_metrics_rows_equal_single_series(evaluate, data):
    rows = [[data.draw(excel_like) for _ in range(3)] for _ in range(4)]
    forecasts = [[data.draw(excel_like) for _ in range(3)] for _ in range(4)]
    values, codes = evaluate(rows, forecasts)
    for k in range(4):
        v, c = evaluate(rows[k], forecasts[k])
        assert int(codes[k]) == int(c) and _same(float(values[k]), float(v))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_stage_status_and_bottleneck_arrays_equal_scalars(data):
    months = [data.draw(excel_like) for _ in range(5)]
    index, codes = evaluate_stage_index(np.array(months, dtype=object))
    for k, m in enumerate(months):
        i, c = evaluate_stage_index(m)
        assert int(codes[k]) == int(c) and (c or int(index[k]) == int(i))
    rows = [[data.draw(excel_like) for _ in range(3)] for _ in range(4)]
    _assert_rows_match(evaluate_status, rows)
    actual = [[data.draw(excel_like) for _ in range(5)] for _ in range(3)]
    target = [[data.draw(excel_like) for _ in range(5)] for _ in range(3)]
    together = evaluate_bottleneck(np.array(actual, dtype=object), np.array(target, dtype=object))
    for k in range(3):
        alone = evaluate_bottleneck(np.array(actual[k], dtype=object), np.array(target[k], dtype=object))
        assert int(together.codes[k]) == int(alone.codes)
        assert int(together.lever_index[k]) == int(alone.lever_index)


@pytest.mark.parametrize("name", sorted(xf.exported_functions()))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_no_worksheet_function_raises(name, data):
    udf = xf.exported_functions()[name]
    args = []
    for p in inspect.signature(udf).parameters:
        value = data.draw(excel_like)
        args.append([value] * 5 if p in xf.RANGE_ARGS and data.draw(st.booleans()) else value)
    # the unguarded function: the policy, not the safety net, handles every input
    result = udf.unguarded(*args)
    assert result is not None
    assert udf(*args) == result


@settings(max_examples=200, deadline=None)
@given(target=st.floats(0, 1e6), conversion=st.floats(1e-4, 1), connect=st.floats(1e-4, 1))
def test_required_calls_identity(target, conversion, connect):
    calls = kf.required_calls(target, conversion, connect)
    assert math.isclose(calls * conversion * connect, target, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(actual=st.floats(1e-6, 1e9), target=st.floats(1e-6, 1e9))
def test_achievement_inversion_is_reciprocal(actual, target):
    up = kf.achievement(actual, target)
    down = kf.achievement(actual, target, True)
    assert math.isclose(up * down, 1.0, rel_tol=1e-12)
    assert math.isclose(kf.gap(actual, target), actual - target)


@settings(max_examples=200, deadline=None)
@given(
    revenue=st.floats(1e4, 1e11), size=st.floats(1e3, 1e8), win=st.floats(0.01, 1),
    periods=st.sampled_from([1, 4, 12, 52]),
)
def test_plan_opportunities_times_win_rate_and_size_is_revenue(revenue, size, win, periods):
    opps = kf.plan_opportunities(revenue, size, win, periods)
    assert math.isclose(opps * win * size * periods, revenue, rel_tol=1e-9)
