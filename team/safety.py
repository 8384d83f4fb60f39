"""What the team commands read and write, checked with the helpers every other command uses.

* Outputs never land on an input, under any name (a symbolic or hard link, ``..``):
  :func:`check_outputs` compares every output with every input — and the outputs with each
  other — through :func:`kpitree.recalculation.io.outputs.same_file` (real paths and
  inodes), before anything is read or written.
* Every file is written through :func:`kpitree.recalculation.io.outputs.atomic_path`: a new
  file gets the mode the umask gives, a replaced one keeps its mode, owner and links.
* An xlsx is opened only once the engine's safe reader (:func:`read_members`, the package
  limits of ``kpitree recalc``) vouched for it: a zip bomb, a password-protected workbook,
  an ``.xls`` are one clear message, not minutes of memory.
* Text that comes from the data is written to cells without the characters XML forbids
  (:func:`cell_text`); what is printed goes through :func:`kpitree.cli_support.printable`.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from kpitree.udfs.texts import user_error

Named = tuple[str, "str | os.PathLike[str]"]  # (what the user called it: "--rejects", its path)


def check_outputs(outputs: Iterable[Named], inputs: Iterable[Named]) -> None:
    """Refuse (exit 2, ja/en) an output that is an input, or another output, through whatever path."""
    from kpitree.recalculation.io.outputs import same_file

    ins = [(what, os.fspath(p)) for what, p in inputs]
    seen: list[tuple[str, str]] = []
    for what, out in outputs:
        out = os.fspath(out)
        for in_what, path in ins:
            if same_file(out, path):
                raise user_error("team.output_is_input", what=what, output=out, input_what=in_what, input=path)
        for other_what, other in seen:
            if same_file(out, other):
                raise user_error("team.outputs_same", what=what, output=out, other_what=other_what, other=other)
        seen.append((what, out))


def check_replaceable(path: str | os.PathLike[str]) -> None:
    """Refuse, before anything is written, an output that may not be replaced (a folder, read-only, hard links…)."""
    from kpitree.recalculation.io.outputs import check_replaceable as check
    from kpitree.recalculation.io.outputs import real

    check(real(path))


@contextlib.contextmanager
def quiet_reader() -> Iterator[None]:
    """Reading a user's xlsx: what openpyxl says of parts it drops ("Data Validation extension is not
    supported…") is a library's note about a file kpitree only reads, never a warning for the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def safe_members(path: str | os.PathLike[str]) -> tuple[list[Any], dict[str, bytes]]:
    """The members of the xlsx at ``path``, read within the engine's package limits; a UserError says why not."""
    from kpitree.recalculation import WorkbookError
    from kpitree.recalculation.io.package import read_members

    try:
        return read_members(path)
    except WorkbookError as exc:
        raise user_error("team.bad_workbook", file=path, error=str(exc)) from None


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def cell_text(value: str) -> str:
    """Text a cell of an xlsx may hold: the control characters XML 1.0 forbids become U+FFFD (visible, not lost)."""
    return _ILLEGAL_XML.sub("\ufffd", value)


def named_inputs(pairs: Sequence[tuple[str, Any]]) -> list[Named]:
    """The ``(what, path)`` of the inputs that are files (DataFrames, None and preset names left out)."""
    out: list[Named] = []
    for what, source in pairs:
        if source is None or (hasattr(source, "columns") and hasattr(source, "iloc")):
            continue
        if isinstance(source, (str, os.PathLike)) and os.path.lexists(source):  # "salesforce" is a preset, not a file
            out.append((what, source))
    return out
