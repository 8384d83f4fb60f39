"""Self-healing KPI links: the decision (kpitree.addin.relink) over the three spellings Excel stores a
``KPI_*`` call in, and the VBA that mirrors it (module KpiRelink, the application-event class, the ribbon
button). What Excel itself does with ChangeLink and re-entered formulas is the release check in
tests/excel/test_excel_relink.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kpitree.addin import build, relink
from kpitree.addin.relink import BookFacts, FormulaCell, facts_from_file, plan_relink, relinked_formula
from kpitree.workbook_templates import template_path
from test_fidelity_classes import book, with_external_link

THEIRS = r"C:\Users\aiko\AppData\Roaming\Microsoft\AddIns\kpitree.xlam"  # the add-in where the workbook was saved
OURS = r"C:\Users\ken\AppData\Roaming\Microsoft\Excel\XLSTART\kpitree.xlam"  # the add-in loaded here


def spellings(tmp_path: Path) -> Path:
    """Sheet F calls KPI_* in every spelling a travelling workbook has: through a link to another machine's
    add-in, with the _xludf. prefix (#NAME?), bare and unbound (#NAME?), bare and bound (a value)."""
    formulas = {"A1": "=[1]!KPI_STAGE(7)", "A2": "=_xludf.KPI_CONNECT_RATE(Data!A1,Data!A2)", "A3": "=KPI_STAGE(3)",
                "A4": "=KPI_CONNECT_RATE(Data!A1,Data!A2)", "A5": "=SUM(Data!A1:A2)"}
    path = book(tmp_path / "travelled.xlsx", formulas, data={"A1": 25, "A2": 100})
    with_external_link(path, "file:///" + THEIRS)
    return with_cached(path, {"A2": "#NAME?", "A3": "#NAME?"})


def with_cached(path: Path, errors: dict[str, str]) -> Path:
    """Sheet F's cells ``errors`` cached as that error value, as Excel saves a call it could not bind."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = "xl/worksheets/sheet2.xml"  # Data, then F
    xml = parts[sheet].decode()
    for ref, err in errors.items():
        xml, n = re.subn(rf'<c r="{ref}"([^>]*?)(?: t="\w+")?><f>([^<]*)</f><v>[^<]*</v></c>',
                         rf'<c r="{ref}"\1 t="e"><f>\2</f><v>{err}</v></c>', xml)
        assert n == 1, ref
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_the_file_shows_what_excel_shows(tmp_path: Path) -> None:
    facts = facts_from_file(spellings(tmp_path))
    assert facts.links == (THEIRS,)
    cells = {c.ref: c for c in facts.cells if c.sheet == "F"}
    assert cells["A1"].formula == f"='{THEIRS}'!KPI_STAGE(7)"
    assert (cells["A2"].formula, cells["A2"].shows_name_error) == ("=_xludf.KPI_CONNECT_RATE(Data!A1,Data!A2)", True)
    assert cells["A3"].shows_name_error and not cells["A4"].shows_name_error


def test_a_link_to_another_machines_add_in_is_changed_and_unbound_calls_are_entered_again(tmp_path: Path) -> None:
    plan = plan_relink(facts_from_file(spellings(tmp_path)), OURS)
    assert plan.kpitree_book
    assert plan.links == ((THEIRS, OURS),)
    # _xludf. dropped; the bare #NAME? call entered as it is; the call through the link, the bound call
    # and the SUM are left alone
    assert plan.formulas == (("F", "A2", "=KPI_CONNECT_RATE(Data!A1,Data!A2)"), ("F", "A3", "=KPI_STAGE(3)"))
    ja, en = plan.message()
    assert "1" in en and "2" in en and "links" not in ja.replace("リンク", "")


def test_the_loaded_add_in_is_left_as_it_is(tmp_path: Path) -> None:
    facts = facts_from_file(spellings(tmp_path))
    plan = plan_relink(facts, THEIRS.upper())  # the same file in another case: Windows paths ignore it
    assert plan.links == ()


@pytest.mark.parametrize("target", [r"C:\AddIns\kpitree.xlam", "/Users/ken/Library/Group Containers/UBF8T346G9.Office/KPITREE.XLAM",
                                    "Macintosh HD:Users:ken:kpitree.xlam", "kpitree.xlam"])
def test_every_path_form_of_the_add_in_is_a_link_to_it(target: str) -> None:
    assert relink.is_addin_link(target)


@pytest.mark.parametrize("target", [r"C:\prices\kpitree.xlsx", r"C:\kpitree.xlam\prices.xlsx", "my_kpitree.xlam"])
def test_other_books_are_not(target: str) -> None:
    assert not relink.is_addin_link(target)


def test_a_link_to_another_workbook_is_never_changed() -> None:
    facts = BookFacts(("months_since_launch",), (r"C:\prices.xlsx", THEIRS), ())
    assert plan_relink(facts, OURS).links == ((THEIRS, OURS),)


@pytest.mark.parametrize(("formula", "name_error", "expected"), [
    ("=_xludf.KPI_STAGE(C6)", True, "=KPI_STAGE(C6)"),
    ("=_XLUDF.kpi_stage(C6)", False, "=KPI_stage(C6)"),  # any case; Excel upper-cases the name when it binds it
    ("=IF(A1,_xludf.KPI_GAP(B1,C1),_xludf.KPI_GAP(C1,B1))", True, "=IF(A1,KPI_GAP(B1,C1),KPI_GAP(C1,B1))"),
    ("=KPI_STAGE(C6)", True, "=KPI_STAGE(C6)"),
    ("=KPI_STAGE(C6)", False, None),
    (f"='{THEIRS}'!KPI_STAGE(C6)", True, None),  # the link is changed instead
    ("=[1]!KPI_STAGE(C6)", True, None),
    ("=SUM(A1:A3)", True, None),
    ("=_xludf.FOO(A1)", True, None),  # another add-in's function is not ours to touch
])
def test_which_formula_is_entered_again_and_as_what(formula: str, name_error: bool, expected: str | None) -> None:
    assert relinked_formula(formula, name_error) == expected


def test_a_workbook_of_someone_else_is_not_touched(tmp_path: Path) -> None:
    path = book(tmp_path / "other.xlsx", {"A1": "=SUM(Data!A1:A2)", "A2": "=_xludf.FOO(1)"}, data={"A1": 1},
                names={"revenue": "=Data!$A$1"})
    plan = plan_relink(facts_from_file(with_cached(path, {"A2": "#NAME?"})), OURS)
    assert plan == relink.RelinkPlan(False)
    assert plan.message()[1].startswith("This workbook has neither")


def test_the_shipped_template_is_kpitrees_and_needs_nothing() -> None:
    for lang in ("ja", "en"):
        facts = facts_from_file(template_path(lang))
        assert relink.is_kpitree_book(facts)
        plan = plan_relink(facts, OURS)
        assert plan.kpitree_book and not plan.changed
        assert plan.message() == relink.RelinkPlan(True).message()


def test_named_cells_alone_mark_a_kpitree_workbook() -> None:
    assert relink.is_kpitree_book(BookFacts(("'KGI'!stage_label",), (), ()))
    assert relink.is_kpitree_book(BookFacts((), (), (FormulaCell("S", "A1", "=kpi_gap(1,2)"),)))
    assert not relink.is_kpitree_book(BookFacts(("stage",), (r"C:\a.xlsx",), (FormulaCell("S", "A1", "=SUM(1)"),)))


# --- the VBA mirror ------------------------------------------------------------------------------------


def vba(name: str) -> str:
    return (Path(relink.__file__).parent / name).read_text(encoding="ascii")


def test_each_vba_function_names_its_python_twin() -> None:
    source = vba("KpiRelink.bas")
    twins = {"KpiIsAddinLink": "is_addin_link", "KpiIsKpitreeBook": "is_kpitree_book",
             "KpiRelinkedFormula": "relinked_formula", "KpiRelinkBook": "plan_relink"}
    for vba_name, python_name in twins.items():
        body = re.split(rf"^Public (?:Sub|Function) {vba_name}\(", source, flags=re.MULTILINE)[1]
        assert f"relink.{python_name}" in body.splitlines()[1], vba_name
        assert callable(getattr(relink, python_name))
    # the decision's words are the Python constants, generated into KpiLabels; the module spells none itself
    for literal in ('"kpitree.xlam"', '"KPI_"', '"_xludf."', "months_since_launch"):
        assert literal not in source
    assert "wb.Save" not in source and ".Save " not in source  # never saves
    assert "ChangeLink CStr(link), ThisWorkbook.FullName, XL_EXCEL_LINKS" in source


def test_the_generated_constants_are_relinks() -> None:
    source = build.labels_module("0", "https://example.com").source
    assert f'Public Const KPI_ADDIN_FILE As String = "{relink.ADDIN_FILE}"' in source
    assert f'Public Const KPI_FUNCTION_PREFIX As String = "{relink.FUNCTION_PREFIX}"' in source
    assert f'Public Const KPI_XLUDF_PREFIX As String = "{relink.XLUDF_PREFIX}"' in source
    assert f'Public Const KPI_MARK_NAMES As String = "{",".join(relink.MARK_NAMES)}"' in source


def test_the_add_in_heals_on_open_and_on_demand() -> None:
    this_workbook, events, ribbon = vba("ThisWorkbook.cls"), vba("KpiAppEvents.cls"), vba("KpiRibbon.bas")
    assert "Set KpiEvents = New KpiAppEvents" in this_workbook and "KpiRelinkOpenBooks" in this_workbook
    assert "Private WithEvents App As Application" in events
    assert re.search(r"Private Sub App_WorkbookOpen\(ByVal Wb As Workbook\)\n.*\n    KpiRelinkBook Wb, False", events)
    assert re.search(r"Public Sub KpiRibbon_Relink\(control As IRibbonControl\)\n    KpiRelinkActive\nEnd Sub", ribbon)
    modules = {m.name: m for m in build.addin_modules()}
    assert modules["KpiAppEvents"].kind == "class" and modules["KpiRelink"].kind == "standard"


HEALING_MODULES = ("ThisWorkbook", "KpiRibbon", "KpiRelink", "KpiAppEvents", "KpiLabels")


def test_the_built_add_in_holds_the_healing_vba_exactly() -> None:
    from kpitree.addin.vba_project import stored_source
    from oletools.olevba import VBA_Parser

    modules = {m.name: m for m in build.addin_modules()}
    parser = VBA_Parser("kpitree.xlam", data=build.build_addin(), relaxed=False)
    try:
        extracted = {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
    for name in HEALING_MODULES:
        assert extracted[name] == stored_source(modules[name]), name


@pytest.mark.libreoffice
def test_libreoffice_imports_the_healing_vba(tmp_path: Path) -> None:
    import shutil

    from test_xlam_package import libreoffice_basic, libreoffice_view

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    imported = libreoffice_basic(build.build_addin(), tmp_path)
    modules = {m.name: m for m in build.addin_modules()}
    for name in HEALING_MODULES:
        kind = {"standard": "normal", "class": "class", "document": "document"}[modules[name].kind]
        assert imported[name] == (kind, libreoffice_view(modules[name])), name
