"""The portable copy of a workbook (``kpitree share``): every ``KPI_*`` call in Excel's own functions.

The work is in :mod:`.sharing` (its docstring says how); this module loads it on first use of a name
(``from kpitree.portable import share``), so that ``kpitree --help``, which registers
``kpitree.portable.commands``, imports no numpy (tests/test_architecture.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sharing import PortableError, ShareReport, default_out, share, workbook_lang  # noqa: F401

__all__ = ["PortableError", "ShareReport", "share"]


def __getattr__(name: str) -> Any:  # PEP 562
    if name.startswith("__"):
        raise AttributeError(name)
    sharing = importlib.import_module("kpitree.portable.sharing")
    try:
        return getattr(sharing, name)
    except AttributeError:
        raise AttributeError(f"module 'kpitree.portable' has no attribute {name!r}") from None
