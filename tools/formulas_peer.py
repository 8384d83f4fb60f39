"""The ``formulas`` package with kpitree's KPI functions registered: an engine we did not write.

The tests use it as an independent oracle (:func:`compute_values`: every formula cell's value as
``formulas`` computes it, the ``KPI_*`` functions registered or, as in LibreOffice, unknown); the
benchmarks measure it as a peer. kpitree itself does not use ``formulas``.

``formulas`` looks functions up by their upper-cased name exactly, so each KPI function is
registered twice: as ``KPI_X`` and as ``_XLUDF.KPI_X`` (the prefix Excel writes for a function
it does not know when it saves). The adapter turns formulas' values (0-d arrays, ranges as 2-D
object arrays, its empty token and error objects) into what the registry's functions take, and
their results back — an Excel error as formulas' own error object.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import schedula as sh
from formulas.functions import Array, wrap_func
from formulas.tokens.operand import Error
from formulas.tokens.operand import XlError as FormulasError
from kpitree.udfs.excel_values import XlError
from kpitree.udfs.registry import FUNCTIONS, WorksheetFunction
from kpitree.workbook_templates.layout import cell_ref, split_ref

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


def _ref(row: int, col: int) -> str:
    return cell_ref(row, col)


def compute_values(path: str | os.PathLike[str], *, with_udfs: bool = True) -> dict[tuple[str, str], Any]:
    """Every formula cell's value as the ``formulas`` package computes it.

    Keys are (sheet title, A1 ref); values are numbers, strings, bools, ``None`` for an
    empty result, or Excel error texts (``"#DIV/0!"``). With ``with_udfs=False`` the
    ``KPI_*`` functions are unknown (``#NAME?``), as in LibreOffice.
    """
    os.environ.setdefault("TQDM_DISABLE", "1")
    import formulas
    import numpy as np
    import schedula as sh

    table = formulas.get_functions()
    saved: dict[str, Any] = {}
    if with_udfs:
        register_kpi_functions()
    else:
        for key in list(table):
            if "KPI_" in key:
                saved[key] = table.pop(key)
    try:
        path = Path(path)
        with tempfile.TemporaryDirectory() as tmp:
            # formulas keys results by file name; a plain ASCII copy keeps keys simple
            src = Path(tmp) / "book.xlsx"
            shutil.copyfile(path, src)
            model = formulas.ExcelModel().loads(str(src)).finish()
            solution = model.calculate()
    finally:
        if saved:
            table.update(saved)
            if with_udfs is False:
                register_kpi_functions.cache_clear()
    titles = {name.upper(): name for name in _sheet_titles(path)}
    out: dict[tuple[str, str], Any] = {}
    for key, value in solution.items():
        key = str(key)
        if "!" not in key or not key.startswith("'["):
            continue
        sheet_part, ref = key.rsplit("!", 1)
        sheet_upper = sheet_part.split("]", 1)[1].rstrip("'").replace("''", "'")
        sheet = titles.get(sheet_upper.upper())
        if sheet is None:
            continue
        arr = getattr(value, "value", value)
        arr = np.asarray(arr, dtype=object)
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        first, _, _last = ref.partition(":")
        r0, c0 = split_ref(first)
        for i in range(arr.shape[0]):
            for j in range(arr.shape[1]):
                out[(sheet, _ref(r0 + i, c0 + j))] = _plain(arr[i, j], sh)
    return out


def _plain(value: Any, sh: Any) -> Any:
    from formulas.tokens.operand import XlError

    if value is sh.EMPTY:
        return None
    if isinstance(value, XlError):
        return str(value)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return value
    return value


def _sheet_titles(path: Path) -> list[str]:
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("xl/workbook.xml"))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    return [s.get("name") for s in root.iter(f"{ns}sheet")]
