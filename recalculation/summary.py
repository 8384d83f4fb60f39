"""The summary table: rows to a DataFrame, the DataFrame to CSV, Excel or parquet; scenario tables in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kpitree.udfs.excel_values import XlError

SUMMARY_SUFFIXES = (".csv", ".xlsx", ".parquet")


def cell_out(value: Any) -> Any:
    """Summary cells: errors as their Excel text, so CSV/Excel/parquet readers see ``#DIV/0!``."""
    return value.text if isinstance(value, XlError) else value


def rows_frame(rows: list[dict[str, Any]]) -> Any:
    """The summary rows as a DataFrame: ``file``, ``path``, ``error`` and each named value."""
    import pandas as pd

    # column by column: a second list of row dicts would double the parent's memory on big batches
    keys: dict[str, None] = {}
    for r in rows:
        if len(r) != len(keys) or any(k not in keys for k in r):
            keys.update(dict.fromkeys(r))
    nan = float("nan")
    frame = pd.DataFrame({k: [cell_out(r[k]) if k in r else nan for r in rows] for k in keys})
    if frame.empty:
        frame = pd.DataFrame(columns=["file", "path", "error"])
    return frame


def write_summary(frame: Any, path: str | os.PathLike[str]) -> None:
    """CSV, Excel or parquet by suffix; written to a temp file and renamed."""
    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUMMARY_SUFFIXES:
        raise ValueError(f"summary must be .csv, .xlsx or .parquet, not {suffix or 'no suffix'}")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kpitree-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False, engine="xlsxwriter")
        else:
            safe = frame.copy()
            for col in safe.columns:  # parquet wants one type per column
                if safe[col].dtype == object and len({type(v) for v in safe[col] if v is not None}) > 1:
                    safe[col] = safe[col].map(lambda v: None if v is None else str(v))
            safe.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_table(scenarios: Any) -> Any:
    """A scenario table: a DataFrame as given, or read from a .csv, .xlsx or .parquet file."""
    import pandas as pd

    if isinstance(scenarios, pd.DataFrame):
        return scenarios
    path = os.fspath(scenarios)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":  # every cell as written: the scenario runner reads each as Excel reads a typed value
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"scenarios must be a DataFrame or a .csv, .xlsx or .parquet file, not {path}")
