"""Reading a workbook through the layout of one already read: the batch fast path for I/O.

A month-end batch is hundreds of copies of one template that differ only in the numbers
they hold. Scanning every ``<c>`` of every sheet with regular expressions (what
:func:`.package.read_workbook` does) costs more than the whole evaluation, so after one
file of a layout has been scanned fully, the next files are read against it:

1. each sheet part is cut with one regular expression (:data:`V_SPLIT`) into the text
   around the cached values and the values themselves (``<v>…</v>`` contents);
2. the file is accepted only if every piece of text around the values — tags, cell
   references, ``t=`` types, formulas, styles, everything but the ``<v>`` contents — is
   byte-identical to the layout's (one list comparison in C), and so are
   ``xl/workbook.xml`` and its relationships;
3. only the values that differ from the layout's are decoded, with the same
   :func:`.package._cell_value` as the full scan.

Why that is exact: a ``<v>`` content taken by :data:`V_SPLIT` holds no ``<``, so it
cannot start or end a tag. When the text around the contents is identical, the full
scanner would find the same cells, with the same attributes and formulas, in the
same order; only the cached values can differ, and those are the ones decoded here.
A layout is used only when, in its own file, every such content is the ``<v>`` the
full scanner reads for its cell (and lies outside the cell's ``<f>``); anything else
(a ``CDATA`` value, an inline string with a ``<v>``, a shared string cell whose value
is outside the cut while the string table changed, a value that fails to decode) makes
the file go through the full scan instead. Tests check the two readers agree.

Write-back uses the same cut: the position of each cell in a file is its position in
the layout shifted by the lengths of the values before it, and the patched cell is
rendered from pieces cut once per layout (:func:`.writeback.cell_pieces`).
"""

from __future__ import annotations

import array
import bisect
import dataclasses
import hashlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kpitree.errors import KpitreeError

from . import writeback
from .package import (
    CELL_RE,
    F_RE,
    IS_RE,
    V_RE,
    Key,
    Sheet,
    WorkbookData,
    WorkbookError,
    _cell_value,
    _rels,
    check_no_dtd,
    looks_like_xml,
    shared_strings,
)
from .writeback import _IS_ELEM, _V_ELEM, Pieces, cell_pieces

# text | <v …> | content (no "<") | </v> ; a <v/> or a <v> holding markup stays in the text
V_SPLIT = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?v(?:\s[^<>/]*)?>)([^<]*)(</(?:[A-Za-z_][\w.-]*:)?v>)")

MAX_LAYOUTS = 16  # ≈ 0.75 MB each for the template (its sheets' XML, the cut, the structure)
MAX_PER_KEY = 4
MAX_SEEN = 4096


class NotEligible(KpitreeError):
    """The layout's own file has a shape this reader does not vouch for."""


@dataclass
class SheetLayout:
    index: int
    part: str
    xml: bytes
    texts: list[bytes]
    opens: list[bytes]
    closes: list[bytes]
    contents: list[bytes]
    starts: list[int]  # byte offset of every piece of the cut, and the total length
    ordinal_cell: list[tuple[int, int] | None]  # the (row, col) whose value each content is
    ordinal_type: list[str | None]  # that cell's t=
    s_without_ordinal: bool  # a t="s" cell whose value is not a cut content
    pieces: dict[tuple[int, int], tuple[int, int, int, int, Pieces]] = field(default_factory=dict)

    def locate(self, pos: int) -> tuple[int, int]:
        """(piece index, offset in it) of a byte position that is not inside a content."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i % 4 == 2 and pos != self.starts[i]:
            raise NotEligible("cell boundary inside a value")
        return i, pos - self.starts[i]

    def cell_target(self, rc: tuple[int, int], span: tuple[int, int]) -> tuple[int, int, int, int, Pieces]:
        found = self.pieces.get(rc)
        if found is None:
            m = CELL_RE.match(self.xml, span[0])
            assert m is not None and m.end() == span[1]
            found = (*self.locate(span[0]), *self.locate(span[1]), cell_pieces(m))
            self.pieces[rc] = found
        return found


@dataclass
class Layout:
    """One fully scanned file's structure, against which files of the same layout are read."""

    key: bytes
    book_xml: tuple[bytes | None, bytes | None]  # xl/workbook.xml and its relationships, compared byte for byte
    wb: WorkbookData
    fp: str
    sheets: list[SheetLayout]
    ss_part: str | None
    ss_bytes: bytes | None
    shared: list[str]
    targets: dict[tuple[Key, ...], dict[str, list[tuple[Key, tuple[int, int, int, int, Pieces]]]]] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)  # what batch derives from the structure alone


