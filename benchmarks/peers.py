"""The peer engines behind one interface, each run in a process of its own by ``bench_peers.py``.

    python benchmarks/peers.py files ENGINE LIST.txt OUT_DIR [--jobs N] [--dump N]
    python benchmarks/peers.py scenarios ENGINE SPEC.json RESULT.json

``files``: recalculate every workbook named in LIST.txt (one path a line) into OUT_DIR — load,
recalculate, save a copy with fresh cached values, the way each engine can (IronCalc's
``save_to_xlsx``, formualizer's ``recalculate_xlsx_file``, LibreOffice's ``--convert-to``;
pycel cannot write xlsx, and formulas' ``write`` keeps values only, so those two write the values of
the first ``--dump`` files as JSON instead). ``--jobs N`` splits the list over N processes.

``scenarios``: SPEC.json names the workbook, the input cells, the output cells and the rows; each
row sets the inputs, recalculates and reads the outputs, with the engine's fastest route (IronCalc
and formualizer keep one model and update cells; pycel ``set_value``; formulas one ``compile()``d
function; LibreOffice over UNO in a long-lived soffice). RESULT.json gets the outputs of the rows
SPEC.json asks to keep, and the seconds spent (setup apart).

``KPI_*`` functions: formualizer (``register_function``), pycel (a plugin module) and formulas
(``tools/formulas_peer.py``) take Python functions, and get the registry's, adapted to their value
types; IronCalc and LibreOffice cannot (their cells are ``#NAME?``, which the check flags).

The process prints one JSON line: what it did and its own timings (the parent also times the whole
process, interpreter start-up included).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
os.environ.setdefault("TQDM_DISABLE", "1")

ERROR_TEXTS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!")


def split_ref(ref: str) -> tuple[str, int, int]:
    """'Calc!AB12' -> ('Calc', 12, 28)."""
    sheet, a1 = ref.split("!")
    letters = a1.rstrip("0123456789")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return sheet.strip("'"), int(a1[len(letters):]), col


# --- KPI_* functions for the engines that take Python functions ------------------------------------


def _kpi_functions() -> dict[str, Any]:
    from kpitree.udfs.registry import FUNCTIONS

    return dict(FUNCTIONS)


def _plain_in(value: Any, is_range: bool, error_of: Any) -> Any:
    """A peer's argument as the registry's functions take it: a range as a flat list, an error as its text."""
    if isinstance(value, (list, tuple)):
        flat = [error_of(v) for row in value for v in (row if isinstance(row, (list, tuple)) else [row])]
        return flat if is_range else (flat[0] if len(flat) == 1 else "#VALUE!")
    value = error_of(value)
    return [value] if is_range else value


def formualizer_udfs(wb: Any) -> None:
    from kpitree.udfs.excel_values import XlError

    kinds = {"#DIV/0!": "Div", "#N/A": "Na", "#NAME?": "Name", "#VALUE!": "Value", "#REF!": "Ref", "#NUM!": "Num",
             "#NULL!": "Null"}

    def error_of(v: Any) -> Any:
        if isinstance(v, dict) and v.get("type") == "Error":
            return {k: t for t, k in kinds.items()}.get(v.get("kind"), "#VALUE!")
        return v

    def out(v: Any) -> Any:
        if isinstance(v, XlError):
            return {"type": "Error", "kind": kinds.get(v.text, "Value")}
        if isinstance(v, list):
            return [[out(x) for x in (row if isinstance(row, list) else [row])] for row in v]
        return v

    for name, spec in _kpi_functions().items():
        ranges = [spec.takes_range(i) for i in range(len(spec.parameters))]
        required = sum(1 for p in spec.signature.parameters.values() if p.default is p.empty)

        def call(*args: Any, spec: Any = spec, ranges: list[bool] = ranges) -> Any:
            try:
                return out(spec.call(*(_plain_in(a, r, error_of) for a, r in zip(args, ranges))))
            except Exception:  # noqa: BLE001 - a cell gets #VALUE!, as in Excel
                return {"type": "Error", "kind": "Value"}

        wb.register_function(name, call, min_args=required, max_args=len(ranges))


def pycel_plugin() -> str:
    """A module of lower-case functions pycel calls by their upper-case names; returns its name."""
    import types

    from kpitree.udfs.excel_values import XlError

    module = types.ModuleType("kpitree_pycel_plugin")

    def error_of(v: Any) -> Any:
        return str(v) if type(v).__name__ == "ExcelCmp" else v

    for name, spec in _kpi_functions().items():
        ranges = [spec.takes_range(i) for i in range(len(spec.parameters))]

        def call(*args: Any, spec: Any = spec, ranges: list[bool] = ranges) -> Any:
            try:
                result = spec.call(*(_plain_in(a, r, error_of) for a, r in zip(args, ranges)))
            except Exception:  # noqa: BLE001
                result = XlError.VALUE
            if isinstance(result, list):
                return tuple(tuple(x.text if isinstance(x, XlError) else x for x in row) for row in result)
            return result.text if isinstance(result, XlError) else result

        setattr(module, name.lower(), call)
    sys.modules[module.__name__] = module
    return module.__name__


def _pycel_compiler() -> Any:
    # pycel 1.0b30 reads openpyxl's old defined-name list; openpyxl 3.1 keeps a dict (pycel issue #161 family)
    from openpyxl.workbook.defined_name import DefinedNameDict

    if not hasattr(DefinedNameDict, "definedName"):
        DefinedNameDict.definedName = property(lambda self: list(self.values()))  # type: ignore[attr-defined]
    logging.getLogger("pycel").setLevel(logging.CRITICAL)
    from pycel import ExcelCompiler

    return ExcelCompiler


# --- values in one comparable form ---------------------------------------------------------------


def plain(v: Any) -> Any:
    """A peer's value as float, str, bool, None or an error text."""
    if isinstance(v, dict) and v.get("type") == "Error":
        return {"Div": "#DIV/0!", "Na": "#N/A", "Name": "#NAME?", "Value": "#VALUE!", "Ref": "#REF!", "Num": "#NUM!",
                "Null": "#NULL!", "Calc": "#CALC!", "Spill": "#SPILL!"}.get(v.get("kind"), "#" + str(v.get("kind")))
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, str):  # formulas' errors are a str subclass that does not pickle (for jobs 2): plain text
        return str.__str__(v)
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(v)
    return str(v)


