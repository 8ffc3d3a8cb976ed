"""What each kind of case may be decided as, which decisions change a record or uphold an
objection, the flag a record under objection carries, the errors a case raises, and the rules
of cases.yaml (`chengxin.clocks.cases_config`) every other module of `chengxin.desks.cases` reads.
"""

from __future__ import annotations

from chengxin import clocks
from chengxin.workspace import UserError

# What each kind of case may be decided as. `changes_record`: the decisions that write a new
# version of the record (or a new record) and so re-rate the subject.
DECISIONS = {
    "objection": ("correct", "delete", "add", "stop_publishing", "remove_from_list", "reject"),
    "repair": ("approve", "reject"),
    "review": ("confirm", "override"),
}
CHANGES_RECORD = {"correct": None, "delete": "deleted", "add": None, "stop_publishing": "unpublished",
                  "remove_from_list": "unpublished", "approve": None}
UPHELD = ("correct", "delete", "add", "stop_publishing", "remove_from_list")  # an objection the office agreed with
FLAG = {"zh": "异议处理中", "en": "under objection"}


class NotAllowed(UserError):
    """The user's role or department may not do this with the case."""


class Conflict(UserError):
    """The case is closed, or the record already has an open case."""


class UnknownCase(UserError):
    """No such case (or none this viewer may see)."""


rules = clocks.cases_config  # the clocks, who provides a record, what may be repaired (cases.yaml)
