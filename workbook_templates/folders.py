"""An output's folder: it must exist before a temporary file is made in it (then errors name the user's path)."""

from __future__ import annotations

import os
from pathlib import Path


def check_folder(path: str | os.PathLike) -> None:
    """Refuse an output whose folder does not exist, naming the user's path (not a temporary file in it)."""
    from kpitree.recalculation.io.outputs import OutputError

    path = Path(path)
    if not path.resolve().parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist; create it first or write elsewhere",
                          ja=f"{path}: フォルダー {path.parent} がありません。作成するか、別の場所を指定してください")
