"""kpitree addin install/uninstall/status: Windows and macOS file effects planned and applied
in a temp home (platform and home passed explicitly), and the real message on Linux."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kpitree.addin.install import apply, config_values, locations, merge_config, plan_install, plan_uninstall, status

XLAM = b"PK fake add-in bytes"
WIN_PY = r"C:\Users\taro\envs\kpi\python.exe"
MAC_PY = "/Users/taro/.venvs/kpi/bin/python"


def test_windows_locations(tmp_path: Path) -> None:
    where = locations("win32", tmp_path, appdata=tmp_path / "AppData" / "Roaming")
    assert where.addin == tmp_path / "AppData/Roaming/Microsoft/Excel/XLSTART/kpitree.xlam"
    # GetConfigFilePath of xlwings_custom_addin.bas: Environ("USERPROFILE") & "\." & PROJECT_NAME & "\" & PROJECT_NAME & ".conf"
    assert where.config == tmp_path / ".kpitree" / "kpitree.conf"


def test_macos_locations(tmp_path: Path) -> None:
    where = locations("darwin", tmp_path)
    assert where.addin.parent == tmp_path / "Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel"
    # GetMacDir("$HOME") inside Excel's sandbox & "/" & PROJECT_NAME & ".conf"
    assert where.config == tmp_path / "Library/Containers/com.microsoft.Excel/Data/kpitree.conf"


def test_the_vba_reads_the_config_where_install_writes_it() -> None:
    from kpitree.addin.build import xlwings_module

    source = xlwings_module().source
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in source
    assert 'GetMacDir("$HOME", False) & "/" & PROJECT_NAME & ".conf"' in source
    assert 'PROJECT_NAME As String = "kpitree"' in source


def test_windows_install_keeps_other_settings_and_xlwings_conf(tmp_path: Path) -> None:
    where = locations("win32", tmp_path)
    where.config.parent.mkdir(parents=True)
    where.config.write_bytes(b'"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","C:\\old\\python.exe"\r\n')
    xlwings_conf = tmp_path / ".xlwings" / "xlwings.conf"
    xlwings_conf.parent.mkdir()
    xlwings_conf.write_text('"INTERPRETER_WIN","C:\\other\\python.exe"\n')
    plan = plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM)
    assert [s.path for s in plan.steps] == [where.addin, where.config]
    apply(plan)
    assert where.addin.read_bytes() == XLAM
    text = where.config.read_bytes().decode()
    assert text == f'"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","{WIN_PY}"\r\n"UDF MODULES","kpitree.udfs.excel_functions"\r\n'
    assert xlwings_conf.read_text() == '"INTERPRETER_WIN","C:\\other\\python.exe"\n'  # untouched


def test_install_is_idempotent(tmp_path: Path) -> None:
    apply(plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM))
    first = locations("win32", tmp_path).config.read_bytes()
    apply(plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM))
    assert locations("win32", tmp_path).config.read_bytes() == first


def test_macos_install_copies_the_applescript(tmp_path: Path) -> None:
    script = tmp_path / "xlwings-9.9.9.applescript"
    script.write_text("on VbaHandler(p)\nend VbaHandler\n")
    home = tmp_path / "home"
    plan = plan_install("darwin", home, python=MAC_PY, xlam=XLAM, applescript=script)
    apply(plan)
    where = locations("darwin", home)
    assert where.addin.read_bytes() == XLAM
    assert config_values(where.config.read_text()) == {"INTERPRETER_MAC": MAC_PY, "UDF MODULES": "kpitree.udfs.excel_functions"}
    assert "\r\n" not in where.config.read_text()
    assert (home / "Library/Application Scripts/com.microsoft.Excel/xlwings-9.9.9.applescript").read_text() == script.read_text()
    assert any("Windows" in note for note in plan.notes)  # UDFs are Windows-only


def test_uninstall_removes_only_what_install_wrote(tmp_path: Path) -> None:
    where = locations("win32", tmp_path)
    where.config.parent.mkdir(parents=True)
    where.config.write_bytes(b'"SHOW CONSOLE","True"\r\n')
    apply(plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM))
    apply(plan_uninstall("win32", tmp_path))
    assert not where.addin.exists()
    assert where.config.read_bytes() == b'"SHOW CONSOLE","True"\r\n'
    apply(plan_uninstall("win32", tmp_path))
    apply(plan_uninstall("win32", tmp_path.parent / "nobody"))  # nothing installed: nothing to do


def test_uninstall_removes_an_emptied_config_and_its_folder(tmp_path: Path) -> None:
    apply(plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM))
    apply(plan_uninstall("win32", tmp_path))
    assert not (tmp_path / ".kpitree").exists()


def test_merge_config_replaces_duplicates_case_insensitively() -> None:
    merged = merge_config('"udf modules","x"\n# note\n"UDF MODULES","y"\n', {"UDF MODULES": "z"}, "\n")
    assert merged == '"UDF MODULES","z"\n# note\n'


def test_status_agrees_after_install_and_names_each_disagreement(tmp_path: Path) -> None:
    exists = {WIN_PY, str(Path(WIN_PY)), r"C:\Users\taro\envs\kpi\xlwings64-" + __import__("xlwings").__version__ + ".dll"}
    check = lambda p: p in exists  # noqa: E731 - Windows paths checked on Linux
    before = status("win32", tmp_path, python=WIN_PY, xlam=XLAM, path_exists=check)
    assert not before.ok and {c.name for c in before.checks if not c.ok} == {"add-in", "settings"}
    apply(plan_install("win32", tmp_path, python=WIN_PY, xlam=XLAM))
    after = status("win32", tmp_path, python=WIN_PY, xlam=XLAM, path_exists=check)
    assert after.ok, after.checks
    assert {c.name for c in after.checks} == {"add-in", "settings", "interpreter", "xlwings DLL"}
    stale = status("win32", tmp_path, python=WIN_PY, xlam=XLAM + b"new", path_exists=check)
    assert [c.name for c in stale.checks if not c.ok] == ["add-in"]
    other = status("win32", tmp_path, python=r"C:\Python312\python.exe", xlam=XLAM, path_exists=check)
    assert [c.name for c in other.checks if not c.ok] == ["interpreter"]
    gone = status("win32", tmp_path, python=WIN_PY, xlam=XLAM, path_exists=lambda p: False)
    assert {c.name for c in gone.checks if not c.ok} == {"interpreter", "xlwings DLL"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux message")
@pytest.mark.parametrize("command", ["install", "uninstall", "status"])
def test_linux_says_one_line_and_exits_2(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "kpitree", "addin", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Windows or macOS" in done.stderr and "addin build" in done.stderr
