"""A subject's card read from a snapshot's tables (`readmodel.subject_cards`), on a snapshot
written by hand: which tables make a subject known, and what the picked rows hold."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from chengxin import identifiers, users, workspace
from chengxin.readmodel import rows, snapshot, subject_cards


def _code(body: str) -> str:
    """A valid unified social credit code starting with `body` (17 characters)."""
    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        try:
            identifiers.subject_type_of(body + c)
            return body + c
        except workspace.UserError:
            continue
    raise AssertionError(body)


def _snapshot(tmp_path) -> tuple[snapshot.Snapshot, dict]:
    rated, registered, listed, unknown = (_code(f"9161030000000{i:04d}") for i in range(4))
    folder = tmp_path / "published" / "dashboard" / "snap1"
    folder.mkdir(parents=True)
    day = pd.Timestamp("2025-06-30")
    ratings = pd.DataFrame({"subject_id": [rated], "subject_type": "enterprise", "as_of": [day], "pd": [0.02],
                            "score": [612.0], "grade": ["BB"], "tier": ["B"], "reason_1": ["Tax arrears: 2"],
                            "reason_1_zh": ["欠税次数：2"], "reason_1_code": ["tax_arrears"], "reason_1_points": [31.5],
                            "model_version": ["3"], "criteria_version": ["1-2"], "name": ["甲公司"], "county": ["610302"],
                            "industry": ["C"]})
    ratings.to_parquet(folder / "ratings.parquet")
    ratings.drop(columns=[c for c in ratings if c.startswith(("reason", "name", "county", "industry"))]).to_parquet(
        folder / "history.parquet")
    pd.DataFrame({"subject_id": [registered, rated], "name": ["乙公司", "甲公司"], "county": ["610303", "610302"],
                  "industry": ["F", "C"]}).to_parquet(folder / "subjects.parquet")  # not in id order: read sorted
    pd.DataFrame({"list": ["black"], "rule": ["serious_penalty"], "text_zh": ["严重失信行政处罚"],
                  "text_en": ["Serious administrative penalty"], "subject_id": [listed], "subject_type": ["enterprise"],
                  "start": [pd.Timestamp("2025-03-01")], "ends": [pd.Timestamp("2028-03-01")], "status": ["active"],
                  "name": [None]}).to_parquet(folder / "lists.parquet")
    snapshot.forget_cached_tables()
    return snapshot.Snapshot(folder, {"subjects": {}}), {"rated": rated, "registered": registered, "listed": listed,
                                                         "unknown": unknown}


def test_a_subject_is_known_by_its_rating_its_registration_or_a_list_entry(tmp_path):
    snap, ids = _snapshot(tmp_path)
    cards = {c["subject_id"]: c for c in subject_cards(snap, list(ids.values()), users.role("lender"))}
    rated = cards[ids["rated"]]
    assert rated["rated"] and rated["grade"] == "BB" and rated["pd"] == 0.02 and rated["as_of"] == "2025-06-30"
    assert rated["reasons"] == [{"code": "tax_arrears", "text_zh": "欠税次数：2", "text_en": "Tax arrears: 2", "points": 31.5}]
    assert cards[ids["registered"]]["name"] == "乙公司" and not cards[ids["registered"]]["rated"]
    # a black-listed firm nobody registered or rated is still found: a credit check must see its entry
    listed = cards[ids["listed"]]
    assert listed["status"] == 200 and [e["rule"] for e in listed["lists"]] == ["serious_penalty"]
    assert cards[ids["unknown"]]["status"] == 404
    # the same answers one at a time (a look-up) as in a batch of many (a vectorised read)
    many = [_code(f"9161030001000{i:04d}") for i in range(rows.MANY)]
    batch = {c["subject_id"]: c for c in subject_cards(snap, [*ids.values(), *many], users.role("lender"))}
    for sid in ids.values():
        assert subject_cards(snap, [sid], users.role("lender")) == [cards[sid]] == [batch[sid]]


def test_as_of_reads_the_history_and_the_entries_in_force(tmp_path):
    snap, ids = _snapshot(tmp_path)
    lender = users.role("lender")
    then = subject_cards(snap, [ids["rated"]], lender, as_of=dt.date(2025, 7, 1))[0]
    assert then["grade"] == "BB" and then["name"] == "甲公司" and then["notes"] == ["reasons_not_kept"]
    assert not subject_cards(snap, [ids["rated"]], lender, as_of=dt.date(2025, 6, 1))[0]["rated"]
    before = subject_cards(snap, [ids["listed"]], lender, as_of=dt.date(2025, 2, 1))[0]
    assert before["status"] == 404  # not yet listed, and known from nothing else


def test_a_replay_answers_the_reasons_published_then_which_stay_on_disk(tmp_path):
    snap, ids = _snapshot(tmp_path)
    march = pd.DataFrame({"subject_id": [ids["rated"]], "subject_type": "enterprise", "as_of": [pd.Timestamp("2025-03-31")],
                          "pd": [0.05], "score": [571.0], "grade": ["B"], "tier": ["B"], "model_version": ["2"],
                          "criteria_version": ["1-1"], "reason_1": ["Tax arrears: 5"], "reason_1_zh": ["欠税次数：5"],
                          "reason_1_code": ["tax_arrears"], "reason_1_points": [44.0]})
    june = pd.read_parquet(snap.path / "ratings.parquet").drop(columns=["name", "county", "industry"])
    versions = pd.concat([march, june], ignore_index=True)  # in (subject, as_of) order, as the snapshot writes them
    # row beside row, in row groups of one row: a replay finds its rows among several row groups
    versions.drop(columns=[c for c in versions if c.startswith("reason")]).to_parquet(snap.path / "history.parquet",
                                                                                         row_group_size=1)
    versions[["subject_id", "as_of", *[c for c in versions if c.startswith("reason")]]].to_parquet(
        snap.path / snapshot.HISTORY_REASONS, row_group_size=1)
    snapshot.forget_cached_tables()
    lender = users.role("lender")
    then = subject_cards(snap, [ids["rated"]], lender, as_of=dt.date(2025, 5, 1))[0]
    assert then["grade"] == "B" and then["model_version"] == "2" and "notes" not in then
    assert then["reasons"] == [{"code": "tax_arrears", "text_zh": "欠税次数：5", "text_en": "Tax arrears: 5", "points": 44.0}]
    later = subject_cards(snap, [ids["rated"]], lender, as_of=dt.date(2025, 7, 1))[0]
    assert later["grade"] == "BB" and [r["text_en"] for r in later["reasons"]] == ["Tax arrears: 2"]
    assert "reasons" not in subject_cards(snap, [ids["rated"]], users.role(users.PUBLIC), as_of=dt.date(2025, 5, 1))[0]
    # a file of reasons not row beside row with the history is refused, not misread
    mixed = pd.concat([versions.iloc[:1].assign(subject_id=ids["registered"]), versions.iloc[1:]])
    mixed[["subject_id", "as_of", "reason_1"]].sort_values("subject_id").to_parquet(snap.path / snapshot.HISTORY_REASONS,
                                                                                   row_group_size=1)
    snapshot.forget_cached_tables()
    with pytest.raises(ValueError, match="row beside row"):
        subject_cards(snap, [ids["rated"]], lender, as_of=dt.date(2025, 5, 1))
    # what a worker reads into memory for cards holds no history: a replay reads it from disk
    from chengxin.readmodel import warm_cards

    warm_cards(snap)
    assert rows.ready([snap.path / "ratings.parquet"]) and not rows.ready([snap.path / "history.parquet"])


def test_every_declared_code_of_a_record_has_words_and_records_read_as_words():
    """Each coded value a source declares is said in words in both languages (industries and
    counties by name; tax grades are letters already); a look-up's records show no store column,
    no `None`, dates as dates."""
    import pandas as pd

    from chengxin import config, i18n, readmodel

    for src in config.sources():
        for col in src.columns:
            if col.values and col.name not in ("industry", "tax_credit_grade"):
                for v in col.values:
                    assert i18n.record_value(col.name, v, "zh") != v and i18n.record_value(col.name, v, "en"), (src.name, col.name, v)
    src = next(s for s in config.sources() if any(c.name == "event_type" and "annual_report" in (c.values or []) for c in s.columns))
    dated = next(c.name for c in src.columns if c.type == "date")
    frame = pd.DataFrame({"subject_id": ["x"], "event_type": ["annual_report"], dated: [pd.Timestamp("2025-06-23")],
                          "_case": [None], "received_date": [pd.Timestamp("2025-06-30")], "note": [None]})
    shown = readmodel.readable_records(frame, src.name, "zh")
    assert "_case" not in shown and "subject_id" not in shown
    assert shown["event_type"].iloc[0] == "年度报告公示" and shown[dated].iloc[0] == "2025-06-23"
    assert shown["received_date"].iloc[0] == "2025-06-30" and shown["note"].iloc[0] == ""
    assert readmodel.readable_records(frame, src.name, "en")["event_type"].iloc[0] == "annual report"
