"""A cell over N input sets, or a block of cells: float values, int8 error codes, a type code, text.

The compiled path keeps every value as one :class:`Val` — numpy arrays over the N input
sets (scenarios of a table, files of a batch), so one pass evaluates them all. Shapes:

* a single value: ``()`` (the same for all N) or ``(N,)``;
* a block (an array: a range read as values, an array constant, a function's array
  result): ``(rows, cols, 1)`` or ``(rows, cols, N)``.

The N axis is last so numpy's broadcasting lines a single value up with every cell of a
block. The parts of one Val may have different (broadcastable) shapes; :attr:`Val.dims`
says whether it is a block and of which size.

Excel's value rules live here too, because every function needs them: numbers, text and
booleans in arithmetic (:func:`numeric`), as text (:func:`as_text`), as conditions
(:func:`truth`), and compared (:func:`compare`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from .excel_text import general_text, parse_number_text
from .io.writeback import EMPTY_CELL

NUM, TXT, BOOL, BLANK, EMPTY = 0, 1, 2, 3, 4  # EMPTY: a cell of a dynamic array's block its result does not reach
VALUE_ERR = int(XlError.VALUE)


class Val:
    """``num`` (float; booleans as 0/1, blanks as 0), ``err`` (int8, 0 = none), ``typ`` (int8:
    NUM, TXT, BOOL, BLANK) and ``txt`` (object array of str, or ``None`` when no element is
    text); ``dims`` = (rows, cols) of a block, ``None`` for a single value."""

    __slots__ = ("dims", "err", "num", "txt", "typ")

    def __init__(self, num: Any, err: Any, typ: Any, txt: Any = None, dims: tuple[int, int] | None = None):
        self.num = np.asarray(num, dtype=float)
        self.err = np.asarray(err, dtype=np.int8)
        self.typ = np.asarray(typ, dtype=np.int8)
        self.txt = txt
        self.dims = dims

    @property
    def shape(self) -> tuple[int, ...]:
        parts = [self.num.shape, self.err.shape, self.typ.shape]
        if self.txt is not None:
            parts.append(np.shape(self.txt))
        return np.broadcast_shapes(*parts)

    def has_text(self) -> bool:
        return self.txt is not None and bool((self.typ == TXT).any())

    def texts(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Text of each element (``""`` where not text), broadcast to ``shape`` (default: the Val's)."""
        shape = self.shape if shape is None else shape
        if self.txt is None:
            return np.full(shape, "", dtype=object)
        return np.broadcast_to(np.asarray(self.txt, dtype=object), shape)

    def cell(self, r: int, c: int) -> Val:
        """Cell (r, c) of a block as a single value (a single value is every cell of itself)."""
        if self.dims is None:
            return self
        return Val(_pick(self.num, r, c), _pick(self.err, r, c), _pick(self.typ, r, c),
                   None if self.txt is None else _pick(np.asarray(self.txt, dtype=object), r, c))

    def broadcast(self, shape: tuple[int, ...]) -> Val:
        """Every part broadcast to ``shape`` (copies, writable)."""
        txt = None if self.txt is None else np.array(np.broadcast_to(np.asarray(self.txt, dtype=object), shape))
        return Val(np.array(np.broadcast_to(self.num, shape)), np.array(np.broadcast_to(self.err, shape)),
                   np.array(np.broadcast_to(self.typ, shape)), txt, self.dims)


def _pick(a: np.ndarray, r: int, c: int) -> np.ndarray:
    if a.ndim < 3:
        return a
    return a[min(r, a.shape[0] - 1), min(c, a.shape[1] - 1)]


def const(value: Any) -> Val:
    """A single value, the same for every input set."""
    if isinstance(value, XlError):
        return Val(np.nan, int(value), NUM)
    if value is None:
        return Val(0.0, 0, BLANK)
    if isinstance(value, (bool, np.bool_)):
        return Val(float(value), 0, BOOL)
    if isinstance(value, str):
        return Val(0.0, 0, TXT, np.array(value, dtype=object))
    return Val(float(value), 0, NUM)


BLANK_VAL = const(None)


def error(code: Any) -> Val:
    """An error value (``code``: XlError or int8 array of codes, 0 where no error)."""
    return Val(np.nan, code, NUM)


