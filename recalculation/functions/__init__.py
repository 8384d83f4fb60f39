"""The functions of the compiled path, by Excel name: Excel's (one module per family) and the ``KPI_*`` ones.

:func:`function_table` is the one list of what the engine evaluates; docs/functions.md is generated
from it (``python tools/functions_doc.py``) and a test keeps the two equal. A function outside it
is ``#NAME?``, and the summary names it.
"""

from __future__ import annotations

import dataclasses
import functools

from . import aggregate, arrays, calendar, criteria, info, logic, lookup, math, text
from .base import Spec

FAMILIES = (aggregate, math, logic, info, text, criteria, lookup, calendar, arrays)


# families written over numpy broadcasting: a block given for a single value flows through element by element
BROADCASTING = ("math", "information", "text", "logic")


@functools.cache
def native_table() -> dict[str, Spec]:
    """Excel's functions of the engine, by name."""
    table: dict[str, Spec] = {}
    for family in FAMILIES:
        for name, spec in family.TABLE.items():
            table[name] = dataclasses.replace(spec, takes_arrays=True) if spec.category in BROADCASTING else spec
    return table


@functools.cache
def function_table() -> dict[str, Spec]:
    """Every function the engine evaluates: Excel's and the registry's ``KPI_*`` functions."""
    from ..kpi_bridge import kpi_table

    return {**native_table(), **kpi_table()}
