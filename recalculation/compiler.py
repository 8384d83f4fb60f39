"""A workbook's formula graph compiled into numpy closures over N input sets.

Each formula becomes a closure over :class:`~.values.Val` columns, so one run evaluates every
scenario of a table, or every file of a batch that shares the same formulas, at numpy speed.
The functions it calls are :mod:`.functions` (Excel's, by name) and :mod:`.kpi_bridge` (the
``KPI_*`` functions of the registry).

Two modes. Across files (``per_file=False``) the program may depend only on what all files
of a layout share — their formulas and names: a whole-column reference, whose cells depend
on each file's data, raises :class:`~.graph.Unsupported` and the files are evaluated one by
one. For one file (``per_file=True``, the *general path*) such references are cut to that
file's stored cells. Both modes run the same code on the same values.

Evaluation follows Excel 365's rules for files: an ordinary formula intersects a multi-cell
range it uses as one value with its own row or column (implicit intersection, Excel's ``@``);
an array formula evaluates ranges as blocks and fills its block (a dynamic array: its spill
range as stored; cells past the result are left empty). A formula whose last operation is an
addition or subtraction and whose result is within 15 significant digits of zero shows 0, as
Microsoft documents for Excel ("Floating-point arithmetic may give inaccurate results in Excel").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from .functions import find_function, function_table
from .functions.base import Ctx, Env, Rng, Spec, align, clock_serial
from .functions.operators import arith, comparison, concat, negate, percent
from .graph import MAX_FILE_RANGE_CELLS, MAX_RANGE_CELLS, Graph, Key, Node, Split, Unsupported
from .parser import MAX_COL, MAX_ROW, deep_recursion
from .values import BLANK, BLANK_VAL, EMPTY, NUM, Val, block, const, error

Thunk = Callable[[Ctx], Any]

UDF_PREFIX = "_XLUDF."  # Excel's prefix for a function it did not know when it saved
_PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.")  # Excel's prefixes for functions newer than Excel 2007
def canonical(name: str) -> str:
    """A function name without Excel's storage prefixes: ``_xlfn.CEILING.MATH`` is CEILING.MATH."""
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


@dataclass
class Step:
    key: Key
    thunk: Thunk
    array: bool  # an array formula: ranges are blocks, the result fills the cell's block
    dynamic: bool  # a dynamic array (Excel 365): cells past the result are empty, not #N/A
    reads: tuple[Key, ...] = ()  # the cells it depends on (graph.deps)
    always_wide: bool = False  # reads cells its dependencies may not list (a computed A1:B2 span)


