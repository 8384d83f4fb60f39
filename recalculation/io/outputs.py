"""Where outputs go: never onto an input, atomically, keeping what they replace.

Every file kpitree writes — recalculated copies, summaries, ``kpitree new``,
``kpitree dashboard``, ``kpitree demo`` — goes through :func:`atomic_file` or
:func:`atomic_path`:

* the path is resolved first (:func:`os.path.realpath`): a symbolic link stays a link
  and the file it points at is what gets written;
* an existing file is refused when the user cannot write it or nobody may (a
  read-only file: mode without any write bit), when it has other hard links
  (replacing it would silently split them), and — for a user other than root — when
  it belongs to another user or to a group the user is not in (the new file would
  be the user's: its owner, and so who may read it, would change);
* the new content goes to a temporary file in the target's own folder (so the rename
  is atomic), is flushed to disk (``fsync``), gets the replaced file's mode, owner and
  group (root gives the file back to its owner; a user keeps the group of a file they
  own) — or, for a new file, the mode the umask gives, and is renamed onto the target with :func:`os.replace`; the folder is
  flushed too (in a batch, once per folder at the end of each step, :func:`folder_syncs_deferred`). An
  interruption at any point leaves the old file or the new one, never half of one, and the temporary file
  is removed.

:func:`check_not_inputs` refuses an output that is an input under another name — a
symbolic link, a hard link, ``..`` — by comparing real paths and
:func:`os.path.samefile`, before anything runs.

Temporary files live in :data:`LIVE_TEMPS` while they exist, so a signal handler can
remove them (:func:`remove_live_temps`); their names start with :data:`TEMP_PREFIX`
(a batch's worker processes get a per-run prefix, see :mod:`..workers`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import IO

from kpitree.errors import UserError

TEMP_PREFIX = ".kpitree-"
LIVE_TEMPS: set[str] = set()


class OutputError(UserError, ValueError):
    """An output that would overwrite an input, or a file that may not be replaced."""


# --- which file a path names ------------------------------------------------------------------


def real(path: str | os.PathLike[str]) -> str:
    """The path with every symbolic link resolved (a dangling link gives its target's path)."""
    return os.path.realpath(os.fspath(path))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same real path, or the same inode (a hard link)."""
    if real(a) == real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): it cannot be the other
        return False


def check_not_inputs(outputs: Iterable[tuple[str, str | os.PathLike[str]]], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse any output (``(what, path)``) that names an input file, through whatever path."""
    ins = [os.fspath(p) for p in inputs]
    ids: dict[tuple[int, int], str] = {}
    reals: dict[str, str] = {}
    for p in ins:
        reals.setdefault(real(p), p)
        try:
            st = os.stat(p)
        except OSError:
            continue
        ids.setdefault((st.st_dev, st.st_ino), p)
    for what, out in outputs:
        out = os.fspath(out)
        hit = reals.get(real(out))
        if hit is None:
            try:
                st = os.stat(out)
            except OSError:
                continue
            hit = ids.get((st.st_dev, st.st_ino))
        if hit is not None:
            raise OutputError(f"{what} {out} would overwrite the input {hit} (the same file); "
                              "choose another output, the inputs are never written")


# --- replacing a file -------------------------------------------------------------------------


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a new file gets from ``open()``: 0666 less the umask."""
    return 0o666 & ~_umask()


def check_replaceable(target: str) -> os.stat_result | None:
    """The stat of the file at ``target`` (a real path), None when there is none; refuses what may not be replaced."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{target} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{target} is not a regular file; refusing to replace it")
    if not (st.st_mode & 0o222) or not os.access(target, os.W_OK):
        raise OutputError(f"{target} is read-only; make it writable first, or write to another file")
    if st.st_nlink > 1:
        raise OutputError(f"{target} has {st.st_nlink} hard links; replacing it would split them, "
                          "so write to another file")
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # only root may give a file to someone else
        if st.st_uid != os.geteuid():
            raise OutputError(f"{target} belongs to another user (uid {st.st_uid}); replacing it would make it yours "
                              "and change who may read it, so write to another file")
        if st.st_gid != os.getegid() and st.st_gid not in os.getgroups():
            raise OutputError(f"{target} belongs to group {st.st_gid}, which you are not in; replacing it would "
                              "change its group, so write to another file")
    return st


def _keep_owner_and_mode(path: str, old: os.stat_result | None) -> None:
    """The new file at ``path`` gets the old one's owner, group and mode (a new file: the umask's mode).

    By path, not by descriptor: Windows has no ``fchmod`` (there ``chmod`` sets the
    read-only flag only, and there are no owners to keep).
    """
    if old is None:
        os.chmod(path, new_file_mode())
        return
    if hasattr(os, "chown"):
        mine = os.stat(path)
        if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
            for uid, gid in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
                try:  # root may give the file back to its owner; a user may keep its group if a member
                    os.chown(path, uid, gid)
                    break
                except OSError:
                    continue
    os.chmod(path, stat.S_IMODE(old.st_mode))


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_DEFERRED = threading.local()  # .folders: where this thread's renames wait for one flush (folder_syncs_deferred)


@contextlib.contextmanager
def folder_syncs_deferred() -> Iterator[None]:
    """Within the block, each folder that files were renamed into is flushed once, at the end, instead of once
    per file. The rename is atomic either way; flushing the folder only makes it survive a power cut, so a
    batch may do it once for all the copies of a chunk."""
    outer = getattr(_DEFERRED, "folders", None)
    pending: set[str] = set()
    _DEFERRED.folders = pending
    try:
        yield
    finally:
        _DEFERRED.folders = outer
        for folder in pending:
            if outer is not None:
                outer.add(folder)
            else:
                _fsync_folder(folder)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".part",
                prefix: str | None = None) -> Iterator[str]:
    """A temporary path to write the new content to; on success it replaces ``path`` (see the module doc).

    For writers that take a file name (pandas, openpyxl, XlsxWriter). The temporary
    file exists (empty) when the block starts; the writer may replace or truncate it.
    """
    target = real(path)
    folder = os.path.dirname(target)
    old = check_replaceable(target)
    with _signals_held():  # a signal handler that removes LIVE_TEMPS must not fall between these two
        fd, tmp = tempfile.mkstemp(prefix=prefix or TEMP_PREFIX, suffix=suffix, dir=folder)
        LIVE_TEMPS.add(tmp)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _keep_owner_and_mode(tmp, old)
        os.replace(tmp, target)
        pending = getattr(_DEFERRED, "folders", None)
        if pending is None:
            _fsync_folder(folder)
        else:
            pending.add(folder)
    except BaseException as exc:  # Ctrl-C and signals included: no partial output survives
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and tmp in (exc.filename, exc.filename2):  # say the user's file, not ours
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
        raise
    finally:
        LIVE_TEMPS.discard(tmp)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], *, suffix: str = ".part", prefix: str | None = None) -> Iterator[IO[bytes]]:
    """:func:`atomic_path`, as an open binary file (seekable) to write to."""
    with atomic_path(path, suffix=suffix, prefix=prefix) as tmp, open(tmp, "wb") as fh:
        yield fh


_HELD = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, n))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Signals that end a run wait until the block is done (where the system can hold them)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def remove_live_temps() -> None:
    """Remove the temporary files of writes still in progress (from a signal handler)."""
    for tmp in list(LIVE_TEMPS):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        LIVE_TEMPS.discard(tmp)
