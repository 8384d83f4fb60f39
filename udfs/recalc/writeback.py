"""Write recalculated values back: only the cached ``<v>`` of formula cells changes.

The copy keeps every other byte of every part — formulas, styles, names, charts,
data validation, VBA, custom XML, calcChain (kept: the set of formula cells does not
change, so it stays consistent). A cell's ``t=`` attribute is set to match its new
value: none for a number, ``str`` for text, ``b`` for a boolean, ``e`` for an error.

The output is written to a temporary file next to the destination and renamed into
place, so an interrupted run (Ctrl-C, a crash) never leaves a partial workbook, and
the source is only ever read.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from typing import Any, Mapping

from ..excel_values import XlError
from .graph import Key
from .package import CELL_RE, WorkbookData, col_letters

Plan = dict[str, list[tuple[int, int, Any]]]  # sheet part -> [(start, end) of the <c> element, new value]

_T_ATTR = re.compile(rb'\s+t\s*=\s*(?:"[^"]*"|\'[^\']*\')')
_V_ELEM = re.compile(rb"<(?:[\w.-]+:)?v\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?v>)", re.S)
_IS_ELEM = re.compile(rb"<(?:[\w.-]+:)?is\b.*?</(?:[\w.-]+:)?is>", re.S)
_F_END = re.compile(rb"<(?:[\w.-]+:)?f\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?f>)", re.S)


def plan_writes(wb: WorkbookData, results: Mapping[Key, Any]) -> Plan:
    """Which cell of which sheet part gets which value (plain data, nothing touched)."""
    plan: Plan = {}
    for (si, r, c), value in results.items():
        sheet = wb.sheets[si]
        cell = sheet.cells.get((r, c))
        if cell is None:  # a spill into a cell the sheet does not store: left alone
            continue
        plan.setdefault(sheet.part, []).append((*cell.span, value))
    for writes in plan.values():
        writes.sort(key=lambda w: w[0])
    return plan


def _xml_escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def encode_value(value: Any) -> tuple[bytes | None, bytes]:
    """(``t=`` attribute value or None, ``<v>`` text) of a value."""
    if isinstance(value, XlError):
        return b"e", value.text.encode()
    if isinstance(value, (bool,)):
        return b"b", b"1" if value else b"0"
    if isinstance(value, str):
        return b"str", _xml_escape(value)
    if value is None:
        return None, b"0"
    f = float(value)
    if f != f or f in (float("inf"), float("-inf")):
        return b"e", b"#NUM!"
    if f.is_integer() and abs(f) < 1e15:
        return None, str(int(f)).encode()
    return None, repr(f).encode()


def patch_sheet(xml: bytes, writes: list[tuple[int, int, Any]]) -> bytes:
    """The sheet XML with the cached values of the planned cells replaced, all else byte-identical."""
    if not writes:
        return xml
    out, pos = [], 0
    for start, end, value in writes:
        m = CELL_RE.match(xml, start)
        if m is None or m.end() != end:
            raise ValueError(f"cell element moved at byte {start}")
        out.append(xml[pos:start])
        out.append(_patch_cell(m, value))
        pos = end
    out.append(xml[pos:])
    return b"".join(out)


def _patch_cell(m: re.Match[bytes], value: Any) -> bytes:
    raw_attrs = m.group(2)
    tag = m.group(1)
    prefix = tag[:-1]  # "x:" of "x:c", or b""
    t, text = encode_value(value)
    new_attrs = _T_ATTR.sub(b"", raw_attrs)
    if t is not None:
        new_attrs = new_attrs.rstrip() + b' t="' + t + b'"'
    body = m.group(3) or b""
    body = _IS_ELEM.sub(b"", body)
    v = b"<" + prefix + b"v>" + text + b"</" + prefix + b"v>"
    if _V_ELEM.search(body):
        body = _V_ELEM.sub(lambda _: v, body, count=1)
    else:
        f = _F_END.search(body)
        body = body[: f.end()] + v + body[f.end():] if f else v + body
    return b"<" + tag + new_attrs + b">" + body + b"</" + tag + b">"


def apply(src_infos: list[zipfile.ZipInfo], parts: Mapping[str, bytes], plan: Plan, dst: str | os.PathLike[str]) -> None:
    """Write the package with the planned values to ``dst`` (temp file, then an atomic rename)."""
    dst = os.fspath(dst)
    directory = os.path.dirname(os.path.abspath(dst))
    fd, tmp = tempfile.mkstemp(prefix=".kpitree-", suffix=".xlsx.part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as out:
            for info in src_infos:
                if info.is_dir():
                    continue
                data = parts[info.filename]
                if info.filename in plan:
                    data = patch_sheet(data, plan[info.filename])
                clone = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                clone.compress_type = info.compress_type
                clone.external_attr = info.external_attr
                clone.create_system = info.create_system
                out.writestr(clone, data, compresslevel=1 if info.compress_type == zipfile.ZIP_DEFLATED else None)
        os.replace(tmp, dst)
    except BaseException:  # Ctrl-C included: no partial output survives
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def cell_ref(r: int, c: int) -> str:
    return f"{col_letters(c)}{r}"
