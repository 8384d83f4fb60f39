"""The portable copy of a workbook (``kpitree share``): every ``KPI_*`` call in Excel's own functions.

A kpitree workbook computes with the add-in's ``KPI_*`` functions; opened anywhere the add-in
is not (Excel on the web, on a Mac or a phone, LibreOffice, Google Sheets) those cells turn to
``#NAME?`` at the first recalculation. :func:`share` writes a copy that stays live everywhere —
inputs editable, everything recomputed — with no add-in, no macros and no Python:

* each scalar, status and stage call becomes the function's native form inside the input
  policy's checks (:mod:`.expand`); each table and series call gets cells on a hidden,
  protected lookup sheet the copy carries (:mod:`.tables`);
* the external links to ``kpitree.xlam`` (how Excel stores an add-in's function), the VBA
  project and the calculation chain are left out; every other part is copied byte for byte
  except where the rewritten cells are (:mod:`.package`);
* defined names are kept, so ``kpitree recalc`` and scripts address the copy as the original;
* the copy then goes through the recalculation engine (``recalc_file``), so every cell carries
  its value for previews, and is written atomically; the original is only ever read.

The proof is tests/test_portable.py: LibreOffice's recalculation of the copy equals kpitree's
engine on the original, cell by cell, for the templates and many random input sets.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpitree.udfs.catalogue import Lang
from kpitree.udfs.texts import text_list

from .expand import TABLE_KINDS, Call, Expander, PortableError, arguments, check_limits, error, find_calls
from .package import (
    CT_WORKSHEET,
    MACRO_RELS,
    REL_WORKSHEET,
    Edit,
    add_override,
    add_relationship,
    add_sheet,
    defined_names,
    edit_sheet,
    first_row_ref,
    plain_workbook_type,
    relationships,
    rels_of,
    remove_external_references,
    remove_overrides,
    remove_relationships,
    replace_defined_names,
    sheet_xml,
    target_path,
)
from .tables import SHEET_TITLE, Context, LookupSheet, bottleneck, series, stage_recommend

__all__ = ["PortableError", "ShareReport", "share"]


@dataclass
class ShareReport:
    """What :func:`share` did: calls replaced per function, cells of the lookup sheet, parts left out."""

    out: Path
    calls: dict[str, int] = field(default_factory=dict)
    cells: int = 0
    lookup_sheet: str | None = None
    links_removed: int = 0
    vba_removed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "replaced": self.replaced, "calls": dict(sorted(self.calls.items())), "cells": self.cells,
                "lookup_sheet": self.lookup_sheet, "links_removed": self.links_removed, "vba_removed": self.vba_removed,
                "notes": list(self.notes)}


def workbook_lang(sheet_names: list[str]) -> Lang:
    """en when the workbook has the English template's sheets, else ja (the lookup sheet's notes)."""
    en = text_list("template.sheets", "en")
    return "en" if sum(t in sheet_names for t in en) > sum(t in sheet_names for t in text_list("template.sheets", "ja")) else "ja"


def share(src: str | os.PathLike[str], out: str | os.PathLike[str], *, force: bool = False) -> ShareReport:
    """Write the portable copy of ``src`` to ``out`` (an ``.xlsx``, never ``src`` itself); see the module doc.

    An existing ``out`` is replaced only with ``force`` (atomically, keeping its mode and links). Raises
    :class:`PortableError` (a :class:`~kpitree.errors.UserError`) for a workbook that cannot be made
    portable, naming the cell; nothing is written then.
    """
    from kpitree.recalculation import WorkbookError, recalc_file
    from kpitree.recalculation.io.outputs import atomic_path, check_not_inputs, check_replaceable, real
    from kpitree.recalculation.io.package import load

    src, out = Path(src), Path(out)
    if out.suffix.lower() != ".xlsx":
        raise error("share.xlsx_only", out=out)
    check_not_inputs([("the copy", out)], [src])
    if out.exists() and not force:
        raise error("share.exists", out=out)
    check_replaceable(real(out))
    try:
        infos, parts, wb = load(src)
    except WorkbookError as exc:
        raise error("share.unreadable", path=src, why=exc) from None
    report = ShareReport(out)
    new_parts = _copy_parts(parts, wb, report)
    folder = Path(real(out)).parent
    with tempfile.TemporaryDirectory(prefix=".kpitree-", dir=folder) as tmp:
        staged = Path(tmp) / out.name
        _write_zip(staged, [i.filename for i in infos], new_parts)
        try:
            recalc_file(staged, out)
        except WorkbookError as exc:  # the copy is still right; Excel computes its values when it opens it
            report.notes.append(f"cached values not computed ({exc}); Excel recalculates the copy when it opens it")
            _force_full_calc(staged)
            with atomic_path(out, suffix=".xlsx") as placed:
                os.replace(staged, placed)
    return report


def _write_zip(path: Path, order: list[str], parts: dict[str, bytes]) -> None:
    names = [n for n in order if n in parts] + [n for n in parts if n not in order]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            z.writestr(name, parts[name])


def _force_full_calc(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    book = parts["xl/workbook.xml"].decode("utf-8")
    if "<calcPr" in book:
        book = re.sub(r"<calcPr\b", '<calcPr fullCalcOnLoad="1"', re.sub(r'\sfullCalcOnLoad="[^"]*"', "", book), count=1)
    else:
        book = book.replace("</workbook>", '<calcPr fullCalcOnLoad="1"/></workbook>')
    parts["xl/workbook.xml"] = book.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())


# --- the copy, part by part ----------------------------------------------------------------------------


def _copy_parts(parts: dict[str, bytes], wb: Any, report: ShareReport) -> dict[str, bytes]:
    copy = _Copy(parts, wb, report)
    copy.cells()
    return copy.package()


class _Copy:
    """The copy being made: the cells rewritten per sheet, the lookup sheet, what the report says."""

    def __init__(self, parts: dict[str, bytes], wb: Any, report: ShareReport):
        from kpitree.recalculation.graph import Resolver

        self.parts, self.wb, self.report = parts, wb, report
        self.resolver = Resolver(wb)
        self.addin_links = [i + 1 for i in range(len(wb.links)) if self.resolver.link_is_addin(i + 1)]
        self.renumber = _link_numbers(len(wb.links), self.addin_links)
        sheet_names = [s.name for s in wb.sheets]
        self.lookup = LookupSheet(_free_title(sheet_names), workbook_lang(sheet_names))
        self.used_lookup = False
        self.names = _names(wb)
        self.edits: dict[int, dict[tuple[int, int], Edit]] = {}
        self.anchors: dict[tuple[int, int, int], str] = {}  # table anchors -> their block, for A1# references

    def is_addin(self, link: int) -> bool:
        return bool(self.resolver.link_is_addin(link))

    def edit(self, si: int, r: int, c: int, edit: Edit) -> None:
        self.edits.setdefault(si, {})[(r, c)] = edit

    def cells(self) -> None:
        from kpitree.recalculation.graph import formula_cells

        formulas = formula_cells(self.wb)
        for (si, r, c), formula in formulas.items():
            cell = self.wb.sheets[si].cells[(r, c)]
            calls = find_calls(formula, self.is_addin) if "KPI_" in formula.upper() else []
            if not calls:
                if self.renumber and "[" in formula:
                    self.edit(si, r, c, _kept(cell, _renumber(formula, self.renumber)))
                continue
            whole = len(calls) == 1 and calls[0].start == 0 and calls[0].end == len(formula.rstrip())
            if whole and calls[0].function.kind in TABLE_KINDS:
                self.table(si, cell, calls[0])
            else:
                self.formula(si, cell, formula)
        if self.anchors:
            _spill_references(self.wb, formulas, self.anchors, self.edits)

    def context(self, si: int, ref: str) -> Context:
        sheet = self.wb.sheets[si]
        return Context(sheet.name, f"{sheet.name}!{ref}", self.names[si][1], self.names[si][0])

    def table(self, si: int, cell: Any, call: Call) -> None:
        """A table function's block: each cell its piece, over the lookup sheet."""
        self.used_lookup = True
        ctx = self.context(si, cell.ref)
        r, c = _split(cell.ref)
        block = first_row_ref(cell.fref) if cell.ftype == "array" and cell.fref else (r, c, r, c)
        expander = Expander(self.is_addin, where=ctx.where, counts=self.report.calls)
        expander.count(call)
        args = arguments(call, self.is_addin, expander.expand)
        lay = stage_recommend if call.function.kind == "stage_recommend" else bottleneck
        rows = lay(self.lookup, ctx, args, (block[2] - block[0] + 1, block[3] - block[1] + 1))
        for i, line in enumerate(rows):
            for j, formula in enumerate(line):
                if formula is not None:
                    check_limits(formula[1:], f"{ctx.sheet}!{_ref(block[0] + i, block[1] + j)}")
                self.edit(si, block[0] + i, block[1] + j, Edit(formula[1:] if formula else None))
        self.anchors[(si, r, c)] = f"{_ref(block[0], block[1])}:{_ref(block[2], block[3])}"

    def formula(self, si: int, cell: Any, formula: str) -> None:
        """A formula with scalar, status, stage or series calls: rewritten in place."""
        ctx = self.context(si, cell.ref)

        def lay_series(call: Call, args: list[Any]) -> str:
            self.used_lookup = True
            return series(self.lookup, ctx, call, args)

        new = Expander(self.is_addin, cells=lay_series, where=ctx.where, counts=self.report.calls).formula(formula)
        r, c = _split(cell.ref)
        self.edit(si, r, c, _kept(cell, _renumber(new, self.renumber) if self.renumber else new))

    def package(self) -> dict[str, bytes]:
        """Every part of the copy."""
        parts, new = self.parts, dict(self.parts)
        for si, sheet_edits in self.edits.items():
            part = self.wb.sheets[si].part
            new[part] = edit_sheet(parts[part], sheet_edits)
        workbook = _rewrite_names(parts["xl/workbook.xml"].decode("utf-8"), self.is_addin, self.renumber, self.report)
        rels_name = rels_of(parts, "xl/workbook.xml")
        rels = parts[rels_name].decode("utf-8")
        types = parts["[Content_Types].xml"].decode("utf-8")
        removed: list[str] = []
        # external links to the add-in, macros and what calls them, the calculation chain (Excel rebuilds it)
        drop: set[str] = set()
        links: set[str] = set()
        for _, a in relationships(rels):
            kind = a.get("Type", "")
            link = kind.endswith("/externalLink") and _link_index(workbook, a.get("Id", "")) in self.addin_links
            if link or kind.endswith("/calcChain") or any(kind.endswith("/" + m) for m in MACRO_RELS):
                drop.add(a["Id"])
                (links if link else drop).add(a["Id"])
                removed += _with_dependents(parts, target_path("xl/workbook.xml", a.get("Target", "")))
                self.report.vba_removed |= "vbaProject" in kind
        if links:
            workbook = remove_external_references(workbook, links)
            self.report.links_removed = len(links)
        rels = remove_relationships(rels, drop)
        if "_rels/.rels" in parts:  # the package's own: a ribbon of the workbook (customUI) calls its macros
            root = parts["_rels/.rels"].decode("utf-8")
            ribbons = [a for _, a in relationships(root) if any(a.get("Type", "").endswith("/" + m) for m in MACRO_RELS)]
            for a in ribbons:
                removed += _with_dependents(parts, target_path("", a.get("Target", "")))
            new["_rels/.rels"] = remove_relationships(root, [a["Id"] for a in ribbons]).encode("utf-8")
        for name in removed:
            new.pop(name, None)
        types = plain_workbook_type(remove_overrides(types, removed), "xl/workbook.xml")
        if self.used_lookup:
            part, rid = _free_part(parts), _free_rid(rels)
            new[part] = sheet_xml(self.lookup.cells, LOOKUP_WIDTHS)
            rels = add_relationship(rels, rid, REL_WORKSHEET, part[len("xl/"):])
            types = add_override(types, part, CT_WORKSHEET)
            workbook = add_sheet(workbook, self.lookup.title, rid)
            self.report.lookup_sheet = self.lookup.title
            self.report.cells = sum(1 for v in self.lookup.cells.values() if isinstance(v, str) and v.startswith("="))
        new["xl/workbook.xml"] = workbook.encode("utf-8")
        new[rels_name] = rels.encode("utf-8")
        new["[Content_Types].xml"] = types.encode("utf-8")
        return new


