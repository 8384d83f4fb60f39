"""The KPI worksheet functions registered in the ``formulas`` package's function table.

``formulas`` looks functions up by their upper-cased name exactly, so each KPI
function is registered twice: as ``KPI_X`` and as ``_XLUDF.KPI_X`` (the prefix Excel
writes for a function it does not know when it saves; see the README, "How UDF calls
are stored"). The adapter turns formulas' values (0-d arrays, ranges as 2-D object
arrays, its empty token and error objects) into what the registry's functions take,
and their results back — an Excel error as formulas' own error object, so a
``#DIV/0!`` stays ``#DIV/0!`` in every cell downstream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import schedula as sh
from formulas.functions import Array, wrap_func
from formulas.tokens.operand import Error
from formulas.tokens.operand import XlError as FormulasError

from .excel_values import XlError
from .registry import FUNCTIONS, WorksheetFunction

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


def _scalar_out(value: Any) -> Any:
    return Error.errors[value.text] if isinstance(value, XlError) else value


def _result_out(result: Any) -> Any:
    rows = result if isinstance(result, list) else [[result]]
    return np.array([[_scalar_out(v) for v in row] for row in rows], dtype=object).view(Array)


def adapt(spec: WorksheetFunction) -> Callable[..., Any]:
    """``spec`` callable from ``formulas``; an unexpected exception is ``#VALUE!``, as in Excel."""
    ranges = [spec.takes_range(i) for i in range(len(spec.parameters))]

    def call(*args: Any) -> Any:
        try:
            result = spec.call(*(_arg_in(a, r) for a, r in zip(args, ranges)))
        except Exception:  # noqa: BLE001 - a cell gets a value, never a traceback
            result = XlError.VALUE
        return _result_out(result)

    functools.update_wrapper(call, spec.call)
    return wrap_func(call)


@functools.cache
def register_kpi_functions() -> tuple[str, ...]:
    """Put every ``KPI_*`` function into formulas' table (idempotent); returns the names."""
    import formulas

    table = formulas.get_functions()
    for name, spec in FUNCTIONS.items():
        adapted = adapt(spec)
        table[name] = adapted
        table[UDF_PREFIX + name] = adapted
    return tuple(FUNCTIONS)
