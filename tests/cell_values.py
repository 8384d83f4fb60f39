"""Constant cells written straight into a workbook's sheet XML, for tests that vary a workbook's inputs.

A writer of its own, independent of the code under test (openpyxl would drop the cached values and
the dynamic-array marks; the engine's and the portable copy's writers are what the tests check).
``""`` is written as a formula giving it, the way it reaches a cell in practice: LibreOffice reads a
stored empty text of an .xlsx as a blank cell (a documented deviation, docs/recalc.md), a formula's
``""`` as text.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from kpitree.recalculation.io.package import CELL_RE, attrs, col_letters, load, split_ref
from kpitree.udfs.excel_values import XlError
from kpitree.workbook_templates.names import NAMED_CELLS

ROOT_DIR = Path(__file__).resolve().parent.parent


def _cell_xml(ref: str, style: str | None, value: Any) -> str:
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{ref}"{s}/>'
    if value == "":  # "" as a formula gives it, the way it reaches a cell in practice: LibreOffice reads a stored
        # empty text of an .xlsx as a blank cell (a documented deviation, docs/recalc.md), a formula's "" as text
        return f'<c r="{ref}"{s} t="str"><f>""</f><v></v></c>'
    if isinstance(value, XlError):
        return f'<c r="{ref}"{s} t="e"><v>{value.text}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, str):
        text = value.replace("&", "&amp;").replace("<", "&lt;")
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c r="{ref}"{s}><v>{float(value)!r}</v></c>'


def set_cells(src: Path, out: Path, values: dict[tuple[str, str], Any]) -> Path:
    """A copy of ``src`` with the stored cells ``(sheet, "C6")`` holding new constants."""
    _, parts, wb = load(src)
    by_part: dict[str, dict[str, Any]] = {}
    for (sheet, ref), value in values.items():
        part = next(s.part for s in wb.sheets if s.name == sheet)
        by_part.setdefault(part, {})[ref] = value
    for part, cells in by_part.items():
        xml = parts[part].decode("utf-8")

        def swap(m: re.Match[str], cells: dict[str, Any] = cells) -> str:
            a = attrs(m.group(2).encode())
            if a["r"] not in cells:
                return m.group(0)
            return _cell_xml(a["r"], a.get("s"), cells.pop(a["r"]))

        xml = re.sub(CELL_RE.pattern.decode(), swap, xml, flags=re.S)
        assert not cells, f"cells not stored in {part}: {cells}"
        parts[part] = xml.encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out


def input_places(lang: str) -> dict[str, list[tuple[str, str]]]:
    """Each named input's cells (sheet title, ref), ranges cell by cell."""
    from kpitree.workbook_templates.spec import SHEETS

    out = {}
    for c in NAMED_CELLS:
        if c.kind not in ("input", "input range"):
            continue
        sheet = SHEETS[lang][c.sheet - 1]
        first, _, last = c.ref.partition(":")
        r1, c1 = split_ref(first)
        r2, c2 = split_ref(last or first)
        out[c.name] = [(sheet, f"{col_letters(cc)}{rr}") for rr in range(r1, r2 + 1) for cc in range(c1, c2 + 1)]
    return out


