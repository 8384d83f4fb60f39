"""The one family of errors kpitree raises on purpose.

* :class:`KpitreeError` — the base: catch it to catch everything kpitree means to raise.
* :class:`UserError` — a problem the user can fix (an argument, a file, a workbook's
  contents), with its text in Japanese and English. The command line prints it as one
  line in the command's language (its ``--lang``, Japanese by default; English for commands
  without one) and exits with code 2; the ribbon shows it in a message box in the workbook's
  language.

Parts raise these (or their own subclasses) and never import the command line: the
CLI maps the family to exit codes, the add-in to message boxes. Python functions that
take arguments the numpy way (``back_calculate``, ``find_bottleneck``…) keep raising
``ValueError``/``KeyError`` as numpy and pandas do.
"""

from __future__ import annotations

from typing import Literal


class KpitreeError(Exception):
    """Base of every error kpitree raises on purpose."""


class UserError(KpitreeError):
    """A problem the user can fix; ``text(lang)`` says it in Japanese or English.

    ``UserError("--out is a folder")`` gives the same text in both languages;
    ``UserError(en, ja=...)`` carries both.
    """

    def __init__(self, en: str, *, ja: str | None = None):
        super().__init__(en)
        self.en = en
        self.ja = ja if ja is not None else en

    def text(self, lang: Literal["ja", "en"] | str) -> str:
        return self.ja if lang == "ja" else self.en
