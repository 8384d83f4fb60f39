"""The ja/en texts live in udfs/texts.toml, are all used, and the code picks none by an inline language branch."""

from __future__ import annotations

import os
import re
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from kpitree.udfs import texts
from kpitree.udfs.texts import both, pick, section_pairs, text, text_list, text_rows, user_error

from kpitree.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
TOML = ROOT / "udfs" / "texts.toml"
SOURCE_DIRS = ("udfs", "workbook_templates", "team", "portable", "addin", "kpitree", "recalculation")
RIBBON_SOURCES = ("addin/customUI14.xml", "addin/KpiRibbon.bas", "addin/KpiRelink.bas")

# Texts whose ja and en take different fields, and why.
FIELD_EXCEPTIONS = {
    # the English text is also the command line's message and names the sheets it looked for;
    # the Japanese one is the ribbon's short message box
    "contract.not_a_workbook",
}
# Texts nothing reads, and why they stay.
UNUSED_EXCEPTIONS = {
    # generated into the add-in's KpiLabels module like every ribbon text, but the About box writes
    # "kpitree <version>" without it; dropping it changes the built .xlam, so it goes with an add-in change
    "ribbon.msg.version",
}
# Inline language branches that pick no text from a ja/en pair written in the code, and why.
BRANCH_EXCEPTIONS = {
    # UserError carries its own (ja, en) pair (made by texts.user_error, or one English text for
    # command-line messages); text(lang) is that pair's accessor and takes any language string
    "kpitree/errors.py": 'return self.ja if lang == "ja" else self.en',
}
INLINE_BRANCH = re.compile(r"""lang\s*[!=]=\s*["'](?:ja|en)["']|\bif\s+ja\s+else\b|["'](?:ja|en)["']\s+else\b""")
# a ja/en pair written as a dict in code; fonts and file names per language are no texts
PAIR_LITERAL = re.compile(r"""["']ja["']\s*:""")
PAIR_EXCEPTIONS = {
    "workbook_templates/layout.py": "FONTS = ",  # the font of each language's workbook
    "workbook_templates/__init__.py": "TEMPLATE_FILES = ",  # the shipped file of each language
}


def leaves() -> dict[str, dict[str, Any]]:
    """``"section.name" -> {"ja": ..., "en": ...}`` for every text, in the file's order."""
    raw = tomllib.loads(TOML.read_text(encoding="utf-8"))
    return {f"{section}.{name}": leaf for section, names in raw.items() for name, leaf in names.items()}


def shape(value: Any) -> Any:
    """The shape of a text value: "str", or a list of the shapes of its items."""
    if isinstance(value, str):
        return "str"
    assert isinstance(value, list), f"{value!r} is neither a string nor an array"
    return [shape(v) for v in value]


def strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [s for v in value for s in strings(v)]


