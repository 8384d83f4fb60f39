"""Mappings from an export's columns and values to the kpitree standard format, as data files.

``standard.toml`` defines the standard format (canonical fields, their aliases, their value
vocabularies); each preset in ``presets/`` (Salesforce, HubSpot, a Japanese-headed log) and a
user's ``--map FILE`` extends it: its aliases are tried first, the standard's after. A
mapping file may say ``extends = "salesforce"`` to build on a preset instead of the standard.

:func:`resolve` finds, for each table, which column of the export holds each canonical
field; :func:`choose_preset` picks the preset that finds the most of them (``--map auto``,
the default). Nothing is guessed beyond the aliases: a field none of them finds is missing,
and the import names it.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kpitree.errors import UserError

from .jp import nfkc

TABLES = ("activities", "opportunities", "leads")
# canonical fields of each table: (field, required)
FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "activities": (("id", False), ("date", True), ("member", False), ("type", True), ("result", False),
                   ("duration", False), ("due", False), ("done", False)),
    "opportunities": (("id", False), ("created", True), ("member", False), ("stage", False), ("won", False),
                      ("amount", False), ("closed", False), ("source", False), ("bant", False), ("budget", False),
                      ("authority", False), ("need", False), ("timeline", False), ("quality", False)),
    "leads": (("id", False), ("date", True), ("member", False), ("status", False)),
}
PRESETS = ("kpitree", "japanese_log", "salesforce", "hubspot")  # auto: the first of the best matches wins


def key(text: Any) -> str:
    """How headers and values are compared: NFKC, case folded, spaces collapsed."""
    return re.sub(r"\s+", " ", nfkc(text)).casefold()


@dataclass(frozen=True)
class Alias:
    column: str
    unit: str = ""  # durations: "s", "ms" or "min"


@dataclass(frozen=True)
class Mapping:
    """A preset or a user's mapping, merged over the standard format."""

    id: str
    ja: str
    en: str
    columns: dict[str, dict[str, tuple[Alias, ...]]]  # table -> field -> aliases in order
    values: dict[str, dict[str, dict[str, str]]]  # table -> field -> key(cell) -> canonical value
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> field -> value
    booleans: dict[str, bool] = field(default_factory=dict)  # key(cell) -> True/False
    source: str = ""  # the file it was read from

    def label(self, lang: str) -> str:
        """The mapping's name in ``lang``, as its file gives it."""
        return str(getattr(self, lang))


class MappingError(UserError, ValueError):
    """A mapping file that says something kpitree cannot use; its text says where, in Japanese and English."""


# what a key of a mapping file holds -> its text (texts.toml [team])
EXPECTED = {"table": "team.map_expect_table", "texts": "team.map_expect_texts", "text": "team.map_expect_text",
            "alias": "team.map_expect_alias", "unit": "team.map_expect_unit", "section": "team.map_expect_section",
            "truth": "team.map_expect_truth"}


def _bad(source: str, where: str, expected: str, got: Any) -> MappingError:
    from kpitree.udfs.texts import text

    ja, en = (text("team.map_bad_value", lang, file=source, where=where, got=repr(got)[:80],
                   expected=text(EXPECTED[expected], lang)) for lang in ("ja", "en"))
    return MappingError(en, ja=ja)


