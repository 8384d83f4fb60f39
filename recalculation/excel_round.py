"""ROUND, ROUNDUP and ROUNDDOWN the way Excel computes them.

Excel first reads a double as 15 significant decimal digits, then rounds that
decimal number (ties away from zero). Binary rounding of the raw double gets the
cases users check by hand wrong: 1.005 is stored as 1.00499999999999989..., so
``round(1.005, 2)`` is 1.0 in Python and in ``formulas`` 1.3.4, while Excel shows
1.01; ``ROUNDUP(0.1 + 0.2, 1)`` is 0.4 in binary (0.30000000000000004 > 0.3) and
0.3 in Excel.

The vectorised path does the float arithmetic for every element and redoes, with
:mod:`decimal`, only the elements whose scaled value lies near a rounding boundary
(a tie for ROUND, an integer for ROUNDUP/ROUNDDOWN) — the only places where the
15-digit reading can change the answer.
"""

from __future__ import annotations

import decimal

import numpy as np

_MODES = {"round": decimal.ROUND_HALF_UP, "up": decimal.ROUND_UP, "down": decimal.ROUND_DOWN}
_CTX = decimal.Context(prec=40)


def excel_round_scalar(x: float, digits: float, mode: str = "round") -> float:
    """One value rounded as Excel does: 15 significant digits first, then decimal rounding."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    d = int(digits)  # Excel truncates num_digits: ROUND(x, 1.9) is ROUND(x, 1)
    dec = decimal.Decimal(format(x, ".15g"))
    quantum = decimal.Decimal(1).scaleb(-d)
    if dec.adjusted() - (-d) > 30:  # already far coarser than the quantum
        return float(dec)
    try:
        return float(dec.quantize(quantum, rounding=_MODES[mode], context=_CTX))
    except decimal.InvalidOperation:
        return float(dec)


def excel_round(x: np.ndarray, digits: np.ndarray, mode: str = "round") -> np.ndarray:
    """Element-wise :func:`excel_round_scalar` over broadcast arrays of finite numbers."""
    x, digits = np.broadcast_arrays(np.asarray(x, dtype=float), np.trunc(np.asarray(digits, dtype=float)))
    with np.errstate(all="ignore"):
        scale = np.power(10.0, digits)
        y = np.abs(x) * scale
        if mode == "round":
            k = np.floor(y + 0.5)
            boundary = np.abs((y - np.floor(y)) - 0.5)
        elif mode == "up":
            k = np.ceil(y)
            boundary = np.abs(y - np.round(y))
        else:
            k = np.floor(y)
            boundary = np.abs(y - np.round(y))
        out = np.copysign(k / scale, x)
        # near a boundary (relative to the 15th digit of x), or where float scaling is unsafe
        near = (boundary <= 1e-6 * np.maximum(1.0, y)) | ~np.isfinite(out) | (y >= 2**52) | (np.abs(digits) > 15)
    near &= np.isfinite(x) & (x != 0)
    out = np.where(x == 0, 0.0, out)
    if near.any():
        out = np.array(out, dtype=float, copy=True)
        flat_out, flat_x, flat_d = out.reshape(-1), x.reshape(-1), digits.reshape(-1)
        for i in np.flatnonzero(near).tolist():
            flat_out[i] = excel_round_scalar(float(flat_x[i]), float(flat_d[i]), mode)
    return out
