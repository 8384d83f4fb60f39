"""kpitree against IronCalc, formualizer, pycel, formulas and LibreOffice, in one run on this machine.

    python benchmarks/bench_peers.py                                   # the default run (≈ 20 min on 2 cores)
    python benchmarks/bench_peers.py --batches 20,200 --scenarios 200 --repeat 1   # a quick look
    python benchmarks/bench_peers.py --full                           # no engine capped (hours)

Two workbooks: the shipped template (290 formulas, ``KPI_*`` functions) and a generated plain KPI
workbook (``kpi_workbook.py``: 548 formulas over the lookup, criteria, logic, text, date, maths and
dynamic-array functions KPI workbooks use), each in 20 variants whose numbers and texts differ.

* **Batches** of 20, 200 and 2,000 files: each engine in a fresh process (interpreter start-up and
  imports included, as a user runs it) recalculates every file and writes a recalculated copy where
  it can: ``kpitree recalc DIR --out OUT`` (its own choice of worker processes, and ``--jobs 1``);
  IronCalc ``save_to_xlsx``; formualizer ``recalculate_xlsx_file``; LibreOffice ``--convert-to``;
  pycel (no xlsx writer: evaluates every formula cell) and formulas (values-only ``write``), each in
  one process and split over two (``jobs 2``). Workbooks per second, medians of ``--repeat`` runs,
  engines interleaved within each repeat so the machine's noise falls on all of them.
* **Scenario tables** of 200, 10,000 and 100,000 rows setting three named inputs: the
  ``kpitree recalc BOOK --scenarios S.csv --summary OUT.csv`` command (start-up and CSV writing
  included) and ``kpitree.recalc(book, scenarios=frame)`` in a process that has imported kpitree;
  the peers loop over the rows (set, recalculate, read) with their fastest route, setup apart.
* **Correctness, in the same run**: every formula cell of the 20 variants' outputs (plain workbook:
  against ``kpi_workbook.reference``, an independent model that reads no formula; template: the named
  cells against ``formulas`` with the KPI functions registered, the oracle of the tests) and the
  outputs of sampled scenario rows. An engine with wrong cells is flagged in every table it appears in.

Slow engines are capped (``--cap-files``, ``--cap-rows``) and their larger sizes extrapolated from the
per-file or per-row rate of the largest size they ran (marked ``~``); ``--full`` lifts the caps.
Results go to stdout as Markdown and to ``--json``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))
os.environ.setdefault("TQDM_DISABLE", "1")

import kpi_workbook as kw  # noqa: E402

PEERS = ("ironcalc", "formualizer", "pycel", "formulas", "libreoffice")
SLOW = {"formulas": (20, 200), "pycel": (200, 10_000), "libreoffice": (200, 10_000)}  # caps: files, scenario rows
DEFAULT_CAP_ROWS = 10_000  # every peer loops row by row: 100,000 rows are 10× 10,000
UNO_PYTHON = "/usr/bin/python3"


# --- workbooks ---------------------------------------------------------------------------------------


def make_variants(kind: str, folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "plain":
        return [kw.build_workbook(folder / f"plain_{i:02d}.xlsx", kw.base_data(i)) for i in range(count)]
    from bench_recalc import _variant, template_path

    template = template_path(folder)
    return [_variant(template, folder / f"template_{i:02d}.xlsx", i) for i in range(count)]


def batch_folder(variants: list[Path], folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copyfile(variants[i % len(variants)], folder / f"team_{i:05d}.xlsx")
    return folder


def read_values(path: Path) -> dict[str, Any]:
    """Every cell's cached value ('Sheet!A1' -> float, str, bool, None; dates as serials; errors as text)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True)
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, dt.datetime):
                    v = (v - dt.datetime(1899, 12, 30)).total_seconds() / 86400
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    v = float(v)
                out[f"{ws.title}!{c.coordinate}"] = v
    return out


