"""The machinery that turns one numpy kernel into a KPI function.

A kernel is written once, over float arrays that already passed the input policy
of :mod:`kpitree.udfs.excel_values`. :func:`kpi_function` wraps it so that the same
code serves one Excel cell, a pandas column and a 10,000-row scenario table:

* ``f(*args)`` — the Python API: scalars, sequences, numpy arrays or pandas Series,
  broadcast like numpy; where Excel would show an error the result holds NaN
  (pandas' "no value"), and nothing raises for bad data. Series are paired by label,
  as pandas' own arithmetic pairs them (``kf.conversion_rate(opps, leads)`` equals
  ``opps / leads`` label by label; a label one Series lacks gives NaN);
* ``f.evaluate(*args)`` — float values *and* int8 Excel error codes, element-wise;
  the recalculation engine and the UDF layer use this;
* ``f.excel(*args)`` — one cell: a float, or the Excel error as :class:`XlError`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .excel_values import OK, Kind, XlError, check_domain, first_error, to_checked

Kernel = Callable[..., "np.ndarray | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class Arg:
    name: str
    kind: Kind
    default: Any = inspect.Parameter.empty

    @property
    def optional(self) -> bool:
        return self.default is not inspect.Parameter.empty


def divide(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``num / den`` with ``#DIV/0!`` where ``den`` is zero."""
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(zero, np.nan, num / np.where(zero, 1.0, den))
    return values, np.where(zero, np.int8(XlError.DIV0), np.int8(OK))


def _flag(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """TRUE/FALSE, 1/0 and blank for a FLAG argument."""
    if isinstance(x, (bool, np.bool_)):
        return np.array(float(x)), np.array(OK, dtype=np.int8)
    arr = np.asarray(x, dtype=object) if not np.isscalar(x) else None
    if arr is not None and arr.ndim > 0:
        pairs = [_flag(v) for v in arr.ravel()]
        return (
            np.array([float(v) for v, _ in pairs]).reshape(arr.shape),
            np.array([int(c) for _, c in pairs], dtype=np.int8).reshape(arr.shape),
        )
    values, codes = to_checked(x)
    bad = (codes == OK) & ~np.isin(values, (0.0, 1.0))
    return values, np.where(bad, np.int8(XlError.VALUE), codes).astype(np.int8)


class KpiFunction:
    """A KPI formula usable from Python, numpy, pandas and Excel (see module doc)."""

    def __init__(self, kernel: Kernel, args: tuple[Arg, ...]):
        self.kernel = kernel
        self.args = args
        self.name = kernel.__name__
        functools.update_wrapper(self, kernel)

    def _bind(self, args: tuple, kwargs: dict) -> list[Any]:
        bound = inspect.signature(self.kernel).bind(*args, **kwargs)
        bound.apply_defaults()
        return list(bound.arguments.values())

    def evaluate(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Values and Excel error codes (0 = no error), broadcast over the arguments."""
        checked = []
        for spec, raw in zip(self.args, self._bind(args, kwargs)):
            values, codes = _flag(raw) if spec.kind is Kind.FLAG else to_checked(raw)
            checked.append((values, check_domain(values, codes, spec.kind)))
        arrays = np.broadcast_arrays(*(v for v, _ in checked))
        codes = first_error(*(c for _, c in checked))
        # Kernels see clean numbers only: errored elements are computed on 1.0 and masked.
        clean = [np.where(codes == OK, v, 1.0) for v in arrays]
        with np.errstate(all="ignore"):
            out = self.kernel(*clean)
        out_values, out_codes = out if isinstance(out, tuple) else (out, None)
        out_values = np.asarray(out_values, dtype=float)
        if out_codes is not None:
            codes = np.where(codes == OK, out_codes, codes).astype(np.int8)
        codes = np.where((codes == OK) & ~np.isfinite(out_values), np.int8(XlError.NUM), codes)
        codes = np.broadcast_to(codes, out_values.shape).astype(np.int8)
        return np.where(codes == OK, out_values, np.nan), codes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = self._bind(args, kwargs)
        index, aligned, missing = _align_series(bound, self.name)
        values, _ = self.evaluate(*aligned)
        if index is not None:
            import pandas as pd

            if missing is not None:
                values = np.where(missing, np.nan, values)
            return pd.Series(values, index=index, name=self.name)
        return float(values) if values.ndim == 0 else values

    def excel(self, *args: Any, **kwargs: Any) -> float | XlError:
        """One cell's result: a float, or the :class:`XlError` Excel shows."""
        values, codes = self.evaluate(*args, **kwargs)
        if values.ndim != 0:
            raise TypeError(f"{self.name}.excel() takes single values, not arrays")
        return XlError(int(codes)) if codes else float(values)


def _is_series(x: Any) -> bool:
    return hasattr(x, "index") and hasattr(x, "iloc") and getattr(x, "ndim", 1) == 1


def _align_series(args: list[Any], name: str) -> tuple[Any, list[Any], np.ndarray | None]:
    """pandas' own rule for Series arithmetic: Series are paired by label, not by position.

    Returns the result's index (None without a Series), the arguments with every Series
    on that index, and where a label was missing from one of them (the result there is
    NaN, as ``a / b`` gives). Series on equal indexes are left as they are. Series on
    different indexes holding a label twice cannot be paired: ``ValueError`` says so.
    """
    series = [a for a in args if _is_series(a)]
    if not series:
        return None, args, None
    first = series[0].index
    if all(s.index.equals(first) for s in series[1:]):
        return first, args, None
    if any(not s.index.is_unique for s in series):
        raise ValueError(f"{name}: the Series have different indexes and one holds a label twice, so they cannot be "
                         "paired by label; align them first (e.g. reset_index(drop=True) on each)")
    index = first
    for s in series[1:]:
        index = index.union(s.index, sort=None)  # pandas' union of unequal indexes: sorted where it can be
    try:
        index = index.sort_values()
    except TypeError:  # labels of mixed types keep their order
        pass
    missing = np.zeros(len(index), dtype=bool)
    for s in series:
        missing |= ~index.isin(s.index)
    aligned = [a.reindex(index) if _is_series(a) else a for a in args]
    return index, aligned, missing


def kpi_function(**kinds: Kind) -> Callable[[Kernel], KpiFunction]:
    """Declare a kernel's argument kinds; the names must match its parameters."""

    def wrap(kernel: Kernel) -> KpiFunction:
        params = inspect.signature(kernel).parameters
        if list(params) != list(kinds):
            raise TypeError(f"{kernel.__name__}: kinds {list(kinds)} != parameters {list(params)}")
        return KpiFunction(kernel, tuple(Arg(n, k, params[n].default) for n, k in kinds.items()))

    return wrap