def _table(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(source, where, "table", value)
    return value


def _texts(value: Any, source: str, where: str) -> list[str]:
    """A text or a list of texts, as a list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise _bad(source, where, "texts", value)
    return items


def _aliases(raw: list[Any], source: str = "", where: str = "") -> tuple[Alias, ...]:
    out = []
    for entry in raw:
        if isinstance(entry, str):
            out.append(Alias(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("column"), str) and set(entry) <= {"column", "unit"}:
            unit = entry.get("unit", "")
            if unit not in ("", "s", "ms", "min"):
                raise _bad(source, f"{where} unit", "unit", unit)
            out.append(Alias(entry["column"], unit))
        else:
            raise _bad(source, where, "alias", entry)
    return tuple(out)


def base_of(raw: dict[str, Any], source: str) -> Mapping:
    """The mapping a file builds on: ``extends = "<preset>"`` (at the top or in ``[preset]``), else the standard."""
    head = _table(raw.get("preset", {}), source, "[preset]")
    name = raw.get("extends", head.get("extends"))
    if name is None:
        return standard()
    if not isinstance(name, str) or name not in PRESETS:
        from kpitree.udfs.texts import both

        ja, en = both("team.map_bad_extends", file=source, name=repr(name)[:80], presets=", ".join(PRESETS))
        raise MappingError(en, ja=ja)
    return preset(name)


def _merge_table(table: str, section: dict[str, Any], source: str, columns: dict[str, tuple[Alias, ...]],
                 values: dict[str, dict[str, str]], defaults: dict[str, str]) -> None:
    """One table's section of a mapping file into its columns, values and defaults (checked as it goes)."""
    extra = set(section) - {"columns", "values", "defaults"}
    if extra:
        raise _bad(source, f"[{table}] {', '.join(sorted(extra))}", "section", sorted(extra))
    known = {f for f, _ in FIELDS[table]}
    for name, aliases in _table(section.get("columns", {}), source, f"[{table}.columns]").items():
        if name not in known:
            raise ValueError(f"{source}: [{table}.columns] {name!r} is not a field; fields: {', '.join(sorted(known))}")
        aliases = [aliases] if isinstance(aliases, (str, dict)) else aliases
        if not isinstance(aliases, list):
            raise _bad(source, f"[{table}.columns] {name}", "alias", aliases)
        new = _aliases(aliases, source, f"[{table}.columns] {name}")
        columns[name] = new + tuple(a for a in columns.get(name, ()) if a not in new)
    for name, vocab in _table(section.get("values", {}), source, f"[{table}.values]").items():
        table_values = values.setdefault(name, {})
        for canonical, cells in _table(vocab, source, f"[{table}.values.{name}]").items():
            for cell in _texts(cells, source, f"[{table}.values.{name}] {canonical}"):
                table_values[key(cell)] = canonical
    for name, value in _table(section.get("defaults", {}), source, f"[{table}.defaults]").items():
        if not isinstance(value, (str, int, float, bool)):
            raise _bad(source, f"[{table}.defaults] {name}", "text", value)
        defaults[name] = str(value)


def _merge(base: Mapping | None, raw: dict[str, Any], source: str) -> Mapping:
    """``raw`` (a parsed mapping file) over ``base``: its aliases first, its values added."""
    head = _table(raw.get("preset", {}), source, "[preset]")
    for name in ("id", "ja", "en"):
        if name in head and not isinstance(head[name], str):
            raise _bad(source, f"[preset] {name}", "text", head[name])
    columns: dict[str, dict[str, tuple[Alias, ...]]] = {t: dict(base.columns.get(t, {})) if base else {} for t in TABLES}
    values: dict[str, dict[str, dict[str, str]]] = {
        t: {f: dict(v) for f, v in (base.values.get(t, {}) if base else {}).items()} for t in TABLES}
    defaults = {t: dict(base.defaults.get(t, {})) if base else {} for t in TABLES}
    booleans = dict(base.booleans) if base else {}
    unknown = set(raw) - {"preset", "extends", "boolean", *TABLES}
    if unknown:
        raise ValueError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(TABLES)}")
    for table in TABLES:
        _merge_table(table, _table(raw.get(table, {}), source, f"[{table}]"), source, columns[table], values[table],
                     defaults[table])
    for truth, cells in _table(raw.get("boolean", {}), source, "[boolean]").items():
        if truth not in ("true", "false"):
            raise _bad(source, f"[boolean] {truth}", "truth", truth)
        for cell in _texts(cells, source, f"[boolean] {truth}"):
            booleans[key(cell)] = truth == "true"
    return Mapping(str(head.get("id", Path(source).stem)), str(head.get("ja", head.get("en", source))),
                   str(head.get("en", head.get("ja", source))), columns, values, defaults, booleans, source)


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not a valid TOML file ({exc})") from None


def _packaged(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text("utf-8")


@functools.cache
def standard() -> Mapping:
    """The kpitree standard format (``standard.toml``)."""
    return _merge(None, _read_toml(_packaged("standard.toml"), "standard.toml"), "standard.toml")


@functools.cache
def preset(name: str) -> Mapping:
    """A packaged preset merged over the standard format; KeyError names the presets."""
    if name == "kpitree":
        return standard()
    if name not in PRESETS:
        raise KeyError(f"unknown mapping preset {name!r}; presets: {', '.join(PRESETS)}")
    return _merge(standard(), _read_toml(_packaged(f"presets/{name}.toml"), f"{name}.toml"), f"presets/{name}.toml")


def load_mapping(path: str | Path) -> Mapping:
    """A user's mapping file over the standard format (or over ``extends = "<preset>"``)."""
    path = Path(path)
    raw = _read_toml(path.read_text(encoding="utf-8-sig"), str(path))
    return _merge(base_of(raw, str(path)), raw, str(path))


def mapping_for(name: str | Path | None) -> Mapping | None:
    """``--map``: None for auto, a preset by name, or a mapping file by path."""
    if name is None or str(name) == "auto":
        return None
    if str(name) in PRESETS:
        return preset(str(name))
    return load_mapping(name)


def resolve(mapping: Mapping, table: str, headers: list[Any]) -> dict[str, tuple[str, str]]:
    """``field -> (header, unit)`` for every canonical field some header of the export holds.

    A header is used for one field only (the first field whose alias names it, in the order
    of :data:`FIELDS`), so Salesforce's "Due Date" is the activity date when no other
    date column exists, and the due date otherwise.
    """
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(key(header), str(header))
    used: set[str] = set()
    found: dict[str, tuple[str, str]] = {}
    for name, _ in FIELDS[table]:
        for alias in mapping.columns.get(table, {}).get(name, ()):
            header = by_key.get(key(alias.column))
            if header is not None and header not in used:
                found[name] = (header, alias.unit)
                used.add(header)
                break
    return found


def choose_preset(frames: dict[str, list[Any]]) -> Mapping:
    """The preset whose aliases find the most fields in the exports' headers (``table -> headers``)."""
    best, best_score = standard(), -1
    for name in PRESETS:
        candidate = preset(name)
        score = sum(len(resolve(candidate, table, headers)) for table, headers in frames.items())
        if score > best_score:
            best, best_score = candidate, score
    return best
