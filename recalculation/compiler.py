"""The fast path: a workbook's formula graph compiled once into numpy over N input sets.

Each formula becomes a closure over column arrays (:class:`~.values.Val`), so one
run evaluates every scenario of a table, or every file of a batch that shares the
same formulas, at numpy speed. The functions it calls are :mod:`.functions` (Excel's)
and :mod:`.kpi_bridge` (the ``KPI_*`` functions of the registry).

What the compiler does not know raises :class:`~.graph.Unsupported` at compile time
and the workbook goes to the general evaluator (``formulas``) instead — never a
silent approximation. A function neither path knows is ``#NAME?`` in both, as in Excel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from .functions import N_KEY, Env, Grid, Rng, TableEntry, arith, compare, concat, native_table, rows, unary
from .graph import Graph, Key, Node, Unsupported
from .kpi_bridge import kpi_table
from .values import BLANK, BLANK_VAL, NUM, Val, const

Thunk = Callable[[Env], Any]

UDF_PREFIX = "_XLUDF."  # Excel's prefix for a function it did not know when it saved (= formulas_udfs.UDF_PREFIX)


@functools.cache
def function_table() -> dict[str, TableEntry]:
    """Fast-path functions by Excel name: (implementation, which arguments may be ranges)."""
    table = native_table()
    for name, entry in kpi_table().items():
        table[name] = entry
        table[UDF_PREFIX + name] = entry
    return table

@dataclass
class Program:
    """A compiled workbook layout: run it on N input sets at once."""

    inputs: list[Key]
    steps: list[tuple[Key, Thunk]]
    diagnostics: dict[Key, str] = field(default_factory=dict)  # origin of each #NAME?/#REF!
    spills: dict[Key, list[tuple[Key, int, int]]] = field(default_factory=dict)

    @property
    def outputs(self) -> list[Key]:
        """Every cell the program computes: formula cells and the cells of array blocks."""
        return [k for k, _ in self.steps] + [cell for k, _ in self.steps for cell, _, _ in self.spills.get(k, ())]

    def run(self, env: Env) -> Env:
        """Evaluates every formula cell in order; ``env`` holds the inputs and receives the results."""
        for key, thunk in self.steps:
            v = thunk(env)
            block = self.spills.get(key)
            if isinstance(v, Grid):
                # an array block: each cell its element; past the result's end #N/A (Excel's rule)
                rows, cols = len(v), len(v[0])
                single = rows == cols == 1
                for cell, dr, dc in block or ():
                    if single:
                        env[cell] = _shown(v[0][0])
                    elif dr < rows and dc < cols:
                        env[cell] = _shown(v[dr][dc])
                    else:
                        env[cell] = const(XlError.NA)
                v = v[0][0]
            else:
                if isinstance(v, Rng):
                    v = _scalar_of(v, env)
                for cell, _, _ in block or ():  # one value fills the whole block
                    env[cell] = _shown(v)
            env[key] = _shown(v)
        return env


def _shown(v: Val) -> Val:
    """A formula that yields a blank shows 0 (and other formulas read 0)."""
    if v.typ.ndim or int(v.typ) == BLANK:
        return Val(v.num, v.err, np.where(v.typ == BLANK, NUM, v.typ), v.txt)
    return v


def _scalar_of(r: Rng, env: Env) -> Val:
    if r.shape != (1, 1):
        raise Unsupported("a multi-cell range used as a single value")
    return env.get(r.keys[0], BLANK_VAL)


class Compiler:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.resolver = graph.resolver
        self.table = function_table()
        self.diagnostics: dict[Key, str] = {}
        self.current: Key = (0, 0, 0)

    def note(self, message: str) -> None:
        self.diagnostics.setdefault(self.current, message)

    def compile(self) -> Program:
        steps = []
        for key in self.graph.order:
            self.current = key
            steps.append((key, self.expr(self.graph.trees[key], key[0], 0)))
        return Program(self.graph.inputs, steps, self.diagnostics, self.graph.spills)

    def expr(self, node: Node, sheet: int, depth: int) -> Thunk:
        """A thunk giving a Val, or an Rng for a reference (callers decide how to read it)."""
        kind = node.kind
        if kind in ("num", "str", "bool"):
            c = const(node.value)
            return lambda env: c
        if kind == "empty":
            return lambda env: BLANK_VAL
        if kind == "err":
            err = XlError.from_text(node.value) or XlError.VALUE
            if err in (XlError.REF, XlError.NAME):
                self.note(f"{err.text} written in the formula")
            c = const(err)
            return lambda env: c
        if kind == "ref":
            s, r1, c1, r2, c2 = node.ref  # type: ignore[misc]
            si = self.resolver.sheet_index(s, sheet)
            if si is None:
                self.note(f"#REF!: no sheet named {s!r}")
                c = const(XlError.REF)
                return lambda env: c
            rng = Rng(self.resolver.keys(si, r1, c1, r2, c2), (r2 - r1 + 1, c2 - c1 + 1))
            return lambda env: rng
        if kind == "name":
            if depth > 20:
                raise Unsupported("defined names nested too deep")
            target = self.resolver.name_node(node.value, sheet)
            if target is None:
                self.note(f"#NAME?: no defined name {node.value!r}")
                c = const(XlError.NAME)
                return lambda env: c
            return self.expr(target, sheet, depth + 1)
        if kind == "op":
            return self.operator(node, sheet, depth)
        if kind == "fn":
            return self.function(node, sheet, depth)
        raise Unsupported(str(node.value))

    def scalar(self, node: Node, sheet: int, depth: int) -> Thunk:
        thunk = self.expr(node, sheet, depth)
        if node.kind in ("ref", "name"):
            def read(env: Env) -> Val:
                v = thunk(env)
                return _scalar_of(v, env) if isinstance(v, Rng) else v

            probe = self._static_shape(node, sheet, depth)
            if probe not in (None, (1, 1)):
                raise Unsupported("implicit intersection of a multi-cell range")
            return read
        if node.kind == "fn":  # INDEX and friends return references

            def value(env: Env) -> Val:
                v = thunk(env)
                if isinstance(v, Grid):
                    return v[0][0]
                return _scalar_of(v, env) if isinstance(v, Rng) else v

            return value
        return thunk

    def _static_shape(self, node: Node, sheet: int, depth: int) -> tuple[int, int] | None:
        if node.kind == "ref":
            _, r1, c1, r2, c2 = node.ref  # type: ignore[misc]
            return (r2 - r1 + 1, c2 - c1 + 1)
        if node.kind == "name" and depth < 20:
            target = self.resolver.name_node(node.value, sheet)
            return None if target is None else self._static_shape(target, sheet, depth + 1)
        return None

    def operator(self, node: Node, sheet: int, depth: int) -> Thunk:
        op = node.value
        args = [self.scalar(a, sheet, depth) for a in node.args]
        if op in ("+", "-", "*", "/", "^") and len(args) == 2:
            f2 = arith(op)
            a, b = args
            return lambda env: f2(a(env), b(env))
        if op in ("=", "<>", "<", ">", "<=", ">=") and len(args) == 2:
            f2 = compare(op)
            a, b = args
            return lambda env: f2(a(env), b(env))
        if op == "&" and len(args) == 2:
            a, b = args
            return lambda env: concat(a(env), b(env), rows(env))
        if op in ("u-", "u+", "%") and len(args) == 1:
            (a,) = args
            return lambda env: unary(op, a(env))
        raise Unsupported(f"operator {op}")

    def function(self, node: Node, sheet: int, depth: int) -> Thunk:
        name = node.value
        entry = self.table.get(name)
        if entry is None:
            from .general import general_function_names

            if name in general_function_names():
                raise Unsupported(f"function {name}")
            self.note(f"#NAME?: unknown function {name}")
            c = const(XlError.NAME)
            return lambda env: c
        impl, ranges = entry
        thunks = []
        for i, a in enumerate(node.args):
            may_range = ranges == "all" or i in ranges
            if a.kind == "empty":
                thunks.append(lambda env: None if name.startswith(("KPI_", "_XLUDF.")) else BLANK_VAL)
            elif may_range:
                thunks.append(self.expr(a, sheet, depth))
            else:
                thunks.append(self.scalar(a, sheet, depth))
        if (name in ("IF",) and len(thunks) not in (1, 2, 3)) or (name in ("IFERROR", "IFNA", "_XLFN.IFNA", "MOD") and len(thunks) != 2):
            raise Unsupported(f"{name} with {len(thunks)} arguments")
        if name.startswith(("ROUND",)) and len(thunks) != 2:
            raise Unsupported(f"{name} with {len(thunks)} arguments")
        kpi = name.startswith(("KPI_", "_XLUDF."))

        def call(env: Env) -> Val:
            vals = [t(env) for t in thunks]
            if kpi:  # an omitted optional argument takes the function's default
                while vals and vals[-1] is None:
                    vals.pop()
                vals = [BLANK_VAL if v is None else v for v in vals]
            return impl(env, *vals)

        return call


def compile_graph(graph: Graph) -> Program:
    """The fast-path program of a workbook layout; raises :class:`Unsupported`."""
    return Compiler(graph).compile()


def run_program(program: Program, inputs: dict[Key, Val], n: int) -> Env:
    env: Env = dict(inputs)
    env[N_KEY] = Val(float(n), 0, NUM)
    program.run(env)
    del env[N_KEY]
    return env


__all__ = ["Program", "compile_graph", "function_table", "run_program"]
