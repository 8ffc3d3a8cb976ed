"""Chinese identifiers: unified social credit codes (GB 32100-2015), organisation codes
(GB 11714) and resident ID numbers (GB 11643-1999).

Validation uses ``python-stdnum`` for the check characters; a column of codes is
validated once per distinct value, not once per row.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

from stdnum.cn import ric, uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_DIGITS = frozenset("0123456789")
_RESIDENT_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
ID_MAX_LENGTH = 64  # no subject id is longer; what a caller sends beyond it is refused (or echoed cut to it)
_ID_CHARACTERS = re.compile(rf"[0-9A-Z]{{1,{ID_MAX_LENGTH}}}", re.ASCII)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def org_code_check(body: str) -> str:
    """Check character of an 8-character organisation code body (GB 11714)."""
    total = sum(_ORG_VALUES[c] * w for c, w in zip(body, ORG_WEIGHTS))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(authority: str, entity_type: str, division: str, org_body: str) -> str:
    """Assemble a valid unified social credit code from its parts."""
    head = authority + entity_type + division + org_body + org_code_check(org_body)
    return head + uscc.calc_check_digit(head)


def make_resident_id(division: str, birth: dt.date, sequence: int) -> str:
    head = f"{division}{birth:%Y%m%d}{sequence:03d}"
    return head + ric.calc_check_digit(head + "0")


# --- validation ----------------------------------------------------------------------
# A validation result is a short status plus, for failures, a reason a person understands.

VALID = "valid"
CHECK_FAILED = "check_failed"  # right shape, wrong check character: review, do not reject
INVALID = "invalid"  # wrong length or characters: reject
OLD_REGNO = "old_regno"  # a 15-digit registration number


@functools.lru_cache(maxsize=65_536)
def check_uscc(code: str) -> tuple[str, str]:
    if len(code) == 15 and set(code) <= _DIGITS:
        return OLD_REGNO, "old 15-digit registration number"
    if len(code) != 18:
        return INVALID, f"unified social credit code must have 18 characters, has {len(code)}"
    bad = sorted({c for c in code[8:] if c not in USCC_ALPHABET} | {c for c in code[:8] if c not in _DIGITS})
    if bad:
        return INVALID, f"unified social credit code contains characters not allowed: {''.join(bad)}"
    expected = uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        return CHECK_FAILED, f"check character is {code[17]}, expected {expected} (mistyped, or a pilot-region code)"
    return VALID, ""


@functools.lru_cache(maxsize=65_536)
def check_resident_id(code: str) -> tuple[str, str]:
    if len(code) != 18:
        return INVALID, f"resident ID number must have 18 characters, has {len(code)}"
    if not _RESIDENT_SHAPE.fullmatch(code):  # ASCII digits only: str.isdigit() also takes ٣ and ³
        return INVALID, "resident ID number must be 17 digits and a digit or X"
    try:
        dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return INVALID, f"resident ID number has no valid birth date ({code[6:14]})"
    expected = ric.calc_check_digit(code)
    if code[17] != expected:
        return INVALID, f"resident ID check character is {code[17]}, expected {expected}"
    return VALID, ""


CHECKERS = {"enterprise": check_uscc, "individual": check_resident_id}
# the stricter policy first: an id valid both ways that the registry does not know is a person's
STRICTER_FIRST = ("individual", "enterprise")


def normalise(raw) -> str:
    """A subject id as the platform keeps it: what Unicode folds folded (NFKC: full-width digits
    and letters, as ingestion folds them), white space trimmed, upper case. An id that still holds
    anything but ASCII letters and digits (Arabic-Indic or other digits, punctuation) is the
    user's error: nothing else reaches a checksum or a table."""
    from chengxin.workspace import UserError

    text = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    if not _ID_CHARACTERS.fullmatch(text):
        raise UserError(f"{str(raw)[:40]!r} is neither a unified social credit code nor a resident ID number "
                        "(ASCII letters and digits only)")
    return text


def normalised_or_none(raw) -> str | None:
    """`normalise(raw)`, or None when `raw` cannot be a subject id (a batch answers it with its
    own 400 and goes on)."""
    from chengxin.workspace import UserError

    try:
        return normalise(raw)
    except UserError:
        return None


@functools.lru_cache(maxsize=4096)  # a look-up asks more than once; an invalid id raises, never kept
def subject_type_of(subject_id: str, registered: frozenset[str] = frozenset()) -> str:
    """The kind of subject an id is. A subject's type is a fact of the registry: `registered` holds
    the types the registry has for the id (registration records make enterprises, resident
    records make individuals), and a person is never served as a firm (individual wins). An id
    the registry does not know is typed by its check characters, the stricter kind first: a valid
    resident ID number is an individual even when it also passes the credit-code check (about 1
    in 31 do). Anything else is the user's error. Callers pass what their registry says
    (`readmodel.subject_types`, `chengxin.registry`)."""
    from chengxin.workspace import UserError

    for kind in STRICTER_FIRST:
        if kind in registered:
            return kind
    for kind in STRICTER_FIRST:
        if CHECKERS[kind](subject_id)[0] == VALID:
            return kind
    raise UserError(f"{subject_id!r} is neither a unified social credit code nor a resident ID number")


def mask_resident_id(code: str) -> str:
    """610302********123X: division code and the last four characters only."""
    if not isinstance(code, str) or len(code) < 10:
        return "****"
    return code[:6] + "*" * (len(code) - 10) + code[-4:]


def mask_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)
