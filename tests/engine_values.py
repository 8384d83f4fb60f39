"""Cell values of a workbook as each engine computes them, in one comparable form.

A value is a float, a str, a bool, None (blank) or an :class:`Err` (an Excel error by its
text). ``ours_general`` runs kpitree's per-file evaluation, ``ours_fast`` the compiled path
over several files at once (one input set per file); ``libreoffice_folder`` recalculates a
whole folder with one ``soffice`` call (recalculation on load forced) and reads the results
back with openpyxl, a reader we did not write.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpitree.recalculation.compiler import INTERNAL_FAILURE, compile_graph, run_program
from kpitree.recalculation.general import evaluate_file
from kpitree.recalculation.graph import Unsupported, build_graph, fingerprint
from kpitree.recalculation.io.package import load
from kpitree.recalculation.values import from_python, to_python
from kpitree.udfs.excel_values import XlError

Where = tuple[str, int, int]  # sheet, row, column (1-based)


@dataclass(frozen=True)
class Err:
    code: str  # "#DIV/0!", "#N/A", …

    def __repr__(self) -> str:
        return self.code


ERROR_TEXTS = {e: text for e, text in ((XlError.NULL, "#NULL!"), (XlError.DIV0, "#DIV/0!"), (XlError.VALUE, "#VALUE!"),
                                       (XlError.REF, "#REF!"), (XlError.NAME, "#NAME?"), (XlError.NUM, "#NUM!"),
                                       (XlError.NA, "#N/A"))}
ERROR_TEXTS.update({XlError.GETTING_DATA: "#GETTING_DATA", XlError.SPILL: "#SPILL!", XlError.CALC: "#CALC!"})


def _ours(value: Any) -> Any:
    if isinstance(value, XlError):
        return Err(ERROR_TEXTS.get(value, str(value)))
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return None  # EMPTY_CELL: a dynamic array's unused cell


def _named(wb: Any, results: dict[tuple[int, int, int], Any]) -> dict[Where, Any]:
    return {(wb.sheets[s].name, r, c): _ours(v) for (s, r, c), v in results.items()}


def ours_general(path: Path) -> dict[Where, Any]:
    """Every formula cell of ``path`` as kpitree's per-file evaluation gives it."""
    _, _, wb = load(path)

    def stored(key: tuple[int, int, int]) -> Any:
        cell = wb.sheets[key[0]].cells.get((key[1], key[2]))
        return None if cell is None or cell.formula is not None else cell.value

    results, notes = evaluate_file(wb, stored)
    failures = {k: note for k, note in notes.items() if note.startswith(INTERNAL_FAILURE)}
    assert not failures, f"{path.name}: formulas the engine failed on: {failures}"
    return _named(wb, results)


def ours_fast(paths: list[Path]) -> list[dict[Where, Any]]:
    """Files of one layout through the compiled path at once: each file's formula cells. Where the
    compiled path declines (Unsupported), each file on its own, as ``kpitree recalc`` does."""
    books = [load(p)[2] for p in paths]
    assert len({fingerprint(b) for b in books}) == 1, "the files must share one layout"
    try:
        return _fast(books)
    except Unsupported:
        return [ours_general(p) for p in paths]


def _fast(books: list[Any]) -> list[dict[Where, Any]]:
    program = compile_graph(build_graph(books[0]))

    def stored(wb: Any, key: tuple[int, int, int]) -> Any:
        cell = wb.sheets[key[0]].cells.get((key[1], key[2]))
        return None if cell is None or cell.formula is not None else cell.value

    n = len(books)
    env = run_program(program, {k: from_python([stored(b, k) for b in books]) for k in program.inputs}, n)
    failures = {k: note for k, note in program.diagnostics.items() if note.startswith(INTERNAL_FAILURE)}
    assert not failures, f"formulas the engine failed on: {failures}"
    columns = {k: to_python(env[k], n) for k in program.outputs}
    return [_named(books[0], {k: col[i] for k, col in columns.items()}) for i in range(n)]


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def stored_values(path: Path) -> dict[Where, Any]:
    """Every stored cell value of an xlsx as written, read straight from the XML (openpyxl would turn a
    date-formatted number into a datetime rounded to the microsecond, hiding differences)."""
    import xml.etree.ElementTree as ET
    import zipfile

    out: dict[Where, Any] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        shared = []
        if "xl/sharedStrings.xml" in names:
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", _NS):
                shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        for sheet in ET.fromstring(z.read("xl/workbook.xml")).find("m:sheets", _NS) or []:
            target = rels[sheet.get(f"{{{_NS['r']}}}id")].lstrip("/")
            part = target if target.startswith("xl/") else "xl/" + target
            for c in ET.fromstring(z.read(part)).iter(f"{{{_NS['m']}}}c"):
                v = c.find("m:v", _NS)
                kind = c.get("t", "n")
                text = "" if v is None else (v.text or "")
                if kind == "inlineStr":
                    text = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
                elif v is None:
                    continue
                col = "".join(ch for ch in c.get("r", "") if ch.isalpha())
                row = int("".join(ch for ch in c.get("r", "") if ch.isdigit()))
                number = 0
                for ch in col:
                    number = number * 26 + ord(ch) - 64
                out[(sheet.get("name", ""), row, number)] = _typed(kind, text, shared)
    return out


def _typed(kind: str, text: str, shared: list[str]) -> Any:
    if kind == "s":
        return shared[int(text)]
    if kind in ("str", "inlineStr"):
        return text
    if kind == "b":
        return text == "1"
    if kind == "e":
        return Err(text)
    return float(text)


def libreoffice_folder(paths: list[Path]) -> list[dict[Where, Any]]:
    """Each file recalculated by LibreOffice (one soffice call for all), every cell's value."""
    from libreoffice import convert_recalculated

    with tempfile.TemporaryDirectory() as out:
        return [stored_values(p) for p in convert_recalculated(paths, Path(out))]


def same(a: Any, b: Any) -> bool:
    """Equal as Excel would show them: numbers to 15 significant digits (a relative 1e-13), else exactly."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return False
        return a == b or math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-300)
    if type(a) is not type(b):
        return False
    return bool(a == b)
