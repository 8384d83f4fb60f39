"""A workbook's formula graph: parsed formulas, dependencies, cycles, fingerprint.

Formulas are parsed by :mod:`.parser` (Excel's formula language, parsed once per distinct
formula text); :class:`Resolver` turns sheet names, defined names (workbook- and
sheet-scoped, ``Sheet!name`` included) and external links into cells; the graph orders
the formula cells and refuses circular references. A fingerprint of formulas, names and
sheets groups workbooks that share a layout, so one compiled program serves them all.
"""

from __future__ import annotations

import collections
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kpitree.errors import KpitreeError

from .io.package import Cell, Key, WorkbookData, WorkbookError, col_letters, col_number, split_ref
from .parser import MAX_COL, MAX_ROW, FormulaSyntaxError, Node, deep_recursion, parse

MAX_RANGE_CELLS = 100_000  # a range the compiled path reads cell by cell; larger ones: only the stored cells
MAX_FILE_RANGE_CELLS = 4_000_000  # one file on its own (n = 1): a log sheet of a CRM export, B:B over 150,000
# rows, costs ≈ 18 bytes a cell; past this a range is refused (the file's error, the batch goes on)
ADDIN_FILE = "kpitree.xlam"


def parse_formula(text: str) -> Node:
    """The tree of one formula (without its leading ``=``); :class:`WorkbookError` when it cannot be read."""
    try:
        with deep_recursion():
            return parse(text)
    except FormulaSyntaxError as exc:
        raise WorkbookError(f"cannot parse formula ={text}: {exc}") from None
    except RecursionError:
        raise WorkbookError(f"formula nested too deeply to read: ={text[:60]}…") from None


# --- shared formulas ----------------------------------------------------------------------


def translate(formula: str, origin: str, dest: str) -> str:
    """A shared formula moved from ``origin`` to ``dest`` (relative parts shift)."""
    from openpyxl.formula.translate import Translator

    return Translator("=" + formula, origin=origin).translate_formula(dest)[1:]


def formula_cells(wb: WorkbookData) -> dict[Key, str]:
    """Every formula cell's text, shared formulas expanded; array/data-table formulas as stored."""
    out: dict[Key, str] = {}
    for si, sheet in enumerate(wb.sheets):
        masters: dict[str, Cell] = {}
        for cell in sheet.cells.values():
            if cell.ftype == "shared" and cell.formula and cell.si is not None:
                masters[cell.si] = cell
        for (r, c), cell in sheet.cells.items():
            if cell.formula is None:
                continue
            text = cell.formula
            if cell.ftype == "shared" and not text:
                master = masters.get(cell.si or "")
                if master is None:
                    raise WorkbookError(f"{sheet.name}!{cell.ref}: shared formula {cell.si} has no master cell")
                text = translate(master.formula or "", master.ref, cell.ref)
            out[(si, r, c)] = text
    return out


def fingerprint(wb: WorkbookData) -> str:
    """Same fingerprint, same formulas, names, sheets and links: one compiled program serves both."""
    h = hashlib.blake2b(digest_size=16)
    for sheet in wb.sheets:
        h.update(b"S" + sheet.name.encode() + b"\0")
        for cell in sheet.cells.values():
            if cell.formula is not None:
                h.update(f"{cell.ref}\0{cell.formula}\0{cell.ftype}\0{cell.fref}\0{cell.si}\0{cell.dynamic}\0".encode())
    for n in wb.names:
        h.update(f"N{n.name}\0{n.text}\0{n.sheet_index}\0".encode())
    for link in wb.links:
        h.update(f"L{link}\0".encode())
    return h.hexdigest()


# --- names and references -----------------------------------------------------------------


class Unsupported(KpitreeError):
    """The compiled path cannot vectorise this across files; the workbook is evaluated on its own.

    ``function`` (the innermost function that declined, set as the error leaves its call) and ``cell``
    (the formula's cell, set by the compiler or the program) say where; :meth:`because` says it all."""

    function = ""
    cell: Key | None = None

    def because(self, wb: WorkbookData | None = None) -> str:
        """``"OFFSET in F!A1: OFFSET whose position or size differs between input sets"``."""
        where = address(wb, self.cell) if wb is not None and self.cell is not None and self.cell[0] < len(wb.sheets) else ""
        head = " in ".join(p for p in (self.function, where) if p)
        return f"{head}: {self}" if head else str(self)

    def at(self, cell: Key | None, function: str = "") -> Unsupported:
        """Where it happened, where not known yet; returns itself (to re-raise)."""
        self.cell = self.cell if self.cell is not None else cell
        self.function = self.function or function
        return self


