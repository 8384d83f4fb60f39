"""The general path: the ``formulas`` package evaluates what the fast path cannot vectorise.

Before any model is built the KPI functions are registered in formulas' table (so
``KPI_*`` and ``_xludf.KPI_*`` calls work, with Excel errors kept) and ROUND,
ROUNDUP and ROUNDDOWN are replaced by Excel-faithful versions
(:mod:`.excel_round`). The package has already been checked by :mod:`.package`
(limits, no DTDs) and the graph by :mod:`.graph` (no cycles) before formulas
opens it, so formulas never sees a bomb or loops on a circular reference.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from kpitree.udfs.excel_values import XlError

from .graph import Graph, Key
from .io.package import WorkbookData, col_letters, col_number

_KEY_RE = re.compile(r"^'\[(?P<book>[^\]]+)\](?P<sheet>.*)'!\$?(?P<col>[A-Z]+)\$?(?P<row>\d+)(?::\$?(?P<col2>[A-Z]+)\$?(?P<row2>\d+))?$")


@functools.cache
def prepare_formulas() -> None:
    """Register the KPI functions and the Excel-faithful rounding in formulas' table (once)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    from kpitree.udfs.formulas_udfs import register_kpi_functions

    from .excel_round import install_formulas_fixes

    register_kpi_functions()
    install_formulas_fixes()


def from_formulas(value: Any) -> Any:
    """A formulas cell value as a plain one: float, str, bool, XlError or 0.0 for a blank result."""
    import numpy as np
    import schedula as sh
    from formulas.tokens.operand import XlError as FormulasError

    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else sh.EMPTY
    if value is sh.EMPTY or value is None:
        return 0.0
    if isinstance(value, FormulasError):
        return XlError.from_text(str(value)) or XlError.VALUE
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return XlError.VALUE
    return f if np.isfinite(f) else XlError.NUM


def to_formulas(value: Any) -> Any:
    """A plain input value as formulas takes it (an error as its own error object)."""
    import schedula as sh
    from formulas.tokens.operand import Error

    if value is None:
        return sh.EMPTY
    if isinstance(value, XlError):
        return Error.errors[value.text]
    if isinstance(value, float) and value != value:  # pandas' empty cell
        return sh.EMPTY
    return value


class GeneralModel:
    """One workbook loaded into formulas; ``run`` recalculates it, optionally with new inputs."""

    def __init__(self, path: str | os.PathLike[str], wb: WorkbookData, graph: Graph):
        prepare_formulas()
        import formulas

        self.wb = wb
        self.graph = graph
        self.book = os.path.basename(os.fspath(path))  # formulas keeps the file name as given
        self.model = formulas.ExcelModel().loads(os.fspath(path)).finish()
        self._index = {s.name.upper(): i for i, s in enumerate(wb.sheets)}

    def keys_of(self, name: str) -> tuple[Key, int, int] | None:
        """Top-left cell and (rows, columns) of a solution key, or None."""
        m = _KEY_RE.match(name)
        if not m:
            return None
        si = self._index.get(m.group("sheet").upper())
        if si is None:
            return None
        r, c = int(m.group("row")), col_number(m.group("col"))
        if m.group("row2") is None:
            return (si, r, c), 1, 1
        return (si, r, c), int(m.group("row2")) - r + 1, col_number(m.group("col2")) - c + 1

    def name_of(self, key: Key) -> str:
        si, r, c = key
        return f"'[{self.book}]{self.wb.sheets[si].name.upper()}'!{col_letters(c)}{r}"

    def run(self, inputs: dict[Key, Any] | None = None) -> dict[Key, Any]:
        """Every computed single cell (formula cells and spilled array cells) as a plain value."""
        kwargs = {}
        if inputs:
            kwargs["inputs"] = {self.name_of(k): to_formulas(v) for k, v in inputs.items()}
        solution = self.model.calculate(**kwargs)
        out: dict[Key, Any] = {}
        blocks = []
        for name, ranges in solution.items():
            found = self.keys_of(str(name))
            if found is None:
                continue
            (si, r, c), rows, cols = found
            value = getattr(ranges, "value", ranges)
            if rows == cols == 1:
                out[(si, r, c)] = from_formulas(value)
            elif (si, r, c) in self.graph.spills:  # an array formula's block: spread it
                blocks.append(((si, r, c), rows, cols, value))
        for (si, r, c), rows, cols, value in blocks:
            import numpy as np

            arr = np.asarray(value, dtype=object)
            for dr in range(rows):
                for dc in range(cols):
                    v = arr[dr, dc] if arr.ndim == 2 and dr < arr.shape[0] and dc < arr.shape[1] else arr.ravel()[0]
                    out[(si, r + dr, c + dc)] = from_formulas(v)
        return out


def evaluate_file(path: str | os.PathLike[str], wb: WorkbookData, graph: Graph) -> dict[Key, Any]:
    """Recalculate one workbook with formulas: results of its formula cells and array blocks."""
    results = GeneralModel(path, wb, graph).run()
    return {k: v for k, v in results.items() if k in graph.trees or k in graph.spill_owner}


@functools.cache
def general_function_names() -> frozenset[str]:
    """Functions the general evaluator knows (formulas' table with the KPI functions added)."""
    prepare_formulas()
    import formulas

    return frozenset(k.upper() for k in formulas.get_functions())