# --- files ------------------------------------------------------------------------------------------


def files_ironcalc(files: list[str], out: str, dump: int) -> dict[str, Any]:
    import ironcalc as ic

    for f in files:
        m = ic.load_from_xlsx(f, "en", "UTC")
        m.evaluate()
        dst = os.path.join(out, os.path.basename(f))
        m.save_to_xlsx(dst)
    return {}


def files_formualizer(files: list[str], out: str, dump: int) -> dict[str, Any]:
    import formualizer as fz

    for f in files:
        fz.recalculate_xlsx_file(f, output=os.path.join(out, os.path.basename(f)))
    return {}


def _all_formula_cells(path: str) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if (isinstance(c.value, str) and c.value.startswith("=")) or type(c.value).__name__ == "ArrayFormula"]


def files_pycel(files: list[str], out: str, dump: int) -> dict[str, Any]:
    compiler = _pycel_compiler()
    plugin = pycel_plugin()
    dumped: dict[str, dict[str, Any]] = {}
    cells: list[str] | None = None
    for i, f in enumerate(files):
        xl = compiler(filename=f, plugins=[plugin])
        if cells is None:
            cells = _all_formula_cells(f)
        values = _pycel_values(xl, cells)
        if i < dump:
            dumped[os.path.basename(f)] = {c: plain(v) for c, v in zip(cells, values)}
    return {"values": dumped}


def _pycel_values(xl: Any, cells: list[str], fresh: bool = True) -> list[Any]:
    """Every cell's value, recalculated (``fresh``: pycel otherwise trusts the cached values a file was saved
    with); a cell pycel cannot evaluate (it raises for functions it lacks, such as the dynamic-array ones)
    is the text ``#PYCEL!`` instead of stopping the file."""
    if fresh:
        for cell in cells:  # into pycel's graph, with the cached values
            try:
                xl.evaluate(cell)
            except Exception:  # noqa: BLE001 - pycel raises NameError, UnknownFunction, ... for what it cannot do
                pass
        for c in xl.cell_map.values():
            if getattr(c, "formula", None):
                c.value = None
    out = []
    for cell in cells:
        try:
            out.append(xl.evaluate(cell))
        except Exception:  # noqa: BLE001
            out.append("#PYCEL!")
    return out


