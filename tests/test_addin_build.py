"""The built kpitree.xlam: reproducible, the expected VBA modules, a ribbon that
validates against Microsoft's customUI14 schema and whose callbacks all exist in
the VBA with the signatures Office calls them with, Python entry points that exist,
and UDF wrappers / function help for every exported KPI_* function."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlwings
from defusedxml import ElementTree
from kpitree.addin import build, labels
from kpitree.addin.vba_text import evaluate
from kpitree.udfs.excel_functions import exported_functions
from oletools.olevba import VBA_Parser

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "data"  # Microsoft's customUI schema, vendored (tests/data/README.md)
CUSTOM_UI_NS = "{http://schemas.microsoft.com/office/2009/07/customui}"
EXPECTED_MODULES = {
    "ThisWorkbook", "Sheet1", "xlwings", "Dictionary", "xlwings_udfs", "KpiFunctionHelp", "KpiLabels", "KpiRibbon", "KpiRelink",
    "KpiAppEvents",
}
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")


@pytest.fixture(scope="module")
def xlam() -> bytes:
    return build.build_addin()


@pytest.fixture(scope="module")
def modules(xlam: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Module name -> source, as olevba reads them back from the .xlam."""
    path = tmp_path_factory.mktemp("xlam") / "kpitree.xlam"
    path.write_bytes(xlam)
    parser = VBA_Parser(str(path))
    try:
        out = {}
        for _, stream, _, code in parser.extract_macros():
            out[stream.rsplit("/", 1)[-1]] = code.replace("\r\n", "\n")
        return out
    finally:
        parser.close()


def test_build_is_byte_reproducible(xlam: bytes) -> None:
    assert hashlib.sha256(build.build_addin()).hexdigest() == hashlib.sha256(xlam).hexdigest()


