"""Math and rounding: ROUND family, MROUND, CEILING.MATH, FLOOR.MATH, INT, TRUNC, MOD, QUOTIENT,
ODD, EVEN, ABS, SIGN, SQRT, POWER, EXP, LN, LOG, LOG10, PI.

Each works element by element on numbers, blocks included. Rounding follows Excel: the
number is first read at 15 significant digits (so ``ROUND(1.005, 2)`` is 1.01 and
``ROUNDUP(0.1+0.2, 1)`` is 0.3), halves go away from zero; :mod:`..excel_round` does it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..excel_round import excel_round
from ..values import Val, const, finish, first_err, numeric, round15
from .base import DIV0, NUM_ERR, Ctx, Spec, align, dims_of, spec


def _num1(fn: Callable[[np.ndarray], np.ndarray], domain: Callable[[np.ndarray], np.ndarray] | None = None,
          domain_err: int = NUM_ERR) -> Spec:
    """A function of one number; outside ``domain`` it is ``domain_err``."""

    def run(ctx: Ctx, x: Val) -> Val:
        v, e = numeric(x)
        if domain is not None:
            with np.errstate(invalid="ignore"):
                e = np.where((e == 0) & ~domain(v), np.int8(domain_err), e)
        with np.errstate(all="ignore"):
            return finish(fn(np.where(e == 0, v, 1.0)), e, x.dims)

    return Spec(run, "v", category="math")


def _num2(a: Val, b: Val) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int] | None]:
    a, b = align(a, b)
    x, ex = numeric(a)
    y, ey = numeric(b)
    return x, y, first_err(ex, ey), dims_of(a, b)


def _round(mode: str) -> Spec:
    def run(ctx: Ctx, x: Val, digits: Val) -> Val:
        xv, dv, err, dims = _num2(x, digits)
        ok = err == 0
        return finish(excel_round(np.where(ok, xv, 0.0), np.where(ok, dv, 0.0), mode), err, dims)

    return Spec(run, "vv", category="math")


@spec("vv", category="math")
def MROUND(ctx: Ctx, number: Val, multiple: Val) -> Val:
    """MROUND: the nearest multiple, halves away from zero; number and multiple of different signs are #NUM!."""
    x, m, err, dims = _num2(number, multiple)
    err = np.where((err == 0) & (x * m < 0), np.int8(NUM_ERR), err)
    with np.errstate(all="ignore"):
        q = excel_round(np.where((err == 0) & (m != 0), x / np.where(m == 0, 1.0, m), 0.0), np.zeros_like(x), "round")
        out = np.where(m == 0, 0.0, q * m)
    return finish(_clean15(out), err, dims)


def _clean15(x: np.ndarray) -> np.ndarray:
    """A product like 7*0.2 read at 15 significant digits (1.4000000000000001 is 1.4), as Excel stores it."""
    return round15(x)


def _math_mode(kind: str) -> Spec:
    """CEILING.MATH / FLOOR.MATH(number, [significance=1], [mode=0])."""

    def run(ctx: Ctx, number: Val, significance: Val | None = None, mode: Val | None = None) -> Val:
        sig_v = significance if significance is not None else const(1.0)
        mode_v = mode if mode is not None else const(0.0)
        number, sig_v, mode_v = align(number, sig_v, mode_v)
        x, ex = numeric(number)
        s, es = numeric(sig_v)
        md, em = numeric(mode_v)
        err = first_err(ex, es, em)
        s = np.abs(s)
        with np.errstate(all="ignore"):
            q = round15(np.where(s == 0, 0.0, x / np.where(s == 0, 1.0, s)))
            away = (md != 0) & (x < 0)  # mode: negative numbers round away from zero
            if kind == "ceiling":
                k = np.where(away, np.floor(q), np.ceil(q))
            else:
                k = np.where(away, np.ceil(q), np.floor(q))
            out = np.where(s == 0, 0.0, k * s)
        return finish(_clean15(out), err, dims_of(number, sig_v, mode_v))

    return Spec(run, "vvv", optional=2, category="math")


