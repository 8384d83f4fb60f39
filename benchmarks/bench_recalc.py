"""Throughput of batch recalculation, against the alternatives, in one run on one machine.

    python benchmarks/bench_recalc.py                       # 400 files, 10,000 scenarios
    python benchmarks/bench_recalc.py --files 10000 --jobs 2  # the streaming / memory check
    python benchmarks/bench_recalc.py --vary 20               # files whose numbers differ

Prints workbooks per second (and scenarios per second) for:

* kpitree recalc — read, fast path, write-back, ``--jobs`` processes;
* formulas, loading and calculating each file (a sample: it is slow);
* formulas, one compiled model fed every file's inputs (a sample);
* the floor — reading each file's inputs with python-calamine and rewriting its zip;

and the peak RSS of this process and its workers. Then it runs the real command,
``kpitree recalc DIR --out OUT --summary S.csv --jobs N``, watching its whole process
tree in /proc (:func:`cli_tree_rss`): throughput including interpreter start-up and the
summary file, the parent's and the largest worker's peak RSS, their sum, and the largest
RSS of the tree seen at one moment. Medians of ``--repeat`` runs; the machine is usually
shared, so compare the ratios more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # formulas_peer: formulas with the KPI functions

os.environ.setdefault("TQDM_DISABLE", "1")


def compile_sources() -> None:
    """kpitree's modules compiled to bytecode, as ``pip install`` leaves them (the peers' installed packages are).
    Without it an editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this build container sets it)
    compiles every module from source in every command the benchmark starts: ≈ 0.09 s a run."""
    import compileall
    import re

    compileall.compile_dir(str(ROOT), quiet=1, rx=re.compile(r"[/\\](\.git|tests|benchmarks|build)[/\\]"))


def template_path(tmp: Path) -> Path:
    shipped = Path(__file__).resolve().parents[1] / "workbook_templates" / "inside_sales_kpi_ja.xlsx"
    if shipped.exists():
        return shipped
    from kpitree.workbook_templates.builder import build_workbook

    return Path(build_workbook(tmp / "inside_sales_kpi_ja.xlsx", "ja"))


def make_files(template: Path, folder: Path, n: int, vary: int = 0) -> list[Path]:
    """``n`` copies of the template; with ``vary``, cycling through that many variants whose
    numbers differ (every numeric constant and cached formula value scaled), as a month's
    teams' workbooks do, so the batch decodes and writes values that differ from file to file."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [template] if vary <= 0 else [_variant(template, folder.parent / f"variant_{j}.xlsx", j) for j in range(vary)]
    files = []
    for i in range(n):
        dst = folder / f"team_{i:05d}.xlsx"
        shutil.copyfile(sources[i % len(sources)], dst)
        files.append(dst)
    return files


def _variant(template: Path, dst: Path, j: int) -> Path:
    import re

    factor = 1 + 0.037 * j
    cell = re.compile(rb"<c\b([^>/]*)>(.*?)</c>", re.S)

    def scale(m: re.Match[bytes]) -> bytes:
        attrs, body = m.group(1), m.group(2)
        if b" t=" in attrs:
            return m.group(0)

        def num(v: re.Match[bytes]) -> bytes:
            try:
                x = float(v.group(1))
            except ValueError:
                return v.group(0)
            y = round(x * factor) if x.is_integer() else x * factor
            return b"<v>" + repr(y).encode() + b"</v>"

        return b"<c" + attrs + b">" + re.sub(rb"<v>([^<]*)</v>", num, body, count=1) + b"</c>"

    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet") and j:
                data = cell.sub(scale, data)
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return dst


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_kpitree(files: list[Path], out: Path, jobs: int) -> None:
    from kpitree.recalculation.files import recalc_files

    rows = recalc_files(files, out, jobs=jobs, progress=False)
    bad = [r for r in rows if r["error"] or r["path"] != "fast"]
    if bad:
        raise SystemExit(f"unexpected: {bad[0]}")


def bench_formulas_each(files: list[Path]) -> None:
    import formulas
    from formulas_peer import register_kpi_functions

    register_kpi_functions()
    for f in files:
        formulas.ExcelModel().loads(str(f)).finish().calculate()