@dataclass
class Program:
    """A compiled workbook layout: run it on N input sets at once."""

    inputs: list[Key]
    steps: list[Step]
    diagnostics: dict[Key, str] = field(default_factory=dict)  # origin of each #NAME?/#REF!
    spills: dict[Key, list[tuple[Key, int, int]]] = field(default_factory=dict)

    @property
    def outputs(self) -> list[Key]:
        """Every cell the program computes: formula cells and the cells of array blocks."""
        return self.cells_from(0)

    def cells_from(self, start: int) -> list[Key]:
        """The cells steps ``start`` on compute: their formula cells, then the cells of their array blocks."""
        steps = self.steps[start:]
        return [s.key for s in steps] + [cell for s in steps for cell, _, _ in self.spills.get(s.key, ())]

    def run(self, env: Env, n: int, start: int = 0, varying: set[Key] | None = None) -> Env:
        """Evaluates every formula cell in order (from step ``start``); ``env`` holds the inputs and receives
        the results. A :class:`~.graph.Split` raised by a formula says which step asked for it.

        A formula whose inputs are the same in every input set (a scenario table changes a few
        cells; files of a batch share their lookup tables) is computed once, as one input set, and
        its value serves all N: only what varies is computed N times. Should such a step fail or give
        values that differ between input sets (it read a cell its dependencies do not list), it is
        computed again over all N. ``varying``: the cells of ``env`` that differ between input sets, when the
        caller knows them (a group's env is sliced only where it is read)."""
        now = clock_serial()
        blocks: dict[Rng, Val] = {}  # a range read as a block, built once per run
        if n <= 1:
            varying = set()
        else:
            varying = {k for k, v in env.items() if _varies(v)} if varying is None else set(varying)
        for index in range(start, len(self.steps)):
            step = self.steps[index]
            wide = n == 1 or step.always_wide or any(d in varying for d in step.reads)
            v = None if wide else self._step(step, env, 1, now, blocks, narrow=True)
            if v is None or _varies(v):
                wide = True
                try:
                    v = self._step(step, env, n, now, blocks)
                except Unsupported as exc:
                    exc.at(step.key)
                    if isinstance(exc, Split):
                        exc.step = index
                    raise
                assert v is not None
            else:
                v = _narrowed(v)
            cells = self.spills.get(step.key)
            if step.array and cells:
                self._fill(env, cells, v, step.dynamic)
            env[step.key] = _shown(v.cell(0, 0) if v.dims is not None else v)
            if wide and n > 1:
                varying.add(step.key)
                varying.update(cell for cell, _, _ in cells or ())
        return env

    def _step(self, step: Step, env: Env, n: int, now: float, blocks: dict[Rng, Val], narrow: bool = False) -> Val | None:
        """One formula's value over ``n`` input sets; None when a ``narrow`` attempt failed (try it wide)."""
        ctx = Ctx(env, n, step.key, step.array, now, blocks=blocks)
        try:
            v = step.thunk(ctx)
            if isinstance(v, Rng):
                v = v.value(ctx) if step.array else v.intersect(ctx)
            elif v is None:
                v = BLANK_VAL
        except Unsupported:
            if narrow:
                return None
            raise
        except Exception as exc:  # noqa: BLE001 - a defect of ours in one formula costs that cell, not the file
            if narrow:
                return None
            v = const(XlError.VALUE)
            self.diagnostics[step.key] = f"{INTERNAL_FAILURE} ({type(exc).__name__}: {exc})"
        return v

    @staticmethod
    def _fill(env: Env, cells: list[tuple[Key, int, int]], v: Val, dynamic: bool) -> None:
        """The cells of an array formula's block: each its element; past the result's end #N/A for an
        array formula, empty for a dynamic array; a single value fills a legacy block."""
        rows, cols = v.dims if v.dims is not None else (1, 1)
        for cell, dr, dc in cells:
            if dr < rows and dc < cols:
                env[cell] = _shown(v.cell(dr, dc))
            elif v.dims is None and not dynamic:
                env[cell] = _shown(v)
            elif dynamic:
                env[cell] = EMPTY_VAL
            else:
                env[cell] = const(XlError.NA)


def _varies(v: Val) -> bool:
    """Whether a value differs between input sets: a part with an input-set axis longer than one."""
    nd = 3 if v.dims is not None else 1
    for part in (v.num, v.err, v.typ, v.txt):
        shape = np.shape(part)
        if len(shape) >= nd and shape[nd - 1] > 1:
            return True
    return False


def _narrowed(v: Val) -> Val:
    """A value computed as one input set, as the same for all: a single value's parts 0-d."""
    if v.dims is not None:
        return v

    def squeeze(a: Any) -> Any:
        return a.reshape(()) if isinstance(a, np.ndarray) and a.shape == (1,) else a

    return Val(squeeze(v.num), squeeze(v.err), squeeze(v.typ), None if v.txt is None else squeeze(np.asarray(v.txt, dtype=object)))


INTERNAL_FAILURE = "kpitree could not evaluate this formula; please report it"
EMPTY_VAL = Val(0.0, 0, EMPTY)  # the writer drops the cached value of a cell holding it


def _shown(v: Val) -> Val:
    """A formula that yields a blank shows 0 (and other formulas read 0)."""
    if v.typ.ndim or int(v.typ) == BLANK:
        return Val(v.num, v.err, np.where(v.typ == BLANK, NUM, v.typ), v.txt)
    return v


def _arith_snap(op: str) -> Callable[[Val, Val], Val]:
    """Excel's correction of a formula's last addition or subtraction: a result within 15 significant
    digits of zero (relative to the operands) is 0."""
    base = arith(op)

    def run(a: Val, b: Val) -> Val:
        out = base(a, b)
        if a.dims is not None or b.dims is not None:
            return out
        with np.errstate(all="ignore"):
            scale = np.maximum(np.abs(np.where(a.typ == NUM, a.num, 0.0)), np.abs(np.where(b.typ == NUM, b.num, 0.0)))
            tiny = (out.err == 0) & (out.num != 0) & (np.abs(out.num) < scale * 1e-15)
        if np.any(tiny):
            out = Val(np.where(tiny, 0.0, out.num), out.err, out.typ)
        return out

    return run


