"""Which kind of subject an id is, as the record store's registry says: registration records make
enterprises (`rec_registration`), resident records make individuals (`rec_resident`).

The rule that turns what a registry says into a type is `identifiers.subject_type_of` (a person
is never served as a firm; an id nobody registered is typed by its check characters, the
stricter kind first). The faces that read the published snapshot ask the snapshot's copy of the
registry (`readmodel.subject_types`); what writes (the case desk, a single explanation) asks the
record store here.
"""

from __future__ import annotations

from chengxin import identifiers

REGISTRY_TABLES = {"enterprise": "rec_registration", "individual": "rec_resident"}


def registered_types(subject_id: str, home=None) -> frozenset[str]:
    """The types the record store's current registration and resident records give this id."""
    from chengxin import warehouse

    found = set()
    with warehouse.connect(home, read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for kind, table in REGISTRY_TABLES.items():
            if table in tables and con.execute(f"SELECT count(*) FROM {table} WHERE subject_id = ? AND {warehouse.CURRENT}",
                                               [subject_id]).fetchall()[0][0]:
                found.add(kind)
    return frozenset(found)


def subject(subject_id: str, home=None) -> tuple[str, str, bool]:
    """(the cleaned id, its type, whether the registry knows it); raises `UserError` for an id
    that is neither a credit code nor a resident ID number."""
    sid = identifiers.normalise(subject_id)
    known = registered_types(sid, home)
    return sid, identifiers.subject_type_of(sid, known), bool(known)
