"""The ``KPI_*`` worksheet functions on the fast path, built from the function registry.

Each registered function has a :attr:`~kpitree.udfs.registry.WorksheetFunction.kind`; one
builder per kind turns the registry entry into a fast-path implementation over columns
(:func:`kpi_table`). Scalar KPI formulas run through their own vectorised ``.evaluate``
— the same code the UDF runs for one cell — so both agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from kpitree.udfs.catalogue import LANGS, Lang, load_catalogue
from kpitree.udfs.excel_values import Kind, XlError
from kpitree.udfs.kpi_tree import LEVERS, NO_BOTTLENECK, evaluate_bottleneck
from kpitree.udfs.registry import FUNCTIONS, WorksheetFunction
from kpitree.udfs.stage import evaluate_stage_index, recommend, resolve_stage
from kpitree.udfs.status import ON_TRACK_FROM, STATUS_LABELS, WATCH_FROM, evaluate_status

from .functions import VALUE, Env, Rng, TableEntry, rows, text_grid, to_python_values
from .graph import Unsupported
from .values import BLANK, BLANK_VAL, BOOL, NUM, TXT, Val, const


def _kpi_arg(v: Val, flag: bool) -> Any:
    """A Val as the KPI layer reads a cell: floats when clean, else an object array it checks."""
    clean = (v.err == 0) & ((v.typ == NUM) | (v.typ == BLANK) | ((v.typ == BOOL) if flag else False))
    if np.all(clean):
        return np.where(v.typ == BLANK, 0.0, v.num)
    shape = np.broadcast_shapes(v.num.shape, v.err.shape, v.typ.shape)
    out = np.empty(shape, dtype=object)
    num = np.broadcast_to(v.num, shape)
    err = np.broadcast_to(v.err, shape)
    typ = np.broadcast_to(v.typ, shape)
    txt = np.broadcast_to(np.asarray(v.txt if v.txt is not None else "", dtype=object), shape)
    for i in np.ndindex(shape):
        if err[i]:
            out[i] = XlError(int(err[i]))
        elif typ[i] == TXT:
            out[i] = txt[i]
        elif typ[i] == BOOL:
            out[i] = bool(num[i])
        elif typ[i] == BLANK:
            out[i] = None
        else:
            out[i] = float(num[i])
    return out


def _kpi_scalar(fn: Any) -> Callable[..., Val]:
    """A ``KPI_*`` formula through its vectorised ``.evaluate`` (the same code the UDF runs)."""
    kinds = [a.kind for a in fn.args]

    def run(env: Env, *args: Val) -> Val:
        if len(args) > len(kinds):
            return const(XlError.VALUE)
        raw = [_kpi_arg(a, kinds[i] is Kind.FLAG) for i, a in enumerate(args)]
        values, codes = fn.evaluate(*raw)
        return Val(values, codes, NUM)

    return run


def _kpi_series(evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]) -> Callable[..., Val]:
    """KPI_MAPE/WAPE/BIAS: two same-size ranges, evaluated over the last axis."""

    def run(env: Env, actuals: Any, forecasts: Any) -> Val:
        a = [env.get(k, BLANK_VAL) for k in actuals.keys] if isinstance(actuals, Rng) else [actuals]
        f = [env.get(k, BLANK_VAL) for k in forecasts.keys] if isinstance(forecasts, Rng) else [forecasts]
        if len(a) != len(f):
            return const(XlError.VALUE)
        cols_a = np.stack(np.broadcast_arrays(*(_as_obj_or_float(v) for v in a)), axis=-1)
        cols_f = np.stack(np.broadcast_arrays(*(_as_obj_or_float(v) for v in f)), axis=-1)
        values, codes = evaluate(cols_a, cols_f)
        return Val(values, codes, NUM)

    return run


def _as_obj_or_float(v: Val) -> np.ndarray:
    return np.asarray(_kpi_arg(v, False))


def _lang_of(node_lang: Val | None) -> Lang | None:

    if node_lang is None:
        return "ja"
    if node_lang.err.ndim or node_lang.typ.ndim:
        raise Unsupported("lang argument that is not a constant")
    if int(node_lang.typ) == BLANK:
        return "ja"
    if int(node_lang.typ) != TXT or int(node_lang.err):
        return None
    lang = str(node_lang.txt).strip().lower() or "ja"
    return lang if lang in LANGS else None


def _labels(index: np.ndarray, codes: np.ndarray, labels: tuple[str, ...] | None) -> Val:
    if labels is None:
        codes = np.where(codes == 0, np.int8(VALUE), codes)
        return Val(np.nan, codes, NUM)
    idx = np.clip(np.asarray(index, dtype=int), 0, len(labels) - 1)
    txt = np.array(labels, dtype=object)[idx]
    return Val(np.where(codes == 0, 0.0, np.nan), codes, np.where(codes == 0, TXT, NUM), txt)


def _kpi_status(env: Env, achievement: Val, on_track: Val | None = None, watch: Val | None = None, lang: Val | None = None) -> Val:

    code_lang = _lang_of(lang)
    hi = _kpi_arg(on_track, False) if on_track is not None else ON_TRACK_FROM
    lo = _kpi_arg(watch, False) if watch is not None else WATCH_FROM
    index, codes = evaluate_status(_kpi_arg(achievement, False), hi, lo)
    return _labels(index, codes, STATUS_LABELS[code_lang] if code_lang else None)


def _kpi_stage(env: Env, months: Val, lang: Val | None = None) -> Val:

    code_lang = _lang_of(lang)
    if months.has_text():
        raise Unsupported("KPI_STAGE on text")
    index, codes = evaluate_stage_index(_kpi_arg(months, False))
    labels = tuple(s.label(code_lang) for s in load_catalogue().stages) if code_lang else None
    return _labels(index, np.asarray(codes, dtype=np.int8), labels)


def _kpi_stage_recommend(env: Env, stage_or_months: Val, lang: Val | None = None) -> Any:

    n = rows(env)
    code_lang = _lang_of(lang)
    stages = load_catalogue().stages
    values = to_python_values(stage_or_months, n)
    choice = np.zeros(n, int)
    codes = np.zeros(n, np.int8)
    memo: dict[str, Any] = {}
    for i, v in enumerate(values):
        key = repr(v)
        if key not in memo:
            memo[key] = resolve_stage(v.text if isinstance(v, XlError) else v)
        st = memo[key]
        if isinstance(st, XlError):
            codes[i] = int(st)
        elif code_lang is None:
            codes[i] = VALUE
        else:
            choice[i] = next(j for j, s in enumerate(stages) if s.id == st.id)
    tables = [[[r.tier_label, r.kpi_label, r.stars, r.why] for r in recommend(s, code_lang)] for s in stages] if code_lang else [[["" ]]]
    return text_grid(choice, codes, tables, n)


def _kpi_bottleneck(env: Env, actuals: Any, targets: Any, lang: Val | None = None) -> Any:

    n = rows(env)
    code_lang = _lang_of(lang)
    a = [env.get(k, BLANK_VAL) for k in actuals.keys] if isinstance(actuals, Rng) else [actuals]
    t = [env.get(k, BLANK_VAL) for k in targets.keys] if isinstance(targets, Rng) else [targets]
    if code_lang is None or len(a) != len(LEVERS) or len(t) != len(LEVERS):
        return const(XlError.VALUE)
    to_cols = lambda vals: np.stack([np.broadcast_to(np.asarray(_kpi_arg(v, False)), (n,)) for v in vals], axis=-1)  # noqa: E731
    r = evaluate_bottleneck(to_cols(a), to_cols(t))
    none = NO_BOTTLENECK[code_lang]
    cat = load_catalogue()
    tables = [[[*none, 0.0]]]
    for lever in LEVERS:
        b = cat.bottleneck(lever)
        tables.append([[b.label(code_lang), b.cause(code_lang), b.action(code_lang), 0.0]])
    index = np.broadcast_to(np.asarray(r.lever_index), (n,))
    codes = np.broadcast_to(np.asarray(r.codes, dtype=np.int8), (n,))
    grid = text_grid(index + 1, codes, tables, n)
    recovered = np.asarray(r.recovered).reshape(n, len(LEVERS))
    picked = np.where(index >= 0, recovered[np.arange(n), np.clip(index, 0, None)], 0.0)
    grid[0][3] = Val(np.where(codes == 0, picked, np.nan), codes, NUM)
    return grid



_BUILDERS: dict[str, Callable[[WorksheetFunction], TableEntry]] = {
    "scalar": lambda spec: (_kpi_scalar(spec.formula), set()),
    "series": lambda spec: (_kpi_series(spec.formula), {0, 1}),
    "status": lambda spec: (_kpi_status, set()),
    "stage": lambda spec: (_kpi_stage, set()),
    "stage_recommend": lambda spec: (_kpi_stage_recommend, set()),
    "bottleneck": lambda spec: (_kpi_bottleneck, {0, 1}),
}


def kpi_table() -> dict[str, TableEntry]:
    """Every registered ``KPI_*`` function as a fast-path implementation, by Excel name."""
    return {name: _BUILDERS[spec.kind](spec) for name, spec in FUNCTIONS.items()}