def block(rows: Sequence[Sequence[Val]]) -> Val:
    """A block from rows of single values (each () or (N,))."""
    r, c = len(rows), len(rows[0])
    flat = [v for row in rows for v in row]
    shapes = [v.shape for v in flat]
    n = max((s[0] for s in shapes if s), default=1)
    out_shape = (r, c, n)

    def stack(get: Any, dtype: Any) -> np.ndarray:
        if n == 1:  # one input set (a file on its own): one array from the cells' scalars, no broadcast per cell
            items = [get(v) for v in flat]
            return np.array([x.item() if isinstance(x, np.ndarray) else x for x in items], dtype=dtype).reshape(out_shape)
        arr = np.empty((r * c, n), dtype=dtype)
        for i, v in enumerate(flat):
            arr[i] = np.broadcast_to(get(v), (n,))
        return arr.reshape(out_shape)

    txt = None
    if any(v.txt is not None for v in flat):
        txt = stack(lambda v: v.texts((n,)) if v.txt is not None else "", object)
    return Val(stack(lambda v: v.num, float), stack(lambda v: v.err, np.int8), stack(lambda v: v.typ, np.int8), txt, (r, c))


def as_block(v: Val) -> Val:
    """``v`` as a block: a single value becomes a 1x1 block."""
    if v.dims is not None:
        return v

    def lift(a: Any, dtype: Any) -> np.ndarray:
        a = np.asarray(a, dtype=dtype)
        return a.reshape(1, 1, *(a.shape or (1,)))

    return Val(lift(v.num, float), lift(v.err, np.int8), lift(v.typ, np.int8),
               None if v.txt is None else lift(v.txt, object), (1, 1))


def from_python(values: Sequence[Any]) -> Val:
    """One Val from stored cell values (float, str, bool, XlError or None) of N workbooks."""
    n = len(values)
    try:  # the common case: every value is a number
        if all(type(v) is float for v in values):
            return Val(np.fromiter(values, float, n), np.zeros(n, np.int8), np.zeros(n, np.int8))
    except TypeError:
        pass
    num = np.zeros(n)
    err = np.zeros(n, np.int8)
    typ = np.zeros(n, np.int8)
    txt = None
    for i, v in enumerate(values):
        if v is None:
            typ[i] = BLANK
        elif isinstance(v, XlError):
            err[i], num[i] = int(v), np.nan
        elif isinstance(v, (bool, np.bool_)):
            typ[i], num[i] = BOOL, float(v)
        elif isinstance(v, str):
            if txt is None:
                txt = np.full(n, "", dtype=object)
            typ[i], txt[i] = TXT, v
        else:
            f = float(v)
            if np.isnan(f):  # pandas' empty cell
                typ[i] = BLANK
            else:
                num[i] = f
    return Val(num, err, typ, txt)


def to_python(val: Val, n: int) -> list[Any]:
    """N plain values of a single value: float, str, bool or XlError (a blank reads as 0, as in Excel)."""
    num = np.broadcast_to(val.num, (n,))
    err = np.broadcast_to(val.err, (n,))
    typ = np.broadcast_to(val.typ, (n,))
    out: list[Any] = (num + 0.0).tolist()  # + 0.0 turns -0.0 into 0.0: Excel has no negative zero
    if not err.any() and not (typ != NUM).any():
        return out
    txt = val.texts((n,)) if val.txt is not None else None
    for i in np.nonzero((err != 0) | (typ != NUM))[0].tolist():
        if err[i]:
            out[i] = XlError(int(err[i]))
        elif typ[i] == TXT:
            out[i] = txt[i] if txt is not None else ""
        elif typ[i] == BOOL:
            out[i] = bool(num[i])
        elif typ[i] == EMPTY:
            out[i] = EMPTY_CELL
        else:
            out[i] = 0.0
    return out


def first_err(*errs: Any) -> np.ndarray:
    """Leftmost non-zero error code, element-wise."""
    out = np.asarray(errs[-1], dtype=np.int8)
    for e in reversed(errs[:-1]):
        e = np.asarray(e, dtype=np.int8)
        out = np.where(e != 0, e, out)
    return out.astype(np.int8)