class Expected:
    """What each variant's cells should hold, and how many checked cells an engine got wrong."""

    def __init__(self, kind: str, variants: list[Path]):
        self.kind = kind
        if kind == "plain":
            self.cells = [kw.reference(kw.base_data(i)) for i in range(len(variants))]
        else:
            from formulas_peer import compute_values
            from kpitree.recalculation.files import named_cells
            from kpitree.recalculation.io.package import col_letters, load

            _, _, wb = load(variants[0])
            named = [f"{wb.sheets[si].name}!{col_letters(c)}{r}" for _, (si, r, c) in named_cells(wb)]
            self.cells = []
            for v in variants:
                oracle = compute_values(v)
                self.cells.append({ref: _oracle(oracle.get(tuple(ref.split("!")))) for ref in named
                                   if tuple(ref.split("!")) in oracle})

    def wrong(self, values_of: dict[int, dict[str, Any]]) -> tuple[int, int, list[tuple[str, Any, Any]]]:
        """(wrong cells, checked cells, examples) over the variants whose values were read."""
        wrong, checked, examples = 0, 0, []
        for i, values in values_of.items():
            folded = {k.upper(): v for k, v in values.items()}
            expected = self.cells[i]
            bad = kw.check({ref: folded.get(ref.upper()) for ref in expected}, expected)
            wrong += len(bad)
            checked += len(expected)
            examples += bad[:2]
        return wrong, checked, examples[:6]


def _oracle(v: Any) -> Any:
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


# --- running an engine -------------------------------------------------------------------------------


def timed_run(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Wall time of a command in a fresh process; its stdout. A failure stops the benchmark."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
    elapsed = time.perf_counter() - t
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd[:5])} … failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return elapsed, proc.stdout


def files_command(engine: str, jobs: int, src: Path, out: Path, dump: int) -> list[str]:
    if engine == "kpitree":
        return [sys.executable, "-m", "kpitree", "recalc", str(src), "--out", str(out)] + (["--jobs", "1"] if jobs == 1 else [])
    listing = out.parent / f"{out.name}.list"
    listing.write_text("\n".join(str(p) for p in sorted(src.glob("*.xlsx"))))
    return [sys.executable, str(HERE / "peers.py"), "files", engine, str(listing), str(out), "--jobs", str(jobs),
            "--dump", str(dump)]


def engine_values(engine: str, out: Path, variants: int) -> dict[int, dict[str, Any]]:
    """The values of the first ``variants`` outputs (team_00000 … hold variant 0 …)."""
    dumped = out / "_values.json"
    if dumped.exists():
        data = json.loads(dumped.read_text())
        return {i: data[f"team_{i:05d}.xlsx"] for i in range(variants) if f"team_{i:05d}.xlsx" in data}
    got = {}
    for i in range(variants):
        f = out / f"team_{i:05d}.xlsx"
        if f.exists():
            got[i] = read_values(f)
    return got


def bench_files(kind: str, variants: list[Path], expected: Expected, sizes: list[int], engines: list[str], repeat: int,
                tmp: Path, caps: dict[str, int]) -> list[dict[str, Any]]:
    configs = [("kpitree", 0), ("kpitree", 1)] + [(e, j) for e in engines if e != "kpitree" for j in (1, 2)
                                                   if not (e == "libreoffice" and j == 2)]
    results = []
    for n in sizes:
        src = batch_folder(variants, tmp / f"{kind}_in_{n}", n)
        times: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
        ran: dict[tuple[str, int], int] = {}
        wrong: dict[tuple[str, int], tuple[int, int, list[Any]]] = {}
        for rep in range(repeat):
            for engine, jobs in configs:
                cap = caps.get(engine, n)
                m = min(n, cap)
                run_src = src if m == n else tmp / f"{kind}_in_{m}"
                if m != n and not run_src.exists():
                    batch_folder(variants, run_src, m)
                out = tmp / f"out_{kind}_{engine}_{jobs}_{n}_{rep}"
                seconds, _ = timed_run(files_command(engine, jobs, run_src, out, len(variants)),
                                       ok=(0, 1) if engine == "kpitree" else (0,))  # kpitree: 1 when a file has an error
                times[(engine, jobs)].append(seconds)
                ran[(engine, jobs)] = m
                if rep == repeat - 1:
                    wrong[(engine, jobs)] = expected.wrong(engine_values(engine, out, min(len(variants), m)))
                shutil.rmtree(out, ignore_errors=True)
                (out.parent / f"{out.name}.list").unlink(missing_ok=True)
        for engine, jobs in configs:
            m = ran[(engine, jobs)]
            med = statistics.median(times[(engine, jobs)])
            results.append({"workbook": kind, "files": n, "engine": engine, "jobs": jobs or "auto", "ran_files": m,
                            "seconds": med if m == n else med * n / m, "rate": m / med, "extrapolated": m != n,
                            "wrong": wrong[(engine, jobs)][0], "checked": wrong[(engine, jobs)][1],
                            "examples": wrong[(engine, jobs)][2]})
        shutil.rmtree(src, ignore_errors=True)
    return results