def test_cli_build_writes_the_same_bytes(tmp_path: Path, xlam: bytes) -> None:
    out = tmp_path / "sub" / "kpitree.xlam"
    done = subprocess.run([sys.executable, "-m", "kpitree", "addin", "build", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert out.read_bytes() == xlam


def test_cli_build_refuses_a_folder(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "kpitree", "addin", "build", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is a folder" in done.stderr


def test_package_has_ribbon_and_vba(xlam: bytes) -> None:
    with zipfile.ZipFile(__import__("io").BytesIO(xlam)) as package:
        names = set(package.namelist())
        assert {"xl/vbaProject.bin", "customUI/customUI14.xml"} <= names
        assert package.read("customUI/customUI14.xml").decode("utf-8") == build.ribbon_xml()


def test_expected_modules(modules: dict[str, str]) -> None:
    assert set(modules) == EXPECTED_MODULES


def test_xlwings_module_is_the_installed_one_with_our_project_name(modules: dict[str, str]) -> None:
    source = modules["xlwings"]
    assert 'Public Const PROJECT_NAME As String = "kpitree"' in source
    assert "myaddin" not in source
    assert f'Public Const XLWINGS_VERSION As String = "{xlwings.__version__}"' in source
    installed = (build.xlwings_dir() / "xlwings_custom_addin.bas").read_text(encoding="ascii")
    # everything else is the installed file, line for line
    expected = installed.replace('PROJECT_NAME As String = "myaddin"', 'PROJECT_NAME As String = "kpitree"')
    assert source.strip().splitlines()[1:] == expected.replace("\r\n", "\n").strip().splitlines()[1:]
    assert "Dictionary" in source  # why the Dictionary class ships (macOS GetConfigFromSheet)


def test_dictionary_class_is_xlwings_own(modules: dict[str, str]) -> None:
    shipped = (build.xlwings_dir() / "addin" / "Dictionary.cls").read_text(encoding="ascii")
    body = shipped.split('Attribute VB_Exposed = True', 1)[1].split("\n", 2)[2]
    assert body.replace("\r\n", "\n").strip() in modules["Dictionary"]


# --- the ribbon ----------------------------------------------------------------------


def ribbon_root():
    return ElementTree.fromstring(build.ribbon_xml().encode("utf-8"))


def test_ribbon_validates_against_customui14_schema() -> None:
    import xmlschema

    xsd = SCHEMAS / "customui14.xsd"
    schema = xmlschema.XMLSchema(str(xsd))
    schema.validate(build.ribbon_xml())
    # and the schema does reject what it should, so the check above means something
    assert not schema.is_valid(build.ribbon_xml().replace('size="large"', 'size="huge"', 1))


RIBBON_SIGNATURES = {
    # attribute -> the VBA signature Office calls ([MS-CUSTOMUI] callbacks, VBA form)
    "onLoad": r"\(\s*\w+\s+As\s+IRibbonUI\s*\)",
    "onAction": r"\(\s*control\s+As\s+IRibbonControl\s*\)",
    "getLabel": r"\(\s*control\s+As\s+IRibbonControl\s*,\s*ByRef\s+returnedVal\s*\)",
    "getScreentip": r"\(\s*control\s+As\s+IRibbonControl\s*,\s*ByRef\s+returnedVal\s*\)",
}


def callbacks() -> list[tuple[str, str, str]]:
    """(element id, attribute, callback name) for every callback attribute of the ribbon."""
    out = []
    for element in ribbon_root().iter():
        for attr, value in element.attrib.items():
            if (attr.startswith(("on", "get")) and attr not in ("onLoad",)) or attr == "onLoad":
                out.append((element.get("id", "customUI"), attr, value))
    return out


def test_every_ribbon_callback_exists_with_the_right_signature(modules: dict[str, str]) -> None:
    found = callbacks()
    assert {attr for _, attr, _ in found} <= set(RIBBON_SIGNATURES), "a callback kind this test does not know"
    vba = "\n".join(modules.values())
    for element_id, attr, name in found:
        pattern = rf"^Public Sub {re.escape(name)}{RIBBON_SIGNATURES[attr]}\s*$"
        assert re.search(pattern, vba, re.MULTILINE | re.IGNORECASE), f"{element_id}/{attr}: no `Sub {name}` of that form"
        # callbacks must be unique across the project, or Office cannot resolve them
        assert len(re.findall(rf"^\s*(Public |Private )?Sub {re.escape(name)}\(", vba, re.MULTILINE)) == 1


def test_every_labelled_control_has_ja_and_en_texts() -> None:
    for element_id, attr, _ in callbacks():
        if attr == "getLabel":
            assert element_id in labels.LABELS
        if attr == "getScreentip":
            assert f"{element_id}.tip" in labels.LABELS
    assert labels.LABELS["kpiTab"] == ("KPI設計", "KPI Design")


def _label_cases(source: str) -> dict[str, tuple[str, str]]:
    """key -> (ja text, en text), read back from the generated KpiLabel function."""
    out = {}
    for match in re.finditer(
        r"^    Case (.+)\n        If ja Then\n((?:            KpiLabel = .*\n)+)"
        r"        Else\n((?:            KpiLabel = .*\n)+)        End If",
        source, re.MULTILINE,
    ):
        key = evaluate(match.group(1))
        texts = []
        for block in (match.group(2), match.group(3)):
            text = ""
            for line in block.splitlines():
                expr = re.sub(r"^\s*KpiLabel = (KpiLabel & )?", "", line)
                text += evaluate(expr)
            texts.append(text)
        out[key] = tuple(texts)
    return out


def test_vba_labels_are_the_python_table_in_ascii_vba(modules: dict[str, str]) -> None:
    source = modules["KpiLabels"]
    assert source.isascii()
    assert _label_cases(source) == labels.LABELS
    # Japanese when Excel's UI language (msoLanguageIDUI = 2) is Japanese, English otherwise
    assert "KpiUiIsJapanese = (Application.LanguageSettings.LanguageID(2) = 1041)" in source
    assert re.search(r"Public Const KPITREE_VERSION As String = \"[^\"]+\"", source)


def test_every_vba_label_key_used_exists(modules: dict[str, str]) -> None:
    used = set(re.findall(r'KpiLabel\("([^"]+)"\)', modules["KpiRibbon"]))
    assert used and used <= set(labels.LABELS)


# --- the Python side of the buttons -----------------------------------------------------


def python_calls(source: str) -> list[tuple[str, str]]:
    """(function, literal argument text) of every `KpiRun "name(...)"` in the callback module."""
    return re.findall(r'KpiRun "(\w+)\(([^"]*)"', source)


def test_every_python_entry_point_is_importable_and_callable(modules: dict[str, str]) -> None:
    calls = python_calls(modules["KpiRibbon"])
    assert {name for name, _ in calls} >= {
        "rebuild_dashboard", "back_calculate_plan", "recommend_stage_kpis", "check_kpi_design",
        "batch_recalculate", "new_workbook",
    }
    assert 'RunPython "import kpitree.addin.actions as k; k." & pyCall' in modules["KpiRibbon"]
    actions = importlib.import_module("kpitree.addin.actions")
    for name, literal in calls:
        function = getattr(actions, name)
        assert callable(function)
        if literal.startswith("'"):
            inspect.signature(function).bind(literal.rstrip(")").strip("'"))
        elif literal == ")":
            inspect.signature(function).bind()
        else:  # an argument built at run time (the picked folder): one string
            inspect.signature(function).bind("C:\\folder")


# --- UDF wrappers and function help ----------------------------------------------------


def test_one_vba_function_per_exported_udf(modules: dict[str, str]) -> None:
    source = modules["xlwings_udfs"]
    declared = re.findall(r"^Function (\w+)\(", source, re.MULTILINE)
    assert sorted(declared) == sorted(exported_functions())
    assert all(_IDENT.match(name) for name in declared)
    assert "ActiveWorkbook, Application.Caller" in source  # add-in form of the wrappers
    assert source.count('XLPy.CallUDF("kpitree.udfs.excel_functions"') == 2 * len(declared)


def test_function_help_covers_every_udf_within_255_characters() -> None:
    helps = build.function_help()
    assert sorted(h.name for h in helps) == sorted(exported_functions())
    for h in helps:
        assert h.category == "kpitree"
        assert 0 < len(h.description) <= 255
        assert all(0 < len(a) <= 255 for a in h.arguments)
        assert len(h.arguments) == len(inspect.signature(exported_functions()[h.name]).parameters)


def test_function_help_module_registers_each_udf(modules: dict[str, str]) -> None:
    source = modules["KpiFunctionHelp"]
    assert source.isascii()
    subs = dict(re.findall(r"^Private Sub (KpiHelp\d+)\(\)\n(.*?)^End Sub", source, re.MULTILINE | re.DOTALL))
    by_name = {h.name: h for h in build.function_help()}
    assert len(subs) == len(by_name)
    for name, body in subs.items():
        assert re.search(rf"^    {name}$", source, re.MULTILINE), f"{name} is never called"
        function = re.search(r"'!(\w+)\"", body).group(1)
        h = by_name.pop(function)
        texts: dict[str, str] = {}
        for target, _, expr in re.findall(r"^    (d|a\(\d+\)) = (\1 & )?(.*)$", body, re.MULTILINE):
            texts[target] = texts.get(target, "") + evaluate(expr)
        assert texts.pop("d") == h.description
        assert [texts[f"a({i})"] for i in range(len(h.arguments))] == list(h.arguments)
        assert 'Category:="kpitree"' in body
    assert not by_name
    assert re.search(r"Private Sub Workbook_Open\(\)\n(.*\n)*?\s+KpiRegisterFunctions", (REPO / "addin" / "ThisWorkbook.cls").read_text())


def test_generated_lines_stay_within_vba_limits(modules: dict[str, str]) -> None:
    for name, source in modules.items():
        assert source.isascii(), name
        assert max(len(line) for line in source.splitlines()) < 1024, name