class Compiler:
    def __init__(self, graph: Graph, per_file: bool):
        self.graph = graph
        self.resolver = graph.resolver
        self.per_file = per_file
        self.diagnostics: dict[Key, str] = {}
        self.current: Key = (0, 0, 0)
        self.locals: list[dict[str, int]] = []  # LET scopes: name -> slot
        self._value_wanted: Node | None = None  # the node being compiled where a value (not a reference) is read

    def note(self, message: str) -> None:
        self.diagnostics.setdefault(self.current, message)

    def compile(self) -> Program:
        steps = []
        with deep_recursion():
            for key in self.graph.order:
                self.current = key
                tree = self.graph.trees[key]
                self._value_wanted = tree  # a cell shows a value
                try:
                    thunk = self.expr(tree, key[0], 0)
                except Unsupported as exc:
                    raise exc.at(key) from None
                steps.append(Step(key, thunk, key in self.graph.arrays, key in self.graph.dynamic,
                                  tuple(self.graph.deps.get(key, ())), _computed_span(tree)))
        return Program(self.graph.inputs, steps, self.diagnostics, self.graph.spills)

    # -- expressions --------------------------------------------------------------------------

    def expr(self, node: Node, sheet: int, depth: int) -> Thunk:
        """A thunk giving a Val or an Rng (a reference: the caller decides how to read it)."""
        kind = node.kind
        if kind in ("num", "str", "bool"):
            c = const(node.value)
            return lambda ctx: c
        if kind == "empty":
            return lambda ctx: None
        if kind == "err":
            err = XlError.from_text(node.value) or XlError.VALUE
            if err in (XlError.REF, XlError.NAME):
                self.note(f"{err.text} written in the formula")
            return self.constant(const(err))
        if kind == "ref":
            return self.reference(node, sheet)
        if kind == "name":
            return self.name(node, sheet, depth)
        if kind == "array":
            return self.array_constant(node)
        if kind == "op":
            return self.operator(node, sheet, depth)
        if kind == "fn":
            return self.function(node, sheet, depth)
        if str(node.value).startswith(("cannot parse", "formula nested")):  # a formula kpitree cannot read: that cell only
            self.note(f"#NAME?: {node.value}")
            return self.constant(const(XlError.NAME))
        self.note(f"#REF!: {node.value} is not supported")
        return self.constant(const(XlError.REF))

    @staticmethod
    def constant(v: Val) -> Thunk:
        return lambda ctx: v

    def reference(self, node: Node, sheet: int) -> Thunk:
        assert node.ref is not None
        name, r1, c1, r2, c2 = node.ref
        si = self.resolver.sheet_index(name, sheet)
        if si is None:
            self.note(f"#REF!: no sheet named {name!r}")
            return self.constant(const(XlError.REF))
        if (r1 == 1 and r2 == MAX_ROW) or (c1 == 1 and c2 == MAX_COL):
            if not self.per_file:
                raise Unsupported(f"whole-column or whole-row reference {node.value}")
            r1, c1, r2, c2 = self.resolver.clamp(si, r1, c1, r2, c2)
        limit = MAX_FILE_RANGE_CELLS if self.per_file else MAX_RANGE_CELLS  # many files at once multiply the cost
        if (r2 - r1 + 1) * (c2 - c1 + 1) > limit:
            raise Unsupported(f"range of more than {limit:,} cells")
        rng = Rng(si, r1, c1, r2, c2)
        return lambda ctx: rng

    def name(self, node: Node, sheet: int, depth: int) -> Thunk:
        if node.scope is None and node.link is None:
            for scope in reversed(self.locals):
                slot = scope.get(node.value.upper())
                if slot is not None:
                    return _local(slot)
        if depth > 20:
            raise Unsupported("defined names nested too deep")
        if node.link is not None:
            self.note(f"#REF!: {node.value} refers to another workbook ({self.resolver.link_target(node.link)})")
            return self.constant(const(XlError.REF))
        target = self.resolver.name_node(node.value, sheet, node.scope)
        if target is None:
            self.note(f"#NAME?: no defined name {node.value!r}")
            return self.constant(const(XlError.NAME))
        return self.expr(target, sheet, depth + 1)

    def array_constant(self, node: Node) -> Thunk:
        rows, cols = node.value
        vals = [const(XlError.from_text(a.value) or XlError.VALUE) if a.kind == "err" else const(a.value) for a in node.args]
        v = block([vals[r * cols:(r + 1) * cols] for r in range(rows)])
        return self.constant(v)

    def value(self, node: Node, sheet: int, depth: int) -> Thunk:
        """A thunk giving a Val: a reference is intersected (ordinary formula) or read as a block (array formula)."""
        self._value_wanted = node
        thunk = self.expr(node, sheet, depth)
        self._value_wanted = None

        def read(ctx: Ctx) -> Val:
            v = thunk(ctx)
            if isinstance(v, Rng):
                return v.value(ctx) if ctx.array else v.intersect(ctx)
            if v is None:
                return BLANK_VAL
            if v.dims is not None and not ctx.array:
                return v.cell(0, 0)
            return v

        return read

    def operator(self, node: Node, sheet: int, depth: int) -> Thunk:
        op = node.value
        if op in ("+", "-", "*", "/", "^", "=", "<>", "<", ">", "<=", ">=", "&"):
            a, b = (self.value(arg, sheet, depth) for arg in node.args)
            if op == "&":
                return lambda ctx: concat(a(ctx), b(ctx))
            f2 = comparison(op) if op in ("=", "<>", "<", ">", "<=", ">=") else (
                _arith_snap(op) if op in ("+", "-") and self.graph.trees.get(self.current) is node else arith(op))
            return lambda ctx: f2(a(ctx), b(ctx))
        if op in ("u-", "u+", "%"):
            (a,) = (self.value(arg, sheet, depth) for arg in node.args)
            if op == "u+":
                return a
            f1 = negate if op == "u-" else percent
            return lambda ctx: f1(a(ctx))
        if op == "@":
            inner = self.expr(node.args[0], sheet, depth)

            def at(ctx: Ctx) -> Val:
                v = inner(ctx)
                if isinstance(v, Rng):
                    return v.intersect(ctx)
                return v.cell(0, 0) if v is not None and v.dims is not None else (v if v is not None else BLANK_VAL)

            return at
        if op in (":", " "):
            left, right = (self.expr(arg, sheet, depth) for arg in node.args)
            combine = _range_span if op == ":" else _range_intersection
            return lambda ctx: combine(left(ctx), right(ctx))
        if op == "#":
            return self.spill_reference(node.args[0], sheet)
        self.note(f"#VALUE!: the operator {op!r} is not supported")
        return self.constant(const(XlError.VALUE))

    def spill_reference(self, node: Node, sheet: int) -> Thunk:
        """``A1#``: the block of the dynamic array anchored at A1 (as stored: its last spill range)."""
        if node.kind != "ref" or node.ref is None:
            self.note("#REF!: a spill reference must name a cell")
            return self.constant(const(XlError.REF))
        name, r, c, _, _ = node.ref
        si = self.resolver.sheet_index(name, sheet)
        if si is None or (si, r, c) not in self.graph.trees:
            self.note(f"#REF!: {node.value}# is not the anchor of a dynamic array")
            return self.constant(const(XlError.REF))
        rows, cols = self.graph.block_of((si, r, c))
        rng = Rng(si, r, c, r + rows - 1, c + cols - 1)
        return lambda ctx: rng

    # -- functions --------------------------------------------------------------------------------

    def function(self, node: Node, sheet: int, depth: int) -> Thunk:
        name = canonical(node.value)
        if node.link is not None:
            if not self.resolver.link_is_addin(node.link):
                target = self.resolver.link_target(node.link) or f"external link [{node.link}]"
                self.note(f"#NAME?: {name} comes from another add-in or workbook: {target}")
                return self.constant(const(XlError.NAME))
        elif name.startswith(UDF_PREFIX):
            name = name[len(UDF_PREFIX):]
        if name == "LET":
            return self.let(node, sheet, depth)
        spec = find_function(name)
        if spec is None:
            self.note(f"#NAME?: unknown function {name} (see docs/functions.md)")
            return self.constant(const(XlError.NAME))
        nargs = len(node.args)
        if not spec.min_args <= nargs <= spec.max_args:
            self.note(f"#VALUE!: {name} takes {spec.min_args}–{spec.max_args} arguments, not {nargs}")
            return self.constant(const(XlError.VALUE))
        as_values = spec.chooses and self._value_wanted is node  # its result is read as a value anyway
        self._value_wanted = None
        try:
            prepared = [self.argument(spec, i, arg, sheet, depth, as_values) for i, arg in enumerate(node.args)]
        except Unsupported as exc:  # the summary names the function that sent the file to the general path
            raise exc.at(self.current, name) from None
        impl = spec.impl
        singles = [] if spec.takes_arrays else [i for i in range(len(prepared)) if spec.kind(i) == "v"]

        def call(ctx: Ctx) -> Any:
            try:
                args = [p(ctx) for p in prepared]
                blocks = [i for i in singles if isinstance(args[i], Val) and args[i].dims is not None]
                return _lift(impl, ctx, args, blocks) if blocks else impl(ctx, *args)
            except Unsupported as exc:  # the innermost function that declined is named
                exc.at(ctx.cell, name)
                raise

        return call

    def argument(self, spec: Spec, position: int, node: Node, sheet: int, depth: int, as_values: bool = False) -> Thunk:
        if node.kind == "empty":
            return lambda ctx: None
        kind = spec.kind(position)
        if as_values and kind == "x":
            kind = "v"
        if kind == "v":
            return self.value(node, sheet, depth)
        thunk = self.expr(node, sheet, depth)
        if kind in ("a", "A"):
            whole = kind == "A"

            def as_array(ctx: Ctx) -> Any:
                inner = dataclasses.replace(ctx, array=True) if whole and not ctx.array else ctx
                v = thunk(inner)
                return v.value(inner) if isinstance(v, Rng) else (BLANK_VAL if v is None else v)

            return as_array
        return thunk  # "r" and "x": as written

    def let(self, node: Node, sheet: int, depth: int) -> Thunk:
        """LET(name1, value1, [name2, value2, …], calculation): each value computed once, in order."""
        args = node.args
        if len(args) < 3 or len(args) % 2 == 0 or any(a.kind != "name" or a.scope for a in args[:-1:2]):
            self.note("#VALUE!: LET needs name, value pairs and a calculation")
            return self.constant(const(XlError.VALUE))
        scope: dict[str, int] = {}
        self.locals.append(scope)
        bindings = []
        try:
            for name_node, value_node in zip(args[:-1:2], args[1:-1:2]):
                value = self.expr(value_node, sheet, depth)
                slot = _next_slot()
                scope[name_node.value.upper()] = slot
                bindings.append((slot, value))
            body = self.expr(args[-1], sheet, depth)
        finally:
            self.locals.pop()

        def run(ctx: Ctx) -> Any:
            for slot, value in bindings:
                ctx.locals[slot] = value(ctx)
            return body(ctx)

        return run


