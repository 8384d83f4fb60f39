"""The parts of a portable copy: cells rewritten in place, the lookup sheet added, links, VBA and calcChain gone.

Every part the copy does not need to change is copied byte for byte. Sheet parts change only
in the ``<c>`` elements of rewritten cells (their formula; their cached value is left for the
recalculation that follows) and in the rows that gain cells; ``workbook.xml``, its
relationships and ``[Content_Types].xml`` change only where a sheet is added or a part is
removed. Elements are found by the same regular expressions the recalculation engine's reader
uses on the same well-formed parts (the reader vouched for them: no DTD, within limits).
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kpitree.recalculation.io.package import CELL_RE, attrs, col_letters, split_ref
from kpitree.udfs.excel_values import XlError

ROW_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?row)\b([^>]*?)(?:/>|>(.*?)</\1>)", re.S)
SHEET_DATA_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?sheetData)\b[^>]*?(?:/>|>(.*?)</\1>)", re.S)
_R_NUMBER = re.compile(rb'\br\s*=\s*["\'](\d+)["\']')
_SPANS = re.compile(rb'\s+spans\s*=\s*(?:"[^"]*"|\'[^\']*\')')
REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_MACRO_WORKBOOKS = ("application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                      "application/vnd.ms-excel.template.macroEnabled.main+xml",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml")
# what a copy without macros leaves out (relationship types, by their last segment)
MACRO_RELS = ("vbaProject", "vbaProjectSignature", "vbaProjectSignatureAgile", "vbaProjectSignatureV3", "keyMapCustomizations",
              "wordVbaData", "ui/extensibility", "ui/2006/extensibility")


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(text: str) -> str:
    return esc(text).replace('"', "&quot;")


# --- cells ------------------------------------------------------------------------------------------


class Edit:
    """What a cell becomes: a formula (``array``: over ``ref``), or blank (``formula`` None)."""

    __slots__ = ("array_ref", "formula")

    def __init__(self, formula: str | None, array_ref: str | None = None):
        self.formula = formula
        self.array_ref = array_ref


def render_cell(tag: bytes, ref: str, style: str | None, edit: Edit) -> bytes:
    prefix = tag[: tag.index(b":") + 1] if b":" in tag else b""
    head = b"<" + tag + f' r="{ref}"'.encode() + (f' s="{style}"'.encode() if style else b"")
    if edit.formula is None:
        return head + b"/>"
    f_attrs = f' t="array" ref="{edit.array_ref}"' if edit.array_ref else ""
    return (head + b">" + b"<" + prefix + b"f" + f_attrs.encode() + b">" + esc(edit.formula).encode("utf-8")
            + b"</" + prefix + b"f></" + tag + b">")


def edit_sheet(xml: bytes, edits: Mapping[tuple[int, int], Edit]) -> bytes:
    """The sheet part with ``edits`` (by (row, column), 1-based) applied: stored cells rewritten, missing ones
    inserted in order (into their row, or into a new row), every other byte kept."""
    if not edits:
        return xml
    data = SHEET_DATA_RE.search(xml)
    if data is None:
        raise ValueError("a worksheet without sheetData")
    tag = data.group(1)
    prefix = tag[: tag.index(b":") + 1] if b":" in tag else b""
    body = data.group(2) or b""
    body_start = data.start(2) if data.group(2) is not None else None
    by_row: dict[int, dict[int, Edit]] = {}
    for (r, c), e in edits.items():
        by_row.setdefault(r, {})[c] = e
    pieces: list[bytes] = []
    pos = 0
    seen: set[int] = set()
    for m in ROW_RE.finditer(body):
        number_m = _R_NUMBER.search(m.group(2))
        if number_m is None:
            raise ValueError("a row without its number (r=)")
        number = int(number_m.group(1))
        pending = sorted(r for r in by_row if r < number and r not in seen)
        pieces.append(body[pos:m.start()])
        for r in pending:  # rows the sheet does not store, before this one
            pieces.append(_new_row(prefix, r, by_row[r]))
            seen.add(r)
        pieces.append(_edited_row(m, by_row.get(number, {})) if number in by_row else m.group(0))
        seen.add(number)
        pos = m.end()
    pieces.append(body[pos:])
    for r in sorted(set(by_row) - seen):
        pieces.append(_new_row(prefix, r, by_row[r]))
    new_body = b"".join(pieces)
    if body_start is None:  # <sheetData/>
        return xml[: data.start()] + b"<" + tag + b">" + new_body + b"</" + tag + b">" + xml[data.end():]
    return xml[:body_start] + new_body + xml[data.end(2):]


def _cell_tag(prefix: bytes) -> bytes:
    return prefix + b"c"


def _new_row(prefix: bytes, r: int, cells: Mapping[int, Edit]) -> bytes:
    tag = prefix + b"row"
    inner = b"".join(render_cell(_cell_tag(prefix), f"{col_letters(c)}{r}", None, cells[c]) for c in sorted(cells))
    return b"<" + tag + f' r="{r}">'.encode() + inner + b"</" + tag + b">"


def _edited_row(m: re.Match[bytes], cells: Mapping[int, Edit]) -> bytes:
    tag, raw_attrs, inner = m.group(1), m.group(2), m.group(3) or b""
    prefix = tag[: tag.index(b":") + 1] if b":" in tag else b""
    out: list[tuple[int, bytes]] = []
    done: set[int] = set()
    rest: list[bytes] = []  # anything in the row that is not a cell (extLst) goes after the cells
    pos = 0
    for cm in CELL_RE.finditer(inner):
        rest.append(inner[pos:cm.start()])
        pos = cm.end()
        a = attrs(cm.group(2))
        _, col = split_ref(a["r"])
        if col in cells:
            out.append((col, render_cell(cm.group(1), a["r"], a.get("s"), cells[col])))
            done.add(col)
        else:
            out.append((col, cm.group(0)))
    rest.append(inner[pos:])
    row = int(_R_NUMBER.search(raw_attrs).group(1))  # type: ignore[union-attr]
    for col, e in cells.items():
        if col not in done:
            out.append((col, render_cell(_cell_tag(prefix), f"{col_letters(col)}{row}", None, e)))
    out.sort(key=lambda item: item[0])
    between = b"".join(rest)
    return (b"<" + tag + _SPANS.sub(b"", raw_attrs) + b">" + b"".join(x for _, x in out) + between.strip()
            + b"</" + tag + b">")


# --- the lookup sheet ---------------------------------------------------------------------------------


def sheet_xml(cells: Mapping[tuple[int, int], Any], widths: Mapping[int, float]) -> bytes:
    """A worksheet part holding ``cells`` (numbers, texts as inline strings, errors, formulas starting with
    ``=``), protected against edits (no password)."""
    rows: dict[int, list[tuple[int, Any]]] = {}
    for (r, c), value in cells.items():
        rows.setdefault(r, []).append((c, value))
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">']
    if widths:
        out.append("<cols>" + "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, w in sorted(widths.items()))
                   + "</cols>")
    out.append("<sheetData>")
    for r in sorted(rows):
        out.append(f'<row r="{r}">')
        for c, value in sorted(rows[r], key=lambda item: item[0]):
            ref = f"{col_letters(c)}{r}"
            if isinstance(value, str) and value.startswith("="):
                out.append(f'<c r="{ref}"><f>{esc(value[1:])}</f></c>')
            elif isinstance(value, XlError):
                out.append(f'<c r="{ref}" t="e"><v>{value.text}</v></c>')
            elif isinstance(value, str):
                space = ' xml:space="preserve"' if value != value.strip() else ""
                out.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{esc(value)}</t></is></c>')
            else:
                out.append(f'<c r="{ref}"><v>{float(value)!r}</v></c>')
        out.append("</row>")
    out.append('</sheetData><sheetProtection sheet="1" objects="1" scenarios="1"/></worksheet>')
    return "".join(out).encode("utf-8")


# --- workbook.xml, relationships, content types -----------------------------------------------------------


def rels_of(parts: Mapping[str, bytes], owner: str) -> str:
    return posixpath.join(posixpath.dirname(owner), "_rels", posixpath.basename(owner) + ".rels")


_REL_RE = re.compile(r"<Relationship\b[^>]*?/>|<Relationship\b[^>]*?>.*?</Relationship>", re.S)
_OVERRIDE_RE = re.compile(r"<Override\b[^>]*?/>", re.S)


def relationships(xml: str) -> list[tuple[str, dict[str, str]]]:
    """(element text, attributes) of every relationship of a .rels part."""
    return [(m.group(0), {k: html.unescape(v) for k, v in re.findall(r'([\w:]+)\s*=\s*"([^"]*)"', m.group(0))})
            for m in _REL_RE.finditer(xml)]


def target_path(owner: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(owner), target))


def remove_relationships(xml: str, ids: Iterable[str]) -> str:
    gone = set(ids)
    for element, a in relationships(xml):
        if a.get("Id") in gone:
            xml = xml.replace(element, "", 1)
    return xml


def add_relationship(xml: str, rid: str, rel_type: str, target: str) -> str:
    element = f'<Relationship Id="{rid}" Type="{rel_type}" Target="{esc_attr(target)}"/>'
    return re.sub(r"(</(?:\w+:)?Relationships>)", lambda m: element + m.group(1), xml, count=1)


def remove_overrides(types: str, part_names: Iterable[str]) -> str:
    gone = {"/" + p.lstrip("/") for p in part_names}
    for m in list(_OVERRIDE_RE.finditer(types)):
        name = re.search(r'PartName\s*=\s*"([^"]*)"', m.group(0))
        if name and name.group(1) in gone:
            types = types.replace(m.group(0), "", 1)
    return types


def add_override(types: str, part: str, content_type: str) -> str:
    element = f'<Override PartName="/{part}" ContentType="{content_type}"/>'
    return re.sub(r"(</(?:\w+:)?Types>)", lambda m: element + m.group(1), types, count=1)


def plain_workbook_type(types: str, workbook_part: str) -> str:
    """The workbook's content type without macros (an .xlsm or a template becomes a plain .xlsx)."""
    for ct in CT_MACRO_WORKBOOKS:
        types = re.sub(rf'(<Override\b[^>]*PartName\s*=\s*"/{re.escape(workbook_part)}"[^>]*ContentType\s*=\s*"){re.escape(ct)}"',
                       lambda m: m.group(1) + CT_WORKBOOK + '"', types)
        types = re.sub(rf'(<Override\b[^>]*ContentType\s*=\s*"){re.escape(ct)}("[^>]*PartName\s*=\s*"/{re.escape(workbook_part)}")',
                       lambda m: m.group(1) + CT_WORKBOOK + m.group(2), types)
    return types


