"""Amounts and rates as Japanese users type them on the command line (issue 10, items 8 and 10)."""

from __future__ import annotations

import argparse
import json

import pytest

from kpitree.cli import main
from kpitree.cli_support import amount, rate


@pytest.mark.parametrize("text,expected", [
    ("100000000", 1e8), ("100,000,000", 1e8), ("1e8", 1e8), ("1億", 1e8), ("100万", 1e6), ("1.5億", 1.5e8),
    ("1兆", 1e12), ("1億5000万", 1.5e8), ("2億5千万", 2.5e8), ("3千万", 3e7), ("1兆2000億", 1.2e12), ("５千", 5e3),
    ("１億", 1e8), ("１００，０００，０００", 1e8), ("１．５億", 1.5e8), ("1億円", 1e8), ("¥1,000,000", 1e6),
    ("￥１００万", 1e6), (" 100万 ", 1e6), ("10k", 1e4), ("1.5m", 1.5e6),
])
def test_amounts_users_type(text: str, expected: float) -> None:
    assert amount(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["億", "万1", "5百3千", "1万1億", "1億1億", "abc", "-5", "1 億 x", "", "1,5億x"])
def test_not_an_amount(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an amount"):
        amount(text)


@pytest.mark.parametrize("text,expected", [
    ("25%", 0.25), ("25％", 0.25), ("２５％", 0.25), ("0.25", 0.25), ("０．２５", 0.25), ("100%", 1.0), ("1%", 0.01),
    ("12.5 %", 0.125),
])
def test_rates_users_type(text: str, expected: float) -> None:
    assert rate(text) == pytest.approx(expected)


@pytest.mark.parametrize("text,message", [
    ("1", "ambiguous: write 100% for all of them, or 1% for one in a hundred"), ("1.0", "ambiguous"), ("１", "ambiguous"),
    ("25", "did you mean 25%?"), ("0", "above 0"), ("150%", "at most 100 %"), ("abc", "not a rate"),
])
def test_rates_refused(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("?", r"\?")):
        rate(text)


def test_plan_takes_full_width_and_compound_amounts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--revenue", "１億５０００万", "--deal-size", "100万", "--win-rate", "２５％",
                 "--conversion-rate", "10%", "--connect-rate", "25％", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inputs"]["annual_revenue"] == 150_000_000 and data["inputs"]["win_rate"] == 0.25


def test_win_rate_1_is_refused_in_one_line(cli) -> None:
    result = cli("plan", "--revenue", "1億", "--deal-size", "100万", "--win-rate", "1", "--conversion-rate", "10%",
                 "--connect-rate", "25%")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "ambiguous" in result.stderr


def test_yen_amounts_print_as_yen(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plan", "--revenue", "1億", "--deal-size", "100万", "--win-rate", "25%", "--conversion-rate", "10%",
          "--connect-rate", "25%", "--lang", "en"])
    out = capsys.readouterr().out
    assert "¥100,000,000" in out and "¥25,000,000" in out and "100,000,000.0" not in out
