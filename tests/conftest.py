"""Shared fixtures: copies of the shipped templates; the command line in a subprocess; a user other than root;
the dev tools (tools/) importable by the tests.

Shared test modules: tests/xlwings_standin.py (the recording xlwings stand-in), tests/engine_values.py
(cell values as kpitree's two paths and LibreOffice compute them), tests/formula_grammar.py (generated
workbooks), tests/case_books.py (one-formula workbooks for tables of known answers); the ``formulas``
package as an independent oracle is tools/formulas_peer.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from kpitree.workbook_templates import template_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # readme_blocks, render_sheets, libreoffice: dev tools, not package code


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--deep", action="store_true", default=False,
                     help="run the fuzzer (tests/test_fuzz.py) and the differential tests with many more cases")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--deep"):  # the differential harness reads its case count from the environment
        os.environ.setdefault("KPITREE_DIFFERENTIAL_CASES", "240")


@pytest.fixture(scope="session")
def template() -> Path:
    """The shipped ja template (read only: copy it with ``template_copy`` to change it)."""
    return template_path("ja")


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[..., Path]:
    """``template_copy("ja", "kpi.xlsx")``: a fresh copy of the shipped template in the test's folder."""

    def copy(lang: str = "ja", name: str | None = None) -> Path:
        path = tmp_path / (name or f"kpi_{lang}.xlsx")
        shutil.copyfile(template_path(lang), path)
        return path

    return copy


# --- the command line in a subprocess, and checks as a user other than root ------------------------


def run_cli(*args: str, cwd: Path | str | None = None, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess:
    """``python -m kpitree ARGS`` in a fresh process: its exit code, stdout and stderr as text."""
    return subprocess.run([sys.executable, "-m", "kpitree", *args], capture_output=True, text=True, encoding="utf-8",
                          cwd=cwd, timeout=timeout, **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """:func:`run_cli`: ``cli("recalc", "a.xlsx", "--out", "o", cwd=tmp_path)``."""
    return run_cli


@dataclass(frozen=True)
class OtherUser:
    """A user other than root (and a group it is in besides its own) for permission checks."""

    name: str
    uid: int
    gid: int
    team_gid: int
    direct: bool  # True: `runuser` can start this interpreter as the user

    def folder(self) -> Path:
        """A fresh folder the user owns."""
        path = Path(tempfile.mkdtemp(prefix="kpitree-user-"))
        os.chown(path, self.uid, self.gid)
        return path

    def run(self, code: str, warmup: str = "") -> subprocess.CompletedProcess:
        """Run Python ``code`` as the user; ``warmup`` (run as root first) imports what ``code`` needs.

        With ``runuser`` when the user may start this interpreter; otherwise (the interpreter
        lives under /root, which only root may enter) a root process imports everything by
        running ``warmup``, then drops to the user (setgroups, setgid, setuid) before ``code``:
        every file access of ``code`` is checked by the kernel as the user's.
        """
        if self.direct:
            cmd = ["runuser", "-u", self.name, "--", sys.executable, "-c", code]
        else:
            drop = (f"{warmup}\nimport os\nos.setgroups([{self.team_gid}])\nos.setgid({self.gid})\n"
                    f"os.setuid({self.uid})\nassert os.geteuid() == {self.uid}\n{code}")
            cmd = [sys.executable, "-c", drop]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def other_user() -> OtherUser:
    """A non-root user (created with useradd when the tests run as root), or skip saying why."""
    if not hasattr(os, "geteuid"):
        pytest.skip("no POSIX users on this system")
    name, team = "kpitree-test", "kpitree-team"
    if os.geteuid() != 0:
        pytest.skip("the tests do not run as root, so they cannot create a user or act as one")
    if not shutil.which("useradd") or not shutil.which("groupadd"):
        pytest.skip("useradd/groupadd are not installed: no user other than root to test with")
    import grp
    import pwd

    try:
        grp.getgrnam(team)
    except KeyError:
        if subprocess.run(["groupadd", team], capture_output=True).returncode != 0:
            pytest.skip(f"groupadd {team} failed: cannot create a group to test with")
    try:
        pwd.getpwnam(name)
    except KeyError:
        made = subprocess.run(["useradd", "--no-create-home", "--groups", team, name], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"useradd failed ({made.stderr.strip()}): no user other than root to test with")
    user = pwd.getpwnam(name)
    team_gid = grp.getgrnam(team).gr_gid
    direct = bool(shutil.which("runuser")) and subprocess.run(
        ["runuser", "-u", name, "--", sys.executable, "-c", "import kpitree"], capture_output=True).returncode == 0
    return OtherUser(name, user.pw_uid, user.pw_gid, team_gid, direct)
