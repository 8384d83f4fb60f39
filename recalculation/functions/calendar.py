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
from ..values import NUM, TXT, Val, const, finish, first_err, map_distinct, numeric, parsed_number
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


def _holidays(arg: Any, ctx: Ctx) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct holiday lists of the input sets (each sorted, without repeats), which one each input set
    uses, and the errors (the first cell's in reading order: an error value, or #VALUE! for text that is
    not a date). Blank, TRUE/FALSE cells are no holidays. Files of a batch usually share one list."""
    none = np.zeros(ctx.n, np.int8)
    if arg is None:
        return [np.zeros(0, np.int64)], np.zeros(ctx.n, np.intp), none
    v, _ = cells_of(arg, ctx)
    num, e, typ = grid(v, ctx.n)
    serial = np.where(typ == NUM, num, np.nan)
    code = np.where(e != 0, e, 0).astype(np.int8)
    is_text = (typ == TXT) & (e == 0)
    if is_text.any():
        parsed = map_distinct(parsed_number, grid_texts(v, ctx.n)[is_text], dtype=float)
        serial[is_text] = parsed
        code[is_text] = np.where(np.isnan(parsed), np.int8(VALUE), np.int8(0))
    serial = np.where(code == 0, serial, np.nan)
    first = np.argmax(code != 0, axis=0)  # the first error of each input set, in the cells' reading order
    err = code[first, np.arange(ctx.n)] if code.size else none
    # far-off holidays matter to no date (±1e12 keeps int64 arithmetic exact)
    days = np.where(np.isnan(serial), _NO_DAY, np.clip(np.trunc(np.nan_to_num(serial)), -1e12, 1e12)).astype(np.int64)
    if days.shape[0] == 0:
        return [np.zeros(0, np.int64)], np.zeros(ctx.n, np.intp), err
    columns, which = np.unique(days, axis=1, return_inverse=True)
    lists = [np.unique(col[col != _NO_DAY]) for col in columns.T]
    return lists, np.asarray(which, dtype=np.intp).reshape(-1), err


_NO_DAY = np.iinfo(np.int64).min  # a cell that is no holiday (blank, TRUE/FALSE, an error)


class _WorkWeek:
    """Workdays of one weekend pattern and holiday list, counted in closed form over arrays of serials.

    Excel's serial ``s`` falls on weekday ``(s - 1) mod 7`` (0 = Sunday; serial 1, 1900-01-01, is a Sunday to
    Excel), so the week repeats every 7 serials: ``C(x)``, the workdays among serials ``[0, x)``, is
    ``(x // 7) * P + prefix[x mod 7]`` with ``P`` workdays a week. Holidays count only where they fall on a
    workday."""

    def __init__(self, weekend: tuple[bool, ...], holidays: np.ndarray):
        # residue r = s mod 7 is weekday (r + 5) mod 7 counted from Monday = 0, as the weekend flags are
        work = np.array([not weekend[(r + 5) % 7] for r in range(7)])
        self.prefix = np.concatenate([[0], np.cumsum(work)]).astype(np.int64)
        self.per_week = int(self.prefix[-1])  # at least 1: "1111111" is refused before
        self.positions = np.nonzero(work)[0].astype(np.int64)  # the residues that are workdays, in order
        self.holidays = holidays[work[holidays % 7]] if holidays.size else holidays

    def before(self, x: np.ndarray) -> np.ndarray:
        """Workdays among serials ``[0, x)`` (x may be negative: then minus those in ``[x, 0)``)."""
        return (x // 7) * self.per_week + self.prefix[x % 7]

    def nth(self, m: np.ndarray) -> np.ndarray:
        """The serial of workday number ``m`` (0 = the first workday at or after serial 0)."""
        return (m // self.per_week) * 7 + self.positions[m % self.per_week]

    def count(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Workdays from ``lo`` to ``hi``, both included (lo <= hi), holidays left out."""
        h = np.searchsorted(self.holidays, hi, "right") - np.searchsorted(self.holidays, lo, "left")
        return self.before(hi + 1) - self.before(lo) - h

    def step(self, start: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The ``k``-th workday after ``start`` (k < 0: before it; k = 0: ``start`` itself), holidays skipped.

        The k-th workday is found without holidays, then pushed on by the holidays it passed until no new
        one is passed: the least fixed point, so the day found is never a holiday itself."""
        ahead, back = k > 0, k < 0
        base = np.where(ahead, self.before(start + 1) + k - 1, self.before(start) + k)  # workday number, no holidays
        skipped = np.zeros_like(k)
        while True:
            day = self.nth(np.where(ahead, base + skipped, base - skipped))
            passed = np.where(ahead, np.searchsorted(self.holidays, day, "right") - np.searchsorted(self.holidays, start, "right"),
                              np.searchsorted(self.holidays, start, "left") - np.searchsorted(self.holidays, day, "left"))
            passed = np.where(ahead | back, passed, 0)
            if (passed == skipped).all():
                return np.where(ahead | back, day, start)
            skipped = passed


def _workday_fn(kind: str, intl: bool) -> Spec:
    """NETWORKDAYS(.INTL) / WORKDAY(.INTL), over the input sets at once (grouped by weekend and holidays)."""

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
        lists, which, herr = _holidays(holidays_arg, ctx)
        err = np.where(err != 0, err, herr).astype(np.int8)
        wk_values = [None] * ctx.n
        if weekend_arg is not None:
            from ..values import to_python

            wk_values = to_python(weekend_arg, ctx.n)
        groups: dict[tuple[tuple[bool, ...], int], list[int]] = {}
        for j in np.nonzero(err == 0)[0].tolist():
            code = wk_values[j]
            if isinstance(code, XlError):
                err[j] = int(code)
                continue
            mask, valid = _weekend_mask(code if not isinstance(code, bool) else None)
            if not valid or mask is None:
                err[j] = NUM_ERR if not isinstance(code, str) else VALUE
                continue
            groups.setdefault((mask, int(which[j])), []).append(j)
        out = np.zeros(ctx.n)
        ok = err == 0
        first = np.trunc(np.where(ok, s, 0)).astype(np.int64)
        second = np.trunc(np.where(ok, o, 0)).astype(np.int64)
        for (mask, h), members in groups.items():
            at = np.array(members)
            week = _WorkWeek(mask, lists[h])
            a, b = first[at], second[at]
            if kind == "count":
                out[at] = np.where(b >= a, 1, -1) * week.count(np.minimum(a, b), np.maximum(a, b))
            else:
                out[at] = week.step(a, b)
        if kind != "count":
            err = np.where(ok & ((out < 0) | (out > MAX_SERIAL)), np.int8(NUM_ERR), err).astype(np.int8)
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