# --- scenarios ---------------------------------------------------------------------------------------


def scenario_setup(kind: str, book: Path) -> tuple[list[str], list[str], list[str], Any]:
    """(input names, input cells, output names, output cells) and a function giving the expected outputs
    of a row."""
    if kind == "plain":
        outs = kw.output_cells()
        names = list(kw.SCENARIO_OUTPUTS)
        ins = list(kw.SCENARIO_INPUTS)

        def expect(row: list[float]) -> list[Any]:
            ref = kw.reference(kw.apply_scenario(kw.base_data(0), *row))
            return [ref[outs[n]] for n in names]

        return ins, [kw.SCENARIO_INPUTS[n] for n in ins], names, (outs, expect)
    from kpitree.recalculation.io.package import col_letters
    from kpitree.recalculation.scenarios import open_template

    tpl = open_template(book)
    ins = ["plan_connect_rate", "plan_win_rate", "plan_conversion_rate"]
    cell = {n: f"{tpl.wb.sheets[si].name}!{col_letters(c)}{r}" for n, (si, r, c) in {**tpl.inputs, **tpl.outputs}.items()}
    names = [n for n in tpl.outputs if n != "stage_recommend_kpis"]
    return ins, [cell[n] for n in ins], names, (cell, None)


def template_rows(n: int, seed: int = 7) -> list[list[float]]:
    import random

    rnd = random.Random(seed)
    return [[round(rnd.uniform(0.1, 0.4), 4), round(rnd.uniform(0.1, 0.4), 4), round(rnd.uniform(0.05, 0.2), 4)]
            for _ in range(n)]


