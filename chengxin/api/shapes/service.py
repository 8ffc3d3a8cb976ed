"""The service itself: its health and a constant ping."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin.api.shapes.common import Answer


class Health(Answer):
    """The server is up, and what it answers from."""
    status: Literal["ok"] = Field(description="ok")
    snapshot: str = Field(description="the published snapshot this server answers from")
    created: str | None = Field(description="when that snapshot was published")
    as_of: dict[str, str | None] = Field(description="per subject type: the rating date it holds")


class Pong(Answer):
    """A constant answer."""
    pong: Literal[True] = Field(description="always true")