def finish(num: np.ndarray, err: np.ndarray, dims: tuple[int, int] | None = None) -> Val:
    """A numeric result: non-finite values become #NUM!, errored elements hold NaN."""
    with np.errstate(invalid="ignore"):
        bad = (err == 0) & ~np.isfinite(num)
    err = np.where(bad, np.int8(XlError.NUM), err).astype(np.int8)
    return Val(np.where(err == 0, num, np.nan), err, NUM, None, dims)


def boolean(result: np.ndarray, err: np.ndarray, dims: tuple[int, int] | None = None) -> Val:
    """A TRUE/FALSE result, errored elements carrying their error."""
    return Val(np.where(err == 0, np.asarray(result, dtype=float), np.nan), err, BOOL, None, dims)


def texts(strings: np.ndarray, err: np.ndarray, dims: tuple[int, int] | None = None) -> Val:
    """A text result (object array of str), errored elements carrying their error."""
    err = np.asarray(err, dtype=np.int8)
    return Val(np.where(err == 0, 0.0, np.nan), err, np.where(err == 0, TXT, NUM), strings, dims)


# --- element-wise work done once per distinct value ----------------------------------------------


def collapsed(arr: np.ndarray) -> np.ndarray:
    """``arr`` without the axes it is only broadcast along (stride 0): the elements that actually differ."""
    arr = np.asarray(arr)
    index = tuple(slice(0, 1) if stride == 0 and size > 1 else slice(None) for stride, size in zip(arr.strides, arr.shape))
    return arr[index]


def map_distinct(fn: Any, arr: Any, dtype: Any = object) -> np.ndarray:
    """``fn`` of every element of ``arr``, called once per distinct element (and not at all for the copies a
    broadcast makes): the per-element Python work of text and formatting functions, done only where values
    differ. The result is broadcast back to ``arr``'s shape (read-only where it was broadcast)."""
    arr = np.asarray(arr, dtype=object)
    small = collapsed(arr)
    items = small.ravel().tolist()
    memo = {v: fn(v) for v in set(items)} if items and _hashable(items) else None
    if memo is None:
        values = [fn(v) for v in items]
    else:
        values = [memo[v] for v in items]
    out = np.empty(len(values), dtype=dtype)
    out[:] = values  # results are str, float, bool or XlError: one element each
    return np.broadcast_to(out.reshape(small.shape), arr.shape)


def _hashable(items: list[Any]) -> bool:
    try:
        hash(items[0])
        return True
    except TypeError:
        return False


# --- Excel's reading of values -------------------------------------------------------------------


def indices(mask: Any) -> list[tuple[int, ...]]:
    """Index tuples where ``mask`` is true, for any shape (a 0-d mask included)."""
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return [()] if bool(mask) else []
    return [tuple(int(k) for k in ix) for ix in zip(*np.nonzero(mask))]


def parsed_number(text: Any) -> float:
    """A text read as a number (dates, percentages, full-width digits…) as arithmetic reads it; NaN when it is none."""
    parsed = parse_number_text(str(text))
    return np.nan if parsed is None else parsed


def numeric(v: Val) -> tuple[np.ndarray, np.ndarray]:
    """Values and error codes of ``v`` in arithmetic: booleans 0/1, blanks 0, text read as a number or #VALUE!."""
    if not v.has_text():
        return v.num, v.err
    shape = v.shape
    num = np.array(np.broadcast_to(v.num, shape), dtype=float)
    err = np.array(np.broadcast_to(v.err, shape), dtype=np.int8)
    istxt = np.broadcast_to(v.typ == TXT, shape) & (err == 0)
    if istxt.any():
        parsed = map_distinct(parsed_number, v.texts(shape)[istxt], dtype=float)
        num[istxt] = parsed
        err[istxt] = np.where(np.isnan(parsed), np.int8(VALUE_ERR), np.int8(0))
    return num, err


