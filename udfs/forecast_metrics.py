"""Forecast-accuracy metrics over a series of periods (actuals vs forecasts).

Seed 000 defines forecast accuracy per period as ``actual / forecast``
(:func:`kpitree.udfs.kpi_formulas.forecast_accuracy`); revenue teams also report
error metrics over many periods. Each function here reduces along the last axis,
so a 2-D array gives one value per row (one team, one scenario). The input policy of
:mod:`kpitree.udfs.excel_values` applies: any error in a row gives that row the
leftmost error, negative amounts give ``#NUM!``, a zero denominator ``#DIV/0!``; a
result past the float range (sums of amounts near 1e308) is ``#NUM!``, never ``inf``,
and no period at all (empty ranges from Python) is ``#DIV/0!``, as ``AVERAGE`` of nothing.

``mape = mean(|A - F| / A)``, ``wape = sum|A - F| / sum A``,
``bias = (sum F - sum A) / sum A`` (positive: the team over-forecasts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .excel_values import OK, Kind, XlError, check_domain, to_checked

Reducer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _rowwise_first_error(codes: np.ndarray) -> np.ndarray:
    has = codes != OK
    first = np.argmax(has, axis=-1)
    picked = np.take_along_axis(codes, first[..., None], axis=-1)[..., 0]
    return np.where(has.any(axis=-1), picked, OK).astype(np.int8)


def _series_metric(reduce: Reducer) -> Callable[[Any, Any], Any]:
    def metric(actual: Any, forecast: Any) -> tuple[np.ndarray, np.ndarray]:
        a, ca = to_checked(actual)
        f, cf = to_checked(forecast)
        if a.shape != f.shape or a.ndim == 0:
            raise ValueError(f"actual and forecast need the same non-empty shape, got {a.shape} and {f.shape}")
        ca, cf = check_domain(a, ca, Kind.AMOUNT), check_domain(f, cf, Kind.AMOUNT)
        if a.shape[-1] == 0:  # no period at all: a mean or ratio of nothing, as AVERAGE of nothing is #DIV/0!
            shape = a.shape[:-1]
            return np.full(shape, np.nan), np.full(shape, XlError.DIV0, dtype=np.int8)
        codes = np.where(ca != OK, ca, cf)
        # per period the actual's error before the forecast's; per row the earliest period wins
        codes = _rowwise_first_error(codes)
        with np.errstate(all="ignore"):
            values, own = reduce(np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(f), f, 0.0))
        codes = np.where(codes == OK, own, codes).astype(np.int8)
        # sums past the float range (1e308 + 1e308) give inf or inf/inf: #NUM!, as Excel's own overflow
        codes = np.where((codes == OK) & ~np.isfinite(values), np.int8(XlError.NUM), codes).astype(np.int8)
        return np.where(codes == OK, values, np.nan), codes

    return metric


def _mape(a: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zero = (a == 0).any(axis=-1)
    return np.mean(np.abs(a - f) / np.where(a == 0, 1.0, a), axis=-1), np.where(zero, XlError.DIV0, OK)


def _wape(a: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = a.sum(axis=-1)
    return np.abs(a - f).sum(axis=-1) / np.where(total == 0, 1.0, total), np.where(total == 0, XlError.DIV0, OK)


def _bias(a: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = a.sum(axis=-1)
    return (f.sum(axis=-1) - total) / np.where(total == 0, 1.0, total), np.where(total == 0, XlError.DIV0, OK)


evaluate_mape = _series_metric(_mape)
evaluate_wape = _series_metric(_wape)
evaluate_bias = _series_metric(_bias)


def _python(evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]) -> Callable[[Any, Any], Any]:
    def metric(actual: Any, forecast: Any) -> Any:
        values, _ = evaluate(actual, forecast)
        return float(values) if values.ndim == 0 else values

    return metric


def mape(actual: Any, forecast: Any) -> Any:
    """Mean absolute percentage error: ``mean(|A - F| / A)``; NaN where Excel shows an error.

    >>> mape([100, 200], [110, 180])
    0.1
    """
    return _python(evaluate_mape)(actual, forecast)


def wape(actual: Any, forecast: Any) -> Any:
    """Weighted absolute percentage error: ``sum|A - F| / sum A``.

    >>> round(wape([100, 300], [110, 270]), 3)
    0.1
    """
    return _python(evaluate_wape)(actual, forecast)


def bias(actual: Any, forecast: Any) -> Any:
    """Forecast bias: ``(sum F - sum A) / sum A``; positive means over-forecasting.

    >>> bias([100, 100], [120, 100])
    0.1
    """
    return _python(evaluate_bias)(actual, forecast)