_SHEET_EL = re.compile(r"<(?:\w+:)?sheet\b[^>]*?/>", re.S)


def add_sheet(workbook: str, title: str, rid: str) -> str:
    """workbook.xml with a hidden sheet appended to ``<sheets>`` (sheet positions, and so every
    ``localSheetId``, unchanged)."""
    sheets = list(_SHEET_EL.finditer(workbook))
    ids = [int(m.group(1)) for s in sheets if (m := re.search(r'sheetId\s*=\s*"(\d+)"', s.group(0)))]
    last = sheets[-1].group(0)
    rel_prefix = re.search(r"\s(\w+):id\s*=", last)
    ns = rel_prefix.group(1) if rel_prefix else "r"
    tag = re.match(r"<((?:\w+:)?sheet)\b", last).group(1)  # type: ignore[union-attr]
    element = f'<{tag} name="{esc_attr(title)}" sheetId="{max(ids, default=0) + 1}" state="hidden" {ns}:id="{rid}"/>'
    end = sheets[-1].end()
    return workbook[:end] + element + workbook[end:]


_EXT_REF = re.compile(r"<(?:\w+:)?externalReference\b[^>]*?/>", re.S)
_EXT_REFS = re.compile(r"<((?:\w+:)?externalReferences)\b[^>]*?>\s*</\1>", re.S)