def general_texts(x: np.ndarray) -> np.ndarray:
    """:func:`general_text` of every number of a 1-D array (once per distinct number; not finite: "")."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return np.empty(0, dtype=object)
    distinct, inverse = np.unique(x, return_inverse=True)
    shown = np.empty(len(distinct), dtype=object)
    shown[:] = [general_text(v) if np.isfinite(v) else "" for v in distinct.tolist()]
    return shown[inverse.reshape(-1)]


def as_text(v: Val, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Text of each element as ``&`` and text functions read it (numbers in Excel's General format), and errors."""
    shape = v.shape if shape is None else shape
    num = np.broadcast_to(v.num, shape)
    typ = np.broadcast_to(v.typ, shape)
    out = np.array(v.texts(shape), dtype=object)
    if out.ndim == 0:  # one value: no arrays to fill
        t, x = int(typ), float(num)
        if t == BOOL:
            out = np.array("TRUE" if x else "FALSE", dtype=object)
        elif t in (BLANK, EMPTY):
            out = np.array("", dtype=object)
        elif t != TXT:
            out = np.array(general_text(x) if np.isfinite(x) else "", dtype=object)
        return out, np.broadcast_to(v.err, shape)
    out[typ == BOOL] = np.where(num[typ == BOOL] != 0, "TRUE", "FALSE")
    out[(typ == BLANK) | (typ == EMPTY)] = ""
    numbers = (typ != TXT) & (typ != BOOL) & (typ != BLANK) & (typ != EMPTY)
    if numbers.any():
        out[numbers] = general_texts(num[numbers])
    return out, np.broadcast_to(v.err, shape)


def _truth_text(text: Any) -> float:
    s = str(text).strip().upper()
    return 1.0 if s == "TRUE" else 0.0 if s == "FALSE" else np.nan


def truth(v: Val) -> tuple[np.ndarray, np.ndarray]:
    """A condition: numbers non-zero, booleans, blank FALSE; text is #VALUE! unless "TRUE"/"FALSE"."""
    if not v.has_text():
        return np.asarray(v.num != 0), v.err
    shape = v.shape
    result = np.array(np.broadcast_to(v.num != 0, shape))
    err = np.array(np.broadcast_to(v.err, shape), dtype=np.int8)
    istxt = np.broadcast_to(v.typ == TXT, shape) & (err == 0)
    if istxt.any():
        flags = map_distinct(_truth_text, v.texts(shape)[istxt], dtype=float)
        result[istxt] = flags == 1.0
        err[istxt] = np.where(np.isnan(flags), np.int8(VALUE_ERR), np.int8(0))
    return result, err


def ordered_sum(x: np.ndarray) -> np.ndarray:
    """The sum along the first axis in reading order, as Excel adds. numpy's pairwise summation would make
    the last digits depend on how many files are computed together (and differ between the two paths)."""
    x = np.asarray(x, dtype=float)
    return np.cumsum(x, axis=0)[-1] if x.shape[0] else np.zeros(x.shape[1:])


