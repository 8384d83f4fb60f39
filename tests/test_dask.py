"""``kpitree.recalc`` on a Dask ``distributed`` cluster, as docs/performance.md's recipe runs it.

A local cluster of two worker processes stands in for a real one: a batch of files through
``executor=client.get_executor()``, and a scenario table split into chunks, each chunk one
``kpitree.recalc`` task. Both must give exactly what the same work gives in this process. Skipped
where ``distributed`` is not installed (``pip install -e ".[dask]"``).
"""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kpitree.workbook_templates.new import new_workbook

import kpitree

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_files_on_a_dask_cluster_equal_the_local_run(client: Any, tmp_path: Path) -> None:
    teams = tmp_path / "teams"
    teams.mkdir()
    for i, (months, revenue) in enumerate([(2, 5e7), (7, 1e8), (14, 3e8), (30, 1.2e9), (9, 4e6), (3, 2.5e8)]):
        new_workbook(teams / f"team{i}.xlsx", months=months, revenue=revenue, lang="ja" if i % 2 else "en")
    local = kpitree.recalc([teams], out=tmp_path / "local", report=False)
    remote = kpitree.recalc([teams], out=tmp_path / "dask", executor=client.get_executor(), report=False)
    by_file = lambda frame: frame.sort_values("file").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(by_file(local), by_file(remote))
    assert set(local["path"]) == {"fast"} and not any(local["error"])
    for i in range(6):  # the written workbooks too, byte for byte
        assert filecmp.cmp(tmp_path / "local" / f"team{i}.xlsx", tmp_path / "dask" / f"team{i}.xlsx", shallow=False)


def test_a_scenario_table_in_chunks_on_a_dask_cluster_equals_the_local_run(client: Any, tmp_path: Path) -> None:
    from kpitree.workbook_templates import template_path

    template = str(template_path("ja"))
    rng = np.random.default_rng(11)
    n = 5_000
    table = pd.DataFrame({
        "plan_connect_rate": rng.uniform(0.05, 0.5, n).round(3),
        "plan_conversion_rate": rng.uniform(0.02, 0.3, n).round(3),
        "plan_win_rate": rng.choice([0.1, 0.2, 0.25, "30%", None], n),  # a text and a blank too
        "kgi_annual_revenue": rng.integers(0, 10, n) * 5e7,
        "months_since_launch": rng.integers(0, 24, n),
    })
    local = kpitree.recalc(template, scenarios=table, report=False)
    executor = client.get_executor()
    futures = [executor.submit(kpitree.recalc, template, scenarios=table.iloc[start:start + 800], report=False)
               for start in range(0, n, 800)]  # 7 chunks, the last one short
    joined = pd.concat([f.result() for f in futures], ignore_index=True)
    pd.testing.assert_frame_equal(local.reset_index(drop=True), joined)
    assert len(joined) == n and joined["error"].eq("").sum() > 0