def input_cells(template: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(sheet, cell) of each named input, and formulas' names of the named outputs."""
    from kpitree.recalculation.io.package import col_letters
    from kpitree.recalculation.scenarios import open_template

    tpl = open_template(template)
    ins = [(tpl.wb.sheets[si].name, f"{col_letters(c)}{r}") for si, r, c in tpl.inputs.values()]
    return ins, [f"'[{template.name}]{tpl.wb.sheets[si].name.upper()}'!{col_letters(c)}{r}" for si, r, c in tpl.outputs.values()]


def read_inputs(path: Path, cells: list[tuple[str, str]]) -> list[object]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = []
    sheets = {}
    for sheet, ref in cells:
        if sheet not in sheets:
            sheets[sheet] = wb.get_sheet_by_name(sheet).to_python()
        col = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(ref.rstrip("0123456789"))))
        row = int(ref[len(ref.rstrip("0123456789")) :])
        grid = sheets[sheet]
        out.append(grid[row - 1][col - 1] if row - 1 < len(grid) and col - 1 < len(grid[row - 1]) else None)
    return out


def bench_formulas_compiled(template: Path, files: list[Path]) -> None:
    import formulas
    from formulas_peer import register_kpi_functions

    register_kpi_functions()
    cells, outputs = input_cells(template)
    names = [f"'[{template.name}]{s.upper()}'!{r}" for s, r in cells]
    model = formulas.ExcelModel().loads(str(template)).finish()
    func = model.compile(inputs=names, outputs=outputs)
    for f in files:
        func(*read_inputs(f, cells))


def bench_floor(template: Path, files: list[Path], out: Path) -> None:
    cells, _ = input_cells(template)
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        read_inputs(f, cells)
        with zipfile.ZipFile(f) as zin, zipfile.ZipFile(out / f.name, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                zout.writestr(item, zin.read(item.filename), compresslevel=1)


def bench_floor_pool(template: Path, files: list[Path], out: Path, jobs: int) -> None:
    chunks = [files[i::jobs] for i in range(jobs)]
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        list(pool.map(bench_floor, [template] * jobs, chunks, [out] * jobs))


def bench_scenarios(template: Path, n: int) -> tuple[float, float]:
    import numpy as np
    import pandas as pd
    from kpitree.recalculation.scenarios import open_template, run_scenarios

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"plan_connect_rate": rng.uniform(0.1, 0.4, n), "plan_win_rate": rng.uniform(0.1, 0.4, n),
                          "plan_conversion_rate": rng.uniform(0.05, 0.2, n), "months_since_launch": rng.integers(0, 30, n)})
    tpl = open_template(template)
    t = time.perf_counter()
    frame, path = run_scenarios(tpl, table, progress=False)
    fast = time.perf_counter() - t
    assert path == "fast" and len(frame) == n
    sample = table.head(20)
    t = time.perf_counter()
    run_scenarios(tpl, sample, force_general=True, progress=False)
    general = (time.perf_counter() - t) / len(sample)
    return fast, general


