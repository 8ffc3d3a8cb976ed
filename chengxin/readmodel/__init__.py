"""The read model: the one way to read what the platform has published.

Every face (the dashboard's pages, the CLI's look-ups, and the API, case desk and reports to
come) reads through these modules, and the role policy (`chengxin.users`) is applied here, not in
the face: a page or an endpoint cannot forget it.

- `explanation`: one subject's rating explained (reasons, contributions, repair path).

Where each stored thing lives is `chengxin.catalog`; building the dashboard's snapshot is the
stage `pipelines/snapshot.py`.
"""
