"""What every function of the compiled path works with: the call context, references, signatures.

A function is an implementation ``impl(ctx, *args)`` and a :class:`Spec` saying how the
compiler prepares each argument:

* ``v`` — a value. A reference is read as its value: in an ordinary formula a multi-cell
  range is *implicitly intersected* with the formula's row or column (Excel's legacy rule,
  shown as ``@`` in Excel 365), in an array formula it is a block; an array in an ordinary
  formula gives its top-left value. Implementations are written over numpy broadcasting,
  so a block flows through element by element (Excel "lifts" such functions over arrays).
* ``a`` — an array: a reference is read as a block of its cells.
* ``A`` — an array whose expression is itself evaluated as in an array formula (SUMPRODUCT's:
  ``SUMPRODUCT(--(A1:A10>20))`` compares every cell, without Ctrl+Shift+Enter).
* ``r`` — a reference (:class:`Rng`) when the argument is one; otherwise the value, and the
  implementation answers as Excel does (usually ``#VALUE!``).
* ``x`` — as written: a :class:`Rng` or a value (aggregates such as SUM treat cells of a
  reference differently from values typed as arguments).

An omitted argument (``IF(A1,,1)``) arrives as ``None``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..dates import date_serial
from ..io.package import Key
from ..values import BLANK_VAL, NUM, Val, as_block, block, error

Env = dict[Key, Val]
DIV0, VALUE, REF, NAME, NUM_ERR, NA = (int(e) for e in (XlError.DIV0, XlError.VALUE, XlError.REF, XlError.NAME, XlError.NUM,
                                                       XlError.NA))


def clock_serial() -> float:
    """The serial number of now: TODAY() and NOW() read it once per run, so they are fixed for the run.

    ``KPITREE_TODAY=2026-04-01`` fixes the date (at midnight), for reproducible what-if tables and tests.
    """
    fixed = os.environ.get("KPITREE_TODAY")
    if fixed:
        day = dt.date.fromisoformat(fixed)
        return date_serial(day.year, day.month, day.day)
    now = dt.datetime.now()
    seconds = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
    return date_serial(now.year, now.month, now.day) + seconds / 86400


@dataclass
class Ctx:
    """One evaluation: the environment of cell values, N input sets, the formula cell being computed."""

    env: Env
    n: int
    cell: Key = (0, 0, 0)
    array: bool = False  # the formula is an array formula (a block of cells, or a dynamic array)
    now: float = field(default_factory=clock_serial)
    locals: dict[int, Any] = field(default_factory=dict)  # LET's values, by slot

    def read(self, key: Key) -> Val:
        return self.env.get(key, BLANK_VAL)


@dataclass(frozen=True)
class Rng:
    """A reference to a block of cells of one sheet (1-based, inclusive)."""

    sheet: int
    r1: int
    c1: int
    r2: int
    c2: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.r2 - self.r1 + 1, self.c2 - self.c1 + 1)

    @property
    def size(self) -> int:
        rows, cols = self.shape
        return rows * cols

    def keys(self) -> list[Key]:
        """Every cell, row by row."""
        return [(self.sheet, r, c) for r in range(self.r1, self.r2 + 1) for c in range(self.c1, self.c2 + 1)]

    def cells(self, ctx: Ctx) -> list[Val]:
        return [ctx.read(k) for k in self.keys()]

    def value(self, ctx: Ctx) -> Val:
        """The cells as a block (a single cell as its value)."""
        if self.size == 1:
            return ctx.read((self.sheet, self.r1, self.c1))
        rows, cols = self.shape
        cells = self.cells(ctx)
        return block([cells[r * cols:(r + 1) * cols] for r in range(rows)])

    def intersect(self, ctx: Ctx) -> Val:
        """Implicit intersection with the formula cell's row or column (#VALUE! when there is none)."""
        if self.size == 1:
            return ctx.read((self.sheet, self.r1, self.c1))
        _, row, col = ctx.cell
        if self.c1 == self.c2 and self.r1 <= row <= self.r2:
            return ctx.read((self.sheet, row, self.c1))
        if self.r1 == self.r2 and self.c1 <= col <= self.c2:
            return ctx.read((self.sheet, self.r1, col))
        return error(XlError.VALUE)

    def offset(self, rows: int, cols: int, height: int | None = None, width: int | None = None) -> Rng | None:
        """The reference moved (and resized); None when it leaves the sheet."""
        r1, c1 = self.r1 + rows, self.c1 + cols
        h = self.shape[0] if height is None else height
        w = self.shape[1] if width is None else width
        r2, c2 = r1 + h - 1, c1 + w - 1
        if r1 < 1 or c1 < 1 or h < 1 or w < 1 or r2 > 1_048_576 or c2 > 16_384:
            return None
        return Rng(self.sheet, r1, c1, r2, c2)


