"""Workers die with their parent; signals leave no partial output and no temporary file (issue 10, item 4).

Each signal is sent to a real ``kpitree recalc --jobs 2`` in a subprocess while its workers
are busy: SIGINT to the whole process group (what Ctrl-C does), SIGTERM, SIGHUP and
SIGKILL to the parent alone. Then: ``communicate()`` returns (no orphan holds the pipes),
no worker is left running, every file under a final name is a complete workbook, the
summary was not written half, and no ``.kpitree-*`` temporary file is left — for SIGKILL
too, because the workers remove their own (the parent, killed, cannot remove one of its
own: docs/recalc.md says so).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from kpitree.recalculation import files as files_module
from kpitree.recalculation.files import recalc_files
from kpitree.recalculation.workers import cpu_count
from kpitree.workbook_templates import template_path

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table from /proc")
two_cpus = pytest.mark.skipif(cpu_count() < 2, reason="a batch runs on a pool only with 2 CPUs or more (--jobs is capped)")

COPIES = 1200  # ≈ 3-4 s of work on two workers: time enough to be interrupted in the middle


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signals") / "in"
    folder.mkdir()
    for i in range(COPIES):
        shutil.copyfile(template_path("ja"), folder / f"team_{i:04d}.xlsx")
    return folder


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def running(pid: int) -> bool:
    """Alive and not a zombie (a dead process its new parent has not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start(batch: Path, out: Path, summary: Path) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen([sys.executable, "-m", "kpitree", "recalc", str(batch), "--out", str(out), "--summary",
                             str(summary), "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline:  # busy: both workers started and some copies written
        workers = children(proc.pid)
        if len(workers) >= 2 and out.exists() and len(list(out.glob("team_*.xlsx"))) >= 20:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    else:
        pytest.fail("the batch never got busy")
    return proc, workers


@two_cpus
@pytest.mark.parametrize("signum,to_group,code", [
    (signal.SIGINT, True, 130), (signal.SIGTERM, False, 143), (signal.SIGHUP, False, 129), (signal.SIGKILL, False, -9),
])
def test_a_signal_leaves_no_worker_no_partial_output_no_temporary_file(batch: Path, tmp_path: Path, signum: int,
                                                                        to_group: bool, code: int) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary.csv"
    proc, workers = start(batch, out, summary)
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    _, stderr = proc.communicate(timeout=60)  # hangs if an orphan still holds the pipes
    assert proc.returncode == code, stderr
    assert b"Traceback" not in stderr
    deadline = time.monotonic() + 15
    while any(running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if running(w)], "a worker outlived its parent"
    assert not summary.exists(), "no summary from an interrupted batch"
    left = [p.name for p in [*out.iterdir(), *tmp_path.iterdir()] if p.name.startswith(".")]
    assert not left, f"temporary files left: {left}"
    copies = sorted(out.glob("*.xlsx"))
    assert 0 < len(copies) < COPIES, "interrupted in the middle"
    for copy in copies:
        with zipfile.ZipFile(copy) as z:  # every file under a final name is whole
            assert z.testzip() is None


@two_cpus
def test_a_worker_killed_midway_costs_no_file(batch: Path, tmp_path: Path) -> None:
    """A worker killed from outside: the files in flight run again on a new pool; all rows come out clean."""
    out, summary = tmp_path / "out", tmp_path / "summary.csv"
    proc, workers = start(batch, out, summary)
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    lines = summary.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == COPIES + 1
    assert len(list(out.glob("*.xlsx"))) == COPIES and not [p for p in out.iterdir() if p.name.startswith(".")]


@two_cpus
def test_the_file_that_kills_its_worker_is_the_only_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose worker dies every time (a crash in a library) gets the error; the batch goes on."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        shutil.copyfile(template_path("ja"), folder / f"t{i:02d}.xlsx")
    shutil.copyfile(template_path("ja"), folder / "t17_poison.xlsx")
    real_read = files_module._read

    def read(file: str, *args: object) -> object:
        if "poison" in file:
            os._exit(1)  # the worker dies, as on a segmentation fault
        return real_read(file, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module, "_read", read)  # the workers are forked from here, so they have it too
    rows = recalc_files([folder], tmp_path / "out", jobs=2, chunk_files=8, progress=False)
    assert [Path(r["file"]).name for r in rows] == sorted(p.name for p in folder.iterdir())
    bad = [r for r in rows if r["error"]]
    assert [Path(r["file"]).name for r in bad] == ["t17_poison.xlsx"]
    assert "worker process recalculating this file died" in bad[0]["error"]
    assert all(r["path"] == "fast" for r in rows if not r["error"])


WORKER_SCRIPT = """
import os, sys, time
from kpitree.recalculation import workers
if sys.argv[1] == "no-prctl":
    workers._set_parent_death_signal = lambda signum: False  # as on a system without prctl: the watchdog alone
pool, _ = workers.start_pool(1)
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("mode", ["prctl", "no-prctl"])
def test_workers_die_when_their_parent_is_killed(mode: str) -> None:
    """PR_SET_PDEATHSIG, and the parent-liveness watchdog on its own, each end a worker whose parent died."""
    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    worker = int(proc.stdout.readline())
    assert running(worker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(worker), f"the worker outlived its parent ({mode})"


def test_the_kernel_is_asked_to_signal_a_worker_when_its_parent_dies() -> None:
    code = ("import ctypes, ctypes.util, signal\n"
            "from kpitree.recalculation.workers import _set_parent_death_signal\n"
            "assert _set_parent_death_signal(signal.SIGTERM)\n"
            "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
            "value = ctypes.c_int()\n"
            "assert libc.prctl(2, ctypes.byref(value), 0, 0, 0) == 0\n"  # PR_GET_PDEATHSIG
            "print(value.value)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == signal.SIGTERM


class _BreaksOnSubmit:
    """An executor whose worker died between two submissions: the next ``submit`` raises, as the stdlib does."""

    def __init__(self, fail_on: int) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def submit(self, fn, *args):  # type: ignore[no-untyped-def]
        import concurrent.futures.process

        self.calls += 1
        if self.calls == self.fail_on:
            raise concurrent.futures.process.BrokenProcessPool("a child process terminated abruptly")
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        future.set_result(fn(*args))
        return future


def test_a_pool_found_broken_at_submission_reruns_the_files_instead_of_ending_the_batch(tmp_path: Path) -> None:
    """The race CI met: a worker dies after one task's result and before the next ``submit``."""
    from kpitree.recalculation import DEFAULT_LIMITS

    files = []
    for i in range(6):
        shutil.copyfile(template_path("ja"), tmp_path / f"t{i}.xlsx")
        files.append((str(tmp_path / f"t{i}.xlsx"), None))
    pools = [_BreaksOnSubmit(fail_on=2), _BreaksOnSubmit(fail_on=0)]
    batch = files_module._Batch([files[:2], files[2:4], files[4:]], DEFAULT_LIMITS, pools[0], 4,
                                restart=lambda: pools[1])
    rows = [row for part in batch.rows() for row in part]
    assert sorted(Path(r["file"]).name for r in rows) == [f"t{i}.xlsx" for i in range(6)]
    assert not [r for r in rows if r["error"]], "no file killed its worker, so none gets the error"
