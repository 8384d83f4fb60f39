"""Batch recalculation of kpitree workbooks without Excel: files, folders, scenario tables.

>>> import kpitree
>>> summary = kpitree.recalc(["teams/"], out="recalculated/")            # doctest: +SKIP
>>> what_if = kpitree.recalc("template.xlsx", scenarios="inputs.csv")    # doctest: +SKIP

See docs/recalc.md for the engine (fast compiled path, general ``formulas`` path),
fault behaviour and the known differences from Excel.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
from typing import Any, Iterable

from .batch import ScenarioError, open_template, recalc_files, rows_frame, run_scenarios, write_summary
from .package import DEFAULT_LIMITS, Limits, WorkbookError

PathLike = str | os.PathLike[str]


def recalc(
    sources: PathLike | Iterable[PathLike],
    out: PathLike | None = None,
    *,
    scenarios: Any = None,
    summary: PathLike | None = None,
    executor: concurrent.futures.Executor | None = None,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    progress: bool | None = None,
    report: bool = True,
) -> "Any":
    """Recalculate workbooks, or one template over a scenario table; returns a pandas DataFrame.

    Files mode (``scenarios`` is None): every workbook in ``sources`` (files, or
    folders of workbooks) is recalculated; with ``out`` the copy is written to
    ``out/<name>``. One row per workbook: ``file``, ``path`` (``fast`` or
    ``general``; empty when the file could not be read), ``error`` (empty when all
    went well) and one column per workbook-scoped single-cell defined name.

    Scenario mode: ``sources`` is one template and ``scenarios`` a DataFrame or a
    CSV/Excel/parquet path whose columns name input cells; the result has those
    inputs and every named output per row, plus ``error``. A column naming no input
    raises :class:`ScenarioError` before anything runs.

    ``executor`` is any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``,
    Dask's ``client.get_executor()``, Ray's); without one, ``jobs > 1`` starts a
    process pool. Errors per file are also printed to stderr when ``report``.
    """
    if scenarios is not None:
        src = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
        if len(src) != 1:
            raise ValueError("scenario mode takes exactly one template workbook")
        table = _read_table(scenarios)
        template = open_template(src[0], limits)
        frame, path = run_scenarios(template, table, progress=progress)
        frame.attrs["path"] = path
    else:
        src = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
        rows = recalc_files(src, out, executor=executor, jobs=jobs, limits=limits, progress=progress)
        frame = rows_frame(rows)
        if report:
            for r in rows:
                if r["error"]:
                    print(f"kpitree recalc: {r['file']}: {r['error']}", file=sys.stderr)
    if summary is not None:
        write_summary(frame, summary)
    return frame


def recalc_file(src: PathLike, dst: PathLike, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Recalculate one workbook into ``dst`` (any name); its named values after recalculation.

    Raises :class:`WorkbookError` when the workbook cannot be recalculated. Values
    are floats, text, booleans or :class:`~kpitree.udfs.excel_values.XlError`.
    """
    import shutil
    import tempfile

    from .batch import process_files

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(dst))) as tmp:
        staged = os.path.join(tmp, os.path.basename(os.fspath(src)))
        shutil.copyfile(src, staged)  # process_files names outputs after the input
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        (row,) = process_files([staged], out_dir, limits)
        if not row["path"]:
            raise WorkbookError(row["error"])
        os.replace(os.path.join(out_dir, os.path.basename(staged)), dst)
    return {k: v for k, v in row.items() if k not in ("file", "path", "error")}


def _read_table(scenarios: Any) -> Any:
    import pandas as pd

    if isinstance(scenarios, pd.DataFrame):
        return scenarios
    path = os.fspath(scenarios)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"scenarios must be a DataFrame or a .csv, .xlsx or .parquet file, not {path}")


__all__ = ["Limits", "ScenarioError", "WorkbookError", "recalc", "recalc_file"]
