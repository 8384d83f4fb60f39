"""Self-healing KPI links: which links and formulas of a workbook the add-in repairs, as pure functions.

A workbook travels. Excel stores a ``KPI_*`` call it bound to the loaded add-in as an external
reference to the add-in's path on that machine (``[1]!KPI_STAGE(C6)`` in the file, shown as
``'C:\\Users\\aiko\\…\\kpitree.xlam'!KPI_STAGE(C6)``); a colleague whose add-in lives elsewhere gets
an "update links" prompt. A call typed or saved while the add-in was not loaded is stored as
``_xludf.KPI_STAGE(C6)``, or kept as the bare name and shows ``#NAME?`` until it is entered again.

When Excel opens a workbook the add-in (module ``KpiRelink`` of ``kpitree.xlam``, a line-for-line
mirror of this module; the ribbon's 関数を再接続 / Relink KPI functions runs the same on demand):

* touches only a workbook of kpitree's: one of :data:`MARK_NAMES` among its names, a link to a
  ``kpitree.xlam``, or a ``KPI_`` in a formula (:func:`is_kpitree_book`);
* points every link to a ``kpitree.xlam`` at another path to the loaded add-in
  (``Workbook.ChangeLink``; :func:`is_addin_link`);
* enters again each formula :func:`relinked_formula` gives a text for: ``_xludf.KPI_`` becomes
  ``KPI_``, a ``KPI_`` call showing ``#NAME?`` is entered as it is (so Excel binds it); a call through
  a link is left to the link;
* recalculates the workbook and never saves it.

The facts are what Excel's object model shows (``Workbook.Names``, ``Workbook.LinkSources``,
``Range.Formula``, ``Range.Value``); :func:`facts_from_file` reads the same facts from a saved file,
so the decision can be checked on the three spellings without Excel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

ADDIN_FILE = "kpitree.xlam"  # what Excel calls the add-in (build.ADDIN_FILE_NAME)
FUNCTION_PREFIX = "KPI_"
XLUDF_PREFIX = "_xludf."
# named cells every kpitree workbook has (the template's contract, kpitree new --template checks them)
MARK_NAMES = ("months_since_launch", "kgi_annual_revenue", "stage_label", "bottleneck")


@dataclass(frozen=True)
class FormulaCell:
    """A formula cell as Excel shows it: ``formula`` with its ``=``, and whether the cell shows ``#NAME?``."""

    sheet: str
    ref: str
    formula: str
    shows_name_error: bool = False


@dataclass(frozen=True)
class BookFacts:
    """What the decision reads of a workbook: its defined names, its links (full paths), its formula cells."""

    names: tuple[str, ...]
    links: tuple[str, ...]
    cells: tuple[FormulaCell, ...]


@dataclass(frozen=True)
class RelinkPlan:
    """What to change: links ``(old, new)`` and formulas ``(sheet, ref, new formula)``; nothing for another workbook."""

    kpitree_book: bool
    links: tuple[tuple[str, str], ...] = ()
    formulas: tuple[tuple[str, str, str], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.links or self.formulas)

    def message(self) -> tuple[str, str]:
        """(ja, en) the ribbon button shows; the VBA builds the same text from the same keys."""
        from kpitree.udfs.texts import both

        if not self.kpitree_book:
            return both("ribbon.msg.relinkNotKpitree")
        if not self.changed:
            return both("ribbon.msg.relinkNothing")
        ja, en = both("ribbon.msg.relinked")  # as the VBA does it: Replace of {links} and {formulas}
        counts = {"{links}": str(len(self.links)), "{formulas}": str(len(self.formulas))}
        for key, value in counts.items():
            ja, en = ja.replace(key, value), en.replace(key, value)
        return ja, en


def _file_name(path: str) -> str:
    return re.split(r"[\\/:]", path)[-1]


def is_addin_link(link: str) -> bool:
    """Whether a link points at a ``kpitree.xlam`` (any folder, any case). VBA: ``KpiIsAddinLink``."""
    return _file_name(link).lower() == ADDIN_FILE.lower()


