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

from ..excel_values import XlError
from .graph import Graph, Key
from .package import WorkbookData, col_letters, col_number

_KEY_RE = re.compile(r"^'\[(?P<book>[^\]]+)\](?P<sheet>.*)'!\$?(?P<col>[A-Z]+)\$?(?P<row>\d+)$")


@functools.cache
def prepare_formulas() -> None:
    """Register the KPI functions and the Excel-faithful rounding in formulas' table (once)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ..formulas_udfs import register_kpi_functions
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
        self.book = os.path.basename(os.fspath(path)).upper()
        self.model = formulas.ExcelModel().loads(os.fspath(path)).finish()
        self._index = {s.name.upper(): i for i, s in enumerate(wb.sheets)}

    def key_of(self, name: str) -> Key | None:
        m = _KEY_RE.match(name)
        if not m:
            return None
        si = self._index.get(m.group("sheet").upper())
        return None if si is None else (si, int(m.group("row")), col_number(m.group("col")))

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
        for name, ranges in solution.items():
            key = self.key_of(str(name))
            if key is None:
                continue
            value = getattr(ranges, "value", ranges)
            out[key] = from_formulas(value)
        return out


def evaluate_file(path: str | os.PathLike[str], wb: WorkbookData, graph: Graph) -> dict[Key, Any]:
    """Recalculate one workbook with formulas: results of its formula cells (and spills)."""
    results = GeneralModel(path, wb, graph).run()
    formula_keys = set(graph.trees)
    stored = {(si, r, c) for si, s in enumerate(wb.sheets) for (r, c) in s.cells}
    # keep formula cells, and cells formulas filled that exist in the sheet (array spills)
    return {k: v for k, v in results.items() if k in formula_keys or (k in stored and wb.sheets[k[0]].cells[k[1:]].formula is None and _in_spill(wb, k))}


def _in_spill(wb: WorkbookData, key: Key) -> bool:
    si, r, c = key
    for cell in wb.sheets[si].cells.values():
        if cell.ftype == "array" and cell.fref and ":" in cell.fref:
            from .package import split_ref

            a, b = cell.fref.split(":")
            r1, c1 = split_ref(a)
            r2, c2 = split_ref(b)
            if r1 <= r <= r2 and c1 <= c <= c2:
                return True
    return False
