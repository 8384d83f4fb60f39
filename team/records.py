"""Exports in the standard format: canonical columns, parsed values, rejects and duplicates counted.

:func:`normalise` turns one table of an export (a DataFrame as read, any column names) into
the canonical frame of its table, through a :class:`~.mapping.Mapping`:

=============  ===================================================================================
activities     ``date`` (datetime64, Japan's date), ``member`` (text, "" when blank), ``kind``
               (call, email, meeting, followup, other), ``result`` (connected, effective, no_answer,
               …, "" when blank or unknown), ``duration_min``, ``due``, ``done``
opportunities  ``created``, ``member``, ``stage`` (open, won, lost), ``amount``, ``closed``,
               ``source``, ``bant`` (items captured, 0–4), ``quality`` (1–5)
leads          ``date``, ``member``, ``status`` (lead, mql, sql)
=============  ===================================================================================

A row whose required date cannot be read, or whose amount, duration, BANT count or quality
score is not a value of its kind, is a **reject**: counted, kept with its row number and
reason, and left out — never dropped silently, never guessed. A row whose id repeats an
earlier row's is a **duplicate**: counted once. Values the mapping does not know (an
activity type "SMS", a stage "Negotiation") are counted by value and reported; such a row
counts as ``other`` / ``open``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import jp
from .mapping import FIELDS, Mapping, key, resolve
from .safety import cell_text

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("call", "email", "meeting", "followup")
RESULTS = ("effective", "connected", "no_answer", "busy", "voicemail", "wrong_number", "sent", "opened", "replied",
           "bounced", "done")
STAGES = ("open", "won", "lost")
STATUSES = ("lead", "mql", "sql")
BANT_ITEMS = ("budget", "authority", "need", "timeline")
# why a row is rejected -> its text (texts.toml [team])
REASONS = {"bad_date": "team.reason_bad_date", "no_date": "team.reason_no_date", "bad_duration": "team.reason_bad_duration",
           "bad_due": "team.reason_bad_due", "bad_done": "team.reason_bad_done", "bad_amount": "team.reason_bad_amount",
           "bad_closed": "team.reason_bad_closed", "bad_bant": "team.reason_bad_bant", "bad_quality": "team.reason_bad_quality",
           "extra_cells": "team.reason_extra_cells", "foreign_amount": "team.reason_foreign_amount",
           "approx_amount": "team.reason_approx_amount", "negative_amount": "team.reason_negative_amount"}


@dataclass
class Rejects:
    """Rows left out, by reason: ``(table, file, row number in the file, reason key, field, value)``."""

    rows: list[tuple[str, str, int, str, str, str]] = field(default_factory=list)

    def add(self, table: str, file: str, line: int, reason: str, column: str, value: Any) -> None:
        self.rows.append((table, file, line, reason, column, "" if jp.is_blank(value) else str(value)))

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class TableReport:
    """What reading one file of one table found."""

    table: str
    file: str
    rows: int = 0  # data rows in the file
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # field -> the header used
    missing: list[str] = field(default_factory=list)  # optional fields no column holds
    unknown_values: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> value -> rows
    unassigned: int = 0  # rows with no member
    encoding: str = ""
    has_ids: bool = False


def _reject_mask(table: str, file: str, frame: pd.DataFrame, bad: pd.Series, reason: str, column: str,
                 lines: list[int], rejects: Rejects, already: pd.Series) -> pd.Series:
    """Record the rows of ``bad`` not already rejected (``lines``: each row's line in the file); the updated mask."""
    new = bad & ~already
    if new.any():
        for index in frame.index[new.to_numpy()]:
            rejects.add(table, file, lines[int(index)], reason, column, frame.at[index, column])
    return already | bad


def _vocab(mapping: Mapping, table: str, name: str, column: pd.Series, known: tuple[str, ...],
           unknown: str) -> tuple[pd.Series, dict[str, int]]:
    """Canonical values of a text column by the mapping's vocabulary; unknown values counted by value."""
    import pandas as pd

    vocab = mapping.values.get(table, {}).get(name, {})
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    mapped, counts = [], Counter(codes.tolist())
    seen_unknown: dict[str, int] = {}
    for i, value in enumerate(uniques):
        canonical = vocab.get(key(value)) or (key(value) if key(value) in known else None)
        if canonical is None:
            seen_unknown[str(value)] = counts[i]
        mapped.append(canonical or unknown)
    return pd.Series([*mapped, unknown], dtype=object).take(codes).set_axis(column.index), seen_unknown


def _booleans(mapping: Mapping, column: pd.Series) -> pd.Series:
    """True / False / NaN (blank or not a yes/no) of a yes/no column."""
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = [mapping.booleans.get(key(v)) if not isinstance(v, bool) else v for v in uniques] + [None]
    return pd.Series(table, dtype=object).take(codes).set_axis(column.index)


def _members(column: pd.Series | None, length: int, index: Any) -> pd.Series:
    import pandas as pd

    if column is None:
        return pd.Series("", index=index, dtype=object)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    # control characters a cell cannot hold become U+FFFD here, so every sheet names the member alike
    names = [cell_text(" ".join(jp.nfkc(v).split())) for v in uniques] + [""]
    return pd.Series(names, dtype=object).take(codes).set_axis(column.index)


def normalise(table: str, frame: pd.DataFrame, mapping: Mapping, file: str, header_line: int,
              rejects: Rejects) -> tuple[pd.DataFrame, TableReport]:
    """The canonical frame of ``table`` from an export's ``frame`` (see the module doc)."""
    import pandas as pd

    # each row's line in the file (read_export says; a DataFrame's rows follow its header row)
    lines = list(frame.attrs.get("lines") or range(header_line + 2, header_line + 2 + len(frame)))
    bad_rows = list(frame.attrs.get("bad_rows") or ())
    report = TableReport(table, file, rows=len(frame) + len(bad_rows))
    found = resolve(mapping, table, list(frame.columns))
    report.columns = {f: h for f, (h, _) in found.items()}
    report.missing = [f for f, required in FIELDS[table] if f not in found and f not in mapping.defaults.get(table, {})]
    first_reject = len(rejects)
    for line, cells in bad_rows:  # more cells than the header: never guessed which of them is which
        rejects.add(table, file, line, "extra_cells", "", cells)
    frame = frame.reset_index(drop=True)
    col = {f: frame[h] for f, (h, _) in found.items()}
    out = pd.DataFrame(index=frame.index)
    rejected = pd.Series(False, index=frame.index)

    def reject(bad: pd.Series, reason: str, name: str) -> None:
        nonlocal rejected
        rejected = _reject_mask(table, file, frame, bad, reason, found[name][0], lines, rejects, rejected)

    date_field = "created" if table == "opportunities" else "date"
    dates, bad = jp.parse_dates(col[date_field])
    reject(bad, "bad_date", date_field)
    reject(dates.isna() & ~bad, "no_date", date_field)
    out[date_field] = dates
    out["member"] = _members(col.get("member"), len(frame), frame.index)
    report.unassigned = int((out["member"] == "").sum())
    if "id" in col:
        out["id"] = col["id"].astype("string").str.strip()
        report.has_ids = True
    if table == "activities":
        _activities(out, col, found, mapping, report, reject)
    elif table == "opportunities":
        _opportunities(out, col, found, mapping, report, reject)
    else:
        _leads(out, col, mapping, report)
    out = out[~rejected]
    report.rejected = int(rejected.sum()) + len(bad_rows)
    rejects.rows[first_reject:] = sorted(rejects.rows[first_reject:], key=lambda r: r[2])  # in the file's order
    if "id" in out:
        ids = out["id"]
        dup = ids.notna() & (ids != "") & ids.duplicated(keep="first")
        report.duplicates = int(dup.sum())
        out = out[~dup]
    report.unassigned = int((out["member"] == "").sum())
    report.kept = len(out)
    return out.reset_index(drop=True), report


def _activities(out: pd.DataFrame, col: dict[str, pd.Series], found: dict[str, tuple[str, str]], mapping: Mapping,
                report: TableReport, reject: Any) -> None:
    import pandas as pd

    if "type" in col:
        out["kind"], unknown = _vocab(mapping, "activities", "type", col["type"], KINDS, "other")
        if unknown:
            report.unknown_values["type"] = unknown
    else:
        out["kind"] = mapping.defaults.get("activities", {}).get("type", "other")
    if "result" in col:
        out["result"], unknown = _vocab(mapping, "activities", "result", col["result"], RESULTS, "")
        blank = {v: n for v, n in unknown.items() if not str(v).strip()}
        unknown = {v: n for v, n in unknown.items() if v not in blank}
        if unknown:
            report.unknown_values["result"] = unknown
    else:
        out["result"] = mapping.defaults.get("activities", {}).get("result", "")
    if "duration" in col:
        minutes, bad = jp.parse_durations(col["duration"], found["duration"][1] or "min")
        reject(bad, "bad_duration", "duration")
        out["duration_min"] = minutes
    for name in ("due", "done"):
        if name in col:
            dates, bad = jp.parse_dates(col[name])
            reject(bad, f"bad_{name}", name)
            out[name] = dates
    if "done" not in out and "due" in out and "result" in col:
        # a follow-up marked done without a completion date was done on its activity date
        out["done"] = out["date"].where(out["result"] == "done", pd.NaT)


def _opportunities(out: pd.DataFrame, col: dict[str, pd.Series], found: dict[str, tuple[str, str]], mapping: Mapping,
                   report: TableReport, reject: Any) -> None:
    import numpy as np
    import pandas as pd

    stage = None
    if "stage" in col:
        stage, unknown = _vocab(mapping, "opportunities", "stage", col["stage"], STAGES, "open")
        if unknown:
            report.unknown_values["stage"] = unknown
    base = stage if stage is not None else pd.Series("open", index=out.index, dtype=object)
    if "won" in col:
        # the won flag (Salesforce IsWon, HubSpot hs_is_closed_won) wins over the stage's text
        won = _booleans(mapping, col["won"])
        base = base.where(won.isna(), base.where(base != "won", "open").mask(won.eq(True), "won"))
    out["stage"] = base
    if "amount" in col:
        amounts, bad = jp.parse_amounts(col["amount"])
        if bad.any():  # each cell's own reason: another currency, an estimate, a negative amount, or unreadable
            why = col["amount"][bad].map(jp.amount_problem)
            for reason in dict.fromkeys(why):
                reject(bad & why.reindex(bad.index).eq(reason), reason, "amount")
        out["amount"] = amounts
    if "closed" in col:
        closed, bad = jp.parse_dates(col["closed"])
        reject(bad, "bad_closed", "closed")
        out["closed"] = closed
    if "source" in col:
        out["source"] = col["source"].astype("string")
    if "bant" in col:
        bant, bad = jp.parse_numbers(col["bant"])
        bad = bad | (bant < 0) | (bant > 4)
        reject(bad, "bad_bant", "bant")
        out["bant"] = bant
    elif any(item in col for item in BANT_ITEMS):
        items = [_booleans(mapping, col[i]) for i in BANT_ITEMS if i in col]
        out["bant"] = np.sum([s.eq(True).to_numpy() for s in items], axis=0).astype(float)
    if "quality" in col:
        quality, bad = jp.parse_numbers(col["quality"])
        bad = bad | (quality < 1) | (quality > 5)
        reject(bad, "bad_quality", "quality")
        out["quality"] = quality


def _leads(out: pd.DataFrame, col: dict[str, pd.Series], mapping: Mapping, report: TableReport) -> None:
    if "status" in col:
        out["status"], unknown = _vocab(mapping, "leads", "status", col["status"], STATUSES, "lead")
        if unknown:
            report.unknown_values["status"] = unknown
    else:
        out["status"] = "lead"
