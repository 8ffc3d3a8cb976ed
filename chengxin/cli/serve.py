"""The servers: `serve` and `keys issue|list|revoke` (the credit services API, whose commands live
in `chengxin.api.commands`), `app` (the dashboard) and `users` (who may sign in to it)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from chengxin import workspace
from chengxin.api.commands import keys_app, serve
from chengxin.terminal import JsonFlag, emit_json, err
from chengxin.workspace import UserError

__all__ = ["app_command", "keys_app", "serve", "users_command"]


def app_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (default this machine only).")] = "127.0.0.1",
    refresh: Annotated[bool, typer.Option("--refresh/--no-refresh", help="Refresh the dashboard's data snapshot before starting.")] = True,
):
    """Start the dashboard (Streamlit, headless, no telemetry) on the last published snapshot."""
    import os

    from chengxin import dashboard
    from chengxin.pipelines import snapshot

    if refresh:
        try:
            result = snapshot.refresh()
            err.print(f"dashboard snapshot {result['snapshot']} ({'new' if result['new'] else 'unchanged'})")
        except UserError as exc:  # nothing rated yet, or the warehouse is being written: serve what there is
            err.print(f"dashboard snapshot not refreshed: {exc}")
    env = dict(os.environ, CHENGXIN_HOME=str(workspace.home()), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    cmd = [sys.executable, "-m", "streamlit", "run", str(dashboard.app_path()), *dashboard.streamlit_flags(port, address)]
    err.print(f"chengxin dashboard on http://{address}:{port} (Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    # become the server (no child left behind when this process is stopped or killed)
    os.execve(sys.executable, cmd, env)


def users_command(as_json: JsonFlag = False):
    """The dashboard's demo sign-ins: user, password, role and the page it lands on."""
    from chengxin.terminal import console

    from chengxin import users
    from chengxin.terminal import table

    found = users.sign_ins()
    if as_json:
        emit_json({"sign_ins": found})
        return
    rows = [{"user": f["user"], "password": f["password"], "role": f"{f['role_zh']} {f['role_en']}",
             "lands on": f"{f['lands_on'][0]} {f['lands_on'][1]}", "who": f["who"]} for f in found]
    console().print(table("demo sign-ins (dashboard)", rows) if rows else
                                                   "no demo users: the users of $CHENGXIN_HOME/users.yaml sign in")
