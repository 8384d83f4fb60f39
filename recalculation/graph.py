"""A workbook's formula graph: parsed formulas, dependencies, cycles, fingerprint.

Formulas are parsed with the ``formulas`` package's own tokenizer and shunting-yard
parser (so both evaluation paths read a formula the same way); a small builder
records the operator tree instead of building formulas' dispatcher, which is what
makes parsing cheap enough to do once per distinct workbook layout.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from kpitree.errors import KpitreeError

from .io.package import Cell, Key, WorkbookData, WorkbookError, col_letters, col_number, split_ref

MAX_RANGE_CELLS = 100_000


@dataclass(frozen=True)
class Node:
    kind: str  # "num", "str", "bool", "err", "empty", "ref", "name", "op", "fn"
    value: Any = None  # number, text, error text, name, operator, function name
    args: tuple[Node, ...] = ()
    ref: tuple[str | None, int, int, int, int] | None = None  # sheet, r1, c1, r2, c2


@functools.cache
def _parser() -> Any:
    import formulas
    from formulas.builder import AstBuilder
    from formulas.tokens.function import Function
    from formulas.tokens.operator import Operator

    class TreeBuilder(AstBuilder):
        """Keeps formulas' RPN as a tree of :class:`Node` instead of a dispatcher."""

        def __init__(self, *args: Any, match: Any = None, **kwargs: Any):
            self._deque: collections.deque[Any] = collections.deque()
            self.trees: collections.deque[Node] = collections.deque()
            self.match = match

        def pop(self) -> Any:
            self.trees.pop()
            return self._deque.pop()

        def append(self, token: Any) -> None:
            if isinstance(token, (Operator, Function)):
                n = token.get_n_args
                if n > len(self.trees):
                    raise formulas.errors.FormulaError()
                args = tuple(self.trees.pop() for _ in range(n))[::-1]
                for _ in range(n):
                    self._deque.pop()
                kind = "fn" if isinstance(token, Function) else "op"
                node = Node(kind, token.name.upper() if kind == "fn" else token.name, args)
            else:
                node = _operand(token)
            self._deque.append(token)
            self.trees.append(node)

        def finish(self) -> None:
            pass

    class TreeParser(formulas.Parser):
        ast_builder = TreeBuilder

    return TreeParser()


def _operand(token: Any) -> Node:
    kind = type(token).__name__
    attr = token.attr
    if kind == "Number":
        name = token.name.upper()
        if name in ("TRUE", "FALSE"):
            return Node("bool", name == "TRUE")
        return Node("num", float(token.name))
    if kind == "String":
        return Node("str", token.name)
    if kind == "Error":
        return Node("err", attr.get("error", token.name))
    if kind == "Empty":
        return Node("empty")
    if kind == "Range":
        if attr.get("is_reference"):
            return Node("name", attr["ref"])
        try:
            r1, r2 = int(attr["r1"]), int(attr["r2"])
            c1, c2 = int(attr["n1"]), int(attr["n2"])
        except (KeyError, ValueError):
            return Node("unsupported", f"reference {token.name}")
        if r1 < 1 or c1 < 1:
            return Node("unsupported", f"whole-row/column reference {token.name}")
        return Node("ref", token.name, ref=(attr.get("sheet"), r1, c1, r2, c2))
    return Node("unsupported", f"{kind} {token.name}")


@functools.lru_cache(maxsize=65536)
def parse_formula(text: str) -> Node:
    """The tree of one formula (without its leading ``=``)."""
    try:
        _, builder = _parser().ast("=" + text)
    except Exception as exc:  # noqa: BLE001 - formulas raises several error types
        raise WorkbookError(f"cannot parse formula ={text}: {type(exc).__name__}") from None
    if len(builder.trees) != 1:
        raise WorkbookError(f"cannot parse formula ={text}")
    return builder.trees[-1]


# --- shared formulas ----------------------------------------------------------------------

_REL_REF = re.compile(r"(?<![A-Za-z_\d.!'\"])(\$?)([A-Za-z]{1,3})(\$?)(\d+)(?![\d(A-Za-z_])")


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
    """Same fingerprint, same formulas, names and sheets: one compiled program serves both."""
    h = hashlib.blake2b(digest_size=16)
    for sheet in wb.sheets:
        h.update(b"S" + sheet.name.encode() + b"\0")
        for cell in sheet.cells.values():
            if cell.formula is not None:
                h.update(f"{cell.ref}\0{cell.formula}\0{cell.ftype}\0{cell.fref}\0{cell.si}\0".encode())
    for n in wb.names:
        h.update(f"N{n.name}\0{n.text}\0{n.sheet_index}\0".encode())
    return h.hexdigest()