class Split(Unsupported):
    """The input sets must go on in groups from here: within a group the reference, position or size this
    formula needs is the same (an OFFSET moved by a value, FILTER keeping more rows in some files).
    ``labels`` gives each input set's group; the compiled path runs the rest of the program per group."""

    def __init__(self, reason: str, labels: Any):
        super().__init__(reason)
        self.labels = labels
        self.step = 0  # set by the program: the formula that asked


def split_by(reason: str, *keys: Any) -> Split:
    """A :class:`Split` grouping the input sets by ``keys`` (arrays over the input sets: equal keys, one group)."""
    import numpy as np

    columns = [k.reshape(-1).tolist() for k in np.broadcast_arrays(*(np.asarray(k) for k in keys))]
    groups: dict[tuple[Any, ...], int] = {}
    labels = [groups.setdefault(key, len(groups)) for key in zip(*columns)]
    return Split(reason, np.asarray(labels))


@dataclass
class Resolver:
    """Turns sheet names, defined names and external links of a workbook's formulas into cells."""

    wb: WorkbookData
    _extent: dict[int, tuple[int, int]] = field(default_factory=dict)

    def sheet_index(self, name: str | None, current: int) -> int | None:
        if name is None:
            return current
        key = name.upper()
        return next((i for i, s in enumerate(self.wb.sheets) if s.name.upper() == key), None)

    def name_node(self, name: str, current: int, scope: str | None = None) -> Node | None:
        """The parsed definition of a name: ``Sheet!name`` is that sheet's name; a bare name is the
        formula's sheet's own name if it has one, else the workbook's (Excel's rule)."""
        key = name.upper()
        if scope is not None:
            si = self.sheet_index(scope, current)
            found = [n for n in self.wb.names if n.name.upper() == key and n.sheet_index == si] if si is not None else []
            if not found:  # Sheet!name may also name a workbook-scoped name
                found = [n for n in self.wb.names if n.name.upper() == key and n.sheet_index is None]
        else:
            found = [n for n in self.wb.names if n.name.upper() == key and n.sheet_index in (current, None)]
            found.sort(key=lambda n: n.sheet_index is None)  # the sheet's own name wins
        if not found:
            return None
        return parse_formula(found[0].text)

    def link_is_addin(self, link: int) -> bool:
        """Whether external link ``[link]`` is kpitree's add-in, at whatever path and in whatever case."""
        target = self.wb.links[link - 1] if 1 <= link <= len(self.wb.links) else ""
        return re.split(r"[\\/]", target.strip())[-1].lower() == ADDIN_FILE

    def link_target(self, link: int) -> str:
        return self.wb.links[link - 1] if 1 <= link <= len(self.wb.links) else ""

    def extent(self, si: int) -> tuple[int, int]:
        """The last row and column holding a stored cell on sheet ``si`` (0, 0 for an empty sheet)."""
        if si not in self._extent:
            cells = self.wb.sheets[si].cells if si < len(self.wb.sheets) else {}
            self._extent[si] = (max((r for r, _ in cells), default=0), max((c for _, c in cells), default=0))
        return self._extent[si]

    def clamp(self, si: int, r1: int, c1: int, r2: int, c2: int) -> tuple[int, int, int, int]:
        """A whole-column or whole-row reference cut to the sheet's stored cells (the rest is blank)."""
        last_row, last_col = self.extent(si)
        if r1 == 1 and r2 == MAX_ROW:
            r2 = max(1, min(r2, last_row))
        if c1 == 1 and c2 == MAX_COL:
            c2 = max(1, min(c2, last_col))
        return r1, c1, r2, c2


def address(wb: WorkbookData, key: Key) -> str:
    si, r, c = key
    name = wb.sheets[si].name
    quoted = "'" + name.replace("'", "''") + "'" if re.search(r"[^A-Za-z0-9_]", name) else name
    return f"{quoted}!{col_letters(c)}{r}"