@dataclass(frozen=True)
class Spec:
    """A function's implementation and how its arguments are prepared (see the module doc).

    ``params``: one kind letter per positional parameter; the last ``optional`` of them may be
    omitted. ``repeat``: kinds for arguments past ``params``, repeated in turn (SUM's 255
    values, SUMIFS's range/criteria pairs); then up to ``most`` arguments in all.
    """

    impl: Callable[..., Any]
    params: str
    optional: int = 0
    repeat: str = ""
    most: int = 255
    category: str = ""
    # IF, IFS, SWITCH, CHOOSE: a chosen reference is handed on; where the caller wants a value the compiler
    # reads the choices as values ("x" arguments as "v"), so the function never has to choose a reference
    # differently per input set
    chooses: bool = False
    # the implementation works element by element on blocks given for its "v" arguments (numpy broadcasting);
    # otherwise the compiler lifts it, as Excel 365 lifts a function over an array given for a single value
    takes_arrays: bool = False

    @property
    def min_args(self) -> int:
        return len(self.params) - self.optional

    @property
    def max_args(self) -> int:
        return self.most if self.repeat else len(self.params)

    def kind(self, position: int) -> str:
        if position < len(self.params):
            return self.params[position]
        return self.repeat[(position - len(self.params)) % len(self.repeat)]


def spec(params: str, optional: int = 0, repeat: str = "", most: int = 255, category: str = "", chooses: bool = False
         ) -> Callable[[Callable[..., Any]], Spec]:
    """Decorator: ``@spec("vv", optional=1)`` turns an implementation into its :class:`Spec`."""

    def wrap(impl: Callable[..., Any]) -> Spec:
        return Spec(impl, params, optional, repeat, most, category, chooses)

    return wrap


# --- reading arguments --------------------------------------------------------------------------


def as_value(arg: Any, ctx: Ctx) -> Val:
    """A ``v``-like reading of anything: a reference intersected (or, in an array formula, its block)."""
    if isinstance(arg, Rng):
        return arg.value(ctx) if ctx.array else arg.intersect(ctx)
    if arg is None:
        return BLANK_VAL
    return arg


def as_array(arg: Any, ctx: Ctx) -> Val:
    """An ``a``-like reading: a reference's cells as a block, a value as it is."""
    if isinstance(arg, Rng):
        return arg.value(ctx)
    return BLANK_VAL if arg is None else arg


def cells_of(arg: Any, ctx: Ctx) -> tuple[Val, bool]:
    """An argument as a Val (a reference's cells as a block), and whether it came from a reference or
    an array (True: its cells follow the rules for ranges) or was typed as a value (False)."""
    if isinstance(arg, Rng):
        return as_block(arg.value(ctx)), True
    if arg is None:
        return BLANK_VAL, False
    return arg, arg.dims is not None


def flat(v: Val) -> Val:
    """A block's cells as a Val of shape (rows*cols, N), row by row; a single value as it is."""
    shape = v.shape
    if len(shape) < 3:
        return v
    k = shape[0] * shape[1]

    def reshape(a: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(a), shape).reshape(k, shape[2])

    return Val(reshape(v.num), reshape(v.err), reshape(v.typ), None if v.txt is None else reshape(np.asarray(v.txt, dtype=object)))


def grid(v: Val, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(num, err, typ) of a value's elements, each shaped (elements, n): a block's cells row by row,
    a single value as one element."""
    if v.dims is None:
        return tuple(np.broadcast_to(np.asarray(part), (n,))[None, :] for part in (v.num, v.err, v.typ))  # type: ignore[return-value]
    f = flat(v)
    k = f.shape[0]
    return tuple(np.broadcast_to(np.asarray(part), (k, n)) for part in (f.num, f.err, f.typ))  # type: ignore[return-value]


def grid_texts(v: Val, n: int) -> np.ndarray:
    """The texts of a value's elements, shaped (elements, n) like :func:`grid`."""
    if v.dims is None:
        return np.broadcast_to(v.texts(v.shape), (n,))[None, :] if v.shape else np.full((1, n), v.texts(()).item(), dtype=object)
    f = flat(v)
    return np.broadcast_to(f.texts(f.shape), (f.shape[0], n))


def dims_of(*vals: Val | None) -> tuple[int, int] | None:
    """The block size of a result over these arguments (Excel: the largest rows and columns), or None."""
    blocks = [v.dims for v in vals if v is not None and v.dims is not None]
    if not blocks:
        return None
    return (max(d[0] for d in blocks), max(d[1] for d in blocks))


def align(*vals: Val) -> list[Val]:
    """Blocks brought to one size: a one-row or one-column side is repeated (as numpy broadcasts);
    the cells a smaller block does not have are #N/A (Excel's rule for arrays of different sizes)."""
    dims = dims_of(*vals)
    if dims is None:
        return list(vals)
    rows, cols = dims
    out = []
    for v in vals:
        if v.dims is None or v.dims == dims:
            out.append(v)
            continue
        r, c = v.dims
        n = v.shape[2]
        if r in (1, rows) and c in (1, cols):  # a row or column repeated, as numpy broadcasts
            grown = v.broadcast((rows, cols, n))
            grown.dims = dims
            out.append(grown)
            continue
        full = v.broadcast((r, c, n))
        grown = Val(np.full((rows, cols, n), np.nan), np.full((rows, cols, n), NA, np.int8),
                    np.full((rows, cols, n), NUM, np.int8), None if v.txt is None else np.full((rows, cols, n), "", object), dims)
        take_r = slice(0, rows) if r == 1 else slice(0, r)  # a single row is repeated down, a longer one copied
        take_c = slice(0, cols) if c == 1 else slice(0, c)
        grown.num[take_r, take_c] = full.num
        grown.err[take_r, take_c] = full.err
        grown.typ[take_r, take_c] = full.typ
        if grown.txt is not None:
            grown.txt[take_r, take_c] = full.texts()
        out.append(grown)
    return out
