"""The ``KPI_*`` worksheet functions on the compiled path, built from the function registry.

Each registered function has a :attr:`~kpitree.udfs.registry.WorksheetFunction.kind`; one
builder per kind turns the registry entry into a :class:`~.functions.base.Spec` (:func:`kpi_table`).
Scalar KPI formulas run through their own vectorised ``.evaluate`` — the same code the UDF runs
for one cell — so both agree by construction; the table functions (stage recommendations,
bottleneck) return blocks that spill.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from kpitree.udfs.catalogue import LANGS, Lang, load_catalogue
from kpitree.udfs.excel_values import Kind, XlError
from kpitree.udfs.kpi_tree import LEVERS, NO_BOTTLENECK, evaluate_bottleneck
from kpitree.udfs.registry import FUNCTIONS, WorksheetFunction
from kpitree.udfs.stage import evaluate_stage_index, recommend_table, resolve_stage
from kpitree.udfs.status import ON_TRACK_FROM, STATUS_LABELS, WATCH_FROM, evaluate_status

from .functions.base import VALUE, Ctx, Spec, grid, grid_texts
from .graph import split_by
from .values import BLANK, BOOL, EMPTY, NUM, TXT, Val, as_block, const, to_python


def _kpi_arg(v: Val, flag: bool) -> Any:
    """A Val as the KPI layer reads a cell: floats when clean, else an object array it checks."""
    clean = (v.err == 0) & ((v.typ == NUM) | (v.typ == BLANK) | ((v.typ == BOOL) if flag else False))
    if np.all(clean):
        return np.where(v.typ == BLANK, 0.0, v.num)
    shape = v.shape
    out = np.empty(shape, dtype=object)
    num = np.broadcast_to(v.num, shape)
    err = np.broadcast_to(v.err, shape)
    typ = np.broadcast_to(v.typ, shape)
    txt = v.texts(shape)
    for i in np.ndindex(shape):
        if err[i]:
            out[i] = XlError(int(err[i]))
        elif typ[i] == TXT:
            out[i] = txt[i]
        elif typ[i] == BOOL:
            out[i] = bool(num[i])
        elif typ[i] in (BLANK, EMPTY):
            out[i] = None
        else:
            out[i] = float(num[i])
    return out


def _scalar(spec: WorksheetFunction) -> Spec:
    """A ``KPI_*`` formula through its vectorised ``.evaluate``; an omitted optional argument takes its default."""
    formula = spec.formula
    kinds = [a.kind for a in formula.args]
    optional = sum(a.optional for a in formula.args)

    def run(ctx: Ctx, *args: Val | None) -> Val:
        given = list(args)
        while given and given[-1] is None:
            given.pop()
        raw = [_kpi_arg(const(None) if a is None else a, kinds[i] is Kind.FLAG) for i, a in enumerate(given)]
        values, codes = formula.evaluate(*raw)
        dims = next((a.dims for a in given if a is not None and a.dims is not None), None)
        return Val(values, codes, NUM, None, dims)

    return Spec(run, "v" * len(kinds), optional=optional, category="kpi")


def _series(spec: WorksheetFunction) -> Spec:
    """KPI_MAPE/WAPE/BIAS: two same-size ranges, evaluated over the periods."""
    evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]] = spec.formula

    def run(ctx: Ctx, actuals: Val, forecasts: Val) -> Val:
        a, f = as_block(actuals), as_block(forecasts)
        if (a.dims or (1, 1))[0] * (a.dims or (1, 1))[1] != (f.dims or (1, 1))[0] * (f.dims or (1, 1))[1]:
            return const(XlError.VALUE)
        cols = [_periods(v, ctx.n) for v in (a, f)]
        values, codes = evaluate(cols[0], cols[1])
        return Val(values, codes, NUM)

    return Spec(run, "aa", category="kpi")


def _periods(v: Val, n: int) -> np.ndarray:
    """A block's cells as the KPI layer reads them, shaped (n, periods)."""
    num, err, typ = grid(v, n)
    flat = Val(num.T, err.T, typ.T, grid_texts(v, n).T)
    return np.asarray(_kpi_arg(flat, False))


