"""Style keys of planned cells resolved to plain properties (the template's, plus the add-in's)."""

from __future__ import annotations

from typing import Any

from .plans import OUTSIDE_FOCUS_FILL

EXTRA_STYLES = {"outside_focus": {"fill": OUTSIDE_FOCUS_FILL, "border": True}}


def properties(key: str) -> dict[str, Any]:
    if key in EXTRA_STYLES:
        return dict(EXTRA_STYLES[key])
    from kpitree.workbook_templates.layout import style_properties

    return style_properties(key)