def layout_key(parts: Mapping[str, bytes]) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        data = parts.get(name)
        h.update(b"-" if data is None else b"+%d:" % len(data) + data)
    return h.digest()


def build_layout(parts: Mapping[str, bytes], wb: WorkbookData, fp: str) -> Layout:
    """The layout of a file just read by :func:`.package.read_workbook`; :class:`NotEligible` if unsafe."""
    rels = _rels(parts, "xl/workbook.xml")
    ss_part = next((p for p in rels.values() if p.endswith("sharedStrings.xml")), None)
    ss_bytes = parts.get(ss_part) if ss_part else None
    shared = shared_strings(ss_part, ss_bytes) if ss_part and ss_bytes is not None else []
    sheets = []
    for si, sheet in enumerate(wb.sheets):
        if not sheet.cells and ("chartsheet" in sheet.part or "dialogsheet" in sheet.part or "macrosheet" in sheet.part):
            continue
        sheets.append(_sheet_layout(si, sheet, parts[sheet.part]))
    return Layout(layout_key(parts), _book_xml(parts), wb, fp, sheets, ss_part, ss_bytes, shared)


def _book_xml(parts: Mapping[str, bytes]) -> tuple[bytes | None, bytes | None]:
    return parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")


def _sheet_layout(si: int, sheet: Sheet, xml: bytes) -> SheetLayout:
    cut = V_SPLIT.split(xml)
    starts = [0, *itertools.accumulate(map(len, cut))]
    cells = sorted((c.span, rc, c) for rc, c in sheet.cells.items())
    cell_starts = [span[0] for span, _, _ in cells]
    ordinal_cell: list[tuple[int, int] | None] = []
    ordinal_type: list[str | None] = []
    owned: set[tuple[int, int]] = set()
    for k in range(len(cut) // 4):
        open_start, c_start, c_end = starts[4 * k + 1], starts[4 * k + 2], starts[4 * k + 3]
        close_end = starts[4 * k + 4]
        j = bisect.bisect_right(cell_starts, open_start) - 1
        if j < 0 or cells[j][0][1] <= open_start:  # outside every cell: the scanner never reads it
            ordinal_cell.append(None)
            ordinal_type.append(None)
            continue
        (start, end), rc, _ = cells[j]
        m = CELL_RE.match(xml, start)
        if m is None or m.end() != end or m.group(3) is None:
            raise NotEligible("value outside a cell body")
        b0 = m.start(3)
        body = m.group(3)
        if not (b0 <= open_start and close_end <= m.end(3)):
            raise NotEligible("value outside a cell body")
        if rc in owned:
            raise NotEligible("two values in one cell")
        owned.add(rc)
        vm = V_RE.search(body)
        if vm is None or vm.span(1) != (c_start - b0, c_end - b0) or vm.start() != open_start - b0:
            raise NotEligible("the scanner reads another <v>")
        if b"f" in body:
            fm = F_RE.search(body)
            if fm is not None and fm.end() > open_start - b0:
                raise NotEligible("value inside a formula")
        if IS_RE.search(body) or _IS_ELEM.search(body):
            raise NotEligible("inline string with a value")
        wm = _V_ELEM.search(body)
        if wm is None or wm.span() != (open_start - b0, close_end - b0):
            raise NotEligible("write-back would patch another <v>")
        tm = re.search(rb'\bt\s*=\s*["\']([^"\']*)["\']', m.group(2))
        ordinal_cell.append(rc)
        ordinal_type.append(tm.group(1).decode() if tm else None)
    s_without = any(rc not in owned and _t_of(xml, c) == "s" for _, rc, c in cells)
    return SheetLayout(si, sheet.part, xml, cut[0::4], cut[1::4], cut[3::4], cut[2::4], starts, ordinal_cell, ordinal_type, s_without)


def _t_of(xml: bytes, cell: Any) -> str | None:
    m = CELL_RE.match(xml, cell.span[0])
    tm = re.search(rb'\bt\s*=\s*["\']([^"\']*)["\']', m.group(2)) if m else None
    return tm.group(1).decode() if tm else None


@dataclass
class FileView:
    """A file read through a :class:`Layout`: the layout's structure and the file's own values."""

    layout: Layout
    parts: Mapping[str, bytes]
    offsets: dict[str, array.array]  # per sheet part: where each piece of the cut starts (and the end)
    overrides: dict[Key, Any]

    def value(self, key: Key) -> Any:
        if key in self.overrides:
            return self.overrides[key]
        si, r, c = key
        cell = self.layout.wb.sheets[si].cells.get((r, c)) if si < len(self.layout.wb.sheets) else None
        return None if cell is None else cell.value

    def _offsets(self, part: str) -> array.array:
        return self.offsets[part]

    def materialize(self) -> WorkbookData:
        """The :class:`.package.WorkbookData` the full scan would give for this file (spans included)."""
        sheets = []
        by_index = {sl.index: sl for sl in self.layout.sheets}
        for si, sheet in enumerate(self.layout.wb.sheets):
            sl = by_index.get(si)
            if sl is None:
                sheets.append(dataclasses.replace(sheet, cells=dict(sheet.cells)))
                continue
            offs = self._offsets(sl.part)
            cells = {}
            for rc, cell in sheet.cells.items():
                i0, o0 = sl.locate(cell.span[0])
                i1, o1 = sl.locate(cell.span[1])
                value = self.overrides.get((si, *rc), cell.value)
                cells[rc] = dataclasses.replace(cell, value=value, span=(offs[i0] + o0, offs[i1] + o1))
            sheets.append(dataclasses.replace(sheet, cells=cells))
        return WorkbookData(sheets, list(self.layout.wb.names))

    def patched(self, results: Mapping[Key, Any]) -> dict[str, bytes]:
        """Each sheet part with the cached values of ``results`` written, as :mod:`.writeback` would."""
        layout = self.layout
        order = tuple(results)
        plan = layout.targets.get(order)
        if plan is None:
            plan = {}
            by_index = {sl.index: sl for sl in layout.sheets}
            for key in order:
                si, r, c = key
                sl = by_index.get(si)
                cell = layout.wb.sheets[si].cells.get((r, c))
                if cell is None or sl is None:  # a spill into a cell the sheet does not store: left alone
                    continue
                plan.setdefault(sl.part, []).append((key, sl.cell_target((r, c), cell.span)))
            for writes in plan.values():
                writes.sort(key=lambda w: (w[1][0], w[1][1]))
            if len(layout.targets) > 8:
                layout.targets.clear()
            layout.targets[order] = plan
        out = {}
        for part, writes in plan.items():
            offs = self._offsets(part)
            spans = [(offs[i0] + o0, offs[i1] + o1, results[key]) for key, (i0, o0, i1, o1, _) in writes]
            xml = self.parts[part]
            new = writeback.patch_sheet(xml, spans, [w[1][4] for w in writes])
            if new != xml:  # an unchanged sheet is copied raw
                out[part] = new
        return out


_LAYOUTS: dict[bytes, list[Layout]] = {}
_SEEN: set[bytes] = set()


def remember(parts: Mapping[str, bytes], wb: WorkbookData, fp: str) -> None:
    """Keep the layout of a fully scanned file for the files that follow (per process, bounded)."""
    try:
        layout = build_layout(parts, wb, fp)
    except (NotEligible, WorkbookError, KeyError):
        return
    if sum(len(v) for v in _LAYOUTS.values()) >= MAX_LAYOUTS:
        _LAYOUTS.clear()
    bucket = _LAYOUTS.setdefault(layout.key, [])
    if len(bucket) >= MAX_PER_KEY:
        bucket.pop(0)
    bucket.append(layout)


def worth_remembering(parts: Mapping[str, bytes]) -> bool:
    """Whether to build a layout from this fully scanned file (≈ 10 ms for the template).

    Only once its ``workbook.xml`` has been seen before — a batch of unrelated workbooks
    pays nothing — and only a few layouts per ``workbook.xml``: files that match none of
    them are simply scanned in full.
    """
    key = layout_key(parts)
    if key not in _SEEN:
        if len(_SEEN) >= MAX_SEEN:
            _SEEN.clear()
        _SEEN.add(key)
        return False
    return len(_LAYOUTS.get(key, ())) < MAX_PER_KEY


def read_via_layout(parts: Mapping[str, bytes]) -> FileView | None:
    """The file read through a remembered layout, or None (then read it with the full scan)."""
    bucket = _LAYOUTS.get(layout_key(parts))
    if not bucket:
        return None
    for name, data in parts.items():  # as read_workbook: no part may carry a DTD, whatever its name
        if looks_like_xml(name, data):
            check_no_dtd(name, data)
    for layout in reversed(bucket):
        view = _match(layout, parts)
        if view is not None:
            return view
    return None


def _match(layout: Layout, parts: Mapping[str, bytes]) -> FileView | None:
    """The file read through ``layout``, or None when anything but cached values differs."""
    if _book_xml(parts) != layout.book_xml:
        return None
    strings = _shared_of(layout, parts)
    if strings is None:
        return None
    shared, same_shared = strings
    offsets = {}
    overrides: dict[Key, Any] = {}
    for sl in layout.sheets:
        xml = parts.get(sl.part)
        if xml is None:
            return None
        cut = V_SPLIT.split(xml)
        if len(cut) != len(sl.texts) * 4 - 3 or cut[0::4] != sl.texts or cut[1::4] != sl.opens or cut[3::4] != sl.closes:
            return None
        if not same_shared and sl.s_without_ordinal:
            return None
        offsets[sl.part] = array.array("q", itertools.accumulate(map(len, cut), initial=0))
        changed = _changed_values(sl, cut[2::4], shared, same_shared)
        if changed is None:
            return None
        overrides.update(changed)
    return FileView(layout, parts, offsets, overrides)


def _shared_of(layout: Layout, parts: Mapping[str, bytes]) -> tuple[list[str], bool] | None:
    """The file's shared strings and whether they equal the layout's; None when unreadable or missing."""
    if layout.ss_part is None or parts.get(layout.ss_part) == layout.ss_bytes:
        return layout.shared, True
    data = parts.get(layout.ss_part)
    if data is None:
        return None
    try:
        return shared_strings(layout.ss_part, data), False
    except WorkbookError:
        return None


def _changed_values(sl: SheetLayout, contents: list[bytes], shared: list[str], same_shared: bool) -> dict[Key, Any] | None:
    """The cells of one sheet whose value differs from the layout's file, decoded; None when one fails to decode."""
    if same_shared and contents == sl.contents:
        return {}
    out: dict[Key, Any] = {}
    try:
        for k, (new, old) in enumerate(zip(contents, sl.contents)):
            if new != old and not _well_formed_text(new):  # the full scan refuses the part (expat): let it say why
                return None
            if new != old or (not same_shared and sl.ordinal_type[k] == "s"):
                rc = sl.ordinal_cell[k]
                if rc is not None:
                    out[(sl.index, *rc)] = _cell_value(sl.ordinal_type[k], new, None, shared)
    except (WorkbookError, ValueError):  # the full scan gives the error (UnicodeDecodeError included)
        return None
    return out


_REFERENCE = re.compile(rb"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);")
_NOT_XML_CHAR = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _well_formed_text(content: bytes) -> bool:
    """Whether a ``<v>`` content is character data expat accepts: UTF-8, XML characters, only XML's own references.

    Everything around the contents is byte-identical to a part the full scan found
    well-formed, so this is all that can make the file's part differ in that respect.
    """
    if _NOT_XML_CHAR.search(content) or (b"&" in content and b"&" in _REFERENCE.sub(b"", content)):
        return False
    if b"]]>" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clear() -> None:
    _LAYOUTS.clear()
    _SEEN.clear()
