"""Benchmark ``kpitree import``: a million activities and 100,000 opportunities of 200 members into a team workbook.

    python benchmarks/bench_import.py [--repeat 3] [--members 200] [--keep DIR]

The exports are the sample generator's (``kpitree.team.sample``) at scale, in the kpitree
standard format as Japanese Excel writes it: cp932, Japanese headers, dates as ``2026/4/1`` and
(one in ten) ``2026年4月1日``, amounts as ``1,200,000`` / ``120万円`` / full-width digits. Each
measurement runs in a fresh process (``resource`` gives its peak RSS), medians of ``--repeat``:

* ``command`` — the real ``kpitree import --activities … --opportunities … --leads … --into TEAM.xlsx``,
  interpreter start-up included, into a fresh copy of a new team workbook;
* ``api`` — ``kpitree.team.workbook.import_exports`` in the process (the same work without start-up);
* ``read`` — ``kpitree.team.read_exports`` only: reading, mapping, parsing, counting per day and member;
* ``pandas`` — a plain-pandas baseline doing the same aggregation: ``read_csv`` (pyarrow, cp932), dates by
  vectorised string replacement and ``to_datetime``, types and results by dictionaries, ``groupby``
  member × month — no bad-row accounting, no duplicates, no workbook.

Results go to docs/performance.md by hand (the table this prints).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACTIVITIES, OPPORTUNITIES = 1_000_000, 100_000


def make_exports(folder: Path, members: int) -> dict[str, Path]:
    """The sample scaled to about a million activities and 100,000 opportunities (deterministic)."""
    from kpitree.team.sample import ENCODINGS, render, sample_records

    base = sample_records(members, volume=1.0, opportunity_volume=1.0)
    volume = ACTIVITIES / len(base["activities"])
    opp = OPPORTUNITIES / len(base["opportunities"]) / volume
    frames = render(sample_records(members, volume=volume, opportunity_volume=opp), "kpitree")
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for table, frame in frames.items():
        files[table] = folder / f"{table}.csv"
        frame.to_csv(files[table], index=False, encoding=ENCODINGS["kpitree"])
    return files


def pandas_baseline(files: dict[str, Path]) -> dict[str, int]:
    """Plain pandas: the same counts per member and month, without kpitree's checks."""
    import pandas as pd

    def dates(column: pd.Series) -> pd.Series:
        text = column.str.replace("年", "/").str.replace("月", "/").str.replace("日", "")
        return pd.to_datetime(text, format="%Y/%m/%d", errors="coerce")

    acts = pd.read_csv(files["activities"], encoding="cp932", engine="pyarrow", dtype=str)
    acts["month"] = dates(acts["日付"]).dt.to_period("M")
    kind = acts["種別"].map({"架電": "call", "メール": "email", "フォロー": "followup"})
    result = acts["結果"].map({"接続": "connected", "有効コンタクト": "effective", "開封": "opened", "返信": "replied"})
    acts = acts.assign(calls=kind.eq("call"), connects=kind.eq("call") & result.isin(["connected", "effective"]),
                       effective=result.eq("effective"), emails=kind.eq("email"),
                       opened=kind.eq("email") & result.isin(["opened", "replied"]))
    a = acts.groupby(["担当者", "month"])[["calls", "connects", "effective", "emails", "opened"]].sum()
    opps = pd.read_csv(files["opportunities"], encoding="cp932", engine="pyarrow", dtype=str)
    opps["month"] = dates(opps["作成日"]).dt.to_period("M")
    amount = pd.to_numeric(opps["金額"].str.replace(",", "").str.replace("円", ""), errors="coerce")
    opps = opps.assign(won=opps["ステージ"].eq("受注"), amount=amount.where(opps["ステージ"].eq("受注"), 0))
    o = opps.groupby(["担当者", "month"]).agg(opportunities=("won", "size"), won=("won", "sum"), amount=("amount", "sum"))
    leads = pd.read_csv(files["leads"], encoding="cp932", engine="pyarrow", dtype=str)
    leads["month"] = dates(leads["日付"]).dt.to_period("M")
    ld = leads.groupby(["担当者", "month"]).size()
    return {"activity_groups": len(a), "opportunity_groups": len(o), "lead_groups": len(ld), "calls": int(a["calls"].sum())}


def one(kind: str, files: dict[str, Path], team: Path) -> dict[str, float]:
    """One measurement in this (fresh) process; ``command`` runs the command as this process's only child."""
    t = time.perf_counter()
    if kind == "command":
        cmd = [sys.executable, "-m", "kpitree", "import", "--activities", str(files["activities"]), "--opportunities",
               str(files["opportunities"]), "--leads", str(files["leads"]), "--into", str(team), "--quiet"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        return {"seconds": time.perf_counter() - t, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    if kind == "api":
        from kpitree.team.workbook import import_exports

        import_exports(team, files["activities"], files["opportunities"], files["leads"])
    elif kind == "read":
        from kpitree.team import read_exports

        read_exports(files["activities"], files["opportunities"], files["leads"])
    else:
        pandas_baseline(files)
    return {"seconds": time.perf_counter() - t, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(kind: str, files: dict[str, Path], workbook: Path, scratch: Path) -> dict[str, float]:
    team = scratch / "team.xlsx"
    shutil.copyfile(workbook, team)
    done = subprocess.run([sys.executable, __file__, "--one", kind, "--data", str(files["activities"].parent),
                           "--team", str(team)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="write the exports here (and reuse them if present)")
    parser.add_argument("--one", choices=("command", "api", "read", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--team", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        files = {t: args.data / f"{t}.csv" for t in ("activities", "opportunities", "leads")}
        print(json.dumps(one(args.one, files, args.team)))
        return
    from kpitree.workbook_templates import new_workbook

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "exports"
        files = {t: folder / f"{t}.csv" for t in ("activities", "opportunities", "leads")}
        if not all(f.exists() for f in files.values()):
            t = time.perf_counter()
            files = make_exports(folder, args.members)
            print(f"exports written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        rows = {t: sum(1 for _ in open(f, "rb")) - 1 for t, f in files.items()}
        sizes = {t: f.stat().st_size / 1e6 for t, f in files.items()}
        workbook = Path(tmp) / "new.xlsx"
        new_workbook(workbook, months=14)
        results: dict[str, list[dict[str, float]]] = {k: [] for k in ("command", "api", "read", "pandas")}
        for _ in range(args.repeat):
            for kind in results:  # interleaved, so machine noise falls on every method alike
                scratch = Path(tempfile.mkdtemp(dir=tmp))
                results[kind].append(measure(kind, files, workbook, scratch))
        print(f"rows: {rows}; MB: { {k: round(v, 1) for k, v in sizes.items()} }; cpus: {os.cpu_count()}")
        labels = {"command": "`kpitree import` command (start-up included)", "api": "`import_exports` in process",
                  "read": "of which `read_exports` (read, map, parse, count)", "pandas": "plain pandas: read + same aggregation"}
        print("| method | median s | min s | peak RSS MB |")
        print("|---|---:|---:|---:|")
        for kind, runs in results.items():
            secs = [r["seconds"] for r in runs]
            print(f"| {labels[kind]} | {statistics.median(secs):.2f} | {min(secs):.2f} | {max(r['rss_mb'] for r in runs):.0f} |")


if __name__ == "__main__":
    main()
