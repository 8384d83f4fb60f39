"""Reading an export file into a DataFrame of its cells: CSV (UTF-8, UTF-8 with BOM, cp932) or xlsx.

CSV goes through pandas' pyarrow engine with every column as text (dates, amounts and
durations are parsed afterwards by :mod:`.jp`, never by a guess of pandas'). The encoding is
found from the bytes (:func:`.jp.detect_encoding`); a tab-separated file is recognised by its
first line. An xlsx file's first sheet is read with openpyxl (dates arrive as dates, serial
numbers as numbers). The header row is the first row among the first 30 whose cells name the
most fields of the mapping — Salesforce's formatted reports put a title above the table.
The source file is only ever read.
"""

from __future__ import annotations

import io
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
    if encoding == "cp932":
        return data.decode("cp932").encode("utf-8"), encoding
    return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data), encoding


def _delimiter(data: bytes) -> str:
    first = data.split(b"\n", 1)[0]
    return "\t" if first.count(b"\t") > first.count(b",") else ","


def read_export(path: Path, header_score: Callable[[list[Any]], int]) -> tuple[pd.DataFrame, int, str]:
    """The export's table, the 0-based row of its header in the file, and its encoding (``xlsx`` for a workbook).

    ``header_score(cells)`` counts the mapping's fields a row of cells names. UserError when
    the file is missing, empty, of another kind, or unreadable.
    """
    import pandas as pd

    if not path.is_file():
        raise user_error("team.no_file", file=path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        from .safety import safe_members

        safe_members(path)  # the package limits of kpitree recalc: a zip bomb or a locked workbook is one message
        try:
            top = pd.read_excel(path, header=None, nrows=HEADER_SEARCH_ROWS, dtype=object, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001 - a broken or encrypted workbook: one message
            raise user_error("team.unreadable", file=path, error=type(exc).__name__) from None
        header = _header_row(top, header_score)
        try:
            frame = pd.read_excel(path, header=header, dtype=object, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001 - a sheet damaged below its first rows: one message
            raise user_error("team.unreadable", file=path, error=type(exc).__name__) from None
        encoding = "xlsx"
    elif suffix in CSV_SUFFIXES:
        data, encoding = _csv_text(path)
        if not data.strip():
            raise user_error("team.empty_file", file=path)
        sep = _delimiter(data)
        top = pd.read_csv(io.BytesIO(data), header=None, nrows=HEADER_SEARCH_ROWS, dtype=str, sep=sep,
                          on_bad_lines="skip", engine="python", skip_blank_lines=False)
        header = _header_row(top, header_score)
        frame = _read_csv(io.BytesIO(data), header, sep, path)
    else:
        raise user_error("team.file_kind", file=path)
    frame = frame.dropna(how="all")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, header, encoding


def _read_csv(buffer: io.BytesIO, header: int, sep: str, path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(buffer, engine="pyarrow", dtype=str, skiprows=header, sep=sep)
    except Exception:  # noqa: BLE001 - pyarrow refuses ragged rows; the python engine reads them, flagging extras as NaN
        buffer.seek(0)
        try:
            return pd.read_csv(buffer, engine="python", dtype=str, skiprows=header, sep=sep, on_bad_lines="warn")
        except Exception as exc:  # noqa: BLE001 - not a CSV at all
            raise user_error("team.unreadable", file=path, error=type(exc).__name__) from None


def _header_row(top: pd.DataFrame, header_score: Callable[[list[Any]], int]) -> int:
    best, best_score = 0, 0
    for i in range(len(top)):
        score = header_score([c for c in top.iloc[i].tolist() if isinstance(c, str)])
        if score > best_score:
            best, best_score = i, score
    return best