LOOKUP_WIDTHS = {1: 28, 3: 14, 6: 12, 7: 22, 8: 6, 9: 30, 15: 14, 16: 24, 17: 30}  # columns of the lookup sheet's tables


def _split(ref: str) -> tuple[int, int]:
    from kpitree.recalculation.io.package import split_ref

    return split_ref(ref)


def _with_dependents(parts: dict[str, bytes], part: str) -> list[str]:
    """A part, its relationships part and the parts only it points at (a ribbon's pictures, a link's cache)."""
    rels = rels_of(parts, part)
    out = [part, rels]
    if rels in parts:
        for _, a in relationships(parts[rels].decode("utf-8")):
            if a.get("TargetMode") != "External":
                out.append(target_path(part, a.get("Target", "")))
    return out


def _ref(r: int, c: int) -> str:
    from kpitree.recalculation.io.package import col_letters

    return f"{col_letters(c)}{r}"


def _kept(cell: Any, formula: str) -> Edit:
    """A rewritten formula in a cell that keeps its kind (an array formula stays one over its range)."""
    return Edit(formula, cell.fref if cell.ftype == "array" and cell.fref else None)


def _free_title(sheet_names: list[str]) -> str:
    taken = {n.upper() for n in sheet_names}
    title, n = SHEET_TITLE, 1
    while title.upper() in taken:
        n += 1
        title = f"{SHEET_TITLE}{n}"
    return title


