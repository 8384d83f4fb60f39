"""Property tests: the Excel-like input domain never raises, arrays equal scalars, identities hold."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitree.udfs import excel_functions as xf
from kpitree.udfs import kpi_formulas as kf
from kpitree.udfs.excel_values import XlError
from kpitree.udfs.kpi_function import KpiFunction

FUNCTIONS = [obj for obj in vars(kf).values() if isinstance(obj, KpiFunction)]

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


@settings(max_examples=60, deadline=None)
@given(fn=st.sampled_from(FUNCTIONS), data=st.data())
def test_no_excel_like_input_raises_and_arrays_equal_scalars(fn, data):
    rows = [[data.draw(excel_like) for _ in fn.args] for _ in range(4)]
    scalar = [fn.evaluate(*row) for row in rows]
    columns = [np.array([row[i] for row in rows], dtype=object) for i in range(len(fn.args))]
    values, codes = fn.evaluate(*columns)
    for k, (v, c) in enumerate(scalar):
        assert int(codes[k]) == int(c)
        assert _same(float(values[k]), float(v))
        assert (int(c) == 0) == math.isfinite(float(v))
    fn(*rows[0])  # the Python API never raises on data either
    fn.excel(*rows[0])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_no_worksheet_function_raises(data):
    for name, udf in xf.exported_functions().items():
        import inspect

        params = inspect.signature(udf).parameters
        args = []
        for p in params:
            value = data.draw(excel_like)
            args.append([value] * 5 if p in xf.RANGE_ARGS and data.draw(st.booleans()) else value)
        # the unguarded function: the policy, not the safety net, handles every input
        result = udf.unguarded(*args)
        assert result is not None, name
        assert udf(*args) == result


@settings(max_examples=200, deadline=None)
@given(
    target=st.floats(0, 1e6),
    conversion=st.floats(1e-4, 1),
    connect=st.floats(1e-4, 1),
)
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
