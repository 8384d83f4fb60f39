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

The command line never needs pandas: a summary is a :class:`Table` of columns (lists, or
numpy arrays straight from the engine), written by :func:`write_summary` column by column —
a column of numbers is formatted in one pass (``repr``, as pandas writes them: 100,000 numbers
in ≈ 0.05 s) and the rows are joined by the csv module. ``kpitree.recalc`` turns the same table
into a DataFrame (:meth:`Table.to_frame`).

A large CSV summary (from :data:`FAST_CSV_CELLS` cells, pyarrow installed) is written the same
bytes faster: each column's *distinct* values are formatted, made safe and quoted by the code
above (the csv module quoting one field at a time), and pyarrow puts the rows together by index
(:func:`_write_csv_arrow`). A scenario table's outputs hold few distinct values per column (a
column the scenarios do not change holds one), so the Python work shrinks to the distinct values.

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

from . import SUMMARY_FIELDS, SUMMARY_SUFFIXES

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP, "CSV Injection"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def cell_out(value: Any) -> Any:
    """Summary cells: errors as their Excel text, so CSV/Excel/parquet readers see ``#DIV/0!``."""
    return value.text if isinstance(value, XlError) else value


class Table:
    """A summary or scenario table as named columns of equal length — lists, or numpy arrays of floats —
    in order, with ``attrs`` (notes, the path taken, the encoding read). pandas only for :meth:`to_frame`."""

    def __init__(self, columns: dict[str, Any], attrs: dict[str, Any] | None = None, length: int | None = None):
        self.columns = columns
        self.attrs: dict[str, Any] = dict(attrs or {})
        self.length = length if length is not None else (len(next(iter(columns.values()))) if columns else 0)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, name: str) -> Any:
        return self.columns[name]

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def values(self, name: str) -> list[Any]:
        col = self.columns[name]
        return col.tolist() if hasattr(col, "tolist") else list(col)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Table:
        """Summary rows (one dict a file) as columns: errors as their text, a value a row lacks as NaN."""
        # column by column: a second list of row dicts would double the parent's memory on big batches
        keys: dict[str, None] = {}
        for r in rows:
            if len(r) != len(keys) or any(k not in keys for k in r):
                keys.update(dict.fromkeys(r))
        if not rows:
            return cls({k: [] for k in SUMMARY_FIELDS}, length=0)
        nan = float("nan")
        return cls({k: [cell_out(r[k]) if k in r else nan for r in rows] for k in keys}, length=len(rows))

    @classmethod
    def from_frame(cls, frame: Any) -> Table:
        return cls({str(c): frame[c].tolist() for c in frame.columns}, dict(frame.attrs), len(frame))

    def to_frame(self) -> Any:
        import pandas as pd

        frame = pd.DataFrame({k: (v if hasattr(v, "dtype") else pd.Series(v, dtype=object) if _mixed(v) else v)
                              for k, v in self.columns.items()})
        if not self.columns:
            frame = pd.DataFrame(columns=list(SUMMARY_FIELDS))
        frame.attrs.update(self.attrs)
        return frame


def _mixed(values: list[Any]) -> bool:
    """A column pandas should keep as objects: anything but floats (text, an error's text, a boolean)."""
    return any(not isinstance(v, float) for v in values)


def rows_frame(rows: list[dict[str, Any]]) -> Any:
    """The summary rows as a DataFrame: ``file``, ``path``, ``error`` and each named value."""
    import pandas as pd

    frame = pd.DataFrame(Table.from_rows(rows).columns)
    if frame.empty:
        frame = pd.DataFrame(columns=list(SUMMARY_FIELDS))
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


def _csv_column(col: Any) -> list[Any]:
    """A column's CSV fields: numbers as pandas writes them (``repr``; NaN and None empty), text made safe."""
    import numpy as np

    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        texts = list(map(repr, col.tolist()))
        if np.isnan(col).any():
            for i in np.flatnonzero(np.isnan(col)).tolist():
                texts[i] = ""
        return texts
    out: list[Any] = []
    for v in (col.tolist() if hasattr(col, "tolist") else col):
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, str):
            out.append(csv_cell(v))
        elif isinstance(v, float):
            out.append(repr(float(v)))  # a numpy float too: its number, not "np.float64(…)"
        else:
            out.append(cell_out(v))
    return out


