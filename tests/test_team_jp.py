"""Japanese inputs of CRM/SFA exports: dates, amounts, durations, encodings (kpitree.team.jp)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from kpitree.team.jp import (
    detect_encoding,
    nfkc,
    parse_amount,
    parse_amounts,
    parse_date,
    parse_date_jst,
    parse_dates,
    parse_duration_seconds,
    parse_durations,
)

D = date(2026, 4, 1)


@pytest.mark.parametrize("raw", [
    "2026/4/1", "2026/04/01", "2026-04-01", "2026.4.1", "2026年4月1日", "２０２６年４月１日", "２０２６／４／１",
    "2026/4/1 9:05", "2026-04-01 09:05:00", 46113, 46113.375, "46113", "令和8年4月1日", "R8/4/1", "R8.4.1",
    pd.Timestamp("2026-04-01 10:00"),
])
def test_dates_as_japanese_excel_and_exports_write_them(raw: object) -> None:
    assert parse_date(raw) == D


def test_date_edge_cases_are_refused_not_guessed() -> None:
    assert parse_date("") is None and parse_date(None) is None and parse_date(float("nan")) is None
    assert parse_date("令和元年5月1日") == date(2019, 5, 1)
    assert parse_date(61) == date(1900, 3, 1)
    for bad in (60, "4/1", "2026/13/45", "不明", "#VALUE!", "2026/2/30"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_utc_timestamps_are_dated_in_japan() -> None:
    assert parse_date_jst("2026-04-01T16:00:00.000Z") == date(2026, 4, 2)  # 01:00 JST next day
    assert parse_date_jst("2026-04-01T14:59:59Z") == D
    assert parse_date_jst("2026-04-01T09:00:00+09:00") == D


@pytest.mark.parametrize("raw,expected", [
    ("1000", 1000), ("1,000", 1000), ("1,000円", 1000), ("¥1,000", 1000), ("￥1,000", 1000), ("１，０００円", 1000),
    ("1億5000万", 150_000_000), ("1億5,000万円", 150_000_000), ("１億", 100_000_000), ("3千万", 30_000_000),
    ("1.5億", 150_000_000), ("2万5千", 25_000), ("5000万円", 50_000_000), ("1億2345万6789", 123_456_789),
    ("-1,000", -1000), ("−1,000", -1000), ("▲1,000", -1000), ("△1,000円", -1000), ("(1,000)", -1000),
    ("1234.5", 1234.5), (1500000, 1500000),
])
def test_amounts(raw: object, expected: float) -> None:
    assert parse_amount(raw) == expected


def test_amounts_that_are_not_amounts_are_refused() -> None:
    assert parse_amount("") is None
    for bad in ("約100万", "100ドル", "¥", "億"):
        with pytest.raises(ValueError):
            parse_amount(bad)


@pytest.mark.parametrize("raw,unit,seconds", [
    (330, "s", 330), ("330", "s", 330), ("0:05:30", "s", 330), ("5:30", "s", 330), ("5分30秒", "s", 330),
    ("１時間２分", "s", 3720), (330000, "ms", 330), ("330000", "ms", 330), ("5.5", "min", 330),
])
def test_durations(raw: object, unit: str, seconds: float) -> None:
    assert parse_duration_seconds(raw, unit) == pytest.approx(seconds)


def test_nfkc_maps_what_nfkc_misses() -> None:
    assert nfkc("−１０") == "-10" and nfkc("ｶﾀｶﾅ") == "カタカナ"


def test_columns_are_parsed_per_distinct_value_and_bad_cells_flagged() -> None:
    column = pd.Series(["2026/4/1", "2026年4月2日", None, "不明", "46115", "２０２６／４／１"] * 1000)
    values, bad = parse_dates(column)
    assert list(values[:6].dt.date.astype(object).where(values[:6].notna(), None)) == [
        D, date(2026, 4, 2), None, None, date(2026, 4, 3), D]
    assert list(bad[:6]) == [False, False, False, True, False, False]
    amounts, bad = parse_amounts(pd.Series(["1,200,000", "120万円", "約100万", "-5", None]))
    assert list(amounts[:2]) == [1_200_000, 1_200_000] and list(bad) == [False, False, True, True, False]
    minutes, bad = parse_durations(pd.Series(["330000", "6000", "x"]), "ms")
    assert list(minutes[:2]) == [5.5, 0.1] and list(bad) == [False, False, True]


def test_a_column_of_timestamps_is_cut_to_dates_column_wise() -> None:
    stamps = pd.Series(pd.date_range("2026-04-01 00:00", periods=60_000, freq="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))
    values, bad = parse_dates(stamps)
    assert not bad.any()
    assert values.iloc[0].date() == D and values.iloc[-1].date() == date(2026, 4, 2)  # 16:39 UTC is 01:39 JST the next day


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8-sig"), ("cp932", "cp932")])
def test_encodings_are_told_apart(encoding: str, expected: str) -> None:
    text = "日付,担当者,金額\n2026/4/1,髙橋 ①,１，０００円\n"
    assert detect_encoding(text.encode(encoding)) == expected
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(b"abc,def\n") == "utf-8-sig"
