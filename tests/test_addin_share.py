"""The ribbon's 共有用コピー / Share a copy: the same share as ``kpitree share``, of the workbook on screen.

The plan (where the snapshot and the copy go) is pure and tested here; the action is thin: Excel saves
a snapshot (``Workbook.SaveCopyAs``, recorded by the stand-in, which copies the file as Excel would),
``kpitree.portable.share`` copies it. The ribbon's button and callback are checked with the others in
tests/test_addin_build.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from kpitree.addin import actions
from kpitree.addin.plans import plan_share
from kpitree.portable import share
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.spec import SHEETS
from xlwings_standin import Book

from kpitree.errors import UserError

JA, EN = list(SHEETS["ja"]), list(SHEETS["en"])


def test_a_saved_workbook_is_copied_next_to_itself(tmp_path: Path) -> None:
    plan = plan_share(str(tmp_path / "team.xlsx"), JA, tmp_path / "docs")
    assert (plan.snapshot_suffix, plan.out) == (".xlsx", tmp_path / "team_共有用.xlsx")
    assert plan_share(str(tmp_path / "Team.XLSM"), EN, tmp_path).out == tmp_path / "Team_shared.xlsx"
    assert plan_share(str(tmp_path / "Team.XLSM"), EN, tmp_path).snapshot_suffix == ".xlsm"


def test_a_name_taken_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "team_共有用.xlsx").write_bytes(b"")
    assert plan_share(str(tmp_path / "team.xlsx"), JA, tmp_path).out == tmp_path / "team_共有用-1.xlsx"


@pytest.mark.parametrize("full_name", ["Book1", "https://contoso.sharepoint.com/sites/sales/Shared Documents/team.xlsx"])
def test_a_new_or_cloud_workbook_is_copied_to_documents(tmp_path: Path, full_name: str) -> None:
    plan = plan_share(full_name, JA, tmp_path)
    assert plan.out.parent == tmp_path and plan.out.name.endswith("_共有用.xlsx") and plan.snapshot_suffix == ".xlsx"


@pytest.mark.parametrize("name", ["team.xls", "team.xlsb", "team.ods"])
def test_a_format_share_cannot_read_is_a_message(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError) as caught:
        plan_share(str(tmp_path / name), JA, tmp_path)
    assert name in caught.value.text("ja") and name in caught.value.text("en")


class ExcelBook(Book):
    """The stand-in with what the share action uses of Excel on Windows: FullName and SaveCopyAs."""

    def __init__(self, path: Path):
        super().__init__(path, com=True)
        self.fullname = str(path)
        self.path = path

    @property
    def api(self) -> Any:
        book = self

        class Api:
            def SaveCopyAs(self, filename: str) -> None:
                book.log.append(("SaveCopyAs", filename))
                shutil.copyfile(book.path, filename)  # Excel writes the workbook as it is on screen

        return Api()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_button_writes_what_kpitree_share_writes(tmp_path: Path, lang: str) -> None:
    import zipfile

    path = tmp_path / "team.xlsx"
    shutil.copyfile(template_path(lang), path)
    book = ExcelBook(path)
    actions.share_copy(book=book)
    suffix = "_共有用" if lang == "ja" else "_shared"
    copy = tmp_path / f"team{suffix}.xlsx"
    assert [e[0] for e in book.log] == ["SaveCopyAs"] and book.log[0][1].endswith(".xlsx")
    assert len(book.alerts) == 1 and str(copy) in book.alerts[0]
    by_command = share(path, tmp_path / "by_command.xlsx")
    with zipfile.ZipFile(copy) as a, zipfile.ZipFile(by_command.out) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert all(a.read(n) == b.read(n) for n in a.namelist() if n.startswith("xl/worksheets/"))
    assert path.read_bytes() == template_path(lang).read_bytes()  # the workbook itself is untouched


def test_without_com_the_saved_file_is_copied(tmp_path: Path) -> None:
    path = tmp_path / "team.xlsx"
    shutil.copyfile(template_path("ja"), path)
    book = Book(path)  # Excel for Mac: no COM
    book.fullname = str(path)  # type: ignore[attr-defined]
    actions.share_copy(book=book)
    assert (tmp_path / "team_共有用.xlsx").is_file() and len(book.alerts) == 1


def test_without_com_an_unsaved_workbook_is_a_message(tmp_path: Path) -> None:
    book = Book(template_path("ja"))
    book.fullname = "Book1"  # type: ignore[attr-defined]
    actions.share_copy(book=book)
    assert len(book.alerts) == 1 and ".xlsx" in book.alerts[0]