def _free_part(parts: dict[str, bytes]) -> str:
    n = 1
    while f"xl/worksheets/sheet{n}.xml" in parts:
        n += 1
    return f"xl/worksheets/sheet{n}.xml"


def _free_rid(rels: str) -> str:
    taken = {a.get("Id") for _, a in relationships(rels)}
    n = 1
    while f"rIdKpitree{n}" in taken:
        n += 1
    return f"rIdKpitree{n}"


def _names(wb: Any) -> list[tuple[dict[str, str], set[str]]]:
    """Per sheet: the names its formulas see (upper-cased -> formula; the sheet's own win), and its own names."""
    out = []
    for si in range(len(wb.sheets)):
        seen = {n.name.upper(): n.text for n in wb.names if n.sheet_index is None}
        local = {n.name.upper(): n.text for n in wb.names if n.sheet_index == si}
        out.append(({**seen, **local}, set(local)))
    return out


def _link_index(workbook: str, rid: str) -> int | None:
    """The number [n] formulas give the external link of relationship ``rid`` (its place in externalReferences)."""
    refs = re.findall(r'<(?:\w+:)?externalReference\b[^>]*?\w+:id\s*=\s*"([^"]*)"', workbook)
    return refs.index(rid) + 1 if rid in refs else None


def _link_numbers(count: int, removed: list[int]) -> dict[int, int]:
    """Old link number -> new one, when links before it go (empty when no other link changes number)."""
    mapping, new = {}, 0
    for old in range(1, count + 1):
        if old in removed:
            continue
        new += 1
        if new != old:
            mapping[old] = new
    return mapping


