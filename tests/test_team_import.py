"""Reading CRM/SFA exports into the standard format: presets, bad rows, duplicates, missing columns (kpitree.team)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kpitree.team import read_exports, write_sample
from kpitree.team.sample import QUIRKS, render, sample_records

from kpitree.errors import UserError

BAD_DATES = {"2026/13/45", "不明", "#VALUE!"}


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    root = tmp_path_factory.mktemp("exports")
    return {style: write_sample(root / style, style) for style in ("kpitree", "salesforce", "hubspot")}


def _calls_left_after_rejects(style: str, id_col: str, date_col: str) -> int:
    """Calls of the clean records minus the calls whose date the sample spoiled (found through the rendered export)."""
    records = sample_records()
    shown = render(records, style)["activities"]
    spoiled = set(shown.loc[shown[date_col].isin(BAD_DATES), id_col])
    acts = records["activities"]
    ids = acts["id"] if style == "kpitree" else acts["id"].str.replace("A", "00T", regex=False)
    return int(((acts["type"] == "call") & ~ids.isin(spoiled)).sum())


def test_the_kpitree_sample_is_read_with_its_flaws_counted(samples: dict[str, dict[str, Path]]) -> None:
    files = samples["kpitree"]
    assert files["activities"].read_bytes().decode("cp932")  # Excel's CSV on Japanese Windows
    imported = read_exports(**files)
    acts = imported.reports["activities"]
    assert imported.mapping.id == "kpitree" and acts.encoding == "cp932"
    assert acts.rejected == QUIRKS["bad_dates"] and acts.duplicates == QUIRKS["duplicates"]
    assert acts.unassigned == QUIRKS["unassigned"] and acts.kept == acts.rows - acts.rejected - acts.duplicates
    assert imported.reports["opportunities"].rejected == QUIRKS["bad_amounts"]
    reasons = {(r[0], r[3]) for r in imported.rejects.rows}
    assert reasons == {("activities", "bad_date"), ("opportunities", "approx_amount")}  # 約100万: an estimate
    assert all(r[2] > 1 for r in imported.rejects.rows)  # file row numbers, the header being row 1
    months = imported.data.table[imported.data.table["grain"] == "month"]
    assert months["calls"].sum() == _calls_left_after_rejects("kpitree", "活動ID", "日付")
    assert set(imported.support.missing) == {"meetings"}  # the sample logs no meeting; every other measure is there
    assert imported.data.data_through.isoformat() == "2026-04-17"
    assert len(imported.data.members) == 8 and imported.data.unassigned


def test_amounts_in_japanese_forms_are_read(samples: dict[str, dict[str, Path]]) -> None:
    imported = read_exports(opportunities=samples["kpitree"]["opportunities"])
    shown = pd.read_csv(samples["kpitree"]["opportunities"], encoding="cp932", dtype=str)
    amounts = imported.records["opportunities"]["amount"]
    assert shown["金額"].str.contains("万円").any() and shown["金額"].str.contains("１").any()
    assert (amounts == 120_000_000).sum() == 1  # "1億2000万"
    assert amounts.notna().all() and (amounts > 0).all()


def test_a_salesforce_report_export_is_recognised(samples: dict[str, dict[str, Path]]) -> None:
    imported = read_exports(**samples["salesforce"])
    assert imported.mapping.id == "salesforce"
    assert imported.reports["activities"].encoding == "utf-8-sig"
    assert imported.reports["activities"].columns["member"] == "Assigned"
    assert imported.reports["opportunities"].columns["won"] == "Won"
    months = imported.data.table[imported.data.table["grain"] == "month"]
    assert months["calls"].sum() == _calls_left_after_rejects("salesforce", "Activity ID", "Date")
    # Salesforce has no BANT or quality field, and no "effective contact" call result: named, not guessed
    assert imported.support.missing["bant_opportunities"] == [("opportunities", "bant")]
    assert imported.support.kpi_missing("quality_score") == [("opportunities", "quality")]
    assert imported.support.kpi_missing("effective_contacts") == [("activities", "value:result:effective")]
    assert imported.support.kpi_ok("connect_rate") and imported.support.kpi_ok("followup_rate")
    won = imported.records["opportunities"]["stage"].eq("won").sum()
    assert won == sample_records()["opportunities"]["stage"].eq("won").sum()  # the Won flag decides
    assert not imported.reports["opportunities"].unknown_values


def test_a_hubspot_call_export_with_internal_values_is_recognised(samples: dict[str, dict[str, Path]]) -> None:
    imported = read_exports(**samples["hubspot"])
    assert imported.mapping.id == "hubspot"
    records = sample_records()["activities"]
    calls = records[records["type"] == "call"]
    acts = imported.records["activities"]
    assert set(acts["kind"]) == {"call"}  # a call export: every row is a call
    connects = acts["result"].isin(["connected", "effective"]).sum()
    expected = calls["result"].isin(["connected", "effective"]).sum()
    assert expected - QUIRKS["bad_dates"] <= connects <= expected  # GUID outcomes read
    assert acts["duration_min"].max() == pytest.approx(calls["duration_min"].max(), abs=0.01)  # milliseconds
    # UTC timestamps at 00:00Z are 09:00 in Japan: the same day
    assert imported.data.data_through.isoformat() == "2026-04-17"
    assert imported.support.kpi_missing("followup_rate") == [("activities", "due")]


def test_dataframes_work_like_files() -> None:
    frame = pd.DataFrame({"日付": ["2026/4/1", "2026/4/2", "2026/4/2"], "担当者": ["佐藤", "佐藤", "鈴木"],
                          "種別": ["架電", "メール", "電話"], "結果": ["接続", "開封", "不在"], "活動ID": ["a", "b", "c"]})
    imported = read_exports(frame)
    team = imported.data.team("month", "2026-04")
    assert (team["calls"], team["connects"], team["emails_sent"], team["emails_opened"]) == (2, 1, 1, 1)


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("担当者,種別\n佐藤,架電\n", encoding="utf-8")
    with pytest.raises(UserError) as error:
        read_exports(path)
    assert "date" in error.value.text("en") and "日付" in error.value.text("en")
    assert "担当者" in error.value.text("ja")  # the file's own columns are listed


def test_unknown_values_are_counted_not_dropped() -> None:
    frame = pd.DataFrame({"date": ["2026-04-01"] * 3, "member": ["a"] * 3, "type": ["call", "SMS", "SMS"]})
    imported = read_exports(frame)
    assert imported.reports["activities"].unknown_values == {"type": {"SMS": 2}}
    assert imported.reports["activities"].kept == 3
    assert imported.support.missing["connects"] == [("activities", "result")]


def test_a_mapping_file_maps_other_headers_and_values(tmp_path: Path) -> None:
    mapping = tmp_path / "my_sfa.toml"
    mapping.write_text('[preset]\nid = "my_sfa"\nja = "自社SFA"\nen = "our SFA"\n\n'
                       '[activities.columns]\ndate = "対応日時"\nmember = "営業"\ntype = "チャネル"\n'
                       '[activities.values.type]\ncall = ["TEL発信"]\n', encoding="utf-8")
    csv = tmp_path / "export.csv"
    csv.write_bytes("対応日時,営業,チャネル\n2026/4/1 10:00,山田,TEL発信\n2026/4/1 11:00,山田,TEL発信\n".encode("cp932"))
    imported = read_exports(csv, mapping=mapping)
    assert imported.mapping.id == "my_sfa" and imported.data.team("month", "2026-04")["calls"] == 2
    with pytest.raises(ValueError, match="not a field"):
        bad = tmp_path / "bad.toml"
        bad.write_text("[activities.columns]\nwhen = \"x\"\n", encoding="utf-8")
        read_exports(csv, mapping=bad)


def test_an_xlsx_export_with_serial_dates_is_read(tmp_path: Path) -> None:
    records = {k: v.head(400) for k, v in sample_records().items()}
    frames = render(records, "xlsx")
    path = tmp_path / "activities.xlsx"
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        pd.DataFrame([["活動ログ(2026年4月)"]]).to_excel(writer, index=False, header=False)  # a title above the table
        frames["activities"].to_excel(writer, index=False, startrow=2)
    imported = read_exports(path)
    assert frames["activities"]["日付"].map(lambda v: isinstance(v, int)).any()  # numbers (serials) in the file
    assert imported.reports["activities"].rejected == QUIRKS["bad_dates"]
    assert imported.reports["activities"].rows == len(frames["activities"])
    assert imported.data.data_from.isoformat() == "2025-04-01"


@pytest.mark.parametrize("content,error", [(b"", "empty"), (b"\x81\x00\xff\xfe\x80", "encoding")])
def test_unreadable_files_are_one_message(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=error):
        read_exports(path)
    with pytest.raises(UserError, match="no such file"):
        read_exports(tmp_path / "missing.csv")
    with pytest.raises(UserError, match="CSV"):
        (tmp_path / "a.pdf").write_bytes(b"%PDF")
        read_exports(tmp_path / "a.pdf")


def test_every_kind_of_unreadable_cell_is_a_counted_reject() -> None:
    activities = pd.DataFrame({
        "id": ["a1", "a2", "a3", "a4", "a5"], "日付": ["2026/4/1", "2026/4/1", "", "2026/4/2", "2026/4/2"],
        "担当者": ["佐藤"] * 5, "種別": ["架電", "架電", "架電", "フォロー", "フォロー"], "結果": ["接続"] * 5,
        "通話時間(分)": ["5", "五分", "3", None, None], "期日": [None, None, None, "4月3日", "2026/4/3"],
    })
    opportunities = pd.DataFrame({
        "商談ID": ["o1", "o2", "o3", "o4", "o5"], "作成日": ["2026/4/1"] * 5, "担当者": ["佐藤"] * 5,
        "ステージ": ["受注"] * 5, "金額": ["100万", "-5", "100万", "100万", "100万"],
        "受注日": ["2026/4/2", "2026/4/2", "昨日", "2026/4/2", "2026/4/2"], "BANT取得数": ["3", "3", "3", "5", "3"],
        "品質スコア": ["4", "4", "4", "4", "7"],
    })
    imported = read_exports(activities, opportunities)
    reasons = sorted((r[0], r[3], r[5]) for r in imported.rejects.rows)
    assert reasons == sorted([("activities", "bad_due", "4月3日"), ("activities", "bad_duration", "五分"),
                              ("activities", "no_date", ""), ("opportunities", "negative_amount", "-5"),
                              ("opportunities", "bad_bant", "5"), ("opportunities", "bad_closed", "昨日"),
                              ("opportunities", "bad_quality", "7")])
    assert imported.reports["activities"].kept == 2 and imported.reports["opportunities"].kept == 1


def test_a_tab_separated_utf8_file_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "log.tsv"
    path.write_bytes("\ufeff日付\t担当者\t種別\n２０２６／４／１\t佐藤\t架電\n2026年4月2日\t佐藤\t電話\n".encode())
    imported = read_exports(path)
    assert imported.reports["activities"].encoding == "utf-8-sig"
    assert imported.data.team("month", "2026-04")["calls"] == 2
