"""The pandas face pairs Series by label; forecast metrics and KPI_STATUS handle edge inputs on purpose (issue 10, item 10)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from kpitree.udfs import forecast_metrics as fm
from kpitree.udfs import kpi_formulas as kf
from kpitree.udfs.excel_functions import exported_functions
from kpitree.udfs.excel_values import XlError
from kpitree.udfs.registry import FUNCTIONS


def test_series_on_different_indexes_pair_by_label_like_pandas() -> None:
    opps = pd.Series([10.0, 20.0, 30.0], index=["osaka", "tokyo", "nagoya"])
    leads = pd.Series([300.0, 200.0, 100.0], index=["nagoya", "tokyo", "osaka"])
    got = kf.conversion_rate(opps, leads)
    pd.testing.assert_series_equal(got, (opps / leads).rename("conversion_rate"))
    assert got["osaka"] == pytest.approx(0.1) and got["nagoya"] == pytest.approx(0.1)


def test_a_label_one_series_lacks_gives_nan_as_pandas_does() -> None:
    opps = pd.Series([10.0, 20.0], index=["a", "b"])
    leads = pd.Series([100.0, 100.0], index=["b", "c"])
    got = kf.conversion_rate(opps, leads)
    expected = opps / leads
    assert list(got.index) == list(expected.index) == ["a", "b", "c"]
    assert math.isnan(got["a"]) and math.isnan(got["c"]) and got["b"] == pytest.approx(0.2)


def test_equal_indexes_and_arrays_keep_their_order() -> None:
    opps = pd.Series([10.0, 20.0], index=[5, 3])
    assert list(kf.conversion_rate(opps, pd.Series([100.0, 100.0], index=[5, 3])).index) == [5, 3]
    pd.testing.assert_series_equal(kf.conversion_rate(opps, np.array([100.0, 200.0])),
                                   pd.Series([0.1, 0.1], index=[5, 3], name="conversion_rate"))
    assert kf.conversion_rate(opps, 100.0).tolist() == [0.1, 0.2]


def test_duplicated_labels_on_different_indexes_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="cannot be paired by label"):
        kf.conversion_rate(pd.Series([1.0, 2.0], index=["a", "a"]), pd.Series([1.0, 2.0], index=["a", "b"]))


@pytest.mark.parametrize("name", ["KPI_MAPE", "KPI_WAPE", "KPI_BIAS"])
@pytest.mark.parametrize("actuals,forecasts", [([1e308, 1e308], [-0.0, 1e308]), ([1e308, 1e308], [0, 0]),
                                               ([1, 1], [1e308, 1e308]), ([1e308, 1e308], [1e308, 1e308])])
def test_forecast_metrics_overflow_is_num_never_inf(name: str, actuals: list, forecasts: list) -> None:
    result = FUNCTIONS[name].call(actuals, forecasts)
    assert result is XlError.NUM or (isinstance(result, float) and math.isfinite(result)), result
    values, codes = FUNCTIONS[name].formula(np.array([actuals, actuals]), np.array([forecasts, forecasts]))
    assert np.all((codes == XlError.NUM) | np.isfinite(values))


def test_bias_of_huge_forecasts_is_num() -> None:
    assert FUNCTIONS["KPI_BIAS"].call([1, 1], [1e308, 1e308]) is XlError.NUM
    assert math.isnan(fm.bias([1, 1], [1e308, 1e308]))


@pytest.mark.parametrize("name", ["KPI_MAPE", "KPI_WAPE", "KPI_BIAS"])
def test_empty_ranges_are_div0_on_purpose(name: str) -> None:
    udf = exported_functions()[name]
    assert FUNCTIONS[name].call([], []) is XlError.DIV0
    assert udf.unguarded([], []) == "#DIV/0!"  # the policy answers, not the safety net
    assert math.isnan(getattr(fm, name[4:].lower())([], []))


def test_kpi_status_over_several_cells_is_value_on_purpose() -> None:
    udf = exported_functions()["KPI_STATUS"]
    assert FUNCTIONS["KPI_STATUS"].call([0.5, 1.2]) is XlError.VALUE
    assert udf.unguarded([0.5, 1.2]) == "#VALUE!" and udf.unguarded([[0.5], [1.2]]) == "#VALUE!"
    assert udf.unguarded(1.2, [0.9, 1.0]) == "#VALUE!"
    assert FUNCTIONS["KPI_STATUS"].call([[1.2]]) == "順調"  # a one-cell range is its value
    assert FUNCTIONS["KPI_STATUS"].call(0.85, [1.0], [0.8], ["en"]) == "Watch"