def _renumber(formula: str, mapping: dict[int, int]) -> str:
    """``[n]`` of the external references of a formula renumbered (links before them were removed)."""
    from kpitree.recalculation.parser import Lexer

    out, pos = [], 0
    for tok in Lexer(formula).run():
        if tok.link in mapping:
            start = formula.index(f"[{tok.link}]", tok.pos)
            out.append(formula[pos:start] + f"[{mapping[tok.link]}]")
            pos = start + len(f"[{tok.link}]")
    out.append(formula[pos:])
    return "".join(out)


def _rewrite_names(workbook: str, is_addin: Any, renumber: dict[int, int], report: ShareReport) -> str:
    """Defined names whose formula calls a ``KPI_*`` function: in Excel's own functions too."""
    import html

    texts = {}
    for i, m in enumerate(defined_names(workbook)):
        formula = html.unescape(m.group(2))
        calls = find_calls(formula, is_addin) if "KPI_" in formula.upper() else []
        name = re.search(r'name\s*=\s*"([^"]*)"', m.group(1))
        where = html.unescape(name.group(1)) if name else "?"
        if calls:
            formula = Expander(is_addin, where=where, counts=report.calls).formula(formula)
        elif not (renumber and "[" in formula):
            continue
        texts[i] = _renumber(formula, renumber) if renumber else formula
    return replace_defined_names(workbook, texts)


