"""Append plain value rows to one sheet of a saved .xlsx, without loading the workbook.

The data sheet holds thousands of rows that no formula reads. openpyxl would spend seconds
creating their cells and the recalculation engine seconds scanning them, for nothing; so the
sheet is saved with its styled top only, recalculated, and then its table rows are appended
here to the sheet's XML part as inline strings and numbers. The file is rewritten next to
itself and renamed over it: it appears complete or not at all.

:func:`light_copy` is the way back: a copy of a workbook without those appended rows, for
openpyxl to load in a fraction of the time (the caller rewrites the data sheet from its values).
"""

from __future__ import annotations

import html
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kpitree.workbook_templates.layout import col_letter

from .safety import cell_text


def _sheet_part(parts: dict[str, bytes], title: str) -> str:
    """The zip member name of the sheet called ``title``."""
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    for match in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
        attrs = match.group(1)
        name = re.search(r'\bname="([^"]*)"', attrs)
        rid = re.search(r'\b(?:\w+:)?id="([^"]*)"', attrs)
        if name and rid and html.unescape(name.group(1)) == title:
            rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
            for rel in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
                if re.search(rf'\bId="{re.escape(rid.group(1))}"', rel.group(1)):
                    target = re.search(r'\bTarget="([^"]*)"', rel.group(1))
                    if target:
                        path = target.group(1)
                        return path.lstrip("/") if path.startswith("/") else "xl/" + path
    raise KeyError(f"no sheet {title!r}")


def _cell(ref: str, value: Any) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = cell_text(str(value))  # the characters XML forbids: visible, as the member sheet shows them
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{html.escape(text, quote=False)}</t></is></c>'


def rows_xml(rows: Iterable[Sequence[Any]], first_row: int, skip_zero_from: int | None = None) -> tuple[str, int, int]:
    """The ``<row>`` elements of ``rows`` starting at 1-based ``first_row``; (xml, last row, widest column)."""
    out = []
    r = first_row - 1
    widest = 0
    letters: list[str] = []
    for r, row in enumerate(rows, start=first_row):
        while len(letters) < len(row):
            letters.append(col_letter(len(letters)))
        cells = []
        for j, value in enumerate(row):
            if value is None or (skip_zero_from is not None and j >= skip_zero_from and value == 0):
                continue
            cells.append(_cell(f"{letters[j]}{r}", value))
        widest = max(widest, len(row))
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out), r, widest


def append_rows(path: str | os.PathLike[str], sheet: str, rows: Sequence[Sequence[Any]], first_row: int,
                skip_zero_from: int | None = None) -> None:
    """Append ``rows`` to ``sheet`` of ``path`` from 1-based row ``first_row`` (below everything on it)."""
    path = Path(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        parts = {i.filename: zf.read(i.filename) for i in infos}
    name = _sheet_part(parts, sheet)
    xml = parts[name].decode("utf-8")
    body, last, widest = rows_xml(rows, first_row, skip_zero_from)
    if "</sheetData>" in xml:
        xml = xml.replace("</sheetData>", body + "</sheetData>", 1)
    else:
        xml = re.sub(r"<sheetData\s*/>", "<sheetData>" + body + "</sheetData>", xml, count=1)
    if rows:
        xml = re.sub(r'<dimension ref="([A-Z]+\d+)(?::[A-Z]+\d+)?"\s*/>',
                     lambda m: f'<dimension ref="{m.group(1)}:{col_letter(max(widest, 1) - 1)}{last}"/>', xml, count=1)
    parts[name] = xml.encode("utf-8")
    from kpitree.recalculation.io.outputs import atomic_path

    with atomic_path(path, suffix=".xlsx") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in infos:  # the replaced file's mode and links kept (a new one: the umask's mode)
            zf.writestr(info, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)


def light_copy(path: str | os.PathLike[str], sheets: Sequence[str], out: str | os.PathLike[str]) -> Path:
    """``path`` without the appended rows (rows of inline strings) of the sheets named ``sheets``, as ``out``."""
    from .safety import safe_members

    out = Path(out)
    infos, parts = safe_members(path)  # the user's workbook: within the package limits of kpitree recalc
    parts = dict(parts)
    for title in sheets:
        try:
            name = _sheet_part(parts, title)
        except KeyError:
            continue
        parts[name] = _without_inline_rows(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in infos:
            zf.writestr(info, parts[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    return out


def _without_inline_rows(xml: str) -> str:
    """The sheet XML without its rows that hold inline strings (the appended table)."""
    head, found, rest = xml.partition("<sheetData>")
    if not found:
        return xml
    body, _, tail = rest.partition("</sheetData>")
    rows = body.split("</row>")
    kept = [row for row in rows[:-1] if 't="inlineStr"' not in row]
    return head + "<sheetData>" + "".join(row + "</row>" for row in kept) + rows[-1] + "</sheetData>" + tail
