import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin import identifiers as ids
from chengxin.identifiers import USCC_ALPHABET


def test_generated_codes_are_valid(small_city):
    out, _ = small_city
    subjects = pd.read_csv(out / "_truth" / "subjects.csv", dtype=str)
    for code, kind in zip(subjects["subject_id"], subjects["subject_type"]):
        assert ids.CHECKERS[kind](code)[0] == ids.VALID, code
    assert subjects["subject_id"].is_unique


def test_known_code_from_the_standard():
    # The example printed in GB 32100-2015 and widely quoted.
    assert ids.check_uscc("91350100M000100Y43")[0] == ids.VALID
    assert ids.check_resident_id("11010519491231002X")[0] == ids.VALID


def _sample_codes(small_city, kind, n=25):
    subjects = pd.read_csv(small_city[0] / "_truth" / "subjects.csv", dtype=str)
    return subjects.loc[subjects["subject_type"] == kind, "subject_id"].head(n).tolist()


@pytest.mark.parametrize("kind, alphabet", [("enterprise", USCC_ALPHABET), ("individual", "0123456789X")])
def test_every_single_substitution_is_caught(small_city, kind, alphabet):
    checker = ids.CHECKERS[kind]
    for code in _sample_codes(small_city, kind):
        for pos in range(18):
            for ch in alphabet:
                if ch == code[pos]:
                    continue
                typo = code[:pos] + ch + code[pos + 1 :]
                assert checker(typo)[0] != ids.VALID, (code, typo)


def test_check_failure_is_review_not_reject_for_enterprises():
    good = ids.make_uscc("9", "1", "610302", "12345678")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    status, reason = ids.check_uscc(bad)
    assert status == ids.CHECK_FAILED and "expected" in reason
    assert ids.check_uscc("123")[0] == ids.INVALID
    assert ids.check_uscc("9161030212345678IO")[0] == ids.INVALID  # I and O are not in the alphabet
    assert ids.check_uscc("610302123456789")[0] == ids.OLD_REGNO


def test_organisation_code_check_matches_the_standard():
    # The organisation code inside the standard's example code 91350100M000100Y43 is M000100Y-4.
    assert ids.org_code_check("M000100Y") == "4"
    code = ids.make_uscc("9", "1", "350100", "M000100Y")
    assert code == "91350100M000100Y43"


def test_resident_id_rejects_impossible_birth_date():
    head = "61030219990231001"
    code = head + ids.ric.calc_check_digit(head + "0")
    assert ids.check_resident_id(code)[0] == ids.INVALID


def test_masking():
    assert ids.mask_resident_id("61030219800101123X") == "610302********123X"
    assert ids.mask_name("王小明") == "王**"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=25))
def test_checkers_never_crash(text):
    for checker in ids.CHECKERS.values():
        status, reason = checker(text.upper())
        assert status in (ids.VALID, ids.CHECK_FAILED, ids.INVALID, ids.OLD_REGNO)
        assert status == ids.VALID or reason


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2010, 12, 31)), st.integers(0, 999))
def test_made_resident_ids_validate(birth, seq):
    assert ids.check_resident_id(ids.make_resident_id("610302", birth, seq))[0] == ids.VALID
