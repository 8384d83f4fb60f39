"""A deterministic sample of CRM/SFA exports for an inside-sales team, with the quirks real exports have.

``write_sample(folder)`` writes ``activities.csv``, ``opportunities.csv`` and ``leads.csv`` for 8
members over 2025-04-01 … 2026-04-17 (the last month is half done, so the import has a pace
to forecast). The same seed gives the same bytes. Shapes (``style``):

* ``kpitree`` (default) — the standard format with Japanese headers (日付, 担当者, 種別, 結果,
  通話時間(分) …) in **cp932**, as Excel's "CSV" saves on Japanese Windows; dates as Excel shows
  them in Japan (``2026/4/1``, some ``2026年4月1日``), amounts as typed (``1,200,000``,
  ``120万円``, ``１，２００，０００円``, ``1億2000万``);
* ``salesforce`` — report exports with Salesforce's English labels, UTF-8 with a BOM,
  ``Call Duration`` in seconds, ``Won``/``Closed`` flags;
* ``hubspot`` — a call export with internal values (``hs_call_disposition`` GUIDs,
  ``hs_call_duration`` in milliseconds, UTC timestamps), deals and contacts with UI labels;
* ``xlsx`` — the kpitree shape as workbooks, with some dates stored as serial numbers.

Every shape carries the same flaws, counted in :data:`QUIRKS`: rows whose date cannot be read,
an amount written ``約100万``, rows exported twice (same id), and rows whose owner was left blank.

:func:`sample_records` gives the clean records themselves (the benchmark scales them to 200
members and a million activities).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MEMBERS = ("佐藤 美咲", "鈴木 大輔", "高橋 陽菜", "田中 翔太", "伊藤 結衣", "渡辺 健太", "山本 さくら", "中村 拓海")
START, END = dt.date(2025, 4, 1), dt.date(2026, 4, 17)
STYLES = ("kpitree", "salesforce", "hubspot", "xlsx")
# flaws written into every sample: what the import must report (tests check these counts)
QUIRKS = {"bad_dates": 3, "bad_amounts": 1, "duplicates": 4, "unassigned": 5}
HUBSPOT_OUTCOMES = {"connected": "f240bbac-87c9-4f6e-bf70-924b57d47db7", "no_answer": "73a0d17f-1163-4015-bdd5-ec830791da20",
                    "busy": "9d9162e7-6cf3-4944-bf63-4dff82258764", "voicemail": "b2cf5968-551e-4856-9783-52b3da59a7d0",
                    "effective": "f240bbac-87c9-4f6e-bf70-924b57d47db7"}


def _working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    from .calendar import Calendar

    cal = Calendar()
    days, day = [], start
    while day <= end:
        if cal.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _member_profiles(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "calls": rng.uniform(18, 32, n),  # calls per working day
        "connect": rng.uniform(0.16, 0.31, n),
        "effective": rng.uniform(0.35, 0.6, n),  # of connects
        "emails": rng.uniform(10, 20, n),
        "open": rng.uniform(0.2, 0.36, n),
        "leads": rng.uniform(10, 15, n),
        "convert": rng.uniform(0.07, 0.14, n),  # opportunities per lead worked
        "win": rng.uniform(0.18, 0.34, n),
        "on_time": rng.uniform(0.75, 0.97, n),
    }


def sample_records(members: int | tuple[str, ...] = MEMBERS, start: dt.date = START, end: dt.date = END,
                   seed: int = 13, volume: float = 1.0, opportunity_volume: float = 1.0) -> dict[str, pd.DataFrame]:
    """Clean canonical records of a sample team: ``activities``, ``opportunities``, ``leads``.

    ``volume`` scales the activity per member and ``opportunity_volume`` the opportunities (the
    benchmark's million activities and hundred thousand opportunities). Deterministic in
    ``seed``. Members grow into their numbers over the year (a 15 % rise from first to last month).
    """
    import numpy as np
    import pandas as pd

    names = members if isinstance(members, tuple) else tuple(f"メンバー{i + 1:03d}" for i in range(members))
    rng = np.random.default_rng(seed)
    prof = _member_profiles(rng, len(names))
    days = np.array(_working_days(start, end), dtype="datetime64[D]")
    growth = 0.92 + 0.15 * np.linspace(0, 1, len(days))  # (days,)
    grid_m, grid_d = np.meshgrid(np.arange(len(names)), np.arange(len(days)), indexing="ij")
    m_idx, d_idx = grid_m.ravel(), grid_d.ravel()
    scale = growth[d_idx] * volume

    def repeat(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(m_idx, counts), np.repeat(d_idx, counts)

    calls_m, calls_d = repeat(rng.poisson(prof["calls"][m_idx] * scale))
    u = rng.random(len(calls_m))
    p_conn = prof["connect"][calls_m] * growth[calls_d]
    connected = u < p_conn
    effective = connected & (rng.random(len(calls_m)) < prof["effective"][calls_m])
    result = np.where(effective, "effective", np.where(connected, "connected",
                      rng.choice(np.array(["no_answer", "busy", "voicemail"]), len(calls_m), p=[0.7, 0.1, 0.2])))
    duration = np.where(connected, np.round(rng.lognormal(1.4, 0.6, len(calls_m)), 1), np.round(rng.uniform(0.2, 0.8, len(calls_m)), 1))
    mail_m, mail_d = repeat(rng.poisson(prof["emails"][m_idx] * scale))
    opened = rng.random(len(mail_m)) < prof["open"][mail_m]
    replied = opened & (rng.random(len(mail_m)) < 0.18)
    mail_result = np.where(replied, "replied", np.where(opened, "opened", "sent"))
    fol_m, fol_d = repeat(rng.poisson(4 * scale))
    late = rng.random(len(fol_m)) > prof["on_time"][fol_m]
    fol_due = days[fol_d]
    fol_done = fol_due + np.where(late, rng.integers(1, 5, len(fol_m)), -rng.integers(0, 2, len(fol_m))).astype("timedelta64[D]")
    not_done = late & (rng.random(len(fol_m)) < 0.3)
    activities = pd.DataFrame({
        "date": np.concatenate([days[calls_d], days[mail_d], fol_due - np.timedelta64(3, "D")]),
        "member": np.array(names, dtype=object)[np.concatenate([calls_m, mail_m, fol_m])],
        "type": np.concatenate([np.full(len(calls_m), "call"), np.full(len(mail_m), "email"), np.full(len(fol_m), "followup")]),
        "result": np.concatenate([result, mail_result, np.where(not_done, "", "done")]),
        "duration_min": np.concatenate([duration, np.full(len(mail_m), np.nan), np.full(len(fol_m), np.nan)]),
        "due": np.concatenate([np.full(len(calls_m) + len(mail_m), np.datetime64("NaT"), dtype="datetime64[D]"), fol_due]),
        "done": np.concatenate([np.full(len(calls_m) + len(mail_m), np.datetime64("NaT"), dtype="datetime64[D]"),
                                np.where(not_done, np.datetime64("NaT"), fol_done)]),
    })
    activities = activities.sort_values(["date", "member"], kind="stable").reset_index(drop=True)
    activities.insert(0, "id", [f"A{i + 1:07d}" for i in range(len(activities))])

    lead_m, lead_d = repeat(rng.poisson(prof["leads"][m_idx] / 5 * scale))
    status = rng.choice(np.array(["lead", "mql", "sql"]), len(lead_m), p=[0.55, 0.3, 0.15])
    leads = pd.DataFrame({"id": [f"L{i + 1:06d}" for i in range(len(lead_m))], "date": days[lead_d],
                          "member": np.array(names, dtype=object)[lead_m], "status": status})

    opp_rate = prof["leads"][m_idx] / 5 * prof["convert"][m_idx] * scale * opportunity_volume
    opp_m, opp_d = repeat(rng.poisson(opp_rate))
    created = days[opp_d]
    cycle = rng.integers(14, 60, len(opp_m)).astype("timedelta64[D]")
    closed = created + cycle
    finished = closed <= np.datetime64(end)
    win = rng.random(len(opp_m)) < prof["win"][opp_m]
    stage = np.where(~finished, "open", np.where(win, "won", "lost"))
    amount = np.round(rng.lognormal(np.log(1_000_000), 0.35, len(opp_m)), -4)
    bant = np.minimum(4, rng.binomial(4, 0.72, len(opp_m)))
    quality = np.round(np.clip(rng.normal(3.9, 0.6, len(opp_m)), 1, 5), 1)
    opportunities = pd.DataFrame({
        "id": [f"O{i + 1:06d}" for i in range(len(opp_m))], "created": created,
        "member": np.array(names, dtype=object)[opp_m], "stage": stage, "amount": amount,
        "closed": np.where(stage == "open", np.datetime64("NaT"), closed),
        "source": rng.choice(np.array(["web", "event", "outbound"]), len(opp_m)),
        "bant": bant, "quality": quality,
    })
    return {"activities": activities, "opportunities": opportunities, "leads": leads}


# --- rendering the records as exports --------------------------------------------------------

KPITREE_HEADERS = {
    "activities": {"id": "活動ID", "date": "日付", "member": "担当者", "type": "種別", "result": "結果",
                   "duration_min": "通話時間(分)", "due": "期日", "done": "完了日"},
    "opportunities": {"id": "商談ID", "created": "作成日", "member": "担当者", "stage": "ステージ", "amount": "金額",
                      "closed": "受注日", "source": "リードソース", "bant": "BANT取得数", "quality": "品質スコア"},
    "leads": {"id": "リードID", "date": "日付", "member": "担当者", "status": "ステータス"},
}
KPITREE_VALUES = {
    "type": {"call": "架電", "email": "メール", "followup": "フォロー"},
    "result": {"effective": "有効コンタクト", "connected": "接続", "no_answer": "不在", "busy": "話し中", "voicemail": "留守電",
               "sent": "送信", "opened": "開封", "replied": "返信", "done": "完了", "": ""},
    "stage": {"open": "商談中", "won": "受注", "lost": "失注"},
    "status": {"lead": "新規", "mql": "MQL", "sql": "SQL"},
    "source": {"web": "Web問い合わせ", "event": "展示会", "outbound": "アウトバウンド"},
}


def _jp_date(day: Any, kanji: bool) -> str:
    if day is None or (isinstance(day, float) and day != day):
        return ""
    import pandas as pd

    if pd.isna(day):
        return ""
    d = pd.Timestamp(day).date()
    return f"{d.year}年{d.month}月{d.day}日" if kanji else f"{d.year}/{d.month}/{d.day}"


def _jp_amount(amount: float, i: int) -> str:
    value = int(amount)
    form = i % 10
    if form == 3 and value % 10_000 == 0:
        return f"{value // 10_000}万円"
    if form == 7:
        return f"{value:,}円".translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    return f"{value:,}"


def _dates(column: pd.Series, rng: np.random.Generator) -> list[str]:
    """Dates as Japanese Excel shows them: mostly 2026/4/1, one in ten 2026年4月1日."""
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    kanji = rng.random(len(column)) < 0.1
    plain = [_jp_date(d, False) for d in uniques] + [""]
    long = [_jp_date(d, True) for d in uniques] + [""]
    return [long[c] if k else plain[c] for c, k in zip(codes, kanji)]


def _flaws(frames: dict[str, pd.DataFrame], rng: np.random.Generator, id_col: dict[str, str], date_col: dict[str, str],
           member_col: dict[str, str], amount_col: str) -> None:
    """The quirks of :data:`QUIRKS`, written into the rendered frames (in place)."""
    acts, opps = frames["activities"], frames["opportunities"]
    bad = rng.choice(len(acts), QUIRKS["bad_dates"], replace=False)
    for i, value in zip(bad, ["2026/13/45", "不明", "#VALUE!"]):
        acts.loc[acts.index[i], date_col["activities"]] = value
    opps.loc[opps.index[rng.integers(len(opps))], amount_col] = "約100万"
    blank = rng.choice(len(acts), QUIRKS["unassigned"], replace=False)
    acts.loc[acts.index[blank], member_col["activities"]] = ""
    import pandas as pd

    dups = acts.iloc[rng.choice(len(acts) - 1, QUIRKS["duplicates"], replace=False)]
    frames["activities"] = pd.concat([acts, dups]).sort_values(id_col["activities"], kind="stable").reset_index(drop=True)


def render(records: dict[str, pd.DataFrame], style: str = "kpitree", seed: int = 13) -> dict[str, pd.DataFrame]:
    """The records as an export of ``style`` would show them (text cells), flaws included."""
    import numpy as np

    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    rng = np.random.default_rng(seed + 1)
    if style in ("kpitree", "xlsx"):
        out = _render_kpitree(records, rng, serials=style == "xlsx")
        _flaws(out, rng, {"activities": "活動ID"}, {"activities": "日付"}, {"activities": "担当者"}, "金額")
    elif style == "salesforce":
        out = _render_salesforce(records)
        _flaws(out, rng, {"activities": "Activity ID"}, {"activities": "Date"}, {"activities": "Assigned"}, "Amount")
    else:
        out = _render_hubspot(records)
        _flaws(out, rng, {"activities": "Record ID"}, {"activities": "hs_timestamp"},
               {"activities": "hubspot_owner_id"}, "Amount")
    return out


def _render_kpitree(records: dict[str, pd.DataFrame], rng: np.random.Generator, serials: bool) -> dict[str, pd.DataFrame]:
    import pandas as pd

    out: dict[str, pd.DataFrame] = {}
    for table, frame in records.items():
        shown = pd.DataFrame(index=frame.index)
        for column, header in KPITREE_HEADERS[table].items():
            values = frame[column]
            if column in ("date", "created", "due", "closed", "done"):
                shown[header] = _dates(values, rng)
                if serials and column in ("date", "created"):  # a date cell formatted as General: its serial number
                    stamp = pd.to_datetime(values)
                    serial = (stamp - pd.Timestamp("1899-12-30")).dt.days
                    pick = rng.random(len(values)) < 0.2
                    shown[header] = shown[header].astype(object)
                    shown.loc[pick, header] = serial[pick].astype(int).astype(object)
            elif column in KPITREE_VALUES:
                shown[header] = values.map(KPITREE_VALUES[column])
            elif column == "amount":
                shown[header] = [_jp_amount(a, i) for i, a in enumerate(values)]
            elif column == "duration_min":
                shown[header] = values.map(lambda v: "" if v != v else f"{v:g}")
            else:
                shown[header] = values.astype(str)
        out[table] = shown
    big = out["opportunities"].index[out["opportunities"]["金額"].str.startswith("1,")]
    if len(big):
        out["opportunities"].loc[big[0], "金額"] = "1億2000万"  # one large deal typed the Japanese way (1.2e8 yen)
    return out


def _iso(values: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")


def _render_salesforce(records: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    import pandas as pd

    a, o, lead = records["activities"], records["opportunities"], records["leads"]
    sf_type = {"call": "Call", "email": "Email", "followup": "Task"}
    sf_result = {"effective": "Connected", "connected": "Connected", "no_answer": "No Answer", "busy": "No Answer",
                 "voicemail": "Left Voicemail", "sent": "", "opened": "", "replied": "", "done": "Completed", "": ""}
    acts = pd.DataFrame({
        "Activity ID": a["id"].str.replace("A", "00T", regex=False), "Assigned": a["member"],
        "Date": pd.to_datetime(a["date"]).dt.strftime("%m/%d/%Y"), "Type": a["type"].map(sf_type),
        "Call Result": a["result"].map(sf_result),
        "Call Duration": (a["duration_min"] * 60).round().map(lambda v: "" if v != v else str(int(v))),
        "Due Date": pd.to_datetime(a["due"]).dt.strftime("%Y-%m-%d").fillna(""),
        "Completed Date": pd.to_datetime(a["done"]).dt.strftime("%Y-%m-%d").fillna(""),
    })
    # Salesforce's US-format report dates (MM/DD/YYYY) are not a Japanese form: written ISO instead
    acts["Date"] = _iso(a["date"])
    stage = o["stage"].map({"open": "Proposal/Price Quote", "won": "Closed Won", "lost": "Closed Lost"})
    opps = pd.DataFrame({
        "Opportunity ID": o["id"].str.replace("O", "006", regex=False), "Opportunity Owner": o["member"],
        "Created Date": _iso(o["created"]), "Stage": stage, "Amount": o["amount"].map(lambda v: f"{v:,.0f}"),
        "Close Date": _iso(o["closed"]), "Lead Source": o["source"], "Won": (o["stage"] == "won").map({True: "1", False: "0"}),
        "Closed": (o["stage"] != "open").map({True: "1", False: "0"}),
    })
    leads = pd.DataFrame({
        "Lead ID": lead["id"].str.replace("L", "00Q", regex=False), "Lead Owner": lead["member"],
        "Create Date": _iso(lead["date"]),
        "Lead Status": lead["status"].map({"lead": "Open - Not Contacted", "mql": "Marketing Qualified", "sql": "Qualified"}),
    })
    return {"activities": acts, "opportunities": opps, "leads": leads}


def _render_hubspot(records: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    import pandas as pd

    a = records["activities"]
    calls = a[a["type"] == "call"].reset_index(drop=True)
    stamp = pd.to_datetime(calls["date"]) + pd.to_timedelta(9, unit="h")  # 9:00 JST ...
    utc = (stamp - pd.Timedelta(hours=9)).dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # ... written as UTC
    acts = pd.DataFrame({
        "Record ID": calls["id"].str.slice(1).astype(int).astype(str), "hs_timestamp": utc,
        "hubspot_owner_id": calls["member"], "hs_call_disposition": calls["result"].map(HUBSPOT_OUTCOMES),
        "hs_call_duration": (calls["duration_min"] * 60_000).round().astype("Int64").astype(str),
    })
    o = records["opportunities"]
    deals = pd.DataFrame({
        "Record ID": o["id"].str.slice(1), "Deal owner": o["member"], "Create Date": _iso(o["created"]),
        "Deal Stage": o["stage"].map({"open": "Contract sent", "won": "Closed won", "lost": "Closed lost"}),
        "Amount": o["amount"].map(lambda v: f"{v:.0f}"), "Close Date": _iso(o["closed"]),
    })
    lead = records["leads"]
    contacts = pd.DataFrame({
        "Record ID": lead["id"].str.slice(1), "Contact owner": lead["member"], "Create Date": _iso(lead["date"]),
        "Lifecycle Stage": lead["status"].map({"lead": "Lead", "mql": "Marketing Qualified Lead", "sql": "Sales Qualified Lead"}),
    })
    return {"activities": acts, "opportunities": deals, "leads": contacts}


ENCODINGS = {"kpitree": "cp932", "salesforce": "utf-8-sig", "hubspot": "utf-8"}


def write_sample(folder: str | Path, style: str = "kpitree", *, members: int | tuple[str, ...] = MEMBERS,
                 seed: int = 13, volume: float = 1.0, force: bool = False) -> dict[str, Path]:
    """Write the sample exports of ``style`` into ``folder`` (created if missing); the files by table.

    Files already there are refused unless ``force`` (a UserError naming them, before anything
    is written), as ``kpitree new`` does. Each file appears complete or not at all, through
    the writer every command uses (a new file gets the umask's mode, a replaced one keeps its own).
    """
    from kpitree.recalculation.io.outputs import atomic_path
    from kpitree.udfs.texts import user_error

    from .safety import check_replaceable

    folder = Path(folder)
    suffix = ".xlsx" if style == "xlsx" else ".csv"
    targets = {table: folder / f"{table}{suffix}" for table in ("activities", "opportunities", "leads")}
    there = [str(p) for p in targets.values() if os.path.lexists(p)]
    if there and not force:
        raise user_error("team.sample_exists", files=", ".join(there))
    for target in targets.values():
        check_replaceable(target)
    folder.mkdir(parents=True, exist_ok=True)
    frames = render(sample_records(members, seed=seed, volume=volume), style, seed)
    written: dict[str, Path] = {}
    for table, frame in frames.items():
        target = targets[table]
        with atomic_path(target, suffix=suffix) as tmp:
            if style == "xlsx":
                frame.to_excel(tmp, index=False, engine="xlsxwriter")
            else:
                frame.to_csv(tmp, index=False, encoding=ENCODINGS[style], lineterminator="\r\n")
        written[table] = target
    return written
