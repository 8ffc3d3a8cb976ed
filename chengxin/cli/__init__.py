"""`chengxin`: one command line for the platform. Commands are thin: they call library functions.

With ``--json`` a command prints exactly one JSON object on stdout; progress and logs go
to stderr. Errors a user can fix end with a one-line message and a non-zero exit.

One module per group of commands: `data` (generate, ingest, coverage, sources, quarantine),
`features`, `models` (train, promote, score, explain), `warn`, `publish` (publish,
consistency), `cases`, `supervise` (supervise and city inspect), `reports` (report) and `serve` (serve, keys, app, users); `common` holds the
root command and what they share. They are registered here, in one place, because
`chengxin --help` lists the commands in the order they are registered (then the groups, in
theirs): that order is part of the command line scripts and the manual read.
"""

from __future__ import annotations

from chengxin import workspace
from chengxin.cli import cases, data, features, models, publish, reports, serve, supervise, warn
from chengxin.cli.common import app, main

for name, command in [
    ("serve", serve.serve),
    ("generate", data.generate), ("ingest", data.ingest), ("coverage", data.coverage), ("sources", data.sources),
    ("report", reports.report_command),
    ("train", models.train), ("promote", models.promote), ("score", models.score), ("explain", models.explain),
    ("warn", warn.warn),
    ("consistency", publish.consistency),
    ("app", serve.app_command), ("users", serve.users_command),
]:
    app.command(name)(command)

for name, group in [("quarantine", data.quarantine_app), ("publish", publish.publish_app), ("keys", serve.keys_app),
                    ("cases", cases.cases_app), ("features", features.features_app),
                    ("supervise", supervise.supervise_app), ("city", supervise.city_app)]:
    app.add_typer(group, name=name)

__all__ = ["app", "main", "workspace"]
