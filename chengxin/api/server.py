"""The credit services API on FastAPI: the app, put together from its parts.

Every request reads the snapshot current when it starts (`readmodel.current`) and nothing else,
so an answer comes from one snapshot even while a new one is published, and the next request
sees the new one. Run it with `chengxin serve` (uvicorn; `create_app` is its factory). Where the
rest lives: `routes/` (one router per resource), `access` (key, role, scope and quota: one
dependency per route), `shapes` (requests and answers), `problems` (errors, and what each
exception answers), `middleware` (the body limit and the call log), `answers` (JSON, `LeanRoute`).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from chengxin import config, readmodel
from chengxin.desks import institutions
from chengxin.api import problems
from chengxin.api.middleware import RequestLimits, CallRecorder
from chengxin.api.routes import ROUTERS, TAGS


def create_app(home=None, *, lean_lookup: bool = True) -> FastAPI:
    """The API over the workspace `home` (default `$CHENGXIN_HOME`). `lean_lookup`: serve the
    look-up through `LeanRoute` (False: through FastAPI's own handling, which the tests compare it with)."""
    home = home or os.environ.get("CHENGXIN_HOME") or None
    log = institutions.CallLog(home)
    # replays read past reasons from the snapshot's files: one thread for that, since every thread
    # that decodes Parquet keeps its own allocator heap (40 of them took a worker 400 MB further)
    disk = ThreadPoolExecutor(1, thread_name_prefix="chengxin-disk")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        log.start()
        snap = readmodel.current(home)
        if snap is not None:  # read the tables while the first clients connect, not after they ask
            threading.Thread(target=readmodel.warm_cards, args=(snap,), name="chengxin-warm", daemon=True).start()
        yield
        log.stop()
        disk.shutdown(wait=False)

    app = FastAPIOffline(title="chengxin credit services", version="1",
                         description="Ratings, lists and criteria of the city's public credit platform for lenders, "
                                     "credit agencies and departments. Keys: `chengxin keys issue`; send "
                                     "`Authorization: Bearer <key>`. Errors are RFC 9457 problem details.",
                         lifespan=lifespan, redirect_slashes=False,
                         openapi_tags=TAGS)  # never a redirect
    # built from the caller's Host header: a path with a trailing slash is answered 404
    app.state.home, app.state.disk, app.state.lean_routes = home, disk, lean_lookup
    problems.install(app)
    problems.document(app)
    app.add_middleware(CallRecorder, log=log)
    app.add_middleware(RequestLimits, limit=config.settings(home).api.max_body_bytes)  # outermost: before anything reads
    for router in ROUTERS:  # route by route: see `ROUTERS`
        app.router.routes.extend(router.routes)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call (`chengxin serve`): the workspace from `CHENGXIN_HOME`."""
    return create_app()
