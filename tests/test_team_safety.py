"""The team commands under the "nothing lost" rules: outputs never onto inputs, modes, limits, bad rows, messages."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kpitree.cli import main

CALLS = "日付,担当者,種別,結果\r\n2026/4/1,佐藤,架電,接続\r\n2026/13/1,鈴木,架電,接続\r\n"


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_bytes(CALLS.encode("utf-8"))
    return path


def _import(calls: Path, *args: str) -> int:
    return main(["import", "--activities", str(calls), "--quiet", *args])


# --- 1. no output onto an input ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "dotdot", "hardlink", "symlink"])
def test_rejects_never_overwrite_the_export(calls: Path, tmp_path: Path, capsys: Any, how: str) -> None:
    before = calls.read_bytes()
    (tmp_path / "sub").mkdir()
    if how == "same":
        out = str(calls)
    elif how == "dotdot":
        out = str(tmp_path / "sub" / ".." / "calls.csv")
    elif how == "hardlink":
        os.link(calls, tmp_path / "hl.csv")
        out = str(tmp_path / "hl.csv")
    else:
        (tmp_path / "ln.csv").symlink_to(calls)
        out = str(tmp_path / "ln.csv")
    assert _import(calls, "--into", str(tmp_path / "team.xlsx"), "--rejects", out) == 2
    assert "--rejects" in capsys.readouterr().err
    assert calls.read_bytes() == before
    assert not (tmp_path / "team.xlsx").exists()  # refused before anything was written


def test_rejects_never_replace_the_team_workbook(calls: Path, tmp_path: Path, capsys: Any) -> None:
    team = tmp_path / "team.xlsx"
    assert _import(calls, "--into", str(team)) == 0
    before = team.read_bytes()
    assert _import(calls, "--into", str(team), "--rejects", str(team)) == 2
    assert "--into" in capsys.readouterr().err
    assert team.read_bytes() == before


def test_into_is_never_an_export(tmp_path: Path, capsys: Any) -> None:
    from kpitree.team import write_sample

    files = write_sample(tmp_path / "x", "xlsx")
    before = files["activities"].read_bytes()
    assert main(["import", "--activities", str(files["activities"]), "--into", str(files["activities"]), "--quiet"]) == 2
    assert files["activities"].read_bytes() == before


def test_a_member_workbook_never_lands_on_an_input(calls: Path, tmp_path: Path, capsys: Any) -> None:
    victim = tmp_path / "team_佐藤.xlsx"
    assert _import(calls, "--into", str(tmp_path / "team.xlsx"), "--per-member", str(tmp_path), "--map",
                   "kpitree", "--rejects", str(victim)) == 2
    assert "--per-member" in capsys.readouterr().err


def test_the_mapping_file_is_an_input(calls: Path, tmp_path: Path, capsys: Any) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('extends = "kpitree"\n', encoding="utf-8")
    assert _import(calls, "--into", str(tmp_path / "team.xlsx"), "--map", str(mapping), "--rejects", str(mapping)) == 2
    assert mapping.read_text(encoding="utf-8") == 'extends = "kpitree"\n'


# --- 2. sample never overwrites without --force --------------------------------------------------


def test_sample_refuses_files_already_there(tmp_path: Path, capsys: Any) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "activities.csv").write_text("real\n", encoding="utf-8")
    assert main(["sample", str(folder)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (folder / "activities.csv").read_text(encoding="utf-8") == "real\n"
    assert not (folder / "leads.csv").exists()
    assert main(["sample", str(folder), "--force"]) == 0
    assert (folder / "activities.csv").stat().st_size > 1000


# --- 3. modes ---------------------------------------------------------------------------------


def test_new_outputs_get_the_umask_mode_and_replaced_ones_keep_theirs(calls: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        team, rejects = tmp_path / "team.xlsx", tmp_path / "rejects.csv"
        assert _import(calls, "--into", str(team), "--rejects", str(rejects)) == 0
        assert main(["sample", str(tmp_path / "ex")]) == 0
        for path in (team, rejects, *(tmp_path / "ex").iterdir()):
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
        team.chmod(0o640)
        rejects.chmod(0o660)
        assert _import(calls, "--into", str(team), "--rejects", str(rejects)) == 0
        assert stat.S_IMODE(team.stat().st_mode) == 0o640
        assert stat.S_IMODE(rejects.stat().st_mode) == 0o660
    finally:
        os.umask(old)


# --- 4. xlsx inputs within the package limits of kpitree recalc ----------------------------------


def _bombed(tmp_path: Path) -> Path:
    import zipfile

    from kpitree.team import write_sample

    src = write_sample(tmp_path / "x", "xlsx")["activities"]
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr("xl/media/big.bin", b"\0" * (130 * 2**20))  # past Limits.max_member_bytes, ~130 KB zipped
    return bomb


def test_an_xlsx_export_past_the_package_limits_is_one_error(tmp_path: Path, capsys: Any) -> None:
    bomb = _bombed(tmp_path)
    assert main(["import", "--activities", str(bomb), "--into", str(tmp_path / "t.xlsx"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bomb.xlsx" in err and "limit" in err and err.count("\n") == 1


def test_a_team_workbook_past_the_package_limits_is_one_error(tmp_path: Path, capsys: Any) -> None:
    bomb = _bombed(tmp_path)
    assert main(["review", str(bomb)]) == 2
    assert "limit" in capsys.readouterr().err


def test_a_password_protected_export_is_said_so(calls: Path, tmp_path: Path, capsys: Any) -> None:
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512 + "EncryptedPackage".encode("utf-16-le"))
    assert main(["import", "--activities", str(locked), "--into", str(tmp_path / "t.xlsx"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "password" in err and "BadZipFile" not in err


# --- 5. a malformed CSV row is one reject with its line, never dropped in silence ---------------


def test_rows_with_extra_cells_are_rejects_with_their_line(tmp_path: Path, capsys: Any) -> None:
    import warnings

    import pandas as pd
    from kpitree.team import read_exports

    path = tmp_path / "calls.csv"
    path.write_bytes(("日付,担当者,種別,結果\r\n2026/4/1,佐藤,架電,接続\r\n\r\n2026/13/1,鈴木,架電,接続\r\n"
                      "2026/4/3,鈴木,架電,接続,余分,列\r\n2026/4/4,佐藤,=HYPERLINK(\"a\",\"b\"),接続\r\n"
                      "2026/4/6,佐藤,架電\r\n").encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no parser warning reaches the user
        imported = read_exports(path)
    report = imported.reports["activities"]
    assert (report.rows, report.kept, report.rejected) == (5, 2, 3)
    assert [(r[2], r[3]) for r in imported.rejects.rows] == [(4, "bad_date"), (5, "extra_cells"), (6, "extra_cells")]
    assert imported.rejects.rows[2][5] == '2026/4/4,佐藤,=HYPERLINK("a","b"),接続'
    rejects = tmp_path / "rejects.csv"
    assert main(["import", "--activities", str(path), "--into", str(tmp_path / "t.xlsx"), "--rejects", str(rejects)]) == 0
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "6行目" in captured.out
    written = pd.read_csv(rejects, encoding="utf-8-sig", dtype=str)
    assert written["行"].tolist() == ["4", "5", "6"] and written["値"].iloc[2].startswith("2026/4/4")


# --- 6. no internal error from a cell a workbook cannot hold, or from a mapping file -----------


def test_a_member_name_with_a_control_character_is_imported(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "ctl.csv"
    path.write_bytes("日付,担当者,種別,結果\r\n2026/4/1,a\x01b,架電,接続\r\n2026/4/2,佐藤,架電,接続\r\n".encode())
    team = tmp_path / "team.xlsx"
    assert main(["import", "--activities", str(path), "--into", str(team), "--per-member", str(tmp_path / "pm"),
                 "--quiet"]) == 0
    book = openpyxl.load_workbook(team, read_only=True)
    names = {c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    book.close()
    assert "a\ufffdb" in names  # visible, not silently merged with another name
    assert len(list((tmp_path / "pm").glob("*.xlsx"))) == 2


@pytest.mark.parametrize("body,says", [
    ("[activities.columns]\ndate = 5\n", "[activities.columns] date"),
    ("[activities.values.type]\ncall = 3\n", "[activities.values.type] call"),
    ('[preset]\nid = "x"\nextends = "nope"\n', "salesforce"),
    ('extends = "nope"\n', "salesforce"),
    ('[activities.columns]\nduration = { column = "秒", unit = "hours" }\n', "unit"),
    ('[boolean]\ntrue = 1\n', "[boolean] true"),
])
def test_a_mapping_file_of_the_wrong_shape_is_one_error(calls: Path, tmp_path: Path, capsys: Any, body: str,
                                                         says: str) -> None:
    from kpitree.team.mapping import MappingError, load_mapping

    mapping = tmp_path / "map.toml"
    mapping.write_text(body, encoding="utf-8")
    assert _import(calls, "--into", str(tmp_path / "t.xlsx"), "--map", str(mapping)) == 2
    err = capsys.readouterr().err
    assert says in err and "internal error" not in err
    with pytest.raises(MappingError) as caught:
        load_mapping(mapping)
    assert says in caught.value.text("ja")


# --- 7. what comes from data reaches the terminal escaped ----------------------------------------


def test_control_characters_and_markup_from_an_export_are_printed_escaped(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "esc\x1b[0m.csv"
    path.write_bytes("日付,担当者,種別,結果\r\n2026/4/1,[bold]佐藤[/bold],架電,接続\x1b]0;pwn\x07\r\n"
                     "2026/4/2,佐藤,\x1b[1mSMS,接続\r\n2026/\x1b[2J13/1,鈴木,架電,接続\r\n".encode())
    assert main(["import", "--activities", str(path), "--into", str(tmp_path / "t.xlsx"), "--quiet"]) == 0
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "\x1b" not in printed and "\x07" not in printed
    assert "\\x1b[1mSMS" in printed and "2026/\\x1b[2J13/1" in printed and "[bold]佐藤[/bold]" in printed
    assert main(["import", "--activities", str(tmp_path / "no\x1b[31m.csv"), "--into", str(tmp_path / "t.xlsx")]) == 2
    assert "\x1b" not in capsys.readouterr().err


# --- 8. messages say the actual reason and name the user's path ---------------------------------


def test_each_bad_amount_says_its_own_reason() -> None:
    import pandas as pd
    from kpitree.team import read_exports
    from kpitree.team.records import REASONS
    from kpitree.udfs.texts import text

    opportunities = pd.DataFrame({"作成日": ["2026/4/1"] * 6, "担当者": ["佐藤"] * 6,
                                  "金額": ["100万", "100ドル", "約100万", "-5", "百万くらい", "abc"]})
    imported = read_exports(opportunities=opportunities)
    why = {r[5]: r[3] for r in imported.rejects.rows}
    assert why == {"100ドル": "foreign_amount", "約100万": "approx_amount", "-5": "negative_amount",
                   "百万くらい": "approx_amount", "abc": "bad_amount"}
    assert "負" not in text(REASONS["foreign_amount"], "ja") and "負" in text(REASONS["negative_amount"], "ja")


def test_file_errors_name_the_users_path_not_a_temporary_one(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "nodir/x.xlsx"]) == 2
    err = capsys.readouterr().err
    assert "nodir" in err and ".x." not in err and "Errno" not in err
    assert main(["demo", "--out", "demo.csv"]) == 2
    err = capsys.readouterr().err
    assert "demo.csv" in err and "tmp" not in err and "kpitree-" not in err


def test_a_very_long_member_name_gets_a_shorter_file_name(tmp_path: Path, capsys: Any) -> None:
    name = "長" * 200
    path = tmp_path / "long.csv"
    path.write_bytes(f"日付,担当者,種別,結果\r\n2026/4/1,{name},架電,接続\r\n".encode())
    assert main(["import", "--activities", str(path), "--into", str(tmp_path / "t.xlsx"), "--per-member",
                 str(tmp_path / "pm"), "--quiet"]) == 0
    files = list((tmp_path / "pm").glob("*.xlsx"))
    assert len(files) == 1 and len(files[0].name.encode()) < 255
    assert "kpitree-members" not in capsys.readouterr().out


# --- 9. what Japanese Excel and SFAs write is read ------------------------------------------------


def test_excels_unicode_text_is_read(tmp_path: Path) -> None:
    from kpitree.team import read_exports

    path = tmp_path / "calls.txt"
    path.write_bytes("日付\t担当者\t種別\t結果\r\n2026/4/1\t佐藤\t架電\t接続\r\n".encode("utf-16"))  # BOM + UTF-16LE
    imported = read_exports(path)
    assert imported.reports["activities"].encoding == "utf-16" and imported.reports["activities"].kept == 1


@pytest.mark.parametrize("cell,day", [("20260401", "2026-04-01"), ("2026/4/1(水)", "2026-04-01"),
                                      ("2026/4/1（水）", "2026-04-01"), (20260401, "2026-04-01"),
                                      ("2026/4/1(木)", None), ("26/4/1", None), ("20261301", None)])
def test_compact_dates_and_dates_with_their_weekday(cell: Any, day: str | None) -> None:
    from kpitree.team.jp import parse_date

    if day is None:
        with pytest.raises(ValueError):
            parse_date(cell)
    else:
        assert str(parse_date(cell)) == day


def test_openpyxls_notes_on_an_export_never_reach_the_user(tmp_path: Path) -> None:
    import warnings
    import zipfile

    from kpitree.team import write_sample

    src = write_sample(tmp_path / "x", "xlsx")["activities"]
    ext = tmp_path / "ext.xlsx"
    x14 = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:dataValidations count="0" '
           b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"></x14:dataValidations></ext></extLst>')
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(ext, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(b"</worksheet>", x14 + b"</worksheet>") if "worksheets/" in info.filename else data)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main(["import", "--activities", str(ext), "--into", str(tmp_path / "t.xlsx"), "--quiet"]) == 0
    assert not [w for w in seen if "openpyxl" in w.filename], [str(w.message) for w in seen]


def test_per_member_naming_a_file_is_refused_before_anything_is_written(calls: Path, tmp_path: Path, capsys: Any) -> None:
    team = tmp_path / "team.xlsx"
    holidays = tmp_path / "hol.txt"
    holidays.write_text("2026-04-29\n", encoding="utf-8")
    assert _import(calls, "--into", str(team), "--holidays", str(holidays), "--rejects", str(holidays)) == 2
    assert "--holidays" in capsys.readouterr().err and holidays.read_text(encoding="utf-8") == "2026-04-29\n"
    assert _import(calls, "--into", str(team), "--per-member", str(calls)) == 2
    assert "--per-member" in capsys.readouterr().err and not team.exists()
