"""The subject's rights as cases: objections, credit-repair applications and reviews of automated
grades, on the legal clocks of `chengxin.clocks`, kept in the shared state (`state.CASES`, every
step in `state.CASE_EVENTS`).

A case is filed against a subject, and for an objection or a repair against one stored record
(``SOURCE:NATURAL_KEY``: the source's key columns other than the subject, joined by ``/``). A
record under objection is flagged at once wherever it is shown (`under_objection`). A decision
is taken by whom configuration says (roles.yaml `cases`, the record's providing department:
谁产生、谁负责) and, when it changes a record, writes a new version of it in the record store
with provenance ``case:<number>`` (`chengxin.loading.write_decision`); the subject is then
re-rated at once (`chengxin.flows.rerate`). Nothing is deleted: a case keeps who decided,
for whom, when and why.

The package splits the work by job: `kinds` (what a case may be decided as, its errors, the
rules of cases.yaml), `actors` (who acts, and what each may file, see and decide), `records`
(the ``SOURCE:NATURAL_KEY`` grammar and finding the record a case is about), `eligible` (when a
case may be filed, and when a repair may be granted), `filing`, `queries` (listing and showing
cases), `decisions` (deciding, extending, a case's history), `flags` (what is under objection:
reads only, what the read model asks) and `notices` (telling every reader and the watchlists'
feed that a case changed). Every name other code uses is here.
"""

from __future__ import annotations

from chengxin.desks.cases.actors import COUNTER, Actor, actor, visible_to
from chengxin.desks.cases.decisions import _effect  # patched here by tests: `decide` looks it up on the package
from chengxin.desks.cases.decisions import DECISIONS_LOCK, decide, parse_sets, record_event, rerates
from chengxin.desks.cases.eligible import eligibility
from chengxin.desks.cases.filing import file
from chengxin.desks.cases.flags import under_objection
from chengxin.desks.cases.kinds import (CHANGES_RECORD, DECISIONS, FLAG, UPHELD, Conflict, NotAllowed, UnknownCase,
                                  rules)
from chengxin.desks.cases.queries import list_cases, show, upheld_by_department
from chengxin.desks.cases.records import KEY_SEPARATOR, find_record, parse_record, provider, record_ref

__all__ = ["CHANGES_RECORD", "COUNTER", "DECISIONS", "DECISIONS_LOCK", "FLAG", "KEY_SEPARATOR", "UPHELD", "Actor",
           "Conflict", "NotAllowed", "UnknownCase", "actor", "decide", "eligibility", "file", "find_record",
           "list_cases", "parse_record", "parse_sets", "provider", "record_event", "record_ref", "rerates", "rules",
           "show", "under_objection", "upheld_by_department", "visible_to"]
