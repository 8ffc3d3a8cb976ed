"""Credit reports: the public credit information report (`public`), the report in place of
no-violation certificates (`certificate`) and the lender's report (`lender`), as PDF (Typst, with
an embedded CJK font) or HTML, each numbered, signed and recorded so that anyone can verify it.

A report is assembled from the read model only (the published snapshot: the card, the records
kept there, the lists, coverage and the stored explanations; the case desk's open objections;
the audit log for "who looked me up"), as plain content (`content`): the same subject, kind
and as-of date give the same content. Issuing (`issue`) adds the number, the time, a
verification code (an HMAC, keyed by the workspace's report key, over the content's digest)
and its QR code, renders it and records it (`state.REPORTS`) with the file's digest:
`verify_file` finds a file by that digest, so one changed byte makes it "altered or unknown".

One module per job; callers use the names below, from `chengxin.reports`:

- `settings`: the kinds, formats and titles, and what reports.yaml declares
- `policy`: who may have which report (the reader, the checks, a person's free reports)
- `sections`: what each kind says (`content`), section by section, from the read model
- `charts`: the lender's charts (matplotlib, as SVG)
- `signing`: the number, the digests, the verification code and its key, the QR code
- `rendering`: the PDF (Typst, the fonts, the process's one compiler) and the HTML
- `issuance`: `issue`, content -> render -> sign -> record
- `verification`: a report checked by number and code, or by its file
"""

from __future__ import annotations

from chengxin.reports.sections import content
from chengxin.reports.issuance import Issued, issue
from chengxin.reports.policy import Reader, free_reports_used, reader
from chengxin.reports.rendering import fonts_found
from chengxin.reports.signing import number_example
from chengxin.reports.settings import FORMATS, KINDS, TITLES, Domain, ReportsConfig, reports_config
from chengxin.reports.verification import verify_file, verify_number

__all__ = ["FORMATS", "KINDS", "TITLES", "Domain", "Issued", "Reader", "ReportsConfig", "content", "fonts_found", "number_example",
           "free_reports_used", "issue", "reader", "reports_config", "verify_file", "verify_number"]