def _proc_tree(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cli_tree_rss(sources: Path, out: Path, jobs: int, summary: Path | None = None) -> dict[str, float]:
    """Run the real ``kpitree recalc`` command and watch its whole process tree.

    Every 10 ms each process of the tree is looked at in /proc: its VmHWM (the kernel's own
    peak-RSS mark, so nothing between samples is missed) and its current VmRSS. Returns the
    wall time, the parent's peak, the largest worker's peak, the sum of all the tree's peaks
    (an upper bound: pages shared between the forked processes count once per process) and
    the largest simultaneous sum of VmRSS seen.
    """
    import subprocess

    cmd = [sys.executable, "-m", "kpitree", "recalc", str(sources), "--out", str(out), "--jobs", str(jobs)]
    if summary is not None:
        cmd += ["--summary", str(summary)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    max_sum = 0
    while proc.poll() is None:
        now = 0
        for pid in _proc_tree(proc.pid):
            hwm = _status_kb(pid, "VmHWM")
            if hwm:
                peaks[pid] = max(peaks.get(pid, 0), hwm)
            now += _status_kb(pid, "VmRSS")
        max_sum = max(max_sum, now)
        time.sleep(0.01)
    elapsed = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"kpitree recalc failed ({proc.returncode}): {err[-2000:]}")
    parent = peaks.pop(proc.pid, 0)
    return {"seconds": elapsed, "parent_mb": parent / 1024, "worker_mb": max(peaks.values(), default=0) / 1024,
            "workers": len(peaks), "sum_of_peaks_mb": (parent + sum(peaks.values())) / 1024, "max_simultaneous_mb": max_sum / 1024}


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", type=int, default=10, help="files for the slow formulas baselines")
    ap.add_argument("--vary", type=int, default=0, metavar="K",
                    help="cycle through K variants with different numbers instead of identical copies")
    ap.add_argument("--no-cli", action="store_true", help="skip running the kpitree recalc command under the process-tree RSS watch")
    args = ap.parse_args()
    compile_sources()

    with tempfile.TemporaryDirectory(prefix="kpitree-bench-") as tmpdir:
        tmp = Path(tmpdir)
        template = template_path(tmp)
        files = make_files(template, tmp / "in", args.files, args.vary)
        sample = files[: args.sample]
        what = f"copies of {template.name}" + (f" in {args.vary} variants with different numbers" if args.vary else " (identical)")
        print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; {args.files} {what}; "
              f"jobs={args.jobs}; medians of {args.repeat}")
        rows = []
        t = timed(lambda: bench_kpitree(files, tmp / "out", args.jobs), args.repeat)
        rows.append((f"kpitree recalc, write-back, {args.jobs} job(s)", len(files) / t))
        t = timed(lambda: bench_kpitree(files, tmp / "out1", 1), args.repeat)
        rows.append(("kpitree recalc, write-back, 1 job", len(files) / t))
        t = timed(lambda: bench_formulas_each(sample), 1)
        rows.append(("formulas: load + calculate each file, 1 job", len(sample) / t))
        sample_c = files[: max(args.sample * 3, 30)]
        t = timed(lambda: bench_formulas_compiled(template, sample_c), 1)
        rows.append(("formulas: one compiled model fed each file's inputs, 1 job", len(sample_c) / t))
        t = timed(lambda: bench_floor(template, files, tmp / "floor"), args.repeat)
        rows.append(("floor: calamine read of inputs + zip rewrite, 1 job", len(files) / t))
        t = timed(lambda: bench_floor_pool(template, files, tmp / "floorp", args.jobs), args.repeat)
        rows.append((f"floor: calamine read of inputs + zip rewrite, {args.jobs} job(s)", len(files) / t))
        base = rows[0][1]
        print(f"\n{'workbooks per second':<62} {'wb/s':>9} {'kpitree ×':>10}")
        for label, rate in rows:
            print(f"{label:<62} {rate:9.1f} {base / rate:10.2f}")

        fast, general = bench_scenarios(template, args.scenarios)
        print(f"\n{'scenarios of the template':<62} {'scen/s':>9} {'seconds':>10}")
        print(f"{f'kpitree scenarios, fast path ({args.scenarios:,} rows)':<62} {args.scenarios / fast:9.0f} {fast:10.3f}")
        label = "formulas, one calculate() per scenario (20 rows)"
        print(f"{label:<62} {1 / general:9.1f} {general * args.scenarios:10.1f} (for {args.scenarios:,})")
        own, children = peak_rss_mb()
        print(f"\npeak RSS of this benchmark: this process {own:.0f} MB (formulas baselines included), largest worker {children:.0f} MB")

        if not args.no_cli:
            heads = f"{'wb/s':>7} {'parent':>8} {'worker':>8} {'sum of peaks':>13} {'max together':>13}"
            print(f"\n{'the kpitree recalc command, whole process tree':<56} {heads}")
            for jobs in sorted({args.jobs, 1}, reverse=True):
                runs = []
                for i in range(args.repeat):
                    dest = tmp / f"cli_{jobs}_{i}"
                    runs.append(cli_tree_rss(tmp / "in", dest, jobs, tmp / f"cli_{jobs}_{i}.csv"))
                    shutil.rmtree(dest, ignore_errors=True)
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"{f'kpitree recalc DIR --out OUT --summary S.csv --jobs {jobs}':<56} {len(files) / med['seconds']:7.1f} "
                      f"{med['parent_mb']:6.0f}MB {med['worker_mb']:6.0f}MB {med['sum_of_peaks_mb']:11.0f}MB "
                      f"{med['max_simultaneous_mb']:11.0f}MB")


if __name__ == "__main__":
    main()
