"""Information: ISNUMBER, ISTEXT, ISNONTEXT, ISLOGICAL, ISBLANK, ISERROR, ISERR, ISNA, NA, N, T, ERROR.TYPE.

``ISNUMBER("30")`` is FALSE: text that looks like a number is still text. ``ISBLANK`` is TRUE
only for an empty cell (not for "" nor for a formula's result).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..values import BLANK, BOOL, NUM, TXT, Val, boolean, const, finish, texts
from .base import NA, Ctx, Spec, spec


def _is(test: Callable[[Val], np.ndarray]) -> Spec:
    def run(ctx: Ctx, value: Val) -> Val:
        result = np.asarray(test(value))
        return boolean(result, np.zeros(result.shape, np.int8), value.dims)

    return Spec(run, "v", category="information")


@spec("", category="information")
def NA_(ctx: Ctx) -> Val:
    return const(XlError.NA)


@spec("v", category="information")
def N(ctx: Ctx, value: Val) -> Val:
    """N: a number as itself, TRUE 1, anything else 0; errors stay."""
    keep = (value.typ == NUM) | (value.typ == BOOL)
    return finish(np.where(keep, value.num, 0.0), value.err, value.dims)


@spec("v", category="information")
def T(ctx: Ctx, value: Val) -> Val:
    """T: text as itself, anything else ""; errors stay."""
    shape = value.shape
    return texts(np.where(np.broadcast_to(value.typ == TXT, shape), value.texts(shape), ""), value.err, value.dims)


@spec("v", category="information")
def ERROR_TYPE(ctx: Ctx, value: Val) -> Val:
    """ERROR.TYPE: 1 #NULL!, 2 #DIV/0!, 3 #VALUE!, 4 #REF!, 5 #NAME?, 6 #NUM!, 7 #N/A; no error is #N/A."""
    err = np.asarray(value.err)
    return finish(err.astype(float), np.where(err == 0, np.int8(NA), np.int8(0)), value.dims)


TABLE: dict[str, Spec] = {
    "ISNUMBER": _is(lambda v: (v.err == 0) & (v.typ == NUM)),
    "ISTEXT": _is(lambda v: (v.err == 0) & (v.typ == TXT)),
    "ISNONTEXT": _is(lambda v: (v.err != 0) | (v.typ != TXT)),
    "ISLOGICAL": _is(lambda v: (v.err == 0) & (v.typ == BOOL)),
    "ISBLANK": _is(lambda v: (v.err == 0) & (v.typ == BLANK)),
    "ISERROR": _is(lambda v: v.err != 0),
    "ISERR": _is(lambda v: (v.err != 0) & (v.err != NA)),
    "ISNA": _is(lambda v: v.err == NA),
    "NA": NA_, "N": N, "T": T, "ERROR.TYPE": ERROR_TYPE,
}
