"""The KPI worksheet functions registered in the ``formulas`` package's function table.

``formulas`` looks functions up by their upper-cased name exactly, so each KPI
function is registered twice: as ``KPI_X`` and as ``_XLUDF.KPI_X`` (the prefix Excel
writes for a function it does not know when it saves; see the README, "How UDF calls
are stored"). The adapter turns formulas' values (0-d arrays, ranges as 2-D object
arrays, its empty token and error objects) into what the xlwings functions take,
and their results back — an Excel error as formulas' own error object, so a
``#DIV/0!`` stays ``#DIV/0!`` in every cell downstream.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import schedula as sh
from formulas.functions import Array, wrap_func
from formulas.tokens.operand import Error, XlError as FormulasError

from .excel_functions import RANGE_ARGS, exported_functions
from .excel_values import XlError

UDF_PREFIX = "_XLUDF."


def _scalar_in(value: Any) -> Any:
    if value is sh.EMPTY:
        return None
    if isinstance(value, FormulasError):
        return str(value)  # the error's text, which the input policy reads as that error
    if isinstance(value, np.generic):
        return value.item()
    return value


def _arg_in(value: Any, is_range: bool) -> Any:
    if isinstance(value, np.ndarray):
        flat = [_scalar_in(v) for v in value.ravel()]
        return flat if is_range else (flat[0] if len(flat) == 1 else XlError.VALUE.text)
    return [_scalar_in(value)] if is_range else _scalar_in(value)


def _result_out(result: Any) -> Any:
    if isinstance(result, list):
        return np.array([[_scalar_out(v) for v in row] for row in result], dtype=object).view(Array)
    return np.asarray([[_scalar_out(result)]], dtype=object).view(Array)


def _scalar_out(value: Any) -> Any:
    if isinstance(value, str) and XlError.from_text(value) is not None:
        return Error.errors[XlError.from_text(value).text]
    return value


def adapt(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (an xlwings worksheet function) callable from ``formulas``."""
    import inspect

    ranges = [p in RANGE_ARGS for p in inspect.signature(fn).parameters]

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        return _result_out(fn(*(_arg_in(a, r) for a, r in zip(args, ranges))))

    return wrap_func(call)


@functools.cache
def register_kpi_functions() -> tuple[str, ...]:
    """Put every ``KPI_*`` function into formulas' table (idempotent); returns the names."""
    import formulas

    table = formulas.get_functions()
    for name, fn in exported_functions().items():
        adapted = adapt(name, fn)
        table[name] = adapted
        table[UDF_PREFIX + name] = adapted
    return tuple(exported_functions())