def files_formulas(files: list[str], out: str, dump: int) -> dict[str, Any]:
    import formulas
    import numpy as np
    from formulas_peer import register_kpi_functions

    logging.getLogger("formulas").setLevel(logging.ERROR)
    register_kpi_functions()
    dumped: dict[str, dict[str, Any]] = {}
    for i, f in enumerate(files):
        model = formulas.ExcelModel().loads(f).finish()
        solution = model.calculate()
        model.write(dirpath=out, solution=solution)  # values only: formulas, styles and names are not kept
        if i < dump:
            values: dict[str, Any] = {}
            for key, rng in solution.items():
                key = str(key)
                if "!" not in key or ":" in key.split("!")[1]:
                    continue
                sheet = key.split("]", 1)[1].split("'!")[0] if "]" in key else key.split("!")[0]
                arr = np.asarray(getattr(rng, "value", rng), dtype=object).ravel()
                v = arr[0] if arr.size else None
                values[f"{sheet}!{key.split('!')[1]}"] = None if type(v).__name__ == "Token" else plain(v)
            dumped[os.path.basename(f)] = values
    return {"values": dumped, "sheet_names_upper": True}


def files_libreoffice(files: list[str], out: str, dump: int) -> dict[str, Any]:
    import subprocess
    import tempfile

    from libreoffice import PROFILE_XCU, soffice

    with tempfile.TemporaryDirectory() as profile:
        user = Path(profile) / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(PROFILE_XCU.format(mode=0), "utf-8")
        exe = soffice()
        assert exe is not None, "LibreOffice (soffice) is not installed"
        for start in range(0, len(files), 500):  # the command line has a length limit
            subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to",
                            "xlsx:Calc MS Excel 2007 XML", "--outdir", out, *files[start:start + 500]],
                           check=True, capture_output=True, timeout=3600, env={**os.environ, "HOME": profile})
    return {}


FILES = {"ironcalc": files_ironcalc, "formualizer": files_formualizer, "pycel": files_pycel, "formulas": files_formulas,
         "libreoffice": files_libreoffice}


def _files_part(engine: str, files: list[str], out: str, dump: int) -> dict[str, Any]:
    return FILES[engine](files, out, dump)


def run_files(engine: str, listing: str, out: str, jobs: int, dump: int) -> dict[str, Any]:
    files = Path(listing).read_text().split("\n")
    files = [f for f in files if f]
    os.makedirs(out, exist_ok=True)
    t = time.perf_counter()
    if jobs <= 1:
        result = _files_part(engine, files, out, dump)
    else:
        import concurrent.futures

        parts = [files[i::jobs] for i in range(jobs)]
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_files_part, [engine] * jobs, parts, [out] * jobs, [dump] * jobs))
        result = {"values": {k: v for r in results for k, v in r.get("values", {}).items()}}
    result["seconds"] = time.perf_counter() - t
    return result


# --- scenarios --------------------------------------------------------------------------------------


class Scenarios:
    """Set inputs, recalculate, read outputs, row after row."""

    def __init__(self, book: str, inputs: list[str], outputs: list[str]):
        self.book, self.inputs, self.outputs = book, inputs, outputs

    def run(self, rows: list[list[Any]], keep: set[int]) -> dict[int, list[Any]]:
        raise NotImplementedError


class IronCalcScenarios(Scenarios):
    def __init__(self, book: str, inputs: list[str], outputs: list[str]):
        super().__init__(book, inputs, outputs)
        import ironcalc as ic

        self.model = ic.load_from_xlsx(book, "en", "UTC")
        names = [s["name"] if isinstance(s, dict) else s.name  # ironcalc 0.9 gives dicts
                 for s in self.model.get_worksheets_properties()] if hasattr(self.model, "get_worksheets_properties") else None
        self.sheets = names or _sheet_names(book)
        self.ins = [self._addr(r) for r in inputs]
        self.outs = [self._addr(r) for r in outputs]
        self.model.evaluate()

    def _addr(self, ref: str) -> tuple[int, int, int]:
        s, r, c = split_ref(ref)
        return self.sheets.index(s), r, c

    def run(self, rows: list[list[Any]], keep: set[int]) -> dict[int, list[Any]]:
        m = self.model
        kept = {}
        for i, row in enumerate(rows):
            for (s, r, c), v in zip(self.ins, row):
                m.update_cell_with_number(s, r, c, float(v))
            m.evaluate()
            got = [m.get_cell_value(s, r, c) for s, r, c in self.outs]
            if i in keep:
                kept[i] = [plain(v) for v in got]
        return kept


