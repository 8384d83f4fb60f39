"""A million scenario rows of the shipped template: one ``kpitree.recalc`` in this process against the
same table in 10 chunks of 100,000 rows on a Dask ``LocalCluster`` of two worker processes (docs/recalc.md's
recipe); the two results must be equal. Needs ``pip install -e ".[dask]"``. Results go to
docs/performance.md by hand.

    python benchmarks/bench_dask.py [--rows 1000000] [--chunk 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import distributed
    import numpy as np
    import pandas as pd
    from kpitree.workbook_templates import template_path

    import kpitree

    template, n = str(template_path("ja")), args.rows
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"plan_connect_rate": rng.uniform(0.05, 0.5, n).round(3),
                          "plan_conversion_rate": rng.uniform(0.02, 0.3, n).round(3),
                          "plan_win_rate": rng.uniform(0.05, 0.5, n).round(3)})
    print(f"load average {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    local = kpitree.recalc(template, scenarios=table, report=False)
    seconds = time.perf_counter() - t
    print(f"one process: {seconds:.1f} s ({n / seconds:,.0f} rows/s)")
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        executor = client.get_executor()
        t = time.perf_counter()
        futures = [executor.submit(kpitree.recalc, template, scenarios=table.iloc[s:s + args.chunk], report=False)
                   for s in range(0, n, args.chunk)]
        joined = pd.concat([f.result() for f in futures], ignore_index=True)
        seconds = time.perf_counter() - t
    cluster.close()
    pd.testing.assert_frame_equal(local, joined)
    print(f"LocalCluster, {args.workers} workers, {len(futures)} chunks: {seconds:.1f} s ({n / seconds:,.0f} rows/s), "
          "equal to the one-process result")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
