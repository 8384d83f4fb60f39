"""Dates and times on Excel's serial numbers (:mod:`..dates`): DATE, YEAR, MONTH, DAY, TODAY, NOW, EDATE,
EOMONTH, WEEKDAY, WEEKNUM, ISOWEEKNUM, NETWORKDAYS(.INTL), WORKDAY(.INTL), DATEDIF, DAYS, TIME, HOUR,
MINUTE, SECOND, DATEVALUE.

A date argument is a serial number, or text that reads as a date (``"2026/4/1"``). Serials below 0
or past 9999-12-31 are ``#NUM!``. TODAY() and NOW() are read once per run (``KPITREE_TODAY`` fixes
the date; docs/functions.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kpitree.udfs.excel_values import XlError

from ..dates import MAX_SERIAL, from_ymd, to_ymd, weekday0
from ..values import NUM, TXT, Val, const, finish, first_err, numeric
from .base import NUM_ERR, VALUE, Ctx, Spec, align, cells_of, dims_of, grid, grid_texts, spec


def _dates(*vals: Val) -> tuple[list[np.ndarray], np.ndarray, tuple[int, int] | None]:
    """Numbers of the arguments (truncated later as each function needs) and their errors."""
    vals = tuple(align(*vals))
    nums, errs = zip(*(numeric(v) for v in vals))
    return list(nums), first_err(*errs), dims_of(*vals)


def _check_serial(x: np.ndarray, err: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where((err == 0) & ((x < 0) | (x >= MAX_SERIAL + 1)), np.int8(NUM_ERR), err).astype(np.int8)


@spec("vvv", category="date")
def DATE(ctx: Ctx, year: Val, month: Val, day: Val) -> Val:
    """DATE(year, month, day): years 0–1899 are read as 1900–3799; months and days past their range carry over."""
    (y, m, d), err, dims = _dates(year, month, day)
    y, m, d = np.trunc(y), np.trunc(m), np.trunc(d)
    y = np.where((y >= 0) & (y < 1900), y + 1900, y)
    err = np.where((err == 0) & ((y < 0) | (y >= 10000)), np.int8(NUM_ERR), err)
    with np.errstate(invalid="ignore"):  # months past December carry into a year that must exist too
        err = np.where((err == 0) & (y + np.floor((m - 1) / 12) >= 10000), np.int8(NUM_ERR), err)
    ok = err == 0
    serial = from_ymd(np.where(ok, y, 2000), np.where(ok, m, 1), np.where(ok, d, 1))
    return finish(serial, _check_serial(serial, err), dims)


def _part(which: str) -> Spec:
    def run(ctx: Ctx, serial: Val) -> Val:
        (x,), err, dims = _dates(serial)
        err = _check_serial(x, err)
        ok = err == 0
        y, m, d = to_ymd(np.where(ok, x, 1.0))
        out = {"year": y, "month": m, "day": d}[which].astype(float)
        return finish(out, err, dims)

    return Spec(run, "v", category="date")


def _time_part(which: str) -> Spec:
    def run(ctx: Ctx, serial: Val) -> Val:
        (x,), err, dims = _dates(serial)
        err = _check_serial(x, err)
        with np.errstate(invalid="ignore"):
            seconds = np.round((x - np.floor(x)) * 86400) % 86400
        out = {"hour": seconds // 3600, "minute": seconds // 60 % 60, "second": seconds % 60}[which]
        return finish(out, err, dims)

    return Spec(run, "v", category="date")


@spec("vvv", category="date")
def TIME(ctx: Ctx, hour: Val, minute: Val, second: Val) -> Val:
    (h, m, s), err, dims = _dates(hour, minute, second)
    total = np.trunc(h) * 3600 + np.trunc(m) * 60 + np.trunc(s)
    err = np.where((err == 0) & (total < 0), np.int8(NUM_ERR), err)
    return finish((total % 86400) / 86400, err, dims)


@spec("", category="date")
def TODAY(ctx: Ctx) -> Val:
    return const(float(np.floor(ctx.now)))


@spec("", category="date")
def NOW(ctx: Ctx) -> Val:
    return const(ctx.now)


def _months(end_of_month: bool) -> Spec:
    """EDATE / EOMONTH(start, months)."""

    def run(ctx: Ctx, start: Val, months: Val) -> Val:
        (x, k), err, dims = _dates(start, months)
        err = _check_serial(x, err)
        ok = err == 0
        y, m, d = to_ymd(np.where(ok, x, 1.0))
        shift = np.trunc(np.where(ok, k, 0.0)).astype(np.int64)
        if end_of_month:
            serial = from_ymd(y, m + shift + 1, np.zeros_like(d))
        else:
            last = to_ymd(from_ymd(y, m + shift + 1, np.zeros_like(d)))[2]
            serial = from_ymd(y, m + shift, np.minimum(d, last))
        return finish(serial, _check_serial(serial, err), dims)

    return Spec(run, "vv", category="date")


_WEEKDAY_START = {1: (0, 1), 2: (1, 1), 3: (1, 0), 11: (1, 1), 12: (2, 1), 13: (3, 1), 14: (4, 1), 15: (5, 1), 16: (6, 1),
                  17: (0, 1)}  # return type -> (first day of the week as 0=Sunday…, number of that day)


@spec("vv", optional=1, category="date")
def WEEKDAY(ctx: Ctx, serial: Val, kind: Val | None = None) -> Val:
    (x, t), err, dims = _dates(serial, kind if kind is not None else const(1.0))
    err = _check_serial(x, err)
    t = np.trunc(t)
    err = np.where((err == 0) & ~np.isin(t, list(_WEEKDAY_START)), np.int8(NUM_ERR), err)
    wd = weekday0(np.where(err == 0, x, 1.0))
    first = np.vectorize(lambda k: _WEEKDAY_START.get(int(k), (0, 1))[0])(t) if np.ndim(t) else _WEEKDAY_START.get(int(t), (0, 1))[0]
    base = np.vectorize(lambda k: _WEEKDAY_START.get(int(k), (0, 1))[1])(t) if np.ndim(t) else _WEEKDAY_START.get(int(t), (0, 1))[1]
    return finish(((wd - first) % 7 + base).astype(float), err, dims)


def _iso_week(serial: np.ndarray) -> np.ndarray:
    wd = (weekday0(serial) + 6) % 7  # Monday 0
    thursday = np.floor(serial) - wd + 3
    y, _, _ = to_ymd(thursday)
    jan1 = from_ymd(y, np.ones_like(y), np.ones_like(y))
    return np.floor((thursday - jan1) / 7) + 1


@spec("vv", optional=1, category="date")
def WEEKNUM(ctx: Ctx, serial: Val, kind: Val | None = None) -> Val:
    """WEEKNUM(date, [type=1]): the week containing January 1 is week 1; 21 is the ISO week."""
    (x, t), err, dims = _dates(serial, kind if kind is not None else const(1.0))
    err = _check_serial(x, err)
    t = np.trunc(t)
    starts = {1: 0, 2: 1, 11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 17: 0}
    err = np.where((err == 0) & ~np.isin(t, [*starts, 21]), np.int8(NUM_ERR), err)
    x = np.where(err == 0, x, 1.0)
    y, _, _ = to_ymd(x)
    jan1 = from_ymd(y, np.ones_like(y), np.ones_like(y))
    first = np.vectorize(lambda k: starts.get(int(k), 0))(t) if np.ndim(t) else starts.get(int(t), 0)
    offset = (weekday0(jan1) - first) % 7
    week = np.floor((np.floor(x) - jan1 + offset) / 7) + 1
    week = np.where(t == 21, _iso_week(x), week)
    return finish(week.astype(float), err, dims)


@spec("v", category="date")
def ISOWEEKNUM(ctx: Ctx, serial: Val) -> Val:
    (x,), err, dims = _dates(serial)
    err = _check_serial(x, err)
    return finish(_iso_week(np.where(err == 0, x, 1.0)), err, dims)


_WEEKEND_CODES = {1: (5, 6), 2: (6, 0), 3: (0, 1), 4: (1, 2), 5: (2, 3), 6: (3, 4), 7: (4, 5),
                  11: (6,), 12: (0,), 13: (1,), 14: (2,), 15: (3,), 16: (4,), 17: (5,)}  # Monday = 0


def _weekend_mask(code: Any) -> tuple[tuple[bool, ...] | None, bool]:
    """The 7 weekend flags (Monday first) of a weekend argument, and whether it was valid."""
    if code is None:
        return (False,) * 5 + (True, True), True
    if isinstance(code, str):
        if len(code) != 7 or set(code) - {"0", "1"} or code == "1111111":
            return None, False
        return tuple(ch == "1" for ch in code), True
    k = int(code) if isinstance(code, float) and float(code).is_integer() else None
    if k not in _WEEKEND_CODES:
        return None, False
    days = _WEEKEND_CODES[k]
    return tuple(d in days for d in range(7)), True


def _holidays(arg: Any, ctx: Ctx) -> tuple[list[set[int]], np.ndarray]:
    """Holiday serials per input set, and errors (a holiday that is not a date is #VALUE!)."""
    out: list[set[int]] = [set() for _ in range(ctx.n)]
    err = np.zeros(ctx.n, np.int8)
    if arg is None:
        return out, err
    v, _ = cells_of(arg, ctx)
    num, e, typ = grid(v, ctx.n)
    txt = grid_texts(v, ctx.n)
    from ..excel_text import parse_number_text

    for j in range(ctx.n):
        for i in range(num.shape[0]):
            if e[i, j]:
                err[j] = err[j] or e[i, j]
            elif typ[i, j] == NUM:
                out[j].add(int(num[i, j]))
            elif typ[i, j] == TXT:
                parsed = parse_number_text(str(txt[i, j]))
                if parsed is None:
                    err[j] = err[j] or VALUE
                else:
                    out[j].add(int(parsed))
    return out, err


def _count_workdays(start: int, end: int, weekend: tuple[bool, ...], holidays: set[int]) -> int:
    sign = 1 if end >= start else -1
    lo, hi = min(start, end), max(start, end)
    days = np.arange(lo, hi + 1)
    monday0 = (weekday0(days) + 6) % 7
    work = ~np.array(weekend)[monday0]
    if holidays:
        work &= ~np.isin(days, list(holidays))
    return sign * int(work.sum())


def _step_workdays(start: int, k: int, weekend: tuple[bool, ...], holidays: set[int]) -> int:
    """The k-th workday after (k < 0: before) ``start``; -1 when it falls outside Excel's dates."""
    if k == 0:
        return start
    step, left, day = (1 if k > 0 else -1), abs(k), start
    per_week = 7 - sum(weekend)
    while left:
        span = left * 7 // per_week + 7 + len(holidays)  # enough days for what is left, in one array
        days = day + step * np.arange(1, span + 1)
        if days.max() > MAX_SERIAL + 7 or days.min() < -7:
            return -1
        work = ~np.array(weekend)[(weekday0(days) + 6) % 7]
        if holidays:
            work &= ~np.isin(days, list(holidays))
        counts = np.cumsum(work)
        if counts[-1] >= left:
            return int(days[int(np.searchsorted(counts, left))])
        left, day = left - int(counts[-1]), int(days[-1])
    return day


def _workday_fn(kind: str, intl: bool) -> Spec:
    """NETWORKDAYS(.INTL) / WORKDAY(.INTL)."""

    def run(ctx: Ctx, start: Val, other: Val, *rest: Any) -> Val:
        weekend_arg = rest[0] if intl and rest else None
        holidays_arg = rest[1] if intl and len(rest) > 1 else (rest[0] if not intl and rest else None)
        (s, o), err, _ = _dates(start, other)
        s = np.broadcast_to(s, (ctx.n,))
        o = np.broadcast_to(o, (ctx.n,))
        err = np.array(np.broadcast_to(_check_serial(s, np.broadcast_to(err, (ctx.n,))), (ctx.n,)))
        if kind == "count":  # the end is a date too
            err = _check_serial(o, err)
        else:  # a step past every date Excel has is #NUM! before any counting
            err = np.where((err == 0) & (np.abs(o) > MAX_SERIAL), np.int8(NUM_ERR), err).astype(np.int8)
        holidays, herr = _holidays(holidays_arg, ctx)
        wk_values = [None] * ctx.n
        if weekend_arg is not None:
            from ..values import to_python

            wk_values = to_python(weekend_arg, ctx.n)
        out = np.zeros(ctx.n)
        for j in range(ctx.n):
            if err[j] or herr[j]:
                err[j] = err[j] or herr[j]
                continue
            code = wk_values[j]
            if isinstance(code, XlError):
                err[j] = int(code)
                continue
            mask, valid = _weekend_mask(code if not isinstance(code, bool) else None)
            if not valid or mask is None:
                err[j] = NUM_ERR if not isinstance(code, str) else VALUE
                continue
            if kind == "count":
                out[j] = _count_workdays(int(s[j]), int(o[j]), mask, holidays[j])
            else:
                out[j] = _step_workdays(int(s[j]), int(np.trunc(o[j])), mask, holidays[j])
                if not 0 <= out[j] <= MAX_SERIAL:
                    err[j] = NUM_ERR
        return finish(out, err)

    return Spec(run, "vvvx" if intl else "vvx", optional=2 if intl else 1, category="date")


@spec("vvv", category="date")
def DATEDIF(ctx: Ctx, start: Val, end: Val, unit: Val) -> Val:
    """DATEDIF(start, end, unit): whole "Y" years, "M" months, "D" days, "MD" "YM" "YD" remainders."""
    from ..values import as_text

    (s, e_), err, dims = _dates(start, end)
    u, ue = as_text(unit, np.broadcast_shapes(np.shape(s), np.shape(e_), unit.shape))
    shape = np.broadcast_shapes(np.shape(s), np.shape(e_), np.shape(u))
    s, e_ = np.broadcast_to(np.floor(s), shape), np.broadcast_to(np.floor(e_), shape)
    err = np.array(np.broadcast_to(first_err(err, ue), shape), dtype=np.int8)
    err = _check_serial(e_, _check_serial(s, err))
    err = np.where((err == 0) & (s > e_), np.int8(NUM_ERR), err)
    y1, m1, d1 = to_ymd(np.where(err == 0, s, 1.0))
    y2, m2, d2 = to_ymd(np.where(err == 0, e_, 1.0))
    out = np.zeros(shape)
    units = np.broadcast_to(np.asarray(u, dtype=object), shape)
    months_total = (y2 - y1) * 12 + (m2 - m1) - (d2 < d1)
    for i in zip(*np.nonzero(err == 0)) if shape else ([()] if int(err) == 0 else []):
        unit_text = str(units[i]).upper()
        if unit_text == "Y":
            out[i] = months_total[i] // 12
        elif unit_text == "M":
            out[i] = months_total[i]
        elif unit_text == "D":
            out[i] = e_[i] - s[i]
        elif unit_text == "MD":
            out[i] = d2[i] - d1[i] if d2[i] >= d1[i] else (e_[i] - from_ymd(np.array(y2[i]), np.array(m2[i] - 1), np.array(d1[i])))
        elif unit_text == "YM":
            out[i] = months_total[i] % 12
        elif unit_text == "YD":
            anniversary = from_ymd(np.array(y2[i]), np.array(m1[i]), np.array(d1[i]))
            if anniversary > e_[i]:
                anniversary = from_ymd(np.array(y2[i] - 1), np.array(m1[i]), np.array(d1[i]))
            out[i] = e_[i] - anniversary
        else:
            err[i] = NUM_ERR
    return finish(out, err, dims)


@spec("vv", category="date")
def DAYS(ctx: Ctx, end: Val, start: Val) -> Val:
    """DAYS(end, start): end − start; a date given as text counts as its whole day (Microsoft's DAYS page:
    numbers are subtracted as they are, text is read as DATEVALUE reads it)."""
    (e_, s), err, dims = _dates(end, start)
    e_ = np.where(end.typ == TXT, np.trunc(e_), e_)
    s = np.where(start.typ == TXT, np.trunc(s), s)
    return finish(e_ - s, _check_serial(s, _check_serial(e_, err)), dims)


@spec("v", category="date")
def DATEVALUE(ctx: Ctx, text: Val) -> Val:
    """DATEVALUE(text): the date's serial (its whole part); a number or other text is #VALUE!."""
    x, err = numeric(text)
    err = np.where((err == 0) & (text.typ != TXT), np.int8(VALUE), err)
    return finish(np.floor(x), err, text.dims)


TABLE: dict[str, Spec] = {
    "DATE": DATE, "YEAR": _part("year"), "MONTH": _part("month"), "DAY": _part("day"), "TODAY": TODAY, "NOW": NOW,
    "TIME": TIME, "HOUR": _time_part("hour"), "MINUTE": _time_part("minute"), "SECOND": _time_part("second"),
    "EDATE": _months(False), "EOMONTH": _months(True), "WEEKDAY": WEEKDAY, "WEEKNUM": WEEKNUM, "ISOWEEKNUM": ISOWEEKNUM,
    "NETWORKDAYS": _workday_fn("count", False), "NETWORKDAYS.INTL": _workday_fn("count", True),
    "WORKDAY": _workday_fn("step", False), "WORKDAY.INTL": _workday_fn("step", True),
    "DATEDIF": DATEDIF, "DAYS": DAYS, "DATEVALUE": DATEVALUE,
}
