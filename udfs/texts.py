"""Every user-facing ja/en text (``texts.toml``), read through a few typed functions.

A key is ``"<section>.<name>"`` — ``"dashboard.title"``, ``"ribbon.kpiRebuildDashboard.tip"``
(the name is everything after the first dot, so ribbon ids keep theirs). Each leaf holds
exactly ``ja`` and ``en``: a string, or an array (of strings, or of arrays of strings) of
the same shape in both. Strings are :meth:`str.format` templates (``{name}`` fields, ``{{``
for a literal brace); arrays are plain text::

    text("demo.written", "en", path="kpi.xlsx")    -> "Written: kpi.xlsx"
    text_list("status.labels", "ja")                -> ("遅れ", "注意", "順調")
    both("addin.folder_not_found", folder="x")      -> ("フォルダーが見つかりません: x", "Folder not found: x")
    raise user_error("addin.kgi_check", error=exc)  # UserError(en, ja=ja)

The KPI catalogue's labels (``catalogue.toml``) are domain data and are read there. Nothing
but the standard library is imported (``catalogue`` is standard-library only too): the add-in's
buttons read their messages through this module in a process that starts per click.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

from kpitree.errors import UserError

from .catalogue import LANGS, Lang, load_catalogue


@functools.cache
def _texts() -> dict[str, dict[str, dict[str, Any]]]:
    """The packaged ``texts.toml``, parsed once per process."""
    return tomllib.loads(resources.files(__package__).joinpath("texts.toml").read_text("utf-8"))


def _leaf(key: str) -> dict[str, Any]:
    section, _, name = key.partition(".")
    try:
        return _texts()[section][name]
    except KeyError:
        raise KeyError(f"no text {key!r} in kpitree/udfs/texts.toml") from None


def _value(key: str, lang: Lang) -> Any:
    leaf = _leaf(key)
    if lang not in leaf:
        raise KeyError(f"no {lang!r} text for {key!r}; languages: {', '.join(LANGS)}")
    return leaf[lang]


def text(key: str, lang: Lang, /, **fields: object) -> str:
    """The text ``key`` in ``lang``, its ``{fields}`` filled (a literal brace is ``{{``)."""
    value = _value(key, lang)
    if not isinstance(value, str):
        raise TypeError(f"text {key!r} is a list; read it with text_list or text_rows")
    return value.format(**fields)


def text_list(key: str, lang: Lang) -> tuple[str, ...]:
    """A list of texts (column headings, month names…), as a tuple."""
    value = _value(key, lang)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"text {key!r} is not a list of strings")
    return tuple(value)


def text_rows(key: str, lang: Lang) -> tuple[tuple[str, ...], ...]:
    """A list of lists of texts (one heading row per sheet…), as tuples."""
    value = _value(key, lang)
    if not isinstance(value, list) or not all(isinstance(row, list) and all(isinstance(v, str) for v in row)
                                              for row in value):
        raise TypeError(f"text {key!r} is not a list of lists of strings")
    return tuple(tuple(row) for row in value)


def both(key: str, /, **fields: object) -> tuple[str, str]:
    """``(ja, en)`` of ``key``, both filled with the same fields: a message picked by language later."""
    return text(key, "ja", **fields), text(key, "en", **fields)


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """The ``lang`` text of a ``(ja, en)`` pair as :func:`both` makes it (the add-in's messages travel as pairs)."""
    return pair[LANGS.index(lang)]


def user_error(key: str, /, **fields: object) -> UserError:
    """A :class:`~kpitree.errors.UserError` saying ``key`` in both languages (``raise user_error(...)``)."""
    ja, en = both(key, **fields)
    return UserError(en, ja=ja)


def section_pairs(section: str) -> dict[str, tuple[str, str]]:
    """Every string text of ``section`` as ``name -> (ja, en)``, in the file's order (the ribbon's labels)."""
    try:
        leaves = _texts()[section]
    except KeyError:
        raise KeyError(f"no section {section!r} in kpitree/udfs/texts.toml") from None
    return {name: (text(f"{section}.{name}", "ja"), text(f"{section}.{name}", "en")) for name in leaves}


def stage_bounds_text(lang: Lang = "ja") -> str:
    """The stage rule in words, from the catalogue: e.g. "launch < 6, growth 6 to < 12, mature 12+ months"."""
    stages = load_catalogue().stages
    parts = []
    for i, stage in enumerate(stages):
        lo = f"{stage.from_months:g}"
        hi = f"{stages[i + 1].from_months:g}" if i + 1 < len(stages) else None
        # a label inside a sentence: English lower-cases it; Japanese has no case, so ja labels are unchanged
        name = stage.label(lang).lower()
        if i == 0:
            parts.append(text("stage.bounds_first", lang, name=name, hi=hi))
        elif hi is None:
            parts.append(text("stage.bounds_last", lang, name=name, lo=lo))
        else:
            parts.append(text("stage.bounds_middle", lang, name=name, lo=lo, hi=hi))
    return text("stage.bounds_sep", lang).join(parts)