# --- names and references -----------------------------------------------------------------


@dataclass
class Resolver:
    """Turns references and defined names in a sheet's formulas into cell keys."""

    wb: WorkbookData
    diagnostics: list[str] = field(default_factory=list)

    def sheet_index(self, name: str | None, current: int) -> int | None:
        if name is None:
            return current
        key = name.upper()
        return next((i for i, s in enumerate(self.wb.sheets) if s.name.upper() == key), None)

    def name_node(self, name: str, current: int) -> Node | None:
        """The parsed definition of a name (sheet scope first, then workbook scope)."""
        key = name.upper()
        found = [n for n in self.wb.names if n.name.upper() == key and n.sheet_index in (current, None)]
        found.sort(key=lambda n: n.sheet_index is None)  # the sheet's own name wins
        if not found:
            return None
        return parse_formula(found[0].text)

    @staticmethod
    def keys(si: int, r1: int, c1: int, r2: int, c2: int) -> list[Key]:
        if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_RANGE_CELLS:
            raise Unsupported(f"range of more than {MAX_RANGE_CELLS:,} cells")
        return [(si, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


class Unsupported(KpitreeError):
    """The fast path cannot vectorise this formula; the general evaluator takes the workbook."""


def address(wb: WorkbookData, key: Key) -> str:
    si, r, c = key
    name = wb.sheets[si].name
    quoted = f"'{name}'" if re.search(r"[^A-Za-z0-9_]", name) else name
    return f"{quoted}!{col_letters(c)}{r}"


def dependencies(node: Node, current: int, resolver: Resolver, depth: int = 0) -> set[Key]:
    """Cells a formula reads (names followed); missing sheets and names simply add none."""
    out: set[Key] = set()
    if depth > 50:
        return out
    if node.kind == "ref":
        sheet, r1, c1, r2, c2 = node.ref  # type: ignore[misc]
        si = resolver.sheet_index(sheet, current)
        if si is not None:
            rows = min(r2, r1 + 1_048_576)
            if (r2 - r1 + 1) * (c2 - c1 + 1) <= MAX_RANGE_CELLS:
                out.update(resolver.keys(si, r1, c1, rows, c2))
            else:  # a huge range: only the cells that exist matter
                out.update((si, r, c) for (r, c) in resolver.wb.sheets[si].cells if r1 <= r <= r2 and c1 <= c <= c2)
    elif node.kind == "name":
        target = resolver.name_node(node.value, current)
        if target is not None:
            out |= dependencies(target, current, resolver, depth + 1)
    for arg in node.args:
        out |= dependencies(arg, current, resolver, depth)
    return out


def find_cycle(deps: dict[Key, set[Key]]) -> list[Key] | None:
    """One dependency cycle among formula cells, or ``None`` (iterative DFS, no recursion limit)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {k: WHITE for k in deps}
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
    indeg = {k: 0 for k in deps}
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

    @property
    def inputs(self) -> list[Key]:
        return sorted({d for ds in self.deps.values() for d in ds if d not in self.trees and d not in self.spill_owner})


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
        except WorkbookError as exc:
            raise WorkbookError(f"{address(wb, key)}: {exc}") from None
    spills = array_blocks(wb)
    owner = {k: anchor for anchor, cells in spills.items() for k, _, _ in cells}
    deps = {}
    for key, tree in trees.items():
        # reading a spilled cell means depending on the formula that fills it
        deps[key] = {owner.get(d, d) for d in dependencies(tree, key[0], resolver)}
    cycle = find_cycle(deps)
    if cycle:
        chain = " -> ".join(address(wb, k) for k in cycle[:8]) + (" -> ..." if len(cycle) > 8 else "")
        raise WorkbookError(f"circular reference: {chain}")
    return Graph(wb, trees, deps, topological_order(deps), resolver, spills, owner)


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


__all__ = ["Graph", "Key", "Node", "Unsupported", "address", "build_graph", "col_number", "fingerprint", "name_target",
           "parse_formula", "split_ref"]
