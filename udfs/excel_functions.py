"""The xlwings UDF module: the ``KPI_*`` worksheet functions as Excel sees them.

Point xlwings at it with ``UDF Modules = kpitree.udfs.excel_functions`` (the kpitree
add-in does this for you). The same decorators serve classic Windows xlwings,
xlwings Server and xlwings Lite.

This module is only the xlwings face of :mod:`kpitree.udfs.registry`: for every
registered function it defines a module-level ``KPI_*`` function with the registry's
signature, description and argument help, and turns an
:class:`~kpitree.udfs.excel_values.XlError` result into a value Excel shows as an
error. No exception reaches Excel: an unexpected one becomes ``#VALUE!``. Excel's
function wizard shows at most 255 characters of each text (a test holds every text to it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import xlwings as xw

from .excel_values import XlError
from .registry import ARG_DOCS, CATEGORY, FUNCTIONS, RANGE_ARGS, WIZARD_LIMIT, WorksheetFunction

__all__ = ["ARG_DOCS", "CATEGORY", "RANGE_ARGS", "WIZARD_LIMIT", "exported_functions", *FUNCTIONS]

# The SCODEs Windows Excel uses for its error values (xlwings._xlwindows.cell_errors).
_SCODES = {
    XlError.DIV0: -2146826281, XlError.NA: -2146826246, XlError.NAME: -2146826259, XlError.NULL: -2146826288,
    XlError.NUM: -2146826252, XlError.REF: -2146826265, XlError.VALUE: -2146826273,
}


def _xl_error(err: XlError) -> Any:
    """An error value Excel shows as an error, not as text.

    Classic xlwings passes return values through pywin32, which turns a VT_ERROR
    VARIANT into a real cell error; where that is not available (xlwings Server and
    Lite, tests on Linux) the error's text is returned.
    """
    if sys.platform.startswith("win"):
        try:
            import pythoncom
            from win32com.client import VARIANT

            return VARIANT(pythoncom.VT_ERROR, _SCODES[err])
        except ImportError:
            pass
    return err.text


def _to_excel(result: Any) -> Any:
    return _xl_error(result) if isinstance(result, XlError) else result


def _udf(spec: WorksheetFunction) -> Callable[..., Any]:
    """``spec`` as an xlwings worksheet function named ``spec.name``."""

    def unguarded(*args: Any) -> Any:
        return _to_excel(spec.call(*args))

    def guarded(*args):  # unannotated: xlwings reads type hints as converters
        try:
            return unguarded(*args)
        except Exception:  # noqa: BLE001 - Excel must get a value, never a traceback
            return _xl_error(XlError.VALUE)

    guarded.__signature__ = spec.signature  # type: ignore[attr-defined]
    guarded.__name__ = guarded.__qualname__ = spec.name
    guarded.__module__ = __name__
    guarded.__doc__ = spec.description
    guarded.unguarded = unguarded  # type: ignore[attr-defined]  # tests check the net is never needed
    wrapped: Any = guarded
    for name in spec.parameters:
        options = {"ndim": 1} if name in RANGE_ARGS else {}
        wrapped = xw.arg(name, doc=ARG_DOCS[name], err_to_str=True, **options)(wrapped)
    return xw.func(category=CATEGORY)(wrapped)


# xlwings finds the functions as attributes of this module (Windows "Import Functions" lists
# dir(module); a call looks the function up by name), so each is bound here under its Excel name.
globals().update({name: _udf(spec) for name, spec in FUNCTIONS.items()})


def exported_functions() -> dict[str, Callable[..., Any]]:
    """Every worksheet function of this module, by its Excel name."""
    return {name: globals()[name] for name in FUNCTIONS}