def _computed_span(tree: Node) -> bool:
    """Whether a formula joins computed references with ``:`` (``INDEX(A1:A9,3):C5``): the rectangle may hold
    cells its dependencies do not list."""
    stack = [tree]
    while stack:
        n = stack.pop()
        if n.kind == "op" and n.value == ":" and any(a.kind != "ref" for a in n.args):
            return True
        stack.extend(n.args)
    return False


_slot_counter = iter(range(1 << 62))


def _lift(impl: Callable[..., Any], ctx: Ctx, args: list[Any], blocks: list[int]) -> Val:
    """A function of single values given arrays for them: one result per element, as a block of the
    arrays' common size (a one-row or one-column array is repeated; where one is short, #N/A)."""
    aligned = align(*(args[i] for i in blocks))
    rows, cols = aligned[0].dims or (1, 1)

    def one(r: int, c: int) -> Val:
        given = list(args)
        for i, v in zip(blocks, aligned):
            given[i] = v.cell(r, c)
        out = impl(ctx, *given)
        out = out.intersect(ctx) if isinstance(out, Rng) else (BLANK_VAL if out is None else out)
        return out.cell(0, 0) if out.dims is not None else out

    return block([[one(r, c) for c in range(cols)] for r in range(rows)])


def _local(slot: int) -> Thunk:
    return lambda ctx: ctx.locals[slot]