def write_csv(table: Table, fh: Any) -> None:
    """``table`` as CSV into a text file: the rows pandas' ``to_csv(index=False)`` writes, faster (see the module doc)."""
    writer = csv.writer(fh, lineterminator=os.linesep)
    writer.writerow([csv_cell(str(c)) for c in table.names])
    columns = [_csv_column(table[c]) for c in table.names]
    writer.writerows(zip(*columns))


def _write_xlsx(table: Table, path: str) -> None:
    """Every text as a text cell (never a formula or a link), numbers and booleans as themselves."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                                    "nan_inf_to_errors": True})
    ws = wb.add_worksheet()
    bold = wb.add_format({"bold": True, "border": 1, "align": "center"})  # pandas' header style
    for c, name in enumerate(table.names):
        ws.write_string(0, c, str(name), bold)
        for r, v in enumerate(table.values(name), start=1):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(cell_out(v)))
    wb.close()


_SPECIAL = re.compile("[,\"\r\n" + re.escape(os.linesep) + "]")  # a field without these is written as it is
FAST_CSV_CELLS = 200_000  # from here pyarrow writes the CSV (its import, ≈ 0.07 s, is then worth it)
_BLOCK_ROWS = 65_536  # rows put together at once by pyarrow


def _distinct_fields(col: Any, n: int) -> tuple[list[str], Any]:
    """A column's distinct CSV fields, quoted as the csv module quotes them, and each row's index into them."""
    import numpy as np

    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        bits = np.ascontiguousarray(col, dtype=np.float64).view(np.int64)  # -0.0 and 0.0 differ, as their texts do
        if n and bool((bits == bits[0]).all()):
            first, index = bits[:1], np.zeros(n, np.int64)
        else:
            first, index = np.unique(bits, return_inverse=True)
        return _csv_column(first.view(np.float64)), index  # a number's repr (or "") never needs quotes
    else:
        seen: dict[Any, int] = {}
        values: list[Any] = []
        codes = []
        for v in (col.tolist() if hasattr(col, "tolist") else col):
            t = type(v)
            key = (t, v, str(v)) if isinstance(v, float) and v == 0.0 else (t, v)  # 1, 1.0 and True stay apart; so do ±0.0 (numpy's too)
            i = seen.get(key)
            if i is None:
                i = seen[key] = len(values)
                values.append(v)
            codes.append(i)
        fields = _csv_column(values)
        index = np.asarray(codes, dtype=np.int64)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=os.linesep)  # the quoting rule of write_csv's writer
    quoted = []
    for f in fields:
        text = f if isinstance(f, str) else str(f)  # what csv.writer makes of a boolean, an integer
        if text and _SPECIAL.search(text):  # what the csv module may quote: it decides (empty: nothing, in a row of several)
            out.seek(0)
            out.truncate()
            writer.writerow([text])
            text = out.getvalue()[:-len(os.linesep)]
        quoted.append(text)
    return quoted, index


# Arrays are built from buffers: pyarrow's pa.array() and pa.scalar() import pandas to check what they are
# given (0.17 s, more than writing 10,000 rows).


def _arrow_strings(pa: Any, texts: list[str]) -> Any:
    """A pyarrow large_string array of ``texts`` (UnicodeError for text that is not valid UTF-8)."""
    import numpy as np

    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)))


def _arrow_ints(pa: Any, values: Any, kind: Any) -> Any:
    """A pyarrow int32 or int64 array of ``values``."""
    import numpy as np

    data = np.ascontiguousarray(values, dtype=np.int32 if kind == pa.int32() else np.int64)
    return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])


def _write_csv_arrow(table: Table, path: str, bom: bool) -> bool:
    """:func:`write_csv` into ``path`` (UTF-8, with the BOM when ``bom``) with pyarrow putting the rows
    together: the same bytes. False, having written nothing usable, when pyarrow is missing or
    the table is not for it (a single column, text that is not valid UTF-8): the caller writes it."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return False
    n = len(table)
    if len(table.names) < 2 or n == 0:
        return False
    try:
        columns = [(_arrow_strings(pa, texts), index) for texts, index in
                   (_distinct_fields(table[c], n) for c in table.names)]
        header = io.StringIO()
        csv.writer(header, lineterminator=os.linesep).writerow([csv_cell(str(c)) for c in table.names])
        newline = os.linesep.encode()
        separators = _arrow_strings(pa, [",", os.linesep])
        comma, newline_text = separators[0], separators[1]
        with open(path, "wb") as fh:
            fh.write((codecs.BOM_UTF8 if bom else b"") + header.getvalue().encode("utf-8"))
            for start in range(0, n, _BLOCK_ROWS):
                stop = min(start + _BLOCK_ROWS, n)
                parts = [texts.take(_arrow_ints(pa, index[start:stop], pa.int64())) for texts, index in columns]
                rows = pc.binary_join_element_wise(*parts, comma)
                body = pc.binary_join(pa.ListArray.from_arrays(_arrow_ints(pa, [0, stop - start], pa.int32()), rows), newline_text)
                fh.write(body[0].as_buffer())
                fh.write(newline)
    except (UnicodeError, TypeError, ValueError, pa.ArrowException):
        return False
    return True


