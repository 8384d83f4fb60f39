"""Dashboard status from an achievement rate: on track / watch / behind.

Thresholds are settings, not constants (spec section 3): the template keeps them in
cells. Defaults follow the spec's example: 100 % and more on track, 80–100 % watch,
below 80 % behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .catalogue import LANGS, Lang
from .excel_values import OK, Kind, XlError, check_domain, first_error, to_checked
from .texts import text_list

ON_TRACK_FROM = 1.0
WATCH_FROM = 0.8

STATUS_IDS = ("behind", "watch", "on_track")
STATUS_KINDS = (Kind.NUMBER, Kind.RATIO, Kind.RATIO)  # achievement, on_track_from, watch_from
# lang -> the labels of STATUS_IDS, in that order (texts.toml [status]); other parts import this table
STATUS_LABELS: dict[str, tuple[str, ...]] = {lang: text_list("status.labels", lang) for lang in LANGS}


def evaluate_status(
    achievement: Any, on_track_from: Any = ON_TRACK_FROM, watch_from: Any = WATCH_FROM
) -> tuple[np.ndarray, np.ndarray]:
    """Index into :data:`STATUS_IDS` (0 behind, 1 watch, 2 on track) and error codes.

    ``watch_from`` above ``on_track_from`` is ``#NUM!``: the bands would overlap.
    """
    a, ca = to_checked(achievement)
    hi, chi = to_checked(on_track_from)
    lo, clo = to_checked(watch_from)
    ka, khi, klo = STATUS_KINDS
    ca = check_domain(a, ca, ka)
    chi = check_domain(hi, chi, khi)
    clo = check_domain(lo, clo, klo)
    codes = first_error(ca, chi, clo)
    codes = np.where((codes == OK) & (lo > hi), np.int8(XlError.NUM), codes).astype(np.int8)
    index = np.where(a >= hi, 2, np.where(a >= lo, 1, 0))
    return np.broadcast_to(index, codes.shape), codes


def status_label(index: int, lang: Lang = "ja") -> str:
    return STATUS_LABELS[lang][index]
