"""A credit report's verification by number and code."""

# no `from __future__ import annotations`: FastAPI reads these annotations at run time
from typing import Literal

from pydantic import Field

from chengxin.api.shapes.common import Answer, ReportFormat, ReportKind


class Verification(Answer):
    """What the platform issued under this number and code."""
    authentic: Literal[True] = Field(description="the platform issued this report (an unknown or altered one is a 404)")
    number: str = Field(description="the report's number")
    kind: ReportKind = Field(description="the kind of report")
    as_of: str = Field(description="the date its content is as of")
    issued_at: str = Field(description="when it was issued")
    format: ReportFormat = Field(description="the file's format")
    file_sha256: str = Field(description="the SHA-256 of the file issued: compare it with yours")
    subject: str = Field(description="the subject's id (an individual's masked)")
