"""Reading an export file into a DataFrame of its cells: CSV (UTF-8, UTF-8 with BOM, cp932) or xlsx.

CSV goes through Python's CSV reader with every cell as text (dates, amounts and durations
are parsed afterwards by :mod:`.jp`, never by a guess of a parser's), each row with its line in
the file; a row with more cells than the header is kept aside for the rejects, never dropped in
silence. The encoding is found from the bytes (:func:`.jp.detect_encoding`); a tab-separated
file is recognised by its first line. An xlsx file's first sheet is read with openpyxl (dates arrive as dates, serial
numbers as numbers). The header row is the first row among the first 30 whose cells name the
most fields of the mapping — Salesforce's formatted reports put a title above the table.
The source file is only ever read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.udfs.texts import user_error

from .jp import detect_encoding

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
HEADER_SEARCH_ROWS = 30


def _csv_text(path: Path) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 (transcoded from cp932 when needed) and the encoding found."""
    data = path.read_bytes()
    try:
        encoding = detect_encoding(data)
    except ValueError:
        raise user_error("team.bad_encoding", file=path) from None
    if encoding in ("cp932", "utf-16"):
        try:
            return data.decode(encoding).encode("utf-8"), encoding
        except UnicodeDecodeError:  # a UTF-16 mark on bytes that are not UTF-16
            raise user_error("team.bad_encoding", file=path) from None
    return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data), encoding


def _delimiter(data: bytes) -> str:
    first = data.split(b"\n", 1)[0]
    return "\t" if first.count(b"\t") > first.count(b",") else ","


def read_export(path: Path, header_score: Callable[[list[Any]], int]) -> tuple[pd.DataFrame, int, str]:
    """The export's table, the 0-based row of its header in the file, and its encoding (``xlsx`` for a workbook).

    ``header_score(cells)`` counts the mapping's fields a row of cells names. UserError when
    the file is missing, empty, of another kind, or unreadable. The frame's
    ``attrs["lines"]`` holds the file's line (row) number of each of its rows, and
    ``attrs["bad_rows"]`` the ``(line, text)`` of CSV rows with more cells than the header —
    rows a parser would drop: the import lists each as a reject.
    """
    import pandas as pd

    if not path.is_file():
        raise user_error("team.no_file", file=path)
    suffix = path.suffix.lower()
    bad_rows: list[tuple[int, str]] = []
    if suffix in XLSX_SUFFIXES:
        from .safety import quiet_reader, safe_members

        safe_members(path)  # the package limits of kpitree recalc: a zip bomb or a locked workbook is one message
        try:
            with quiet_reader():
                top = pd.read_excel(path, header=None, nrows=HEADER_SEARCH_ROWS, dtype=object, engine="openpyxl")
                header = _header_row(top, header_score)
                frame = pd.read_excel(path, header=header, dtype=object, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001 - a broken workbook: one message
            raise user_error("team.unreadable", file=path, error=type(exc).__name__) from None
        frame = frame.dropna(how="all")
        lines = [int(i) + header + 2 for i in frame.index]
        encoding = "xlsx"
    elif suffix in CSV_SUFFIXES:
        data, encoding = _csv_text(path)
        if not data.strip():
            raise user_error("team.empty_file", file=path)
        text = data.decode("utf-8")
        records = _csv_records(text, _delimiter(data), path)
        first = [r for _, r in records[:HEADER_SEARCH_ROWS]]
        wide = max((len(r) for r in first), default=0)
        top = pd.DataFrame([r + [""] * (wide - len(r)) for r in first], dtype=object)
        header = _header_row(top, header_score)
        frame, lines, bad_lines = _csv_frame(records, header)
        if bad_lines:
            raw = re.split(r"\r\n|\r|\n", text)  # the lines the CSV reader counts
            bad_rows = [(line, raw[line - 1] if line <= len(raw) else "") for line in bad_lines]
    else:
        raise user_error("team.file_kind", file=path)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    frame.attrs["lines"] = lines
    frame.attrs["bad_rows"] = bad_rows
    return frame, header, encoding


def _csv_records(text: str, sep: str, path: Path) -> list[tuple[int, list[str]]]:
    """Every record of a CSV text with the line it starts on (1-based); blank lines left out.

    Python's own CSV reader: quoted cells may hold the separator and line breaks, a quote
    inside an unquoted cell is kept as it is — and no record is ever dropped in silence.
    """
    import csv

    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                out.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:  # a cell past the reader's size limit, an unterminated quote at the end
        raise user_error("team.unreadable", file=path, error=f"line {reader.line_num}: {exc}") from None
    return out


def _csv_frame(records: list[tuple[int, list[str]]], header: int) -> tuple[pd.DataFrame, list[int], list[int]]:
    """The table below the header row: (frame of text cells, line of each row, lines of the rows too wide)."""
    import pandas as pd

    heads = records[header][1] if header < len(records) else []
    width = len(heads)
    names: list[str] = []
    for j, head in enumerate(heads):  # blank and repeated headers named as pandas names them
        name = head.strip() or f"Unnamed: {j}"
        base, n = name, 0
        while name in names:
            n += 1
            name = f"{base}.{n}"
        names.append(name)
    rows, lines, bad = [], [], []
    for line, record in records[header + 1:]:
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            bad.append(line)
            continue
        cells: list[str | None] = [c if c.strip() else None for c in record[:width]]
        rows.append(cells + [None] * (width - len(cells)))
        lines.append(line)
    return pd.DataFrame(rows, columns=names, dtype=object), lines, bad


def _header_row(top: pd.DataFrame, header_score: Callable[[list[Any]], int]) -> int:
    best, best_score = 0, 0
    for i in range(len(top)):
        score = header_score([c for c in top.iloc[i].tolist() if isinstance(c, str)])
        if score > best_score:
            best, best_score = i, score
    return best