def fields(template: str) -> set[str]:
    """The str.format field names of a text ("{a} {b!r:,.1f}" -> a, b)."""
    return {name.partition(".")[0].partition("[")[0]
            for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def sources() -> dict[str, str]:
    """Every Python source of the package by its path from the repository root (symbolic links not followed)."""
    out = {}
    for folder in SOURCE_DIRS:
        for dirpath, _, files in os.walk(ROOT / folder):
            for name in files:
                if name.endswith(".py"):
                    path = Path(dirpath) / name
                    out[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return out


def test_every_leaf_has_ja_and_en_of_one_shape_and_the_same_fields() -> None:
    found = leaves()
    assert len(found) > 100
    for key, leaf in found.items():
        assert isinstance(leaf, dict) and set(leaf) == {"ja", "en"}, f"{key}: a text holds exactly ja and en"
        assert shape(leaf["ja"]) == shape(leaf["en"]), f"{key}: ja and en differ in shape"
        if isinstance(leaf["ja"], list):  # arrays: strings, or arrays of strings, no deeper; plain text, no fields
            assert all(isinstance(v, str) or all(isinstance(w, str) for w in v) for v in leaf["ja"]), key
            assert not any("{" in v or "}" in v for lang in ("ja", "en") for v in strings(leaf[lang])), f"{key}: fields"
            continue
        if key in FIELD_EXCEPTIONS:
            continue
        assert fields(leaf["ja"]) == fields(leaf["en"]), f"{key}: ja has fields {fields(leaf['ja'])}, en {fields(leaf['en'])}"


def test_field_exceptions_are_still_needed() -> None:
    found = leaves()
    for key in FIELD_EXCEPTIONS:
        assert fields(found[key]["ja"]) != fields(found[key]["en"]), f"{key} no longer needs its exception"


def test_every_text_is_used() -> None:
    code = "\n".join(sources().values())
    ribbon = "\n".join((ROOT / path).read_text(encoding="utf-8") for path in RIBBON_SOURCES)
    unused = []
    for key in leaves():
        section, _, name = key.partition(".")
        if section == "ribbon":  # the VBA asks for it: a control id (its label, its ".tip") or a message key
            used = f'"{name.removesuffix(".tip")}"' in ribbon
        else:
            used = f'"{key}"' in code
        if used == (key in UNUSED_EXCEPTIONS):
            unused.append(key)
    assert not unused, f"texts nothing reads (or exceptions now read): {unused}"


def test_no_inline_language_branch_picks_a_text() -> None:
    found = []
    for path, source in sources().items():
        for number, line in enumerate(source.splitlines(), start=1):
            if INLINE_BRANCH.search(line) and BRANCH_EXCEPTIONS.get(path, "\0") not in line:
                found.append(f"{path}:{number}: {line.strip()}")
    assert not found, "pick texts with kpitree.udfs.texts (texts.toml), not a language branch:\n" + "\n".join(found)
    for path, line in BRANCH_EXCEPTIONS.items():
        assert line in sources()[path], f"{path}: the exception no longer matches; drop it"


def test_no_ja_en_pair_is_written_in_code() -> None:
    found = []
    for path, source in sources().items():
        for number, line in enumerate(source.splitlines(), start=1):
            if PAIR_LITERAL.search(line) and PAIR_EXCEPTIONS.get(path, "\0") not in line:
                found.append(f"{path}:{number}: {line.strip()}")
    assert not found, "ja/en texts belong in udfs/texts.toml:\n" + "\n".join(found)


# --- the accessor -----------------------------------------------------------------------------


def test_text_formats_fields() -> None:
    assert text("demo.written", "en", path="kpi.xlsx") == "Written: kpi.xlsx"
    assert text("demo.written", "ja", path="kpi.xlsx") == "書き出し: kpi.xlsx"
    assert text("cli.plan_title", "en", win=0.25, conversion=0.1, connect=0.25, days=20).startswith(
        "Back-calculation from the KGI (win 25%, conversion 10%, connect 25%, 20 working days")


def test_lists_rows_and_pairs() -> None:
    assert text_list("status.labels", "en") == ("Behind", "Watch", "On track")
    rows = text_rows("template.kpi_cols", "ja")
    assert len(rows) == 3 and all(isinstance(r, tuple) and r[0] == "KPI" for r in rows)
    ja, en = both("addin.folder_not_found", folder="x")
    assert (ja, en) == ("フォルダーが見つかりません: x", "Folder not found: x")
    assert pick((ja, en), "ja") == ja and pick((ja, en), "en") == en


def test_user_error_carries_both_languages() -> None:
    error = user_error("addin.kgi_check", error="bad")
    assert isinstance(error, UserError)
    assert (error.text("ja"), error.text("en"), str(error)) == (
        "KGIの入力を確認してください: bad", "Check the KGI inputs: bad", "Check the KGI inputs: bad")


def test_unknown_keys_and_wrong_kinds_say_what_is_wrong() -> None:
    with pytest.raises(KeyError, match=re.escape("dashboard.no_such_text")):
        text("dashboard.no_such_text", "ja")
    with pytest.raises(KeyError, match=re.escape("nosection.title")):
        text("nosection.title", "en")
    with pytest.raises(KeyError, match="'fr'"):
        text("dashboard.title", "fr")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("status.labels")):
        text("status.labels", "ja")
    with pytest.raises(TypeError, match=re.escape("dashboard.title")):
        text_list("dashboard.title", "ja")
    with pytest.raises(TypeError, match=re.escape("status.labels")):
        text_rows("status.labels", "ja")
    with pytest.raises(KeyError, match="nosection"):
        section_pairs("nosection")


def test_ribbon_section_is_the_add_in_label_table_in_order() -> None:
    from kpitree.addin.labels import LABELS, label

    names = [key.partition(".")[2] for key in leaves() if key.startswith("ribbon.")]
    assert list(LABELS) == names  # the build writes the VBA in this order
    assert LABELS["kpiRebuildDashboard.tip"] == both("ribbon.kpiRebuildDashboard.tip")
    assert label("msg.noWorkbook", "en") == "Open a KPI design workbook first."


def test_the_file_is_read_once() -> None:
    assert texts._texts() is texts._texts()
