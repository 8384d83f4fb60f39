"""The general path's evaluator: kpitree's own against formualizer, IronCalc and ``formulas`` (issue 11, item 2).

    python benchmarks/bench_general.py                     # the default run (≈ 1 min on 2 cores)
    python benchmarks/bench_general.py --files 40 --formulas-files 5 --seeds 100   # docs/performance.md (≈ 4 min)

Needs ``pip install ironcalc formualizer`` and ``formulas`` (the ``bench`` extra), and LibreOffice (``soffice``)
for fidelity.

A workbook the compiled path cannot vectorise over files is evaluated on its own (the general path,
``recalculation/general.py``). This measures, per file and in one process, the candidates for that
per-file evaluator:

* ``kpitree``: ``io.package.load`` + ``general.evaluate_file`` (what ``kpitree.recalc(..., general=True)``
  does per file, without the write-back);
* ``formualizer``: ``load_workbook`` + the ``KPI_*`` functions registered (``register_function``,
  ``peers.formualizer_udfs``) + ``evaluate_all``;
* ``ironcalc``: ``load_from_xlsx`` + ``evaluate`` (no Python functions: ``KPI_*`` cells are ``#NAME?``);
* ``formulas``: ``ExcelModel().loads().finish().calculate()`` with the ``KPI_*`` functions registered
  (``tools/formulas_peer.compute_values``; the file is copied to a temporary folder first).

**Speed**: ``--files`` variants of (a) the shipped template and (b) the plain KPI workbook of
``kpi_workbook.py`` (numbers and texts differ per variant); each engine times each file (engines
interleaved per file, so the machine's noise falls on all), medians and ratios to kpitree. ``formulas``
runs only the first ``--formulas-files``. For reference, ``kpitree.recalc(folder, general=True, jobs=1)``
(the batch forced onto the general path, write-back and start-up of the engine included) is timed
on the same files. Cells that differ from kpitree's value on these files are counted per engine.

**Fidelity**: the differential harness's generated workbooks (``tests/formula_grammar.py``,
``Case.generate(seed, 60)``: 60 formulas and their sub-expressions, each in a cell of sheet F), one
per seed 1 … ``--seeds``, recalculated by LibreOffice (one ``soffice`` call, ``tests/engine_values.py``).
Per engine, over every formula cell of F:

* ``= LibreOffice``: the engine's value is LibreOffice's (``engine_values.same``);
* ``= Excel's rule``: equal to LibreOffice's value, except in the rows where kpitree differs from
  LibreOffice and the harness explains that difference by a documented LibreOffice deviation
  (``tests/data/libreoffice_deviations.toml``, each citing Microsoft's documentation; ``blames`` +
  ``explain`` of ``tests/test_differential.py``): there the expected value is kpitree's;
* ``= kpitree``: the engine's value is kpitree's general path's;
* ``rows ≠ LibreOffice`` / ``rows unexplained``: the harness's own criterion (the one
  ``test_libreoffice_agrees_or_deviates_as_documented`` holds kpitree to) applied to the engine's values:
  per formula row, the innermost call on which it and LibreOffice disagree while agreeing on the
  arguments, and how many of those no documented deviation explains.

``= Excel's rule`` is built from kpitree's explained differences, so where the harness explains every
one of them (as the tests require) it equals ``= kpitree`` for every engine; the independent measures
are ``= LibreOffice`` and ``rows unexplained``. A file an engine cannot open or evaluate counts every
one of its cells as a miss.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for folder in (HERE, ROOT / "tools", ROOT / "tests"):
    sys.path.insert(0, str(folder))
os.environ.setdefault("TQDM_DISABLE", "1")

RULE = "= Excel's rule"
ENGINES = ("kpitree", "formualizer", "ironcalc", "formulas")
Where = tuple[str, int, int]


# --- each engine: one file in, every formula cell's value out -------------------------------------------


def _err(code: str) -> Any:
    from engine_values import Err

    return Err(code)


ERROR_TEXTS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!", "#N/IMPL", "#N/IMPL!",
               "#GETTING_DATA", "#CIRC!", "#ERROR!"}


def norm(v: Any) -> Any:
    """A peer's value in engine_values' form: float, str, bool, None or Err (a date or time as its serial
    number: formualizer gives a date-formatted cell's value as a ``datetime``)."""
    import datetime as dt

    from peers import plain

    if isinstance(v, (dt.date, dt.time)):
        if isinstance(v, dt.time):
            return (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400
        days = (v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)) - dt.datetime(1899, 12, 30)
        return days.total_seconds() / 86400
    v = plain(v)
    if isinstance(v, str) and v in ERROR_TEXTS:
        return _err(v)
    return v


def kpitree_values(path: Path, cells: list[Where] | None) -> dict[Where, Any]:
    from engine_values import ours_general

    return ours_general(path)


def formualizer_values(path: Path, cells: list[Where] | None) -> dict[Where, Any]:
    import formualizer as fz
    from peers import formualizer_udfs

    wb = fz.load_workbook(str(path))
    formualizer_udfs(wb)
    wb.evaluate_all()
    return {} if cells is None else {c: norm(wb.get_value(*c)) for c in cells}


def ironcalc_values(path: Path, cells: list[Where] | None) -> dict[Where, Any]:
    import ironcalc as ic

    m = ic.load_from_xlsx(str(path), "en", "UTC")
    m.evaluate()
    if cells is None:
        return {}
    sheets = [s["name"] if isinstance(s, dict) else s.name for s in m.get_worksheets_properties()]
    return {c: norm(m.get_cell_value(sheets.index(c[0]), c[1], c[2])) for c in cells}


def formulas_values(path: Path, cells: list[Where] | None) -> dict[Where, Any]:
    from formulas_peer import compute_values
    from kpitree.workbook_templates.layout import split_ref

    for name in ("formulas", "schedula"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    out: dict[Where, Any] = {}
    for (sheet, a1), v in compute_values(path).items():
        r, c = split_ref(a1)  # zero-based
        out[(sheet, r + 1, c + 1)] = norm(v)
    return out


VALUES: dict[str, Callable[[Path, list[Where] | None], dict[Where, Any]]] = {
    "kpitree": kpitree_values, "formualizer": formualizer_values, "ironcalc": ironcalc_values, "formulas": formulas_values}


def values_of(engine: str, path: Path, cells: list[Where] | None) -> tuple[dict[Where, Any] | None, str]:
    """The engine's values (None when it failed on the file) and the failure's last line."""
    try:
        return VALUES[engine](path, cells), ""
    except Exception as e:  # noqa: BLE001 - a file an engine cannot take is a miss, whatever it raises
        return None, (traceback.format_exception_only(e)[-1].strip())[:200]


# --- speed ------------------------------------------------------------------------------------------------


def speed(kind: str, folder: Path, files: int, formulas_files: int, engines: list[str]) -> dict[str, Any]:
    from bench_peers import make_variants
    from engine_values import same

    import kpitree

    variants = make_variants(kind, folder / kind, files)
    for engine in engines:  # imports and one-time set-up outside the timings
        values_of(engine, variants[0], None)
    times: dict[str, list[float]] = {e: [] for e in engines}
    differ: dict[str, list[int]] = {e: [0, 0] for e in engines}  # cells differing from kpitree's, cells compared
    failures: dict[str, str] = {}
    examples: dict[str, list[str]] = {}
    for i, path in enumerate(variants):
        order = engines[i % len(engines):] + engines[:i % len(engines)]
        ours: dict[Where, Any] = {}
        got: dict[str, dict[Where, Any] | None] = {}
        for engine in order:
            if engine == "formulas" and i >= formulas_files:
                continue
            t = time.perf_counter()
            result, why = values_of(engine, path, None)
            times[engine].append(time.perf_counter() - t)
            if result is None:
                failures[engine] = why
            if engine == "kpitree" and result is not None:
                ours = result
        cells = sorted(ours)
        for engine in engines:  # values read after the timings (reading them is not part of the evaluation)
            if engine != "kpitree" and not (engine == "formulas" and i >= formulas_files):
                got[engine] = values_of(engine, path, cells)[0]
        for engine, vals in got.items():
            differ[engine][1] += len(cells)
            wrong = cells if vals is None else [c for c in cells if not same(vals.get(c), ours[c])]
            differ[engine][0] += len(wrong)
            if i == 0 and vals is not None:
                examples[engine] = [f"{c[0]}!{c[1]},{c[2]}: {vals.get(c)!r} (kpitree {ours[c]!r})" for c in wrong[:4]]
    phases = kpitree_phases(variants) if "kpitree" in engines else None
    batch = None
    if "kpitree" in engines:
        out = folder / f"{kind}_out"
        t = time.perf_counter()
        kpitree.recalc([str(folder / kind)], out=str(out), general=True, jobs=1, report=False)
        batch = (time.perf_counter() - t) / len(variants)
        shutil.rmtree(out, ignore_errors=True)
    return {"kind": kind, "files": len(variants), "formula_cells": len(cells),
            "median_s": {e: statistics.median(ts) for e, ts in times.items() if ts},
            "runs": {e: len(ts) for e, ts in times.items()}, "differ_from_kpitree": differ,
            "failures": failures, "kpitree_recalc_general_s_per_file": batch, "kpitree_phases_s": phases,
            "examples": examples}


def kpitree_phases(paths: list[Path]) -> dict[str, float]:
    """Medians over the files of kpitree's general path in its three steps."""
    from kpitree.recalculation.compiler import compile_graph, run_program
    from kpitree.recalculation.graph import build_graph
    from kpitree.recalculation.io.package import load
    from kpitree.recalculation.values import from_python

    steps: dict[str, list[float]] = {"read": [], "graph + compile": [], "run": []}
    for path in paths:
        t0 = time.perf_counter()
        wb = load(path)[2]
        t1 = time.perf_counter()
        program = compile_graph(build_graph(wb), per_file=True)
        t2 = time.perf_counter()

        def stored(key: Any, wb: Any = wb) -> Any:
            cell = wb.sheets[key[0]].cells.get((key[1], key[2]))
            return None if cell is None or cell.formula is not None else cell.value

        run_program(program, {k: from_python([stored(k)]) for k in program.inputs}, 1)
        t3 = time.perf_counter()
        for name, dt in zip(steps, (t1 - t0, t2 - t1, t3 - t2)):
            steps[name].append(dt)
    return {name: statistics.median(ts) for name, ts in steps.items()}


# --- fidelity ---------------------------------------------------------------------------------------------


def fidelity(seeds: int, folder: Path, engines: list[str]) -> dict[str, Any]:
    from engine_values import libreoffice_folder, ours_general, same
    from formula_grammar import Case
    from test_differential import _lo_normal, blames, explain, load_deviations

    deviations = load_deviations()
    cases = [Case.generate(seed, 60) for seed in range(1, seeds + 1)]
    paths = [c.write(folder / f"case{c.seed}.xlsx") for c in cases]
    t = time.perf_counter()
    lo_all = libreoffice_folder(paths)
    lo_seconds = time.perf_counter() - t
    counts = {e: {"cells": 0, "= LibreOffice": 0, RULE: 0, "= kpitree": 0, "files failed": 0, "rows ≠ LibreOffice": 0,
                  "rows unexplained": 0} for e in engines}
    examples: dict[str, list[str]] = {e: [] for e in engines}
    explained_rows = unexplained_rows = 0
    failures: dict[str, list[str]] = {e: [] for e in engines}
    for case, path, lo in zip(cases, paths, lo_all):
        cells = [("F", i, j) for i, row in enumerate(case.rows, start=1) for j in range(1, len(row) + 1)]
        ours = ours_general(path)
        expected = {c: _lo_normal(lo.get(c)) for c in cells}
        for b in blames(case, ours, lo):
            if explain(b, deviations) is None:
                unexplained_rows += 1
                continue
            explained_rows += 1
            for j in range(1, len(case.rows[b.row - 1]) + 1):
                c = ("F", b.row, j)
                if not same(ours.get(c), expected[c]):
                    expected[c] = ours.get(c)
        for engine in engines:
            vals, why = values_of(engine, path, cells)
            n = counts[engine]
            n["cells"] += len(cells)
            if vals is None:
                n["files failed"] += 1
                failures[engine].append(f"seed {case.seed}: {why}")
                continue
            for b in blames(case, vals, lo):  # the harness's own criterion, applied to this engine's values
                n["rows ≠ LibreOffice"] += 1
                if explain(b, deviations) is None:
                    n["rows unexplained"] += 1
                    if len(examples[engine]) < 6:
                        examples[engine].append(b.describe().split("\n    values")[0].replace("\n", " ")
                                           .replace("kpitree", engine, 1))
            for c in cells:
                v = vals.get(c)
                n["= LibreOffice"] += same(_lo_normal(v), _lo_normal(lo.get(c)))
                n[RULE] += same(v, expected[c]) or same(_lo_normal(v), expected[c])
                n["= kpitree"] += same(v, ours.get(c))
    return {"seeds": seeds, "counts": counts, "rows_explained_by_deviations": explained_rows,
            "rows_unexplained": unexplained_rows, "libreoffice_seconds": lo_seconds, "failures": failures,
            "examples": examples}


# --- report -----------------------------------------------------------------------------------------------


def report(speeds: list[dict[str, Any]], fid: dict[str, Any] | None) -> str:
    return "\n".join([*report_speed(speeds), *(report_fidelity(fid) if fid else [])])


def report_speed(speeds: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    if speeds:
        lines += ["| workbook | formula cells | engine | files timed | median s / file | × kpitree's time | cells ≠ kpitree |",
                  "|---|---:|---|---:|---:|---:|---:|"]
        for s in speeds:
            base = s["median_s"].get("kpitree")
            for e, t in s["median_s"].items():
                d, n = s["differ_from_kpitree"].get(e, [0, 0])
                lines.append(f"| {s['kind']} | {s['formula_cells']} | {e} | {s['runs'][e]} | {t:.4f} | "
                             f"{t / base:.2f} | {'—' if e == 'kpitree' else f'{d}/{n}'} |" if base else
                             f"| {s['kind']} | {s['formula_cells']} | {e} | {s['runs'][e]} | {t:.4f} | | |")
            if s["kpitree_recalc_general_s_per_file"] is not None:
                lines.append(f"| {s['kind']} | | `kpitree.recalc(general=True, jobs=1)`, write-back | {s['files']} | "
                             f"{s['kpitree_recalc_general_s_per_file']:.4f} | | |")
            if s["kpitree_phases_s"]:
                lines.append(f"\nkpitree's general path on {s['kind']}, medians: "
                             + ", ".join(f"{k} {v:.4f} s" for k, v in s["kpitree_phases_s"].items()))
            for e, why in s["failures"].items():
                lines.append(f"\n{s['kind']}: {e} failed: {why}")
            for e, ex in s["examples"].items():
                for line in ex:
                    lines.append(f"\n{s['kind']}, {e} ≠ kpitree: {line}")
        lines.append("")
    return lines


def report_fidelity(fid: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if fid:
        lines += [f"Fidelity, {fid['seeds']} generated workbooks (rows whose kpitree ≠ LibreOffice difference a documented "
                  f"deviation explains: {fid['rows_explained_by_deviations']}; unexplained: {fid['rows_unexplained']}):", "",
                  "| engine | cells | = LibreOffice | = Excel's rule | = kpitree | rows ≠ LibreOffice | rows unexplained "
                  "| files failed |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for e, n in fid["counts"].items():
            lines.append(f"| {e} | {n['cells']} | {n['= LibreOffice']} | {n[RULE]} | {n['= kpitree']} | "
                         f"{n['rows ≠ LibreOffice']} | {n['rows unexplained']} | {n['files failed']} |")
        for e, f in fid["failures"].items():
            for why in f[:3]:
                lines.append(f"\n{e}: {why}")
        for e, ex in fid["examples"].items():
            for line in ex:
                lines.append(f"\n{e}, unexplained: {line}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10, help="variants of each workbook timed (default 10)")
    ap.add_argument("--formulas-files", type=int, default=3, help="of them, how many formulas runs (slow; default 3)")
    ap.add_argument("--seeds", type=int, default=10, help="generated workbooks for fidelity, seeds 1 … N (default 10)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    ap.add_argument("--workbooks", default="template,plain", help="speed workbooks: template, plain (default both)")
    ap.add_argument("--no-speed", action="store_true", help="skip the timings")
    ap.add_argument("--no-fidelity", action="store_true", help="skip the generated workbooks and LibreOffice")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engines: {sorted(unknown)}")
    print(f"load average {os.getloadavg()}", file=sys.stderr)
    speeds, fid = [], None
    with tempfile.TemporaryDirectory(prefix="bench-general-") as tmp:
        if not args.no_speed:
            for kind in [k for k in args.workbooks.split(",") if k]:
                speeds.append(speed(kind, Path(tmp), args.files, args.formulas_files, engines))
                print(report(speeds[-1:], None), file=sys.stderr)
        if not args.no_fidelity:
            (Path(tmp) / "cases").mkdir()
            fid = fidelity(args.seeds, Path(tmp) / "cases", engines)
    print(f"load average {os.getloadavg()}", file=sys.stderr)
    print(report(speeds, fid))
    if args.json:
        Path(args.json).write_text(json.dumps({"speed": speeds, "fidelity": fid, "load": os.getloadavg()}, indent=1,
                                              default=str))


if __name__ == "__main__":
    main()