def is_kpitree_book(facts: BookFacts) -> bool:
    """One of kpitree's named cells, a link to a ``kpitree.xlam``, or a ``KPI_`` in a formula. VBA: ``KpiIsKpitreeBook``."""
    marks = {m.lower() for m in MARK_NAMES}
    if any(name.split("!")[-1].lower() in marks for name in facts.names):
        return True
    if any(is_addin_link(link) for link in facts.links):
        return True
    return any(FUNCTION_PREFIX.lower() in c.formula.lower() for c in facts.cells)


def _replace_text(text: str, old: str, new: str) -> str:
    """VBA's ``Replace(text, old, new, , , vbTextCompare)``: every ``old`` in any case."""
    return re.sub(re.escape(old), lambda _: new, text, flags=re.IGNORECASE)


def relinked_formula(formula: str, shows_name_error: bool) -> str | None:
    """The formula to enter again, or None to leave the cell. VBA: ``KpiRelinkedFormula`` ("" for None).

    ``=_xludf.KPI_X(…)`` → ``=KPI_X(…)``; ``=KPI_X(…)`` showing ``#NAME?`` → itself (entering it binds it);
    a call through a link (``…kpitree.xlam'!KPI_X(…)``, ``[1]!KPI_X(…)``) → None: the link is changed instead."""
    upper = formula.upper()
    if FUNCTION_PREFIX not in upper:
        return None
    if "!" + FUNCTION_PREFIX in upper:
        return None
    if (XLUDF_PREFIX + FUNCTION_PREFIX).upper() in upper:
        return _replace_text(formula, XLUDF_PREFIX + FUNCTION_PREFIX, FUNCTION_PREFIX)
    if shows_name_error:
        return formula
    return None


def plan_relink(facts: BookFacts, addin_path: str) -> RelinkPlan:
    """What the add-in loaded from ``addin_path`` changes in a workbook. VBA: ``KpiRelinkBook``."""
    if not is_kpitree_book(facts):
        return RelinkPlan(False)
    links = tuple((link, addin_path) for link in facts.links
                  if is_addin_link(link) and link.lower() != addin_path.lower())
    formulas = tuple((c.sheet, c.ref, new) for c in facts.cells
                     if (new := relinked_formula(c.formula, c.shows_name_error)) is not None)
    return RelinkPlan(True, links, formulas)


# --- the same facts from a saved file -------------------------------------------------------------------


def link_path(target: str) -> str:
    """A link's full path as ``Workbook.LinkSources`` gives it, from its relationship target (``file:///C:\\…``)."""
    for prefix in ("file:///", "file://"):
        if target.lower().startswith(prefix):
            return target[len(prefix):]
    return target


def facts_from_file(path: str | os.PathLike[str]) -> BookFacts:
    """The facts Excel would show for a saved workbook: ``[n]!`` shown as the link's quoted path, a cell
    whose cached value is ``#NAME?`` as one that shows it."""
    from kpitree.recalculation.io.package import load
    from kpitree.udfs.excel_values import XlError

    _infos, _parts, wb = load(path)
    links = tuple(link_path(t) for t in wb.links)

    def shown(formula: str) -> str:
        def path_of(match: re.Match[str]) -> str:
            n = int(match.group(1))
            return f"'{links[n - 1]}'!" if 1 <= n <= len(links) else match.group(0)

        return "=" + re.sub(r"\[(\d+)\]!", path_of, formula)

    cells = tuple(FormulaCell(sheet.name, cell.ref, shown(cell.formula), cell.value == XlError.NAME)
                  for sheet in wb.sheets for cell in sheet.cells.values() if cell.formula)
    names: Sequence[str] = [n.name if n.sheet_index is None else f"{wb.sheets[n.sheet_index].name}!{n.name}"
                            for n in wb.names]
    return BookFacts(tuple(names), links, cells)