def _spill_references(wb: Any, formulas: dict[tuple[int, int, int], str], anchors: dict[tuple[int, int, int], str],
                      edits: dict[int, dict[tuple[int, int], Edit]]) -> None:
    """``A27#`` (the spill of a table that is now cells of its own) written as the block it covered."""
    from kpitree.recalculation.parser import Lexer

    for (si, r, c), formula in formulas.items():
        if "#" not in formula:
            continue
        current = edits.get(si, {}).get((r, c))
        text = current.formula if current is not None and current.formula is not None else formula
        tokens = Lexer(text).run()
        out, pos = [], 0
        for tok, nxt in itertools.pairwise(tokens):
            if tok.kind == "ref" and nxt.kind == "op" and nxt.text == "#" and tok.ref is not None:
                sheet_name, row, col = tok.ref[0], tok.ref[1], tok.ref[2]
                target = si if sheet_name is None else next(
                    (i for i, s in enumerate(wb.sheets) if s.name.upper() == sheet_name.upper()), None)
                block = anchors.get((target, row, col)) if target is not None else None
                if block is not None:
                    prefix = tok.text[: tok.text.rindex("!") + 1] if "!" in tok.text else ""
                    out.append(text[pos:tok.pos] + prefix + block)
                    pos = nxt.pos + 1
        if out:
            out.append(text[pos:])
            cell = wb.sheets[si].cells[(r, c)]
            edits.setdefault(si, {})[(r, c)] = _kept(cell, "".join(out))


def default_out(src: Path, lang: Lang | None = None) -> Path:
    """``<name>_共有用.xlsx`` (ja) / ``<name>_shared.xlsx`` (en) next to ``src``; ``-1``, ``-2``, … when taken.

    The language is the workbook's (its sheet titles) unless given."""
    from kpitree.udfs.texts import text

    if lang is None:
        lang = workbook_lang(_sheet_titles(src))
    suffix = text("share.suffix", lang)
    stem = f"{src.stem}{suffix}"
    candidate = src.with_name(stem + ".xlsx")
    n = 1
    while candidate.exists():
        candidate = src.with_name(f"{stem}-{n}.xlsx")
        n += 1
    return candidate



def _sheet_titles(path: Path) -> list[str]:
    """The sheet titles of a workbook, or none when it cannot be read (the copy then says why)."""
    from kpitree.recalculation import WorkbookError
    from kpitree.recalculation.io.package import read_members, read_workbook

    try:
        _, parts = read_members(path)
        return [s.name for s in read_workbook(parts).sheets]
    except (WorkbookError, OSError):
        return []
