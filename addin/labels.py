"""Every text the add-in's VBA shows: ribbon labels, screentips and message boxes.

The texts live in the ``[ribbon]`` section of ``kpitree/udfs/texts.toml``; :data:`LABELS` is
that section as a table. Keys are ribbon control ids (``kpiTab``, ``kpiRebuildDashboard``,
...), a control id plus ``.tip`` for its screentip, or ``msg.*`` for a message box. The build turns
this table into the generated ``KpiLabels`` VBA module, with Japanese text built
from ``ChrW()`` so the VBA source stays ASCII; ``KpiLabel(key)`` answers in Japanese
when Excel's UI language is Japanese (LanguageID 1041) and in English otherwise.
"""

from __future__ import annotations

from kpitree.udfs.catalogue import Lang
from kpitree.udfs.texts import section_pairs, text

JAPANESE_LANGUAGE_ID = 1041

# key -> (ja, en), in texts.toml's order: the build writes the VBA module in this order
LABELS: dict[str, tuple[str, str]] = section_pairs("ribbon")


def label(key: str, lang: Lang) -> str:
    return text(f"ribbon.{key}", lang)