def _lang_of(lang: Val | None) -> Lang | None:
    """A ``lang`` argument: blank is ja; anything but ja/en is None (#VALUE!)."""
    if lang is None:
        return "ja"
    if lang.err.ndim or lang.typ.ndim or np.ndim(lang.txt):
        if np.size(lang.typ) > 1 or np.size(lang.err) > 1 or np.size(lang.txt) > 1:
            raise split_by("lang argument that is not the same for every input set", lang.err, lang.typ,
                           np.asarray(lang.txt if lang.txt is not None else "", dtype=object))
        lang = Val(np.asarray(lang.num).reshape(()), lang.err.reshape(()), lang.typ.reshape(()),
                   None if lang.txt is None else np.asarray(lang.txt, dtype=object).reshape(()))
    if int(lang.typ) == BLANK:
        return "ja"
    if int(lang.typ) != TXT or int(lang.err):
        return None
    code = str(lang.txt).strip().lower() or "ja"
    return code if code in LANGS else None


def _labels(index: np.ndarray, codes: np.ndarray, labels: tuple[str, ...] | None) -> Val:
    if labels is None:
        codes = np.where(codes == 0, np.int8(VALUE), codes)
        return Val(np.nan, codes, NUM)
    idx = np.clip(np.asarray(index, dtype=int), 0, len(labels) - 1)
    txt = np.array(labels, dtype=object)[idx]
    return Val(np.where(codes == 0, 0.0, np.nan), codes, np.where(codes == 0, TXT, NUM), txt)


def _status(spec: WorksheetFunction) -> Spec:
    def run(ctx: Ctx, achievement: Val, on_track: Val | None = None, watch: Val | None = None, lang: Val | None = None) -> Val:
        code_lang = _lang_of(lang)
        hi = _kpi_arg(on_track, False) if on_track is not None else ON_TRACK_FROM
        lo = _kpi_arg(watch, False) if watch is not None else WATCH_FROM
        index, codes = evaluate_status(_kpi_arg(achievement, False), hi, lo)
        return _labels(index, codes, STATUS_LABELS[code_lang] if code_lang else None)

    return Spec(run, "vvvv", optional=3, category="kpi")


def _stage(spec: WorksheetFunction) -> Spec:
    def run(ctx: Ctx, months: Val, lang: Val | None = None) -> Val:
        code_lang = _lang_of(lang)
        raw = np.asarray(_kpi_arg(months, False))
        text_codes: Any = 0
        if raw.dtype == object:  # text is never read as months: an error's text is that error, else #VALUE!
            text_codes = np.vectorize(lambda x: int(XlError.from_text(x) or XlError.VALUE) if isinstance(x, str) else 0,
                                      otypes=[np.int8])(raw)
            raw = np.where(text_codes != 0, 0.0, raw)
        index, codes = evaluate_stage_index(raw)
        codes = np.where(np.asarray(text_codes) != 0, text_codes, codes).astype(np.int8)
        labels = tuple(s.label(code_lang) for s in load_catalogue().stages) if code_lang else None
        return _labels(index, codes, labels)

    return Spec(run, "vv", optional=1, category="kpi")