class FormualizerScenarios(Scenarios):
    def __init__(self, book: str, inputs: list[str], outputs: list[str]):
        super().__init__(book, inputs, outputs)
        import formualizer as fz

        self.wb = fz.load_workbook(book)
        formualizer_udfs(self.wb)
        self.wb.evaluate_all()
        self.ins = [split_ref(r) for r in inputs]
        self.outs = [split_ref(r) for r in outputs]

    def run(self, rows: list[list[Any]], keep: set[int]) -> dict[int, list[Any]]:
        wb = self.wb
        kept = {}
        for i, row in enumerate(rows):
            for (s, r, c), v in zip(self.ins, row):
                wb.set_value(s, r, c, v)
            got = wb.evaluate_cells(self.outs)
            if i in keep:
                kept[i] = [plain(v) for v in got]
        return kept


class PycelScenarios(Scenarios):
    def __init__(self, book: str, inputs: list[str], outputs: list[str]):
        super().__init__(book, inputs, outputs)
        self.xl = _pycel_compiler()(filename=book, plugins=[pycel_plugin()])
        _pycel_values(self.xl, _all_formula_cells(book))  # set_value needs the inputs in pycel's cell map

    def run(self, rows: list[list[Any]], keep: set[int]) -> dict[int, list[Any]]:
        kept = {}
        for i, row in enumerate(rows):
            for ref, v in zip(self.inputs, row):
                self.xl.set_value(ref, v)
            got = _pycel_values(self.xl, self.outputs, fresh=False)
            if i in keep:
                kept[i] = [plain(v) for v in got]
        return kept


class FormulasScenarios(Scenarios):
    def __init__(self, book: str, inputs: list[str], outputs: list[str]):
        super().__init__(book, inputs, outputs)
        import formulas
        from formulas_peer import register_kpi_functions

        logging.getLogger("formulas").setLevel(logging.ERROR)
        register_kpi_functions()
        name = Path(book).name

        def key(ref: str) -> str:
            s, a1 = ref.split("!")
            return f"'[{name}]{s.upper()}'!{a1}"

        self.model = formulas.ExcelModel().loads(book).finish()
        self.ins, self.outs = [key(r) for r in inputs], [key(r) for r in outputs]
        try:  # a compiled function is formulas' fastest route; it cannot compile every workbook (LET)
            self.func: Any = self.model.compile(inputs=self.ins, outputs=self.outs)
            self.func(*[0.5] * len(inputs))
        except Exception:  # noqa: BLE001 - schedula's DispatcherError and what it wraps
            self.func = None

    def _one(self, row: list[Any]) -> list[Any]:
        if self.func is not None:
            return list(self.func(*row))
        solution = self.model.calculate(inputs=dict(zip(self.ins, row)), outputs=self.outs)
        return [solution.get(k, "#FORMULAS!") for k in self.outs]  # a cell formulas failed on is missing

    def run(self, rows: list[list[Any]], keep: set[int]) -> dict[int, list[Any]]:
        import numpy as np

        kept = {}
        for i, row in enumerate(rows):
            got = self._one(row)
            if i in keep:
                kept[i] = [plain(np.asarray(getattr(v, "value", v), dtype=object).ravel()[0]) for v in got]
        return kept


ENGINES = {"ironcalc": IronCalcScenarios, "formualizer": FormualizerScenarios, "pycel": PycelScenarios,
           "formulas": FormulasScenarios}


def _sheet_names(book: str) -> list[str]:
    from openpyxl import load_workbook

    return load_workbook(book, read_only=True).sheetnames


def run_scenarios(engine: str, spec_path: str) -> dict[str, Any]:
    spec = json.loads(Path(spec_path).read_text())
    t = time.perf_counter()
    runner = ENGINES[engine](spec["book"], spec["inputs"], spec["outputs"])
    setup = time.perf_counter() - t
    t = time.perf_counter()
    kept = runner.run(spec["rows"], set(spec["keep"]))
    return {"setup": setup, "seconds": time.perf_counter() - t, "kept": kept}


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("files")
    f.add_argument("engine", choices=sorted(FILES))
    f.add_argument("listing")
    f.add_argument("out")
    f.add_argument("--jobs", type=int, default=1)
    f.add_argument("--dump", type=int, default=0)
    s = sub.add_parser("scenarios")
    s.add_argument("engine", choices=sorted(ENGINES))
    s.add_argument("spec")
    s.add_argument("result")
    args = ap.parse_args()
    if args.mode == "files":
        result = run_files(args.engine, args.listing, args.out, args.jobs, args.dump)
        values = result.pop("values", None)
        if values:
            Path(args.out, "_values.json").write_text(json.dumps(values))
        print(json.dumps(result))
    else:
        result = run_scenarios(args.engine, args.spec)
        Path(args.result).write_text(json.dumps(result))
        print(json.dumps({k: v for k, v in result.items() if k != "kept"}))


if __name__ == "__main__":
    main()