def _next_slot() -> int:
    return next(_slot_counter)


def _range_span(a: Any, b: Any) -> Any:
    """``A1:B2`` between two computed references (``INDEX(…):B2``): the rectangle covering both."""
    if not (isinstance(a, Rng) and isinstance(b, Rng)) or a.sheet != b.sheet:
        return error(XlError.VALUE)
    return Rng(a.sheet, min(a.r1, b.r1), min(a.c1, b.c1), max(a.r2, b.r2), max(a.c2, b.c2))


def _range_intersection(a: Any, b: Any) -> Any:
    """``A1:B2 B1:C3``: the cells both references hold, #NULL! when none."""
    if not (isinstance(a, Rng) and isinstance(b, Rng)):
        return error(XlError.VALUE)
    r1, c1, r2, c2 = max(a.r1, b.r1), max(a.c1, b.c1), min(a.r2, b.r2), min(a.c2, b.c2)
    if a.sheet != b.sheet or r1 > r2 or c1 > c2:
        return error(XlError.NULL)
    return Rng(a.sheet, r1, c1, r2, c2)


def compile_graph(graph: Graph, per_file: bool = False) -> Program:
    """The program of a workbook layout; raises :class:`Unsupported` across files for what needs one file's data."""
    return Compiler(graph, per_file).compile()