def write_summary(frame: Any, path: str | os.PathLike[str], *, bom: bool = True) -> None:
    """CSV, Excel or parquet by suffix, as data only (see the module doc); atomic, keeping a replaced file's mode.

    ``frame`` is a :class:`Table` or a pandas DataFrame."""
    from .io.outputs import atomic_path

    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUMMARY_SUFFIXES:
        raise ValueError(f"summary must be .csv, .xlsx or .parquet, not {suffix or 'no suffix'}")
    table = frame if isinstance(frame, Table) else Table.from_frame(frame)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".csv":
            if len(table) * len(table.names) < FAST_CSV_CELLS or not _write_csv_arrow(table, tmp, bom):
                with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
                    write_csv(table, fh)
        elif suffix == ".xlsx":
            _write_xlsx(table, tmp)
        else:
            safe = table.to_frame()
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


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]  # blank lines are skipped, as pandas does


def read_columns(scenarios: Any) -> Table:
    """A scenario table as columns: a DataFrame's, or read from a .csv (every cell as written, without
    pandas), .xlsx or .parquet file (see the module doc)."""
    from .scenarios import ScenarioError

    if not isinstance(scenarios, (str, os.PathLike)):
        check_unique_columns(list(scenarios.columns), "the scenario table")
        return Table.from_frame(scenarios)
    path = os.fspath(scenarios)
    name = os.path.basename(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".csv", ".xlsx", ".xlsm", ".parquet"):
        raise ValueError(f"scenarios must be a DataFrame or a .csv, .xlsx or .parquet file, not {path}")
    if suffix != ".csv":
        return Table.from_frame(read_table(path))
    with open(path, "rb") as fh:
        text, encoding = decode_text(fh.read(), name)
    rows = _csv_rows(text)
    if not rows:
        raise ScenarioError(f"{name}: the file is empty; its first row names the inputs")
    header = rows[0]
    check_unique_columns(header, name)
    width = len(header)
    if any(len(r) > width for r in rows[1:]):
        bad = next(i for i, r in enumerate(rows[1:], start=2) if len(r) > width)
        raise ScenarioError(f"{name}: cannot be read as a csv table (row {bad} has more cells than the header)")
    body: list[list[Any]] = [r if len(r) == width else [*r, *[None] * (width - len(r))] for r in rows[1:]]
    # every cell as written: the scenario runner reads each as Excel reads a typed value
    columns = {h: list(col) for h, col in zip(header, zip(*body))} if body else {h: [] for h in header}
    return Table(columns, {"encoding": encoding}, len(body))


def read_table(scenarios: Any) -> Any:
    """A scenario table as a DataFrame: as given, or read from a .csv, .xlsx or .parquet file (see the module doc)."""
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
            table = read_columns(path)
            frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in table.columns.items()})
            frame.attrs["encoding"] = table.attrs["encoding"]
            return frame
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
