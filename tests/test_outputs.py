"""Outputs never overwrite inputs (through any path) and replace files keeping mode, owner and links (issue 10, items 1 and 3)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from kpitree.recalculation import recalc, recalc_file
from kpitree.recalculation.io.outputs import OutputError, atomic_file, check_not_inputs, same_file
from kpitree.workbook_templates import template_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def teams(tmp_path: Path) -> Path:
    folder = tmp_path / "teams"
    folder.mkdir()
    for name in ("a.xlsx", "b.xlsx"):
        shutil.copyfile(template_path("ja"), folder / name)
        os.chmod(folder / name, 0o640)
    return folder


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (digest(p), mode(p)) for p in sorted(folder.iterdir()) if p.is_file()}


# --- item 1: no output over an input ------------------------------------------------------------


def test_out_that_is_a_link_to_the_input_folder_is_refused(cli, teams: Path, tmp_path: Path) -> None:
    before = snapshot(teams)
    (tmp_path / "out").symlink_to(teams)
    result = cli("recalc", str(teams / "a.xlsx"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "would overwrite the input" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(teams) == before


@pytest.mark.parametrize("how", ["symlink", "hardlink", "dotdot"])
def test_a_copy_whose_name_leads_to_a_source_is_refused(teams: Path, tmp_path: Path, how: str) -> None:
    before = snapshot(teams)
    out = tmp_path / "out"
    out.mkdir()
    if how == "symlink":
        (out / "a.xlsx").symlink_to(teams / "a.xlsx")
        target = out
    elif how == "hardlink":
        os.link(teams / "a.xlsx", out / "a.xlsx")
        target = out
    else:
        target = out / ".." / "teams"
    with pytest.raises(OutputError, match="would overwrite the input"):
        recalc([teams / "a.xlsx"], target, report=False)
    assert snapshot(teams) == before


def test_summary_onto_a_source_or_the_scenario_table_is_refused(cli, teams: Path, tmp_path: Path) -> None:
    before = snapshot(teams)
    (tmp_path / "link.xlsx").symlink_to(teams / "b.xlsx")
    for summary in (teams / "a.xlsx", tmp_path / "link.xlsx"):
        result = cli("recalc", str(teams), "--summary", str(summary), cwd=tmp_path)
        assert result.returncode == 2 and "--summary" in result.stderr and "would overwrite the input" in result.stderr
    table = tmp_path / "what_if.csv"
    table.write_text("plan_win_rate\n0.3\n", encoding="utf-8")
    table_before = table.read_bytes()
    result = cli("recalc", str(teams / "a.xlsx"), "--scenarios", str(table), "--summary", str(table), cwd=tmp_path)
    assert result.returncode == 2 and "would overwrite the input" in result.stderr
    result = cli("recalc", str(teams / "a.xlsx"), "--scenarios", str(table), "--summary", str(teams / "a.xlsx"),
                     cwd=tmp_path)
    assert result.returncode == 2 and "would overwrite the input" in result.stderr
    assert table.read_bytes() == table_before and snapshot(teams) == before


def test_summary_onto_one_of_the_copies_is_refused(teams: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="also the recalculated copy"):
        recalc([teams], tmp_path / "out", summary=tmp_path / "out" / "a.xlsx", report=False)
    assert not (tmp_path / "out").exists()


def test_recalc_file_onto_its_source_is_refused(teams: Path, tmp_path: Path) -> None:
    before = snapshot(teams)
    (tmp_path / "same.xlsx").symlink_to(teams / "a.xlsx")
    for dst in (teams / "a.xlsx", tmp_path / "same.xlsx", teams / ".." / "teams" / "a.xlsx"):
        with pytest.raises(OutputError):
            recalc_file(teams / "a.xlsx", dst)
    assert snapshot(teams) == before


def test_new_from_a_template_onto_the_template_through_a_link_is_refused(cli, teams: Path, tmp_path: Path) -> None:
    (tmp_path / "out.xlsx").symlink_to(teams / "a.xlsx")
    before = snapshot(teams)
    result = cli("new", str(tmp_path / "out.xlsx"), "--template", str(teams / "a.xlsx"), "--force", cwd=tmp_path)
    assert result.returncode == 2 and "must differ from the template" in result.stderr
    assert snapshot(teams) == before


def test_dashboard_out_that_is_the_workbook_under_another_name_is_refused(cli, teams: Path, tmp_path: Path) -> None:
    (tmp_path / "alias.xlsx").symlink_to(teams / "a.xlsx")
    os.link(teams / "b.xlsx", tmp_path / "hard.xlsx")
    before = snapshot(teams)
    for workbook, out in ((teams / "a.xlsx", tmp_path / "alias.xlsx"), (teams / "b.xlsx", tmp_path / "hard.xlsx")):
        result = cli("dashboard", str(workbook), "--out", str(out), cwd=tmp_path)
        assert result.returncode == 2 and "is the workbook itself" in result.stderr, result.stderr
    assert snapshot(teams) == before


def test_demo_never_writes_through_a_link(cli, teams: Path, tmp_path: Path) -> None:
    (tmp_path / "dangling.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    (tmp_path / "alias.xlsx").symlink_to(teams / "a.xlsx")
    before = snapshot(teams)
    for out in ("dangling.xlsx", "alias.xlsx"):
        result = cli("demo", "--out", out, cwd=tmp_path)
        assert result.returncode == 2 and "exists" in result.stderr
    assert not (tmp_path / "nowhere.xlsx").exists() and snapshot(teams) == before


def test_same_file_and_check_not_inputs_see_through_links(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("x")
    (tmp_path / "l").symlink_to(a)
    os.link(a, tmp_path / "h")
    assert same_file(a, tmp_path / "l") and same_file(a, tmp_path / "h") and same_file(a, tmp_path / "sub" / ".." / "a.txt")
    assert not same_file(a, tmp_path / "missing")
    check_not_inputs([("out", tmp_path / "other.txt")], [a])
    with pytest.raises(OutputError, match=r"out .*h would overwrite the input"):
        check_not_inputs([("out", tmp_path / "h")], [a])


# --- item 3: replacing keeps mode, owner and links; read-only is refused ---------------------------


def test_dashboard_in_place_keeps_mode_and_a_link_stays_a_link(cli, template_copy, tmp_path: Path) -> None:
    book = template_copy("ja", "kpi.xlsx")
    os.chmod(book, 0o600)
    link = tmp_path / "link.xlsx"
    link.symlink_to(book)
    before = digest(book)
    result = cli("dashboard", str(link), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(book), "the link is still a link to the same file"
    assert digest(book) != before, "the link's target was rewritten"
    assert mode(book) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kpitree-")]


@pytest.mark.parametrize("command", ["dashboard", "new"])
def test_a_read_only_file_is_refused_and_left_alone(cli, template_copy, tmp_path: Path, command: str) -> None:
    book = template_copy("ja", "kpi.xlsx")
    os.chmod(book, 0o444)
    before = digest(book)
    args = ["dashboard", str(book)] if command == "dashboard" else ["new", str(book), "--force"]
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "read-only" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert digest(book) == before and mode(book) == 0o444


def test_new_force_keeps_mode_and_writes_through_a_link(cli, tmp_path: Path) -> None:
    target = tmp_path / "real.xlsx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "kpi.xlsx"
    link.symlink_to(target)
    result = cli("new", str(link), "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and zipfile.is_zipfile(target) and mode(target) == 0o640


def test_a_hard_linked_file_is_not_split(cli, template_copy, tmp_path: Path) -> None:
    book = template_copy("ja", "kpi.xlsx")
    os.link(book, tmp_path / "other-name.xlsx")
    result = cli("dashboard", str(book), cwd=tmp_path)
    assert result.returncode == 2 and "hard links" in result.stderr
    assert os.stat(book).st_nlink == 2


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_outputs_get_the_mode_the_umask_gives(cli, teams: Path, tmp_path: Path, umask: int, expected: int) -> None:
    out = tmp_path / f"out{umask:o}"
    result = cli("recalc", str(teams), "--out", str(out), "--summary", str(out / "summary.csv"), "--jobs", "1",
                     cwd=tmp_path, preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    assert {p.name: mode(p) for p in out.iterdir()} == {"a.xlsx": expected, "b.xlsx": expected, "summary.csv": expected}
    demo = tmp_path / f"demo{umask:o}.xlsx"
    assert cli("demo", "--out", str(demo), cwd=tmp_path, preexec_fn=lambda: os.umask(umask)).returncode == 0
    assert mode(demo) == expected


def test_replacing_an_output_keeps_its_mode(teams: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    recalc([teams], out, summary=out / "s.csv", report=False)
    os.chmod(out / "a.xlsx", 0o604)
    os.chmod(out / "s.csv", 0o620)
    recalc([teams], out, summary=out / "s.csv", report=False)
    assert mode(out / "a.xlsx") == 0o604 and mode(out / "s.csv") == 0o620


def test_atomic_file_leaves_nothing_when_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as fh:
        fh.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.bin"]


def test_root_gives_a_replaced_file_back_to_its_owner(cli, template_copy, tmp_path: Path, other_user: Any) -> None:
    book = template_copy("ja", "kpi.xlsx")
    os.chown(book, other_user.uid, other_user.team_gid)
    os.chmod(book, 0o660)
    result = cli("dashboard", str(book), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    st = os.stat(book)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (other_user.uid, other_user.team_gid, 0o660)


# --- as a user other than root ----------------------------------------------------------------------

WARMUP = """
import os, shutil, sys, tempfile
from kpitree.cli import main
from kpitree.workbook_templates import template_path
_scratch = tempfile.mkdtemp()
shutil.copyfile(template_path("ja"), os.path.join(_scratch, "w.xlsx"))
assert main(["dashboard", os.path.join(_scratch, "w.xlsx")]) == 0
shutil.rmtree(_scratch)
"""


def _as_user(user: Any, args: list[str]) -> tuple[int, str]:
    code = f"import sys\nfrom kpitree.cli import main\ncode = main({args!r})\nprint('EXIT', code)\n"
    done = user.run(code, WARMUP)
    assert "EXIT" in done.stdout, done.stderr
    return int(done.stdout.split("EXIT")[-1].split()[0]), done.stderr


def test_as_a_user_a_read_only_file_is_refused(other_user: Any) -> None:
    folder = other_user.folder()
    try:
        book = folder / "kpi.xlsx"
        shutil.copyfile(template_path("ja"), book)
        os.chown(book, other_user.uid, other_user.gid)
        os.chmod(book, 0o444)
        before = digest(book)
        code, err = _as_user(other_user, ["dashboard", str(book)])
        assert code == 2 and "read-only" in err and "Traceback" not in err
        assert digest(book) == before and mode(book) == 0o444
    finally:
        shutil.rmtree(folder)


def test_as_a_user_a_file_of_another_owner_is_refused(other_user: Any) -> None:
    folder = other_user.folder()
    try:
        book = folder / "kpi.xlsx"
        shutil.copyfile(template_path("ja"), book)
        os.chown(book, 0, other_user.team_gid)  # root's file, writable by the team
        os.chmod(book, 0o664)
        before = digest(book)
        code, err = _as_user(other_user, ["dashboard", str(book)])
        assert code == 2 and "belongs to another user" in err
        st = os.stat(book)
        assert digest(book) == before and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, other_user.team_gid, 0o664)
    finally:
        shutil.rmtree(folder)


def test_as_a_user_their_own_file_keeps_its_group_and_mode(other_user: Any) -> None:
    folder = other_user.folder()
    try:
        book = folder / "kpi.xlsx"
        shutil.copyfile(template_path("ja"), book)
        os.chown(book, other_user.uid, other_user.team_gid)  # the user's, shared with the team
        os.chmod(book, 0o640)
        before = digest(book)
        code, err = _as_user(other_user, ["dashboard", str(book)])
        assert code == 0, err
        st = os.stat(book)
        assert digest(book) != before
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (other_user.uid, other_user.team_gid, 0o640)
    finally:
        shutil.rmtree(folder)


def test_a_batch_flushes_each_output_folder_once_per_step_and_every_copy_is_in_place_before(tmp_path: Path,
                                                                                          monkeypatch: Any) -> None:
    from kpitree.recalculation.io import outputs

    flushed: list[str] = []
    monkeypatch.setattr(outputs, "_fsync_folder", flushed.append)
    with outputs.folder_syncs_deferred():
        for name in ("a.bin", "b.bin", "c.bin"):
            with atomic_file(tmp_path / name) as fh:
                fh.write(b"x")
            assert (tmp_path / name).read_bytes() == b"x"  # renamed into place at once, only the flush waits
        with outputs.folder_syncs_deferred():  # a nested step hands its folders to the outer one
            with atomic_file(tmp_path / "sub.bin") as fh:
                fh.write(b"y")
        assert flushed == []
    assert flushed == [str(tmp_path)]
    with atomic_file(tmp_path / "d.bin") as fh:  # outside a batch: flushed at once
        fh.write(b"z")
    assert flushed == [str(tmp_path), str(tmp_path)]


def test_a_recalculated_batch_flushes_its_output_folder(teams: Path, tmp_path: Path, monkeypatch: Any) -> None:
    from kpitree.recalculation.io import outputs

    flushed: list[str] = []
    monkeypatch.setattr(outputs, "_fsync_folder", flushed.append)
    out = tmp_path / "out"
    rows = recalc(teams, out, jobs=1, report=False)
    assert len(rows) > 1 and all(not e for e in rows["error"])
    assert flushed == [os.path.realpath(out)]