def round15(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to 15 significant digits, as Excel compares numbers (``0.1+0.2=0.3`` is TRUE)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        mag = np.floor(np.log10(np.abs(np.where((x == 0) | ~np.isfinite(x), 1.0, x))))
        scale = np.power(10.0, 14 - mag)
        r = np.round(x * scale) / scale
    return np.where((x == 0) | ~np.isfinite(x) | ~np.isfinite(r), x, r)


_CLASS = {TXT: 1, BOOL: 2}  # Excel's order of types in comparisons; numbers (errors too) 0, blanks take the other side's


def type_class(v: Val, other: Val) -> np.ndarray:
    """Excel's order of types in comparisons: number 0 < text 1 < boolean 2; a blank takes the other side's type."""
    cls = np.select([v.typ == t for t in _CLASS], list(_CLASS.values()), 0)
    other_cls = np.select([other.typ == t for t in _CLASS], list(_CLASS.values()), 0)
    blank, other_blank = (v.typ == BLANK) | (v.typ == EMPTY), (other.typ == BLANK) | (other.typ == EMPTY)
    return np.where(blank, np.where(other_blank, 0, other_cls), cls)


def compare(a: Val, b: Val) -> tuple[np.ndarray, np.ndarray]:
    """-1 / 0 / 1 of ``a`` against ``b`` as Excel orders values, and the errors (leftmost)."""
    if _single(a) and _single(b):
        return _compare_single(a, b)  # a formula computed once for all input sets: plain Python, not numpy
    class_a, class_b = _one_class(a.typ), _one_class(b.typ)
    if class_a is not None and class_b is not None and class_a != class_b:  # numbers against a text (x=""): types decide
        shape = np.broadcast_shapes(a.shape, b.shape)
        return np.broadcast_to(np.array(float(np.sign(class_a - class_b))), shape), first_err(a.err, b.err)
    if _numbers_only(a.typ) and _numbers_only(b.typ):  # the common case, without the type classes' work
        with np.errstate(invalid="ignore"):
            order = np.sign(round15(a.num) - round15(b.num))
        return np.broadcast_to(order, np.broadcast_shapes(a.shape, b.shape)), first_err(a.err, b.err)
    ca, cb = type_class(a, b), type_class(b, a)
    shape = np.broadcast_shapes(a.shape, b.shape, np.shape(ca), np.shape(cb))
    order = np.array(np.broadcast_to(np.sign(np.subtract(ca, cb, dtype=float)), shape))
    both_num = np.broadcast_to((ca == cb) & (ca != 1), shape)
    with np.errstate(invalid="ignore"):
        num_order = np.sign(round15(a.num) - round15(b.num))
    order = np.where(both_num, np.broadcast_to(num_order, shape), order)
    both_txt = np.broadcast_to((ca == 1) & (cb == 1), shape)
    if both_txt.any():
        sa = np.where(np.broadcast_to(a.typ >= BLANK, shape), "", a.texts(shape))
        sb = np.where(np.broadcast_to(b.typ >= BLANK, shape), "", b.texts(shape))
        order = np.array(order)
        ka = map_distinct(_order_key, sa[both_txt])  # once per distinct text
        kb = map_distinct(_order_key, sb[both_txt])
        order[both_txt] = np.asarray(ka > kb, dtype=int) - np.asarray(ka < kb, dtype=int)
    return order, first_err(a.err, b.err)


def _single(v: Val) -> bool:
    """Every part of ``v`` one value (no input-set axis, no block)."""
    return v.typ.ndim == 0 and v.num.ndim == 0 and v.err.ndim == 0 and (v.txt is None or np.ndim(v.txt) == 0)


def _single_text(v: Val, blank: bool) -> str:
    return "" if blank or v.txt is None else str(np.asarray(v.txt, dtype=object).item())


def _compare_single(a: Val, b: Val) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compare` of two single values that are the same for every input set."""
    ta, tb = int(a.typ), int(b.typ)
    blank_a, blank_b = ta in (BLANK, EMPTY), tb in (BLANK, EMPTY)
    ca, cb = _CLASS.get(ta, 0), _CLASS.get(tb, 0)
    ca, cb = (cb if blank_a and not blank_b else ca), (ca if blank_b and not blank_a else cb)
    ea, eb = int(a.err), int(b.err)
    err = np.array(ea or eb, dtype=np.int8)
    if ca != cb:
        return np.array(float(np.sign(ca - cb))), err
    if ca == 1:
        ka, kb = text_order_key(_single_text(a, blank_a)), text_order_key(_single_text(b, blank_b))
        return np.array(float((ka > kb) - (ka < kb))), err
    with np.errstate(invalid="ignore"):
        ra, rb = round15(np.array([float(a.num), float(b.num)]))
        return np.array(np.sign(ra - rb)), err


def _one_class(typ: np.ndarray) -> int | None:
    """The type class every element has, none of them blank (a blank takes the other side's), else None."""
    if typ.ndim == 0:
        t = int(typ)
        return None if t in (BLANK, EMPTY) else _CLASS.get(t, 0)
    if not typ.size:
        return None
    first = int(typ.flat[0])
    return None if first in (BLANK, EMPTY) or not (typ == first).all() else _CLASS.get(first, 0)


def _numbers_only(typ: np.ndarray) -> bool:
    """No text and no TRUE/FALSE: numbers and blanks (a blank compares as the number 0 then), one type class."""
    if typ.ndim == 0:
        return int(typ) in (NUM, BLANK, EMPTY)
    return not ((typ == TXT) | (typ == BOOL)).any()


def _order_key(text: Any) -> tuple[str, str]:
    return text_order_key(str(text))


def text_order_key(text: str) -> tuple[str, str]:
    """How Excel orders text: without regard to case and, first, to width (Windows' locale comparison puts
    "１２" with "12", before "30"); texts alike but for width differ by their characters. Equal keys mean
    equal text (``="a"="A"`` is TRUE)."""
    lower = text.lower()
    return unicodedata.normalize("NFKC", lower), lower
