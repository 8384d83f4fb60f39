"""An independent oracle for the tests: a workbook's formula values as the ``formulas`` package computes them.

kpitree's engine writes the template's cached values; these tests compare them with what
``formulas`` (a formula engine we did not write) computes from the same file, with the
``KPI_*`` functions registered in its table (or not: then they are ``#NAME?``, as in LibreOffice).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kpitree.workbook_templates.layout import cell_ref, split_ref


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
        from kpitree.udfs.formulas_udfs import register_kpi_functions

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
                from kpitree.udfs import formulas_udfs

                formulas_udfs.register_kpi_functions.cache_clear()
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
