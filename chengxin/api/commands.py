"""The commands of the credit services: `chengxin serve` and `chengxin keys issue|list|revoke`
(registered on the one CLI in `chengxin/cli/`)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from chengxin.terminal import console

from chengxin import workspace
from chengxin.terminal import JsonFlag, emit_json, err, report, table

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the institutions: issue, list, revoke.")


@keys_app.command("issue")
def keys_issue(
    institution: Annotated[str, typer.Option(help="The institution the key is for, e.g. 'Demo Bank credit desk'.")],
    role: Annotated[str, typer.Option(help="lender | agency | department | analyst | admin (chengxin/conf/roles.yaml).")],
    rate: Annotated[Optional[int], typer.Option(min=1, help="Requests per minute (a batch counts its ids).")] = None,
    as_json: JsonFlag = False,
):
    """Issue a key and print it once: only its hash is stored."""
    from chengxin.desks import institutions

    result = institutions.issue(institution, role, rate)
    report(result, as_json, f"key {result['key_id']} for {result['institution']} ({result['role']}, "
                            f"{result['rate_per_minute']}/min):\n{result['key']}\nIt is shown this once; keep it secret.")


@keys_app.command("list")
def keys_list(as_json: JsonFlag = False):
    """The keys issued (never the keys themselves)."""
    from chengxin.desks import institutions

    rows = institutions.listed().to_dict("records")
    if as_json:
        emit_json({"keys": rows})
        return
    console().print(table("API keys", rows))


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (`chengxin keys list`).")], as_json: JsonFlag = False):
    """Revoke a key: every worker refuses it within seconds."""
    from chengxin.desks import institutions

    result = institutions.revoke(key_id)
    report(result, as_json, f"key {key_id} of {result['institution']} revoked")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (default this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (they share keys, quotas and the log).")] = 1,
):
    """Serve the credit services API (FastAPI on uvicorn) from the last published snapshot.
    Forwarded headers are believed only from the proxies settings.yaml `api.trusted_proxies` names."""
    from chengxin import config

    env = dict(os.environ, CHENGXIN_HOME=str(workspace.home()))
    env.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn would read it: only settings.yaml names trusted proxies
    proxies = config.settings().api.trusted_proxies
    err.print(f"chengxin API on http://{host}:{port} (docs http://{host}:{port}/docs; Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    cmd = [sys.executable, "-m", "uvicorn", "chengxin.api.server:app_from_environment", "--factory", "--host", host,
           "--port", str(port), "--workers", str(workers), "--no-server-header", "--log-level", "warning",
           *(["--proxy-headers", "--forwarded-allow-ips", ",".join(proxies)] if proxies else ["--no-proxy-headers"])]
    os.execve(sys.executable, cmd, env)  # become the server: nothing left behind when stopped
