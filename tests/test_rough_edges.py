"""The rough edges of issue 10, item 9: messages that say what is wrong, renamed sheets, folders, jobs, progress, --json."""

from __future__ import annotations

import fnmatch
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from kpitree.recalculation import progress as progress_module
from kpitree.recalculation import recalc
from kpitree.recalculation.files import process_files
from kpitree.recalculation.io import outputs
from kpitree.recalculation.workers import cpu_count
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.spec import SHEETS

ROOT = Path(__file__).resolve().parent.parent


# --- kpitree dashboard says what is wrong with a file that is no workbook -----------------------------


@pytest.mark.parametrize("content,needle", [
    (b"just text", "not a zip file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000, "legacy .xls"),
    (None, "password-protected"),
    (b"PK\x03\x04broken", "zip"),
])
def test_dashboard_says_what_is_wrong_with_the_file(cli, tmp_path: Path, content: bytes | None, needle: str) -> None:
    path = tmp_path / "book.xlsx"
    if content is None:
        from kpitree.addin.cfb import build_compound_file

        content = build_compound_file({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 60, "EncryptedPackage": b"\0" * 600})
    path.write_bytes(content)
    result = cli("dashboard", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr and "wrong named cells" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and path.read_bytes() == content


# --- a sheet renamed as Excel renames it ---------------------------------------------------------------


def rename_sheet(src: Path, dst: Path, old: str, new: str) -> Path:
    """What Excel does on renaming a sheet: the title, and every defined name and formula that refers to it."""
    wb = openpyxl.load_workbook(src)
    wb[old].title = new
    pairs = [(f"'{old}'!", f"'{new}'!"), (f"{old}!", f"'{new}'!")]
    for name in list(wb.defined_names):
        dn = wb.defined_names[name]
        for a, b in pairs:
            dn.attr_text = dn.attr_text.replace(a, b)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    for a, b in pairs:
                        cell.value = cell.value.replace(a, b)
    wb.save(dst)
    return dst


@pytest.mark.parametrize("index,new", [(1, "戦術KPI 2026"), (0, "KGI (FY2026)"), (3, "ダッシュボード")])
def test_a_renamed_sheet_is_still_the_workbook(cli, tmp_path: Path, index: int, new: str) -> None:
    old = SHEETS["ja"][index]
    book = rename_sheet(template_path("ja"), tmp_path / "renamed.xlsx", old, new)
    result = cli("dashboard", str(book), "--out", str(tmp_path / "out.xlsx"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    expected = list(SHEETS["ja"])
    expected[index] = new
    assert wb.sheetnames == expected, "no second dashboard, no sheet lost"
    dashboard = expected[3]
    assert wb.defined_names["achievement_calls"].attr_text.startswith(f"'{dashboard}'!")
    assert wb.defined_names["target_calls"].attr_text.startswith(f"'{expected[2]}'!")
    values = openpyxl.load_workbook(tmp_path / "out.xlsx", data_only=True)
    sheet, ref = next(iter(values.defined_names["achievement_opportunities"].destinations))
    assert isinstance(values[sheet][ref.replace("$", "")].value, float)
    again = cli("dashboard", str(tmp_path / "out.xlsx"), cwd=tmp_path)  # and it stays so
    assert again.returncode == 0 and openpyxl.load_workbook(tmp_path / "out.xlsx").sheetnames == expected


def test_all_sheets_renamed_still_tells_the_language(cli, tmp_path: Path) -> None:
    book = template_path("en")
    for i, new in enumerate(("Goals", "Mid", "Daily")):
        book = rename_sheet(book, tmp_path / f"r{i}.xlsx", SHEETS["en"][i], new)
    result = cli("dashboard", str(book), "--out", str(tmp_path / "out.xlsx"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert openpyxl.load_workbook(tmp_path / "out.xlsx").sheetnames == ["Goals", "Mid", "Daily", SHEETS["en"][3]]


# --- folders: subfolders and dangling links are reported; --recursive ------------------------------------


@pytest.fixture
def teams(tmp_path: Path) -> Path:
    folder = tmp_path / "teams"
    (folder / "osaka").mkdir(parents=True)
    shutil.copyfile(template_path("ja"), folder / "tokyo.xlsx")
    shutil.copyfile(template_path("ja"), folder / "osaka" / "umeda.xlsx")
    (folder / "gone.xlsx").symlink_to(folder / "nowhere.xlsx")
    return folder


def test_subfolders_are_noted_and_dangling_links_are_rows(cli, teams: Path, tmp_path: Path) -> None:
    result = cli("recalc", str(teams), "--out", str(tmp_path / "out"), "--summary", str(tmp_path / "s.csv"), cwd=tmp_path)
    assert result.returncode == 1
    assert "osaka: a subfolder, not searched (add --recursive" in result.stderr
    summary = (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    assert "gone.xlsx" in summary and "a link to a missing file" in summary
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tokyo.xlsx"]


def test_a_folder_without_workbooks_is_said_not_reported_as_zero(cli, tmp_path: Path) -> None:
    """Trial: `kpitree recalc emptydir` printed "0 workbook(s)" and exited 0 with no hint (a wrong folder, or .csv files)."""
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "calls.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    result = cli("recalc", str(tmp_path / "exports"), "--summary", str(tmp_path / "s.csv"), cwd=tmp_path)
    assert result.returncode == 0
    assert "exports: no workbook (.xlsx, .xlsm" in result.stderr and "Traceback" not in result.stderr


def test_a_folder_whose_workbook_was_also_given_alone_is_not_said_to_be_empty(tmp_path: Path) -> None:
    from kpitree.recalculation.files import find_sources

    (tmp_path / "d").mkdir()
    shutil.copyfile(template_path("ja"), tmp_path / "d" / "a.xlsx")
    found = find_sources([tmp_path / "d" / "a.xlsx", tmp_path / "d"])
    assert len(found.files) == 1 and not [n for n in found.skipped if "no workbook" in n]


def test_recursive_keeps_the_relative_paths(cli, teams: Path, tmp_path: Path) -> None:
    out = teams / "recalculated"  # inside the input folder: never searched as input
    for _ in range(2):
        result = cli("recalc", str(teams), "--recursive", "--out", str(out), "--json", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        data = json.loads(result.stdout)
        assert data["workbooks"] == 3 and [f["file"].endswith("gone.xlsx") for f in data["failed"]] == [True]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.xlsx")) == ["osaka/umeda.xlsx", "tokyo.xlsx"]


# --- --jobs is capped at the CPUs -------------------------------------------------------------------------


def test_jobs_beyond_the_cpus_are_capped_with_a_note(cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        shutil.copyfile(template_path("ja"), folder / f"t{i}.xlsx")
    result = cli("recalc", str(folder), "--summary", str(tmp_path / "s.csv"), "--jobs", "1000")
    assert result.returncode == 0, result.stderr
    assert f"--jobs 1000 is more than the {cpu_count()} CPU(s) here; using {cpu_count()}" in result.stderr


# --- progress on one large workbook -----------------------------------------------------------------------


class Steps:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def phase(self, text: str) -> None:
        self.steps.append(text)


def test_one_workbook_reports_each_step(tmp_path: Path) -> None:
    steps = Steps()
    process_files([str(template_path("ja"))], None, dests=[str(tmp_path / "o.xlsx")], phases=steps)  # type: ignore[arg-type]
    assert steps.steps[0] == "reading inside_sales_kpi_ja.xlsx"
    assert steps.steps[1].startswith("reading the formulas (") and steps.steps[2].startswith("evaluating ")
    assert steps.steps[3] == f"writing {tmp_path / 'o.xlsx'}" and steps.steps[-1] == ""


def test_the_bar_appears_during_one_long_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(progress_module, "SHOW_AFTER", 0.05)
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    bar = progress_module.Progress(1, "recalc", True, console=console)
    bar.phase("evaluating 200,000 formulas")
    time.sleep(0.5)  # no file finished yet: the timer shows the bar anyway
    try:
        assert bar.bar is not None
        assert "evaluating 200,000 formulas" in console.file.getvalue()  # type: ignore[attr-defined]
    finally:
        bar.close()
    quiet = progress_module.Progress(1, "recalc", False)
    time.sleep(0.1)
    assert quiet.bar is None
    quiet.close()


# --- no temporary file's name in a message ----------------------------------------------------------------


def test_a_failed_write_names_the_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied", src, dst)

    monkeypatch.setattr(outputs.os, "replace", refuse)
    frame = recalc([template_path("ja")], tmp_path / "out", report=False)
    error = frame.loc[0, "error"]
    assert error == f"cannot write {tmp_path / 'out' / 'inside_sales_kpi_ja.xlsx'}: Permission denied"
    assert ".kpitree-" not in error and not list((tmp_path / "out").iterdir())


def test_the_dashboard_note_names_the_users_file(template_copy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import kpitree.recalculation as engine

    from kpitree.cli import main

    def fail(src: object, dst: object, **kwargs: object) -> None:
        raise engine.WorkbookError(f"could not evaluate {src} into {dst}")

    monkeypatch.setattr(engine, "recalc_file", fail)
    book = template_copy("ja", "kpi.xlsx")
    assert main(["dashboard", str(book)]) == 0
    err = capsys.readouterr().err
    assert f"could not evaluate {book} into {book}" in err and ".kpitree-" not in err


# --- --json wherever a command prints a result ------------------------------------------------------------


def test_json_for_every_command_that_prints_a_result(cli, tmp_path: Path) -> None:
    demo = json.loads(cli("demo", "--out", "d.xlsx", "--json", "--lang", "en", cwd=tmp_path).stdout)
    assert demo["written"] == "d.xlsx" and demo["stage"]["id"] == "mature" and len(demo["dashboard"]) == 15
    new = json.loads(cli("new", "n.xlsx", "--json", cwd=tmp_path).stdout)
    assert new == {"written": "n.xlsx", "template": None, "note": None}
    dash = json.loads(cli("dashboard", "n.xlsx", "--json", cwd=tmp_path).stdout)
    assert dash["written"] == "n.xlsx" and dash["note"] is None
    names = json.loads(cli("template", "names", "--json").stdout)
    assert {"name": "kgi_annual_revenue", "kind": "input"}.items() <= next(n for n in names if n["name"] == "kgi_annual_revenue").items()
    built = json.loads(cli("template", "build", "--out-dir", str(tmp_path / "t"), "--lang", "en", "--json").stdout)
    assert [Path(p).name for p in built["written"]] == ["inside_sales_kpi_en.xlsx"]
    files = json.loads(cli("recalc", "n.xlsx", "--summary", "s.csv", "--json", cwd=tmp_path).stdout)
    assert files["workbooks"] == 1 and files["errors"] == 0 and files["failed"] == []
    (tmp_path / "w.csv").write_text("plan_win_rate\n0.3\n", encoding="utf-8")
    scen = json.loads(cli("recalc", "n.xlsx", "--scenarios", "w.csv", "--summary", "o.csv", "--json", cwd=tmp_path).stdout)
    assert scen["scenarios"] == 1 and scen["path"] == "fast"
    status = cli("addin", "status", "--json")
    data = json.loads(status.stdout)
    assert set(data) == {"platform", "supported", "ok", "message", "checks"}
    if data["platform"] not in ("win32", "darwin"):
        assert data["supported"] is False and status.returncode == 2 and "Windows or macOS" in data["message"]
    addin = json.loads(cli("addin", "build", "--out", str(tmp_path / "k.xlam"), "--json").stdout)
    assert zipfile.is_zipfile(addin["written"])


def test_the_demo_file_is_ignored_by_git() -> None:
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    for name in ("kpitree-demo.xlsx", "kpitree-demo-3.xlsx"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
    assert os.path.basename("kpitree-demo.xlsx")  # the demo's default name is that one
    from kpitree.demo import DEFAULT_OUT

    assert any(fnmatch.fnmatch(DEFAULT_OUT, p) for p in patterns)


def test_a_workbook_given_twice_is_recalculated_once(cli, teams: Path, tmp_path: Path) -> None:
    (tmp_path / "alias.xlsx").symlink_to(teams / "tokyo.xlsx")
    result = cli("recalc", str(teams / "tokyo.xlsx"), str(teams), str(tmp_path / "alias.xlsx"), "--summary",
                 str(tmp_path / "s.csv"), "--json", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["workbooks"] == 2, data  # tokyo once, and the dangling link's row
    assert sum("given more than once" in n for n in data["notes"]) == 2


def test_a_summary_that_cannot_be_written_is_refused_before_the_batch(cli, teams: Path, tmp_path: Path) -> None:
    (tmp_path / "s.csv").mkdir()
    result = cli("recalc", str(teams), "--out", str(tmp_path / "out"), "--summary", str(tmp_path / "s.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "is a folder, not a file" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing ran"
    (tmp_path / "ro.csv").write_text("old")
    os.chmod(tmp_path / "ro.csv", 0o444)
    result = cli("recalc", str(teams), "--summary", str(tmp_path / "ro.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "read-only" in result.stderr and (tmp_path / "ro.csv").read_text() == "old"


def test_numpy_floating_point_notes_do_not_reach_the_user(cli, tmp_path: Path) -> None:
    (tmp_path / "huge.csv").write_text("avg_deal_size,kgi_annual_revenue\n1e308,1e308\n", encoding="utf-8")
    result = cli("recalc", str(template_path("ja")), "--scenarios", "huge.csv", "--summary", "o.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "RuntimeWarning" not in result.stderr and "overflow" not in result.stderr
    assert result.stderr.strip() == "1 scenario(s) via the fast path -> o.csv"