def _table(rows_per_choice: list[list[list[Any]]], choice: np.ndarray, codes: np.ndarray, n: int) -> Val:
    """A block where input set j shows ``rows_per_choice[choice[j]]`` (empty past its end), or its error."""
    rows = max((len(t) for t in rows_per_choice), default=1)
    cols = max((len(r) for t in rows_per_choice for r in t), default=1)
    num = np.zeros((rows, cols, n))
    err = np.zeros((rows, cols, n), np.int8)
    typ = np.full((rows, cols, n), EMPTY, np.int8)
    txt = np.full((rows, cols, n), "", dtype=object)
    choice = np.broadcast_to(choice, (n,))
    codes = np.broadcast_to(codes, (n,))
    for j in range(n):
        if codes[j]:
            err[:, :, j], typ[:, :, j], num[:, :, j] = codes[j], NUM, np.nan
            continue
        table = rows_per_choice[int(choice[j])]
        for r, line in enumerate(table):
            for c, value in enumerate(line):
                if isinstance(value, str):
                    typ[r, c, j], txt[r, c, j] = TXT, value
                else:
                    typ[r, c, j], num[r, c, j] = NUM, float(value)
    return Val(num, err, typ, txt, (rows, cols))


def _stage_recommend(spec: WorksheetFunction) -> Spec:
    def run(ctx: Ctx, stage_or_months: Val, lang: Val | None = None) -> Val:
        code_lang = _lang_of(lang)
        stages = load_catalogue().stages
        values = to_python(stage_or_months, ctx.n)
        blank = np.broadcast_to(stage_or_months.typ == BLANK, (ctx.n,))
        choice = np.zeros(ctx.n, int)
        codes = np.zeros(ctx.n, np.int8)
        for i, v in enumerate(values):
            st = resolve_stage(None if blank[i] else (v.text if isinstance(v, XlError) else v))
            if isinstance(st, XlError):
                codes[i] = int(st)
            else:
                choice[i] = next(j for j, s in enumerate(stages) if s.id == st.id)
        if code_lang is None:  # a bad lang is #VALUE! after the stage's own error, as the worksheet function says it
            codes = np.where(codes == 0, np.int8(XlError.VALUE), codes).astype(np.int8)
        tables = [recommend_table(s, code_lang or "ja") for s in stages]
        return _table(tables, choice, codes, ctx.n)

    return Spec(run, "vv", optional=1, category="kpi")


def _bottleneck(spec: WorksheetFunction) -> Spec:
    def run(ctx: Ctx, actuals: Val, targets: Val, lang: Val | None = None) -> Val:
        code_lang = _lang_of(lang)
        a, t = as_block(actuals), as_block(targets)
        size = len(LEVERS)
        if code_lang is None or any((v.dims or (1, 1))[0] * (v.dims or (1, 1))[1] != size for v in (a, t)):
            return const(XlError.VALUE)
        r = evaluate_bottleneck(_periods(a, ctx.n), _periods(t, ctx.n))
        none = NO_BOTTLENECK[code_lang]
        cat = load_catalogue()
        tables: list[list[list[Any]]] = [[[*none, 0.0]]]
        for lever in LEVERS:
            b = cat.bottleneck(lever)
            tables.append([[b.label(code_lang), b.cause(code_lang), b.action(code_lang), 0.0]])
        index = np.broadcast_to(np.asarray(r.lever_index), (ctx.n,))
        codes = np.broadcast_to(np.asarray(r.codes, dtype=np.int8), (ctx.n,))
        out = _table(tables, index + 1, codes, ctx.n)
        recovered = np.asarray(r.recovered).reshape(ctx.n, size)
        picked = np.where(index >= 0, recovered[np.arange(ctx.n), np.clip(index, 0, None)], 0.0)
        out.num[0, 3] = np.where(codes == 0, picked, np.nan)
        return out

    return Spec(run, "aav", optional=1, category="kpi")


_BUILDERS: dict[str, Callable[[WorksheetFunction], Spec]] = {
    "scalar": _scalar, "series": _series, "status": _status, "stage": _stage,
    "stage_recommend": _stage_recommend, "bottleneck": _bottleneck,
}


def kpi_table() -> dict[str, Spec]:
    """Every registered ``KPI_*`` function as a compiled-path implementation, by Excel name."""
    return {name: _BUILDERS[spec.kind](spec) for name, spec in FUNCTIONS.items()}
