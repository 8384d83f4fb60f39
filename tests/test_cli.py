"""The command line: catalog, plan, stage; --json for scripts; one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kpitree.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpitree", *args], capture_output=True, text=True, encoding="utf-8")


def test_plan_with_the_seed_numbers(capsys):
    assert main(["plan", "--revenue", "1億", "--deal-size", "100万", "--win-rate", "25%",
                 "--conversion-rate", "10%", "--connect-rate", "25%", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan"]["won_deals"]["quarter"] == pytest.approx(25)
    assert data["plan"]["opportunities"]["quarter"] == pytest.approx(100)
    assert round(data["plan"]["opportunities"]["month"]) == 33


def test_plan_table_is_readable(capsys):
    main(["plan", "--revenue", "100000000", "--deal-size", "1,000,000", "--win-rate", "0.25",
          "--conversion-rate", "0.1", "--connect-rate", "0.25", "--lang", "en"])
    out = capsys.readouterr().out
    assert "Opportunities needed" in out and "33.3" in out and "¥100,000,000" in out and "100,000,000.0" not in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--win-rate", "25"], "did you mean 25%?"),
        (["--win-rate", "abc"], "not a rate"),
        (["--revenue", "-5"], "not an amount"),
        (["--revenue", "0"], "amount must be > 0"),
        (["--revenue", "1e400"], "is too large"),
        (["--working-days", "0"], "must be > 0"),
    ],
)
def test_plan_bad_arguments_exit_2_with_one_line(args, message):
    base = {"--revenue": "1億", "--deal-size": "100万", "--win-rate": "25%", "--conversion-rate": "10%", "--connect-rate": "25%"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = run("plan", *[x for kv in base.items() for x in kv])
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_stage_json_and_design_check(capsys):
    assert main(["stage", "7", "--kpis", "calls,conversion_rate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stage"] == "growth" and data["label"] == "成長期"
    assert data["recommended"][0]["stars"] == "★★★"
    assert data["design_check"]["outside_focus"] == ["calls"] and data["design_check"]["ok"] is False


def test_stage_rejects_unknown_kpi_and_negative_months():
    result = run("stage", "7", "--kpis", "calls,bogus")
    assert result.returncode == 2 and "unknown KPI id(s): bogus" in result.stderr
    result = run("stage", "--", "-1")
    assert result.returncode == 2 and "must be a number >= 0" in result.stderr


def test_catalog_json_and_table(capsys):
    assert main(["catalog", "--json", "--tier", "action"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {k["tier"] for k in data} == {"action"} and any(k["id"] == "required_calls" for k in data)
    main(["catalog", "--lang", "en"])
    assert "Opportunity conversion rate" in capsys.readouterr().out


def test_help_names_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("catalog", "plan", "stage"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["recalc", "x.xlsx", "--out", "o", "--jobs", "0"], "must be 1 or more"),
        (["addin", "build", "--out", "kpitree.xlsam"], "only from .xlam files"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