def run_program(program: Program, inputs: dict[Key, Val], n: int) -> Env:
    """Every cell of ``n`` input sets. Where a formula needs the input sets in groups (:class:`~.graph.Split`:
    an OFFSET that moves by a value, a FILTER keeping more rows in some files), the rest of the program runs
    once per group and the groups' values are put back together; only what cannot be grouped is
    :class:`~.graph.Unsupported` (each file on its own)."""
    with deep_recursion():
        return _run_from(program, dict(inputs), n, 0)


def _run_from(program: Program, env: Env, n: int, start: int, varying: set[Key] | None = None) -> Env:
    try:
        program.run(env, n, start, varying)
        return env
    except Split as split:
        labels = np.asarray(split.labels).reshape(-1)
        groups = np.unique(labels) if labels.shape == (n,) else np.zeros(0)
        if n <= 1 or len(groups) < 2:
            raise Unsupported(str(split)).at(split.cell, split.function) from None
        whole_varying = env.varying() if isinstance(env, _GroupEnv) else {k for k, v in env.items() if _varies(v)}
        pieces = []
        for g in groups.tolist():
            idx = np.flatnonzero(labels == g)
            group = _GroupEnv(env, idx, n, whole_varying)
            pieces.append((idx, _run_from(program, group, len(idx), split.step, whole_varying)))
        # what was computed before the split is the same in every group: only the later cells are put together
        env.update({k: _scatter(k, [(idx, part[k]) for idx, part in pieces], n)
                    for k in program.cells_from(split.step) if k in pieces[0][1]})
        return env


class _GroupEnv(dict):
    """The env of one group of input sets: a cell's value is cut out of the whole env's when first read
    (the rest of the program reads a few of the cells computed before the split, not all of them)."""

    def __init__(self, whole: Env, idx: np.ndarray, n: int, whole_varying: set[Key]):
        super().__init__()
        self.whole, self.idx, self.n, self.whole_varying = whole, idx, n, whole_varying

    def __missing__(self, key: Key) -> Val:
        v = self[key] = _take(self.whole[key], self.idx, self.n)
        return v

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.whole

    def get(self, key: Key, default: Any = None) -> Any:
        return self[key] if key in self else default

    def varying(self) -> set[Key]:
        """The cells that differ between this group's input sets (as the whole env's do, by shape)."""
        return self.whole_varying | {k for k, v in dict.items(self) if _varies(v)}


def _take(v: Val, idx: np.ndarray, n: int) -> Val:
    """The input sets ``idx`` of a value over ``n`` (a part that is the same for all stays as it is). The
    input sets are the last axis: of a single value's one, of a block's three (rows, columns, sets)."""
    sets_axis = 1 if v.dims is None else 3

    def part(a: Any) -> Any:
        if a is None:
            return None
        a = np.asarray(a)
        return a[..., idx] if a.ndim == sets_axis and a.shape[-1] == n else a

    return Val(part(v.num), part(v.err), part(v.typ), part(v.txt), v.dims)


def _scatter(key: Key, pieces: list[tuple[np.ndarray, Val]], n: int) -> Val:
    """One value over ``n`` input sets from the groups' values (a group's indices, its value): a single value,
    or a block of one size in every group (a spilled result); blocks of different sizes cannot be joined."""
    sizes = {v.dims for _, v in pieces}
    if len(sizes) > 1:
        raise Unsupported("a block whose size differs between groups of input sets").at(key)
    dims = sizes.pop()
    lead = () if dims is None else dims
    num, err, typ = np.zeros((*lead, n)), np.zeros((*lead, n), np.int8), np.zeros((*lead, n), np.int8)
    txt = None
    for idx, v in pieces:  # assignment broadcasts a part that is the same for the whole group
        num[..., idx], err[..., idx], typ[..., idx] = v.num, v.err, v.typ
        if v.txt is not None:
            if txt is None:
                txt = np.full((*lead, n), "", dtype=object)
            txt[..., idx] = v.txt
    return Val(num, err, typ, txt, dims)


__all__ = ["EMPTY_VAL", "Program", "compile_graph", "function_table", "run_program"]