def kept_rows(n: int) -> list[int]:
    return sorted({*range(min(n, 10)), *range(0, n, max(1, n // 20))})


KPITREE_API = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
import kpitree
spec = json.load(open(sys.argv[1]))
frame = pd.DataFrame(spec["rows"], columns=spec["input_names"])
t = time.perf_counter()
out = kpitree.recalc(spec["book"], scenarios=frame, report=False)
seconds = time.perf_counter() - t
keep = spec["keep"]
kept = {i: [None if v != v else (v.item() if hasattr(v, "item") else v) for v in out.loc[i, spec["output_names"]].tolist()]
        for i in keep}
json.dump({"seconds": seconds, "setup": t - t0, "path": out.attrs["path"], "kept": kept}, open(sys.argv[2], "w"))
"""


def _csv_value(text: str) -> Any:
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text)
    except ValueError:
        return text


def run_scenario_config(config: str, book: Path, spec_path: Path, rows: list[list[float]], keep: list[int],
                        in_names: list[str], out_names: list[str], tmp: Path) -> tuple[float, float, dict[int, list[Any]]]:
    """One engine over one scenario table: (seconds of the work, seconds of loading the workbook before it,
    outputs of the rows kept). kpitree's work includes reading and compiling the workbook (its API does both
    in one call), so its loading is 0; a peer's loading is its ``load`` and first evaluation."""
    result = tmp / "result.json"
    result.unlink(missing_ok=True)
    if config == "kpitree command":
        table = tmp / f"scen_{len(rows)}.csv"
        with open(table, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(in_names)
            w.writerows(rows)
        summary = tmp / "scen_out.csv"
        seconds, _ = timed_run([sys.executable, "-m", "kpitree", "recalc", str(book), "--scenarios", str(table),
                                "--summary", str(summary)], ok=(0, 1))
        with open(summary, encoding="utf-8-sig", newline="") as fh:
            reader = list(csv.DictReader(fh))
        summary.unlink()
        return seconds, 0.0, {i: [_csv_value(reader[i][name]) for name in out_names] for i in keep}
    if config == "kpitree API":
        script = tmp / "kpitree_api.py"
        script.write_text(KPITREE_API)
        cmd = [sys.executable, str(script), str(spec_path), str(result)]
    elif config == "libreoffice":
        cmd = [UNO_PYTHON, str(HERE / "peers_uno.py"), str(spec_path), str(result)]
    else:
        cmd = [sys.executable, str(HERE / "peers.py"), "scenarios", config, str(spec_path), str(result)]
    timed_run(cmd)
    data = json.loads(result.read_text())
    loading = 0.0 if config == "kpitree API" else data["setup"]
    return data["seconds"], loading, {int(k): v for k, v in data["kept"].items()}


def check_kept(kept: dict[int, list[Any]], expected: Any, out_names: list[str]) -> tuple[int, int, list[Any]]:
    wrong, checked, examples = 0, 0, []
    for i, values in kept.items():
        for name, e, g in zip(out_names, expected(i), values):
            checked += 1
            if not kw.same(_oracle(e), _oracle(g)):
                wrong += 1
                if len(examples) < 4:
                    examples.append((name, e, g))
    return wrong, checked, examples


def bench_scenarios(kind: str, book: Path, sizes: list[int], engines: list[str], repeat: int, tmp: Path,
                    caps: dict[str, int]) -> list[dict[str, Any]]:
    in_names, in_cells, out_names, (cells, expect) = scenario_setup(kind, book)
    out_cells = [cells[n] if kind == "template" else kw.output_cells()[n] for n in out_names]
    all_rows = [list(r) for r in (kw.scenarios(max(sizes)) if kind == "plain" else template_rows(max(sizes)))]
    reference_cache: dict[int, list[Any]] = {}

    def expected(i: int) -> list[Any]:
        if i not in reference_cache:
            reference_cache[i] = (expect(all_rows[i]) if expect is not None  # the template: formulas with the KPI functions
                                  else _template_oracle(book, in_cells, out_cells, all_rows[i]))
        return reference_cache[i]

    results = []
    for n in sizes:
        configs = ["kpitree command", "kpitree API"] + [e for e in engines if e != "kpitree"]
        times: dict[str, list[float]] = {c: [] for c in configs}
        loads: dict[str, list[float]] = {c: [] for c in configs}
        kept: dict[str, dict[int, list[Any]]] = {}
        for _ in range(repeat):
            for config in configs:
                m = min(n, caps.get(config, n))
                keep = kept_rows(m)
                spec_path = tmp / f"spec_{kind}_{m}.json"
                spec_path.write_text(json.dumps({"book": str(book), "inputs": in_cells, "outputs": out_cells,
                                                 "rows": all_rows[:m], "keep": keep, "input_names": in_names,
                                                 "output_names": out_names}))
                seconds, loading, kept[config] = run_scenario_config(config, book, spec_path, all_rows[:m], keep, in_names,
                                                                     out_names, tmp)
                times[config].append(seconds)
                loads[config].append(loading)
        for config in configs:
            m = min(n, caps.get(config, n))
            med = statistics.median(times[config])
            wrong, checked, examples = check_kept(kept[config], expected, out_names)
            loading = statistics.median(loads[config])
            results.append({"workbook": kind, "rows": n, "engine": config, "ran_rows": m, "extrapolated": m != n,
                            "seconds": med * n / m, "loading": loading, "total": loading + med * n / m,
                            "rate": m / med, "wrong": wrong, "checked": checked,
                            "examples": examples})
    return results


_ORACLE: dict[str, Any] = {}


def _template_oracle(book: Path, in_cells: list[str], out_cells: list[str], row: list[float]) -> list[Any]:
    import numpy as np
    from peers import plain

    if "func" not in _ORACLE:
        import formulas
        from formulas_peer import register_kpi_functions

        register_kpi_functions()
        copy = Path(tempfile.mkdtemp()) / "book.xlsx"
        shutil.copyfile(book, copy)

        def key(ref: str) -> str:
            s, a1 = ref.split("!")
            return f"'[book.xlsx]{s.upper()}'!{a1}"

        model = formulas.ExcelModel().loads(str(copy)).finish()
        _ORACLE["func"] = model.compile(inputs=[key(r) for r in in_cells], outputs=[key(r) for r in out_cells])
    return [plain(np.asarray(getattr(v, "value", v), dtype=object).ravel()[0]) for v in _ORACLE["func"](*row)]


# --- fixed costs ---------------------------------------------------------------------------------------


def cold_times(cmd: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fixed_costs() -> dict[str, float]:
    kpitree = shutil.which("kpitree") or ""
    return {"python -c pass": cold_times([sys.executable, "-c", "pass"]),
            "kpitree --help": cold_times([kpitree, "--help"] if kpitree else [sys.executable, "-m", "kpitree", "--help"]),
            "kpitree recalc --help": cold_times([kpitree, "recalc", "--help"] if kpitree else
                                                [sys.executable, "-m", "kpitree", "recalc", "--help"]),
            "kpitree recalc (argument error)": cold_times([kpitree, "recalc", "x.xlsx"] if kpitree else
                                                          [sys.executable, "-m", "kpitree", "recalc", "x.xlsx"])}


# --- report ------------------------------------------------------------------------------------------


def _flag(r: dict[str, Any]) -> str:
    if not r["checked"]:
        return "not checked"
    return "✓" if not r["wrong"] else f"**{r['wrong']}/{r['checked']} wrong**"


def files_report(files: list[dict[str, Any]], kind: str) -> list[str]:
    rows = [r for r in files if r["workbook"] == kind]
    if not rows:
        return []
    sizes = sorted({r["files"] for r in rows})
    lines = [f"\n### Batches of files: {kind} workbook (workbooks / s, whole process)\n",
             "| engine | jobs | " + " | ".join(f"{n:,} files" for n in sizes) + " | correct |",
             "|---|---|" + "---:|" * len(sizes) + "---|"]
    for engine, jobs in dict.fromkeys((r["engine"], r["jobs"]) for r in rows):
        at = [next(x for x in rows if x["engine"] == engine and x["jobs"] == jobs and x["files"] == n) for n in sizes]
        cells = [("~" if r["extrapolated"] else "") + f"{r['files'] / r['seconds']:.1f}" for r in at]
        lines.append(f"| {engine} | {jobs} | " + " | ".join(cells) + f" | {_flag(at[-1])} |")
    lines += ["", "| files | kpitree (auto) | fastest peer | ratio | fastest correct peer | ratio |", "|---:|---:|---|---:|---|---:|"]
    for n in sizes:
        at = [r for r in rows if r["files"] == n]
        ours = next(r for r in at if r["engine"] == "kpitree" and r["jobs"] == "auto")
        peers = [r for r in at if r["engine"] != "kpitree"]
        lines.append(f"| {n:,} | {n / ours['seconds']:.1f} | {_versus(peers, ours, n)} | "
                     f"{_versus([r for r in peers if not r['wrong']], ours, n)} |")
    return lines


def _versus(peers: list[dict[str, Any]], ours: dict[str, Any], n: int) -> str:
    if not peers:
        return "none | —"
    best = min(peers, key=lambda r: r["seconds"])
    jobs = f" ({best['jobs']})" if "jobs" in best else ""
    return f"{best['engine']}{jobs} {n / best['seconds']:,.1f} | {best['seconds'] / ours['seconds']:.2f}×"


def scenarios_report(scen: list[dict[str, Any]], kind: str) -> list[str]:
    rows = [r for r in scen if r["workbook"] == kind]
    if not rows:
        return []
    sizes = sorted({r["rows"] for r in rows})
    lines = [f"\n### Scenario tables: {kind} workbook (rows / s)\n",
             "| engine | " + " | ".join(f"{n:,} rows" for n in sizes) + " | correct |", "|---|" + "---:|" * len(sizes) + "---|"]
    for engine in dict.fromkeys(r["engine"] for r in rows):
        at = [next(x for x in rows if x["engine"] == engine and x["rows"] == n) for n in sizes]
        cells = [("~" if r["extrapolated"] else "") + f"{r['rows'] / r['seconds']:,.0f}" for r in at]
        lines.append(f"| {engine} | " + " | ".join(cells) + f" | {_flag(at[-1])} |")
    lines += ["", "kpitree ÷ the fastest peer; *loop*: the peers' time without loading the workbook (kpitree's "
              "always includes reading and compiling it), *all*: the peers' loading counted too.", "",
              "| rows | kpitree command | kpitree API | fastest peer (loop) | command ratio | API ratio "
              "| fastest peer (all) | command ratio | API ratio |", "|---:|---:|---:|---|---:|---:|---|---:|---:|"]
    for n in sizes:
        at = {r["engine"]: r for r in rows if r["rows"] == n}
        cmd, api = at["kpitree command"], at["kpitree API"]
        peers = [r for e, r in at.items() if not e.startswith("kpitree")]
        cells = [f"{n:,}", f"{n / cmd['seconds']:,.0f}", f"{n / api['seconds']:,.0f}"]
        for key in ("seconds", "total"):
            if not peers:
                cells += ["none", "—", "—"]
                continue
            best = min(peers, key=lambda r: r[key])
            cells += [f"{best['engine']} {n / best[key]:,.0f}", f"{best[key] / cmd['seconds']:.2f}×",
                      f"{best[key] / api['seconds']:.2f}×"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(files: list[dict[str, Any]], scen: list[dict[str, Any]], fixed: dict[str, float]) -> str:
    lines = [*files_report(files, "template"), *files_report(files, "plain"), *scenarios_report(scen, "template"),
             *scenarios_report(scen, "plain")]
    if fixed:
        lines += ["\n### Fixed costs (median of 15 cold runs)\n", "| command | seconds |", "|---|---:|"]
        lines += [f"| `{k}` | {v:.3f} |" for k, v in fixed.items()]
    seen: set[tuple[str, str]] = set()
    for r in files + scen:
        if r["wrong"] and (r["workbook"], r["engine"]) not in seen:
            if not seen:
                lines.append("\n### Wrong values found (first examples: cell or output, expected, got)\n")
            seen.add((r["workbook"], r["engine"]))
            lines.append(f"- {r['workbook']}, {r['engine']}: " + "; ".join(f"`{c}` {e!r} → {g!r}" for c, e, g in r["examples"]))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", default="20,200,2000")
    ap.add_argument("--scenarios", default="200,10000,100000")
    ap.add_argument("--workbooks", default="template,plain")
    ap.add_argument("--engines", default=",".join(("kpitree", *PEERS)))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--variants", type=int, default=20)
    ap.add_argument("--full", action="store_true", help="run every engine at every size (no extrapolation)")
    ap.add_argument("--no-files", action="store_true")
    ap.add_argument("--no-scenarios", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    from bench_recalc import compile_sources

    compile_sources()
    engines = args.engines.split(",")
    sizes = [int(x) for x in args.batches.split(",") if x]
    rows = [int(x) for x in args.scenarios.split(",") if x]
    caps_files = {} if args.full else {e: c[0] for e, c in SLOW.items()}
    caps_rows = {} if args.full else {**{e: DEFAULT_CAP_ROWS for e in PEERS}, **{e: c[1] for e, c in SLOW.items()}}
    if not Path(UNO_PYTHON).exists():
        engines = [e for e in engines if e != "libreoffice"]
    import importlib.metadata as md

    versions = {}
    for dist in ("kpitree", "ironcalc", "formualizer", "pycel", "formulas", "numpy"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = "not installed"
            if dist in engines:
                engines.remove(dist)
    lo = subprocess.run(["soffice", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which("soffice") else ""
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; {versions}; {lo}; "
          f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}", flush=True)
    files_results: list[dict[str, Any]] = []
    scen_results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kpitree-peers-") as tmpdir:
        tmp = Path(tmpdir)
        for kind in args.workbooks.split(","):
            variants = make_variants(kind, tmp / f"variants_{kind}", args.variants)
            if not args.no_files:
                expected = Expected(kind, variants)
                part = bench_files(kind, variants, expected, sizes, engines, args.repeat, tmp, caps_files)
                files_results += part
                print(report(part, [], {}), flush=True)
            if not args.no_scenarios:
                part = bench_scenarios(kind, variants[0], rows, [e for e in engines], args.repeat, tmp, caps_rows)
                scen_results += part
                print(report([], part, {}), flush=True)
    fixed = fixed_costs()
    text = report(files_results, scen_results, fixed)
    print("\n## Summary\n" + text)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"versions": versions, "libreoffice": lo, "files": files_results,
                                               "scenarios": scen_results, "fixed": fixed}, indent=1, default=str))


if __name__ == "__main__":
    main()
