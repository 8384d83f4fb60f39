"""Apply an :class:`~.plans.EditPlan` to a workbook file with openpyxl (file mode, and tests).

The dashboard's file mode is the template part's own ``rebuild_dashboard`` (openpyxl);
this writer serves the add-in's other plans so each can be checked without Excel.
"""

from __future__ import annotations

from typing import Any

from .plans import EditPlan
from .styles import properties


def apply_plan(workbook: Any, plan: EditPlan) -> None:
    from openpyxl.styles import Font, PatternFill

    if plan.sheet:
        ws = workbook[plan.sheet] if plan.sheet in workbook.sheetnames else workbook.create_sheet(plan.sheet)
        if plan.block:
            for row in ws[plan.block]:
                for cell in row:
                    cell.value = None
                    cell.style = "Normal"
    for planned in plan.cells:
        ws = workbook[planned.sheet]
        cell = ws[planned.ref]
        if planned.formula is not None:
            cell.value = planned.formula
        elif planned.value is not None:
            cell.value = planned.value
        props = properties(planned.style)
        fill = props.get("fill")
        cell.fill = PatternFill("solid", fgColor=fill.lstrip("#")) if fill else PatternFill(fill_type=None)
        if "num_format" in props:
            cell.number_format = props["num_format"]
        cell.font = Font(bold=bool(props.get("bold")), italic=bool(props.get("italic")), size=props.get("size"),
                         color=props.get("color", "#000000").lstrip("#"))
    if plan.activate:
        workbook.active = workbook.sheetnames.index(plan.activate)


def run_file_action(path: Any, planner: Any, out: Any = None) -> EditPlan:
    """Read ``path``, plan with ``planner`` (a ``plans.plan_*``), write to ``out`` (default: in place)."""
    from kpitree.workbook_templates.contract import facts_from_openpyxl
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    values = load_workbook(path, data_only=True)
    plan = planner(facts_from_openpyxl(workbook, values))
    apply_plan(workbook, plan)
    workbook.save(out or path)
    return plan
