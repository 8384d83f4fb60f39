"""The summary table: rows to a DataFrame, the DataFrame to CSV, Excel or parquet; scenario tables in.

Data is written as data. A summary holds text that came from the user's files — a
scenario CSV's cells, a workbook's named cells, file names — and a spreadsheet must
never run it:

* ``.xlsx``: every text is written as a text cell (XlsxWriter's ``strings_to_formulas``
  and ``strings_to_urls`` are off), so ``=HYPERLINK(...)`` stays the characters it is;
* ``.csv``: following OWASP's guidance on CSV injection, a text cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe
  (``'=HYPERLINK(...)``), which Excel and LibreOffice show as text; numbers are numbers
  (a negative number is not touched, nor a text that is just a number such as ``-5``),
  and the CSV writer quotes any cell holding a comma, quote or line break;
* ``.parquet`` is typed; nothing there is ever run.

CSV summaries start with a UTF-8 byte-order mark by default, so Japanese Excel opens
them without mojibake (``bom=False`` for tools that do not expect one).

Scenario tables are read from CSV in UTF-8 (with or without a BOM), UTF-16 (with a
BOM) or cp932 (Shift_JIS, what Japanese Excel saves as "CSV"); the encoding used is
kept in ``frame.attrs["encoding"]``. A column named twice (case and spaces aside, as
columns are matched to names) is refused, naming it as written.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path
from typing import Any

from kpitree.udfs.excel_values import XlError

SUMMARY_SUFFIXES = (".csv", ".xlsx", ".parquet")
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP, "CSV Injection"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


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


def csv_cell(value: Any) -> Any:
    """A CSV cell as data: a text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe(frame: Any) -> Any:
    """``frame`` with :func:`csv_cell` applied to every text cell and column name."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or str(safe[col].dtype) in ("string", "str"):
            safe[col] = safe[col].map(csv_cell)
    safe.columns = [csv_cell(str(c)) for c in safe.columns]
    return safe


def write_summary(frame: Any, path: str | os.PathLike[str], *, bom: bool = True) -> None:
    """CSV, Excel or parquet by suffix, as data only (see the module doc); atomic, keeping a replaced file's mode."""
    from .io.outputs import atomic_path

    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUMMARY_SUFFIXES:
        raise ValueError(f"summary must be .csv, .xlsx or .parquet, not {suffix or 'no suffix'}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".csv":
            csv_safe(frame).to_csv(tmp, index=False, encoding="utf-8-sig" if bom else "utf-8")
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False, engine="xlsxwriter",
                           engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False,
                                                      "strings_to_numbers": False}})
        else:
            safe = frame.copy()
            for col in safe.columns:  # parquet wants one type per column
                if safe[col].dtype == object and len({type(v) for v in safe[col] if v is not None}) > 1:
                    safe[col] = safe[col].map(lambda v: None if v is None else str(v))
            safe.to_parquet(tmp, index=False)


# --- scenario tables in ---------------------------------------------------------------------------


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a CSV file: UTF-8 with or without a BOM, UTF-16 with a BOM, else cp932."""
    from .scenarios import ScenarioError

    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif len(data) >= 4 and data[1::2].count(0) > len(data) // 4:  # UTF-16 without a BOM: every other byte NUL
        candidates = ["utf-16-le"]
    elif len(data) >= 4 and data[0::2].count(0) > len(data) // 4:
        candidates = ["utf-16-be"]
    else:
        candidates = ["utf-8", "cp932"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.lstrip("\ufeff"), ("utf-16" if encoding.startswith("utf-16") else encoding)
    raise ScenarioError(f"{name}: cannot tell the text encoding (it is not UTF-8, UTF-16 or cp932/Shift_JIS); "
                        "save it again as \"CSV UTF-8\"",
                        ja=f"{name}: 文字コードを判別できません(UTF-8・UTF-16・Shift_JIS のいずれでもありません)。"
                        "「CSV UTF-8」で保存し直してください。")


def check_unique_columns(columns: list[Any], name: str) -> None:
    """Refuse a column named twice (compared as columns are matched: case and surrounding spaces aside)."""
    from .scenarios import ScenarioError

    seen: dict[str, tuple[int, str]] = {}
    for i, col in enumerate(columns, start=1):
        written = "" if col is None else str(col)
        key = written.strip().upper()
        if key in seen:
            first, as_written = seen[key]
            spelled = f"'{as_written}'" if as_written == written else f"'{as_written}' and '{written}'"
            raise ScenarioError(f"{name}: column {written.strip()!r} appears twice (columns {first} and {i}, "
                                f"written {spelled}); keep one")
        seen[key] = (i, written)


def _csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)), [])


def read_table(scenarios: Any) -> Any:
    """A scenario table: a DataFrame as given, or read from a .csv, .xlsx or .parquet file (see the module doc)."""
    import pandas as pd

    from .scenarios import ScenarioError

    if isinstance(scenarios, pd.DataFrame):
        check_unique_columns(list(scenarios.columns), "the scenario table")
        return scenarios
    path = os.fspath(scenarios)
    name = os.path.basename(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".csv", ".xlsx", ".xlsm", ".parquet"):
        raise ValueError(f"scenarios must be a DataFrame or a .csv, .xlsx or .parquet file, not {path}")
    try:
        if suffix == ".csv":
            with open(path, "rb") as fh:
                text, encoding = decode_text(fh.read(), name)
            check_unique_columns(_csv_header(text), name)
            # every cell as written: the scenario runner reads each as Excel reads a typed value
            table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            table.attrs["encoding"] = encoding
            return table
        if suffix in (".xlsx", ".xlsm"):
            header = pd.read_excel(path, header=None, nrows=1, engine="openpyxl")
            check_unique_columns([None if pd.isna(v) else v for v in header.iloc[0]] if len(header) else [], name)
            return pd.read_excel(path, engine="openpyxl")
        table = pd.read_parquet(path)
        check_unique_columns(list(table.columns), name)
        return table
    except (ScenarioError, OSError):
        raise
    except pd.errors.EmptyDataError:
        raise ScenarioError(f"{name}: the file is empty; its first row names the inputs") from None
    except Exception as exc:  # noqa: BLE001 - pandas, openpyxl and pyarrow raise many types for a bad file
        raise ScenarioError(f"{name}: cannot be read as a {suffix[1:]} table ({type(exc).__name__}: "
                            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'})") from None
