"""Build ``kpitree.xlam`` from text sources and the installed xlwings, on any OS.

The add-in's VBA project holds:

- ``xlwings``: xlwings' own ``xlwings_custom_addin.bas`` from the *installed* xlwings
  package, with ``PROJECT_NAME`` set to ``kpitree`` (so it reads its settings from
  ``%USERPROFILE%\\.kpitree\\kpitree.conf`` on Windows and
  ``~/Library/Containers/com.microsoft.Excel/Data/kpitree.conf`` on macOS). Building
  from the installed package keeps the VBA and Python halves of xlwings at the same
  version, which xlwings requires at run time;
- ``Dictionary``: the class xlwings ships for macOS (it has no Scripting.Dictionary);
- ``xlwings_udfs``: the UDF wrappers written by xlwings' own ``generate_vba_wrapper``
  for :data:`UDF_MODULES` (the code path of Windows "Import Functions");
- ``KpiFunctionHelp``: generated; registers each function's description, category
  and argument help with ``Application.MacroOptions`` when the add-in opens (what
  "Import Functions" would do with COM), texts built with ChrW() so the source is ASCII;
- ``KpiLabels``: generated from :mod:`.labels`; ribbon labels and messages in
  Japanese or English by Excel's UI language, and the build's version constants;
- ``KpiRibbon`` (``KpiRibbon.bas``) and ``ThisWorkbook`` (``ThisWorkbook.cls``):
  the ribbon callbacks and macros, and the Workbook_Open hook;
- ``KpiRelink`` (``KpiRelink.bas``) and ``KpiAppEvents`` (``KpiAppEvents.cls``): the self-healing
  KPI links (the mirror of :mod:`.relink`) and the application-event class that runs them when
  Excel opens a workbook;

and the ribbon is ``customUI14.xml``. Same installed packages, same bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kpitree.errors import UserError

from . import labels as ribbon_labels
from . import relink
from .vba_project import VbaModule, build_vba_project
from .vba_text import assign, vba_string
from .xlam_package import build_xlam

ADDIN_FILE_NAME = relink.ADDIN_FILE
PROJECT_NAME = "kpitree"  # VBA project name and xlwings' PROJECT_NAME (config file name)
TITLE = "kpitree"
UDF_MODULES = ("kpitree.udfs.excel_functions",)
CATEGORY = "kpitree"
DOCUMENT_MODULES = ("ThisWorkbook", "Sheet1")
DEFAULT_README_URL = "https://pypi.org/project/kpitree/"

_PROJECT_NAME_LINE = re.compile(r'^(Public Const PROJECT_NAME As String = )"[^"]*"', re.MULTILINE)


class BuildError(UserError):
    """The installed xlwings does not look like the one this builder knows."""


def _read_text(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="ascii")


def ribbon_xml() -> str:
    """The customUI14 ribbon markup."""
    return resources.files(__package__).joinpath("customUI14.xml").read_text(encoding="utf-8")


def xlwings_dir() -> Path:
    import xlwings

    return Path(os.path.dirname(xlwings.__file__))


def xlwings_module(project_name: str = PROJECT_NAME) -> VbaModule:
    """xlwings_custom_addin.bas of the installed xlwings, reading ``<project_name>.conf``."""
    path = xlwings_dir() / "xlwings_custom_addin.bas"
    if not path.is_file():
        raise BuildError(f"{path} not found: this xlwings has no custom add-in module (need xlwings >= 0.30)")
    source = path.read_text(encoding="ascii")
    source, count = _PROJECT_NAME_LINE.subn(rf'\g<1>"{project_name}"', source)
    if count != 1:
        raise BuildError(f"{path}: expected one 'Public Const PROJECT_NAME' line, found {count}")
    return VbaModule("xlwings", source)


def dictionary_module() -> VbaModule:
    path = xlwings_dir() / "addin" / "Dictionary.cls"
    if not path.is_file():
        raise BuildError(f"{path} not found: the macOS Dictionary class of xlwings is missing")
    return VbaModule("Dictionary", path.read_text(encoding="ascii"), "class")


def udf_wrapper_module(module_names: tuple[str, ...] = UDF_MODULES) -> VbaModule:
    from .xlwings_wrappers import UDF_MODULE_NAME, udf_module_source

    return VbaModule(UDF_MODULE_NAME, udf_module_source(list(module_names), ADDIN_FILE_NAME))


@dataclass(frozen=True)
class FunctionHelp:
    """What Application.MacroOptions gets for one UDF (as xlwings' import_udfs passes it)."""

    name: str
    description: str
    category: str
    arguments: tuple[str, ...]


def function_help(module_names: tuple[str, ...] = UDF_MODULES) -> list[FunctionHelp]:
    from .xlwings_wrappers import udf_metadata

    out = []
    for module_name in module_names:
        for xlfunc in udf_metadata(module_name):
            out.append(
                FunctionHelp(
                    xlfunc["name"],
                    (xlfunc["ret"]["doc"] or "")[:255],
                    xlfunc["category"] or CATEGORY,
                    tuple((arg["doc"] or "")[:255] for arg in xlfunc["args"] if not arg["vba"]),
                )
            )
    return out


def function_help_module(helps: list[FunctionHelp]) -> VbaModule:
    lines = [
        'Attribute VB_Name = "KpiFunctionHelp"',
        "' Generated by kpitree.addin.build - do not edit.",
        "' Registers description, category and argument help of each UDF, as xlwings'",
        "' import_udfs does with Application.MacroOptions; run from Workbook_Open.",
        "Option Explicit",
        "",
        "Public Sub KpiRegisterFunctions()",
        "    #If Mac Then",
        "        Exit Sub  ' xlwings UDFs run on Windows only",
        "    #End If",
        "    On Error GoTo hidden",
        "    KpiRegisterAll",
        "    Exit Sub",
        "hidden:",
        "    ' Some Excel versions refuse MacroOptions for a hidden workbook (error 1004):",
        "    ' show the add-in's workbook for the moment, then hide it again.",
        "    On Error Resume Next",
        "    ThisWorkbook.IsAddin = False",
        "    KpiRegisterAll",
        "    ThisWorkbook.IsAddin = True",
        "    ThisWorkbook.Saved = True",
        "End Sub",
        "",
        "Private Sub KpiRegisterAll()",
        *(f"    KpiHelp{n:02d}" for n in range(1, len(helps) + 1)),
        "End Sub",
    ]
    for n, help_ in enumerate(helps, start=1):
        lines += ["", f"Private Sub KpiHelp{n:02d}()", "    ' " + help_.name, "    Dim d As String"]
        if help_.arguments:
            lines.append(f"    Dim a(0 To {len(help_.arguments) - 1}) As Variant")
        lines += assign("d", help_.description)
        for i, arg in enumerate(help_.arguments):
            lines += assign(f"a({i})", arg)
        call = (
            f"    Application.MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!{help_.name}\", "
            f"Description:=d, Category:={vba_string(help_.category)}"
        )
        lines.append(call + (", ArgumentDescriptions:=a" if help_.arguments else ""))
        lines.append("End Sub")
    return VbaModule("KpiFunctionHelp", "\n".join(lines) + "\n")


def labels_module(version: str, readme_url: str) -> VbaModule:
    lines = [
        'Attribute VB_Name = "KpiLabels"',
        "' Generated by kpitree.addin.build from kpitree/addin/labels.py - do not edit.",
        "Option Explicit",
        "",
        f"Public Const KPITREE_VERSION As String = {vba_string(version)}",
        f"Public Const KPITREE_README_URL As String = {vba_string(readme_url)}",
        "",
        "' what module KpiRelink looks for (kpitree.addin.relink)",
        f"Public Const KPI_ADDIN_FILE As String = {vba_string(relink.ADDIN_FILE)}",
        f"Public Const KPI_FUNCTION_PREFIX As String = {vba_string(relink.FUNCTION_PREFIX)}",
        f"Public Const KPI_XLUDF_PREFIX As String = {vba_string(relink.XLUDF_PREFIX)}",
        f"Public Const KPI_MARK_NAMES As String = {vba_string(','.join(relink.MARK_NAMES))}",
        "",
        "Public Function KpiUiIsJapanese() As Boolean",
        "    ' msoLanguageIDUI = 2; Japanese = 1041",
        "    On Error Resume Next",
        f"    KpiUiIsJapanese = (Application.LanguageSettings.LanguageID(2) = {ribbon_labels.JAPANESE_LANGUAGE_ID})",
        "End Function",
        "",
        "Public Function KpiLabel(ByVal key As String) As String",
        "    Dim ja As Boolean",
        "    ja = KpiUiIsJapanese()",
        "    Select Case key",
    ]
    for key, (ja, en) in ribbon_labels.LABELS.items():
        lines += [
            f"    Case {vba_string(key)}",
            "        If ja Then",
            *assign("KpiLabel", ja, "            "),
            "        Else",
            *assign("KpiLabel", en, "            "),
            "        End If",
        ]
    lines += ["    Case Else", "        KpiLabel = key", "    End Select", "End Function"]
    return VbaModule("KpiLabels", "\n".join(lines) + "\n")


def kpitree_version() -> str:
    from kpitree import __version__

    return __version__


def readme_url() -> str:
    """The README link of the About box: the package's project URL if it declares one."""
    try:
        from importlib.metadata import metadata

        meta = metadata("kpitree")
        for entry in meta.get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() in ("homepage", "documentation", "readme", "source", "repository"):
                return url.strip()
        if "Home-page" in meta:
            return meta["Home-page"]
    except Exception:  # noqa: BLE001 - a missing URL must not break the build
        pass
    return DEFAULT_README_URL


def addin_modules(module_names: tuple[str, ...] = UDF_MODULES) -> list[VbaModule]:
    """Every VBA module of the add-in, in project order."""
    return [
        VbaModule("ThisWorkbook", _read_text("ThisWorkbook.cls"), "document"),
        VbaModule("Sheet1", "", "document"),
        xlwings_module(),
        dictionary_module(),
        udf_wrapper_module(module_names),
        function_help_module(function_help(module_names)),
        labels_module(kpitree_version(), readme_url()),
        VbaModule("KpiRibbon", _read_text("KpiRibbon.bas")),
        VbaModule("KpiRelink", _read_text("KpiRelink.bas")),
        VbaModule("KpiAppEvents", _read_text("KpiAppEvents.cls"), "class"),
    ]


def build_addin(module_names: tuple[str, ...] = UDF_MODULES) -> bytes:
    """The bytes of kpitree.xlam; the same installed packages give the same bytes."""
    project = build_vba_project(PROJECT_NAME, addin_modules(module_names))
    return build_xlam(project, ribbon_xml(), title=TITLE, document_modules=DOCUMENT_MODULES)


def write_addin(out: Path, module_names: tuple[str, ...] = UDF_MODULES) -> Path:
    data = build_addin(module_names)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
