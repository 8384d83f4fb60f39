"""Worker processes that die with their parent, and signals that end a batch cleanly.

A batch's own process pool (:func:`start_pool`) starts each worker with
:func:`_worker_init`, which

* on Linux asks the kernel to send the worker SIGTERM when its parent dies
  (``prctl(PR_SET_PDEATHSIG)`` through :mod:`ctypes`), and checks the parent did not
  die before that was set;
* everywhere, starts a watchdog thread that notices the parent is gone (the worker's
  parent process id changes) and does the same, for systems without ``prctl``;
* turns SIGTERM and SIGHUP into "remove my temporary files and exit" (a worker never
  leaves a half-written ``.part`` file behind, whoever sends the signal), and ignores
  SIGINT: Ctrl-C reaches the whole process group, and it is the parent that stops
  the batch, so no worker prints a traceback;
* names its temporary files with the run's prefix, so the parent can remove any a
  worker could not (:func:`stop_pool`).

In the parent, :func:`signals_raise` turns SIGTERM and SIGHUP into
:class:`Interrupted` (a :class:`KeyboardInterrupt`), so the same clean-up as for Ctrl-C
runs: the pool is stopped, temporary files are removed, and the command line exits
with 128 + the signal's number. After SIGKILL of the parent nothing of the parent can
run: its workers still die (the kernel's SIGTERM, or the watchdog) and remove their own
temporary files, but a summary the parent was writing at that instant leaves its
temporary file (``.kpitree-*``) behind.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import glob
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .io import outputs

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 0.5


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP received: stop like Ctrl-C; ``signum`` says which signal."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def cpu_count() -> int:
    """CPUs this process may run on (its affinity on Linux), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# --- the parent ----------------------------------------------------------------------------------


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_raise(signums: Iterable[int] = ()) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread.

    Only signals whose handler is the default are taken over (a program that set its
    own keeps it), only in the main thread (Python delivers signals there), and the
    previous handlers come back when the block ends.
    """
    wanted = list(signums) or [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in wanted:
            try:
                if signal.getsignal(signum) in (signal.SIG_DFL, None):
                    saved[signum] = signal.signal(signum, _raise_interrupted)
            except (ValueError, OSError):  # not supported here
                continue
    try:
        yield
    finally:
        for signum, handler in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


def start_pool(workers: int) -> tuple[concurrent.futures.ProcessPoolExecutor, str]:
    """A process pool whose workers die with this process; and the prefix of their temporary files."""
    prefix = f"{outputs.TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-"
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                                  initargs=(os.getpid(), prefix))
    return pool, prefix


def stop_pool(pool: concurrent.futures.ProcessPoolExecutor, *, kill: bool, prefix: str = "",
              folders: Iterable[str] = ()) -> None:
    """Shut the pool down; with ``kill``, end its workers now and remove their temporary files.

    Workers get SIGTERM (they remove their own temporary files and exit), then SIGKILL
    if they have not gone within a few seconds; files with the run's ``prefix`` left in
    ``folders`` are removed last.
    """
    if not kill:
        pool.shutdown(wait=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)
    if prefix:
        for folder in set(folders):
            for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*")):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


# --- a worker --------------------------------------------------------------------------------------


def _set_parent_death_signal(signum: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, signum)`` on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _worker_exit(signum: int, frame: Any) -> None:
    outputs.remove_live_temps()
    os._exit(128 + signum)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs in the main thread, between two bytecodes
            time.sleep(10)
            os._exit(128 + signal.SIGTERM)  # the main thread is stuck: leave anyway


def _worker_init(parent: int, prefix: str) -> None:
    """Run in each worker before any work (see the module doc)."""
    outputs.LIVE_TEMPS.clear()  # (inherited from the parent by fork; not this process's files)
    outputs.TEMP_PREFIX = prefix
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _worker_exit)
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the kernel was told
        _worker_exit(signal.SIGTERM, None)
    threading.Thread(target=_watch_parent, args=(parent,), name="kpitree-parent-watch", daemon=True).start()
