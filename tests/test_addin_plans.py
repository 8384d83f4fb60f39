"""The add-in's planners refuse a bad months_since_launch with a message the user can act on."""

from __future__ import annotations

import pytest
from kpitree.addin.plans import UserError, WorkbookFacts, plan_design_check


@pytest.mark.parametrize("months", [None, "abc", True, -3])
def test_design_check_needs_months_since_launch(months):
    facts = WorkbookFacts(lang="en", values={"months_since_launch": months}, kpi_rows=())
    with pytest.raises(UserError, match="months_since_launch"):
        plan_design_check(facts)


def test_design_check_reports_verdict_labels():
    facts = WorkbookFacts(lang="ja", values={"months_since_launch": 7}, kpi_rows=())
    plan = plan_design_check(facts)
    texts = {c.value for c in plan.cells if isinstance(getattr(c, "value", None), str)}
    assert "少なすぎ" in texts and "too_few" not in texts
