"""Load xlwings' Windows UDF code (``xlwings.udfs``) on any OS, for real.

``xlwings.udfs`` imports ``pythoncom``, ``pywintypes`` and ``win32com.client`` at
import time and touches only ``pythoncom.CoInitialize`` (as a thread-pool
initializer). Small stand-ins for those modules let the real module import, so
xlwings' own ``xlfunc``/``xlarg``/``xlret`` decorators and ``generate_vba_wrapper``
run here exactly as on Windows. Nothing else of pywin32 is imitated.
"""

from __future__ import annotations

import importlib
import io
import sys
import types
from contextlib import contextmanager
from typing import Iterator


def _stub_modules() -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # type: ignore[attr-defined]
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})  # type: ignore[attr-defined]
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None  # type: ignore[attr-defined]
    win32com.client = client  # type: ignore[attr-defined]
    return {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com, "win32com.client": client}


@contextmanager
def windows_udf_decorators() -> Iterator[types.ModuleType]:
    """Yield ``xlwings.udfs`` with ``xw.func/arg/ret`` pointing at its decorators.

    Inside the block, import (or reload) the UDF module so that its decorators
    record ``__xlfunc__`` metadata as they do on Windows.
    """
    import xlwings as xw

    saved_modules = {name: sys.modules.get(name) for name in _stub_modules()}
    saved = (xw.func, xw.arg, xw.ret)
    sys.modules.update(_stub_modules())
    try:
        sys.modules.pop("xlwings.udfs", None)
        udfs = importlib.import_module("xlwings.udfs")
        xw.func, xw.arg, xw.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
        yield udfs
    finally:
        xw.func, xw.arg, xw.ret = saved
        sys.modules.pop("xlwings.udfs", None)
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class _Workbook:
    """The one attribute generate_vba_wrapper reads from the COM workbook."""

    def __init__(self, name: str):
        self.Name = name


def vba_wrapper_for(module_name: str, workbook_name: str = "kpitree.xlam") -> tuple[str, types.ModuleType]:
    """The VBA that Windows xlwings' "Import Functions" writes for ``module_name``.

    Returns the VBA text and the UDF module as loaded under xlwings.udfs' decorators.
    """
    with windows_udf_decorators() as udfs:
        sys.modules.pop(module_name, None)
        module = importlib.import_module(module_name)
        out = io.StringIO()
        udfs.generate_vba_wrapper(module_name, module, out, _Workbook(workbook_name))
    sys.modules.pop(module_name, None)  # the next import gets the plain decorators again
    return out.getvalue(), module