def _cells_of(resolver: Resolver, si: int, r1: int, c1: int, r2: int, c2: int) -> set[Key] | list[Key]:
    r1, c1, r2, c2 = resolver.clamp(si, r1, c1, r2, c2)
    if (r2 - r1 + 1) * (c2 - c1 + 1) <= MAX_RANGE_CELLS:
        return [(si, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
    # a huge range: only the cells that exist matter
    return [(si, r, c) for (r, c) in resolver.wb.sheets[si].cells if r1 <= r <= r2 and c1 <= c <= c2]


def dependencies(node: Node, current: int, resolver: Resolver, depth: int = 0, cell: Key | None = None) -> set[Key]:
    """Cells a formula reads (names followed); missing sheets and names simply add none. ``cell`` is the
    formula's own cell: an OFFSET whose position and size follow from it alone (:func:`static_offset`)
    reads exactly the cells it lands on."""
    out: set[Key] = set()
    stack = [(node, depth)]
    while stack:
        n, d = stack.pop()
        if n.kind == "ref" and n.ref is not None:
            sheet, r1, c1, r2, c2 = n.ref
            si = resolver.sheet_index(sheet, current)
            if si is not None:
                out.update(_cells_of(resolver, si, r1, c1, r2, c2))
        elif n.kind == "name" and d <= 50:
            target = resolver.name_node(n.value, current, n.scope)
            if target is not None:
                stack.append((target, d + 1))
        elif cell is not None and _is_offset(n):
            landed = static_offset(n, current, cell, resolver)
            if landed is not None:
                out.update(_cells_of(resolver, *landed))
        stack.extend((a, d) for a in n.args)
    return out


def _is_offset(n: Node) -> bool:
    return n.kind == "fn" and str(n.value).upper().rsplit(".", 1)[-1] == "OFFSET" and bool(n.args)


_FOLD: dict[str, Callable[[float, float], float]] = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_FOLD_FN: dict[str, Callable[..., float]] = {"MIN": min, "MAX": max, "ABS": lambda x: abs(x), "INT": lambda x: float(x // 1)}


def _constant(node: Node, cell: Key) -> float | None:
    """The value of an expression that depends on no cell but the formula's own position (numbers,
    ``ROW()``, ``COLUMN()``, + - *, MIN, MAX, ABS, INT), or None."""
    if node.kind == "num":
        return float(node.value)
    if node.kind == "fn" and not node.args and node.value in ("ROW", "COLUMN"):
        return float(cell[1] if node.value == "ROW" else cell[2])
    if not (node.kind == "op" and node.value in (*_FOLD, "u-", "u+")) and not (node.kind == "fn" and node.value in _FOLD_FN):
        return None
    args = [_constant(a, cell) for a in node.args]
    if not args or any(a is None for a in args):
        return None
    values: list[float] = [a for a in args if a is not None]
    if node.kind == "fn":
        if node.value in ("ABS", "INT") and len(values) != 1:
            return None
        return float(_FOLD_FN[node.value](*values) if node.value in ("ABS", "INT") else _FOLD_FN[node.value](values))
    if node.value in ("u-", "u+"):
        return -values[0] if node.value == "u-" else values[0]
    return _FOLD[node.value](*values) if len(values) == 2 else None


def _offset_base(n: Node, current: int, resolver: Resolver) -> tuple[int, tuple[int, int, int, int]] | None:
    base = n.args[0]
    if base.kind == "name":
        base = resolver.name_node(base.value, current, base.scope) or base
    if base.kind != "ref" or base.ref is None:
        return None
    si = resolver.sheet_index(base.ref[0], current)
    return None if si is None else (si, base.ref[1:])


def static_offset(n: Node, current: int, cell: Key, resolver: Resolver) -> tuple[int, int, int, int, int] | None:
    """Where ``OFFSET(ref, rows, cols, [height], [width])`` lands when its arguments depend on nothing but the
    formula's position (``OFFSET(E5,-MIN(2,ROW()-2),0,3,1)``, a moving window): (sheet, r1, c1, r2, c2)."""
    found = _offset_base(n, current, resolver)
    if found is None or len(n.args) not in (3, 4, 5):
        return None
    si, (r1, c1, r2, c2) = found
    moves = [_constant(a, cell) for a in n.args[1:3]]
    size = [_constant(a, cell) if a.kind != "empty" else None for a in n.args[3:]]
    if any(m is None for m in moves) or any(s is None for s, a in zip(size, n.args[3:]) if a.kind != "empty"):
        return None
    dr, dc = (int(m) for m in moves)  # type: ignore[arg-type]
    height = int(size[0]) if size and size[0] is not None else r2 - r1 + 1
    width = int(size[1]) if len(size) > 1 and size[1] is not None else c2 - c1 + 1
    top, left = r1 + dr, c1 + dc
    if top < 1 or left < 1 or height < 1 or width < 1 or top + height - 1 > MAX_ROW or left + width - 1 > MAX_COL:
        return None
    return si, top, left, top + height - 1, left + width - 1


def moving_reads(node: Node, current: int, resolver: Resolver, cell: Key | None = None) -> set[int]:
    """Sheets an OFFSET of the formula reads at run time: where it lands depends on values, so the graph
    cannot list the cells; the formula depends on the whole sheet instead (see :func:`build_graph`). An
    OFFSET that :func:`static_offset` places is not moving."""
    out: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if _is_offset(n) and (cell is None or static_offset(n, current, cell, resolver) is None):
            found = _offset_base(n, current, resolver)
            if found is not None:
                out.add(found[0])
        stack.extend(n.args)
    return out


def _read_whole_sheets(wb: WorkbookData, trees: dict[Key, Node], deps: dict[Key, set[Key]], resolver: Resolver,
                       owner: dict[Key, Key]) -> None:
    """A formula with OFFSET depends on every stored cell of the sheets it moves on, and on every formula
    there that does not itself depend on it (so no false circular reference, and the cells OFFSET can
    land on are computed first).

    Such formulas are taken bottom to top, each seeing the dependencies the ones before it gained: two
    of them on one sheet are then computed top to bottom (a later one may land on an earlier one), and
    no edge added closes a cycle (it would need the cell to depend on the formula already). An OFFSET
    that lands on a formula computed after it is an error of that cell (see the compiler's OFFSET)."""
    users: dict[Key, set[Key]] = collections.defaultdict(set)
    for k, ds in deps.items():
        for d in ds:
            users[d].add(k)
    moving = [(key, sheets) for key, tree in trees.items() if (sheets := moving_reads(tree, key[0], resolver, key))]
    for key, sheets in sorted(moving, key=lambda item: item[0], reverse=True):
        dependents, todo = {key}, [key]
        while todo:
            for u in users[todo.pop()]:
                if u not in dependents:
                    dependents.add(u)
                    todo.append(u)
        for si in sheets:
            cells = {owner.get((si, r, c), (si, r, c)) for (r, c) in wb.sheets[si].cells}  # a spilled cell: its formula
            added = cells - dependents - deps[key]
            deps[key] |= added
            for d in added:
                users[d].add(key)


def find_cycle(deps: dict[Key, set[Key]]) -> list[Key] | None:
    """One dependency cycle among formula cells, or ``None`` (iterative DFS, no recursion limit)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(deps, WHITE)
    for start in deps:
        if color[start] != WHITE:
            continue
        stack = [(start, iter(sorted(d for d in deps[start] if d in deps)))]
        color[start] = GREY
        path = [start]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = BLACK
                stack.pop()
                path.pop()
                continue
            if color[nxt] == GREY:
                return [*path[path.index(nxt):], nxt]
            if color[nxt] == WHITE:
                color[nxt] = GREY
                path.append(nxt)
                stack.append((nxt, iter(sorted(d for d in deps[nxt] if d in deps))))
    return None


def topological_order(deps: dict[Key, set[Key]]) -> list[Key]:
    indeg = dict.fromkeys(deps, 0)
    users: dict[Key, list[Key]] = collections.defaultdict(list)
    for k, ds in deps.items():
        for d in ds:
            if d in deps:
                indeg[k] += 1
                users[d].append(k)
    ready = collections.deque(sorted(k for k, n in indeg.items() if n == 0))
    order = []
    while ready:
        k = ready.popleft()
        order.append(k)
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    return order


@dataclass
class Graph:
    """Parsed formulas of one workbook layout, checked for cycles, in evaluation order."""

    wb: WorkbookData
    trees: dict[Key, Node]
    deps: dict[Key, set[Key]]
    order: list[Key]
    resolver: Resolver
    # array formulas over several cells: anchor -> its block's cells (row, col offsets)
    spills: dict[Key, list[tuple[Key, int, int]]] = field(default_factory=dict)
    spill_owner: dict[Key, Key] = field(default_factory=dict)
    arrays: set[Key] = field(default_factory=set)  # cells holding an array formula (a block or one cell)
    dynamic: set[Key] = field(default_factory=set)  # cells holding a dynamic array (Excel 365)

    @property
    def inputs(self) -> list[Key]:
        return sorted({d for ds in self.deps.values() for d in ds if d not in self.trees and d not in self.spill_owner})

    def block_of(self, anchor: Key) -> tuple[int, int]:
        """(rows, cols) of the block an array formula fills (1, 1 for a single cell)."""
        cells = self.spills.get(anchor, ())
        return (1 + max((dr for _, dr, _ in cells), default=0), 1 + max((dc for _, _, dc in cells), default=0))


def array_blocks(wb: WorkbookData) -> dict[Key, list[tuple[Key, int, int]]]:
    """Cells filled by each multi-cell array formula (the anchor excluded)."""
    out: dict[Key, list[tuple[Key, int, int]]] = {}
    for si, sheet in enumerate(wb.sheets):
        for (r, c), cell in sheet.cells.items():
            if cell.ftype == "array" and cell.fref and ":" in cell.fref:
                a, b = cell.fref.split(":", 1)
                r1, c1 = split_ref(a)
                r2, c2 = split_ref(b)
                out[(si, r, c)] = [((si, rr, cc), rr - r1, cc - c1) for rr in range(r1, r2 + 1) for cc in range(c1, c2 + 1)
                                   if (rr, cc) != (r, c)]
    return out


def build_graph(wb: WorkbookData) -> Graph:
    """Parse every formula and order the cells; a circular reference is a :class:`WorkbookError`."""
    resolver = Resolver(wb)
    texts = formula_cells(wb)
    trees: dict[Key, Node] = {}
    for key, text in texts.items():
        try:
            trees[key] = parse_formula(text)
        except WorkbookError as exc:  # that cell is an error (with this note in the summary), not the whole file
            trees[key] = Node("unsupported", str(exc))
    spills = array_blocks(wb)
    owner = {k: anchor for anchor, cells in spills.items() for k, _, _ in cells}
    deps = {}
    for key, tree in trees.items():
        # reading a spilled cell means depending on the formula that fills it
        deps[key] = {owner.get(d, d) for d in dependencies(tree, key[0], resolver, cell=key)}
        if key in spills and deps[key] & {k for k, _, _ in spills[key]}:
            raise WorkbookError(f"circular reference: {address(wb, key)} reads its own block")
    _read_whole_sheets(wb, trees, deps, resolver, owner)
    cycle = find_cycle(deps)
    if cycle:
        chain = " -> ".join(address(wb, k) for k in cycle[:8]) + (" -> ..." if len(cycle) > 8 else "")
        raise WorkbookError(f"circular reference: {chain}")
    arrays = {(si, r, c) for si, sheet in enumerate(wb.sheets) for (r, c), cell in sheet.cells.items()
              if cell.ftype == "array" and (si, r, c) in trees}
    dynamic = {(si, r, c) for si, sheet in enumerate(wb.sheets) for (r, c), cell in sheet.cells.items()
               if cell.dynamic and (si, r, c) in trees}
    return Graph(wb, trees, deps, topological_order(deps), resolver, spills, owner, arrays, dynamic)


def name_target(wb: WorkbookData, text: str) -> Key | None:
    """The single cell a defined name's text points at, or ``None``."""
    try:
        node = parse_formula(text)
    except WorkbookError:
        return None
    if node.kind != "ref" or node.ref is None:
        return None
    sheet, r1, c1, r2, c2 = node.ref
    if (r1, c1) != (r2, c2) or sheet is None:
        return None
    si = Resolver(wb).sheet_index(sheet, 0)
    return None if si is None else (si, r1, c1)


__all__ = ["Graph", "Key", "Node", "Split", "Unsupported", "address", "build_graph", "col_number", "fingerprint", "name_target",
           "parse_formula", "split_ref"]
