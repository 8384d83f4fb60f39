"""Excel's date serial numbers (the 1900 date system), scalar and vectorised.

Serial 1 is 1900-01-01. Excel counts 1900-02-29, a day that never was (serial 60, kept
for compatibility with Lotus 1-2-3, as Microsoft's "Excel incorrectly assumes that the year
1900 is a leap year" explains), so from 1900-03-01 (serial 61) on a serial is the number of
days since 1899-12-30. Serials run to 2958465 (9999-12-31); the time of day is the fraction.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1899, 12, 30)
MAX_SERIAL = 2_958_465  # 9999-12-31
_EPOCH64 = np.datetime64("1899-12-30", "D")


def date_serial(year: int, month: int, day: int) -> float:
    """The serial of an existing date (``dt.date`` range)."""
    d = dt.date(year, month, day)
    serial = (d - EPOCH).days
    return float(serial if serial > 60 else serial - 1)


def to_ymd(serial: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of whole serials 0..MAX_SERIAL; 0 is 1900-01-00 and 60 is 1900-02-29, as in Excel."""
    s = np.floor(np.asarray(serial, dtype=float)).astype(np.int64)
    shifted = np.where(s > 60, s, s + 1)  # before the phantom leap day, serials are one day ahead
    days = _EPOCH64 + shifted.astype("timedelta64[D]")
    y = days.astype("datetime64[Y]").astype(int) + 1970
    m = days.astype("datetime64[M]").astype(int) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(int) + 1
    y = np.where(s == 60, 1900, y)
    m = np.where(s == 60, 2, m)
    d = np.where(s == 60, 29, d)
    y = np.where(s == 0, 1900, y)
    m = np.where(s == 0, 1, m)
    d = np.where(s == 0, 0, d)
    return y, m, d


def from_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Serials of (year, month, day) with Excel's overflow rules (month 13 is next January, day 0 the last of
    the month before, February 1900 has 29 days); the caller checks the year range."""
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    y = year + np.floor_divide(month - 1, 12)
    m = np.mod(month - 1, 12) + 1
    first = ((y - 1970).astype("datetime64[Y]") + (m - 1).astype("timedelta64[M]")).astype("datetime64[D]")
    first_serial = (first - _EPOCH64).astype(np.int64)
    first_serial = np.where(first_serial <= 33, first_serial - 1, first_serial)  # up to 1900-02-01: before the phantom day
    return (first_serial + day - 1).astype(float)


def weekday0(serial: np.ndarray) -> np.ndarray:
    """0 = Sunday … 6 = Saturday, as Excel numbers days (serial 1, 1900-01-01, was a Sunday to Excel)."""
    s = np.floor(np.asarray(serial, dtype=float)).astype(np.int64)
    return np.mod(s - 1, 7)