def remove_external_references(workbook: str, rids: set[str]) -> str:
    for m in list(_EXT_REF.finditer(workbook)):
        rid = re.search(r'\w+:id\s*=\s*"([^"]*)"', m.group(0))
        if rid and rid.group(1) in rids:
            workbook = workbook.replace(m.group(0), "", 1)
    return _EXT_REFS.sub("", workbook)


_DEFINED_NAME = re.compile(r"(<(?:\w+:)?definedName\b[^>]*>)(.*?)(</(?:\w+:)?definedName>)", re.S)


def defined_names(workbook: str) -> list[re.Match[str]]:
    return list(_DEFINED_NAME.finditer(workbook))


def replace_defined_names(workbook: str, texts: Mapping[int, str]) -> str:
    """workbook.xml with the formula of the i-th ``<definedName>`` replaced by ``texts[i]``."""
    out, pos = [], 0
    for i, m in enumerate(_DEFINED_NAME.finditer(workbook)):
        if i in texts:
            out.append(workbook[pos:m.start()] + m.group(1) + esc(texts[i]) + m.group(3))
            pos = m.end()
    out.append(workbook[pos:])
    return "".join(out)


def first_row_ref(ref: str) -> tuple[int, int, int, int]:
    """(row1, col1, row2, col2) of ``A1`` or ``A1:D6``."""
    first, _, last = ref.partition(":")
    r1, c1 = split_ref(first)
    r2, c2 = split_ref(last) if last else (r1, c1)
    return r1, c1, r2, c2
