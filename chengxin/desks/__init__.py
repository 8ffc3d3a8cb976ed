"""The write side: the desks where people and institutions change the shared state
(`chengxin.state`), each over its own tables. The read side (`chengxin.readmodel`) reads those
tables and imports none of these modules' writers (`tests/house/test_architecture.py`).

- `cases`: objections, repairs and reviews on their legal clocks (a decision that changes a
  record is re-rated by the flow `chengxin.flows.rerate`)
- `alerts`: the warn stage's alerts stored, and an analyst acknowledging or closing one
- `comments`: the public's comments on the criteria put to comment
- `checks`: credit checks stored before they are answered, and departments' feedback
- `institutions`: institutions' API keys, their quotas and the call log
- `watchlists`: institutions' watchlists, and the change feed a publication records
- `signins`: sign-ins to the dashboard, which the lockout counts

The audit log is not a desk: it is what a read writes (`chengxin.audit`).
"""
