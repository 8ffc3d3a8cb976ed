"""The red and black lists, a page at a time."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from pydantic import Field

from chengxin.api.shapes.common import ListName, Page, SubjectType
from chengxin.api.shapes.subjects import ListEntry


class ListedSubject(ListEntry):
    """A list entry with the subject it is about (an individual masked where the role masks)."""
    subject_id: str = Field(description="the subject's id as the role may see it")
    subject_type: SubjectType = Field(description="what kind of subject it is")
    name: str | None = Field(None, description="the subject's name as the role may see it")
    county: str | None = Field(None, description="the county's administrative division code")
    county_name: str | None = Field(None, description="the county's name")
    records: int | None = Field(None, description="how many records the entry rests on")


class ListPage(Page):
    """A page of the red or black list."""
    snapshot: str = Field(description="the published snapshot the entries were read from")
    entries: list[ListedSubject] = Field(description="this page's entries, by start date")
    list: ListName = Field(description="the list the entries are on")  # after `entries`: it shadows `list` below it
