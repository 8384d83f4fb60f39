"""The general path: one workbook evaluated on its own, for what cannot be vectorised across files.

A layout whose program depends on each file's data — a whole-column reference, whose cells
differ from file to file; an OFFSET or INDEX whose position differs between input sets —
cannot run once for a whole group. Each such file is compiled against its own cells
(``per_file=True``: whole columns cut to the file's stored cells) and run as one input set.
The code that computes is the compiled path's own: both paths give the same values, and the
tests compare them on generated workbooks.
"""

from __future__ import annotations

from typing import Any

from .compiler import compile_graph, run_program
from .graph import Graph, Key, build_graph
from .io.package import WorkbookData
from .values import from_python, to_python


def evaluate_file(wb: WorkbookData, stored: Any) -> tuple[dict[Key, Any], dict[Key, str]]:
    """Every computed cell of one workbook (formula cells and array blocks), and why cells are #NAME?/#REF!.

    ``stored(key)`` gives an input cell's stored value.
    """
    graph: Graph = build_graph(wb)
    program = compile_graph(graph, per_file=True)
    env = run_program(program, {k: from_python([stored(k)]) for k in program.inputs}, 1)
    return {k: to_python(env[k], 1)[0] for k in program.outputs}, program.diagnostics