def _legacy_ceiling_floor(kind: str) -> Spec:
    """CEILING / FLOOR(number, significance): significance must have the number's sign (or number negative)."""

    def run(ctx: Ctx, number: Val, significance: Val) -> Val:
        x, s, err, dims = _num2(number, significance)
        err = np.where((err == 0) & (x > 0) & (s < 0), np.int8(NUM_ERR), err)
        if kind == "floor":
            err = np.where((err == 0) & (s == 0) & (x != 0), np.int8(DIV0), err)
        with np.errstate(all="ignore"):
            q = np.where(s == 0, 0.0, x / np.where(s == 0, 1.0, s))
            q = _clean15(q)
            k = np.ceil(q) if kind == "ceiling" else np.floor(q)
            out = np.where(s == 0, 0.0, k * s)
        return finish(_clean15(out), err, dims)

    return Spec(run, "vv", category="math")


@spec("vv", category="math")
def MOD(ctx: Ctx, number: Val, divisor: Val) -> Val:
    """MOD: the remainder with the divisor's sign, ``n - d*INT(n/d)``; a zero divisor is #DIV/0!."""
    x, y, err, dims = _num2(number, divisor)
    err = np.where((err == 0) & (y == 0), np.int8(DIV0), err)
    with np.errstate(all="ignore"):
        out = x - y * np.floor(x / np.where(y == 0, 1.0, y))
    return finish(out, err, dims)


@spec("vv", category="math")
def QUOTIENT(ctx: Ctx, numerator: Val, denominator: Val) -> Val:
    """QUOTIENT: the integer part of a division (towards zero); a zero denominator is #DIV/0!."""
    x, y, err, dims = _num2(numerator, denominator)
    err = np.where((err == 0) & (y == 0), np.int8(DIV0), err)
    with np.errstate(all="ignore"):
        out = np.trunc(x / np.where(y == 0, 1.0, y))
    return finish(out, err, dims)


@spec("vv", category="math")
def POWER(ctx: Ctx, number: Val, power: Val) -> Val:
    from .operators import arith

    return arith("^")(number, power)


@spec("vv", optional=1, category="math")
def TRUNC(ctx: Ctx, number: Val, digits: Val | None = None) -> Val:
    return _round("down").impl(ctx, number, digits if digits is not None else const(0.0))


@spec("vv", optional=1, category="math")
def LOG(ctx: Ctx, number: Val, base: Val | None = None) -> Val:
    x, b, err, dims = _num2(number, base if base is not None else const(10.0))
    err = np.where((err == 0) & ((x <= 0) | (b <= 0)), np.int8(NUM_ERR), err)
    err = np.where((err == 0) & (b == 1), np.int8(DIV0), err)
    with np.errstate(all="ignore"):
        out = np.log(np.where(err == 0, x, 1.0)) / np.log(np.where(err == 0, b, 2.0))
    return finish(out, err, dims)


@spec("", category="math")
def PI(ctx: Ctx) -> Val:
    return const(float(np.pi))


def _sign(x: np.ndarray) -> np.ndarray:
    return np.sign(x)


def _odd_even(odd: bool) -> Callable[[np.ndarray], np.ndarray]:
    """ODD/EVEN: away from zero to the next odd (even) integer; ODD(0) is 1, EVEN(0) is 0."""
    def run(x: np.ndarray) -> np.ndarray:
        a = np.ceil(np.abs(round15(x)))
        a = np.where((a % 2 == 0) == odd, a + 1, a)
        return np.where(x < 0, -a, a)

    return run


TABLE: dict[str, Spec] = {
    "ROUND": _round("round"), "ROUNDUP": _round("up"), "ROUNDDOWN": _round("down"), "MROUND": MROUND,
    "CEILING.MATH": _math_mode("ceiling"), "FLOOR.MATH": _math_mode("floor"),
    "CEILING": _legacy_ceiling_floor("ceiling"), "FLOOR": _legacy_ceiling_floor("floor"),
    "INT": _num1(np.floor), "TRUNC": TRUNC, "ABS": _num1(np.abs), "SIGN": _num1(_sign),
    "MOD": MOD, "QUOTIENT": QUOTIENT, "POWER": POWER,
    "SQRT": _num1(np.sqrt, lambda v: v >= 0), "EXP": _num1(np.exp),
    "ODD": _num1(_odd_even(True)), "EVEN": _num1(_odd_even(False)),
    "LN": _num1(np.log, lambda v: v > 0), "LOG10": _num1(np.log10, lambda v: v > 0), "LOG": LOG, "PI": PI,
}
