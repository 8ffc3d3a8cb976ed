"""What kind of subject an id is, as the published snapshot's registry says: every face (look-up,
batch, explanation, report, credit check, watchlist, dashboard search) asks here, never a
checksum alone.

The snapshot's `subjects.parquet` is the registry (registration records make enterprises,
resident records make individuals); a listed or rated subject nobody registered is typed as its
list entry or rating says. The rule that turns that into one type is
`identifiers.subject_type_of`: a person is never served as a firm, and an id no table knows is
typed by its check characters, the stricter kind (individual) first.
"""

from __future__ import annotations

from chengxin import identifiers, workspace
from chengxin.readmodel.snapshot import Snapshot
from chengxin.readmodel.rows import records_of
from chengxin.readmodel import snapshot as layout

class InvalidSubjectId(workspace.UserError):
    """Neither a unified social credit code nor a resident ID number."""


# where a snapshot says what a subject is, the registry first
TYPED_TABLES = (layout.SUBJECT_INFO, layout.LISTS, layout.RATINGS)


def subject_types(snap: Snapshot | None, subject_ids) -> dict[str, str]:
    """Each of these cleaned ids (`identifiers.normalise`) -> its type; an id that is neither a
    credit code nor a resident ID number is left out. Microseconds per id (binary searches in
    tables the API keeps in memory)."""
    wanted = list(dict.fromkeys(subject_ids))
    seen: dict[str, set[str]] = {}
    if snap is not None and wanted:
        left = wanted
        for table in TYPED_TABLES:
            if not left:
                break
            for row in records_of(snap.file(table), left, ["subject_id", "subject_type"]):
                if row.get("subject_type"):
                    seen.setdefault(row["subject_id"], set()).add(row["subject_type"])
            left = [s for s in left if s not in seen]
    out = {}
    for sid in wanted:
        try:
            out[sid] = identifiers.subject_type_of(sid, frozenset(seen.get(sid, ())))
        except workspace.UserError:
            continue
    return out


def subject_type(snap: Snapshot | None, subject_id: str) -> tuple[str, str]:
    """(the cleaned id, its type) of one raw id; `InvalidSubjectId` when it is not a subject id."""
    try:
        sid = identifiers.normalise(subject_id)
    except workspace.UserError as exc:
        raise InvalidSubjectId(str(exc)) from None
    kind = subject_types(snap, [sid]).get(sid)
    if kind is None:
        raise InvalidSubjectId(f"{sid!r} is neither a unified social credit code nor a resident ID number")
    return sid, kind
