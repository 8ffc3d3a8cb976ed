"""The API's two ASGI middlewares, plain so they add next to nothing to a request: the body limit
(outermost) and the call log's recorder, with what an endpoint tells the recorder about its call
(`on_record`, `on_looked_up`)."""

from __future__ import annotations

import time

from fastapi import Request

from chengxin import users
from chengxin.desks import institutions
from chengxin.api.problems import Problem, respond


def on_record(request: Request, subjects: list[str], purpose: str | None = None,
              authorization_ref: str | None = None) -> None:
    """What the call log keeps of this call beyond its endpoint and status (`CallRecorder`)."""
    request.state.subjects, request.state.purpose, request.state.authorization_ref = subjects, purpose, authorization_ref


def on_looked_up(request: Request, cards: list[dict]) -> None:
    """The enterprises this call answered, for the audit log (`CallLog`: written with the call,
    after the answer; individuals were audited before it). Only institutions' keys count: the
    public's look-ups are no institution's."""
    caller = request.state.caller
    if caller.key is not None:
        request.state.looked_up = [c["subject_id"] for c in cards
                                   if c.get("status", 200) == 200 and c.get("subject_type") == "enterprise"]


class BodyTooLarge(Exception):
    pass


class RequestLimits:
    """Refuses a request body over `limit` bytes with 413: at once when its Content-Length says
    so (before anything is read, before the key is looked at), else as soon as the bytes
    received pass it. And a path with an encoded slash (`%2F`) is no resource (404): no path
    parameter of this API holds a slash, and decoded it would make the path another route's
    (`/v1/cases/1%2Fdecision`). Plain ASGI, outermost."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if b"%2f" in scope.get("raw_path", b"").lower():
            response = respond(Problem("not-found", path=scope["path"]), Request(scope))
            return await response(scope, receive, send)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(scope, send)
        received, over, answered = 0, [False], [False]

        async def receiving():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over[0] = True
                    raise BodyTooLarge
            return message

        async def sending(message):
            if over[0]:  # whatever the app made of the cut body (a 400), the answer is the 413
                if message["type"] == "http.response.start" and not answered[0]:
                    answered[0] = True
                    await self._refuse(scope, send)
                return
            answered[0] = answered[0] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except BodyTooLarge:
            pass
        if over[0] and not answered[0]:
            await self._refuse(scope, send)

    async def _refuse(self, scope, send):
        response = respond(Problem("body-too-large", limit=f"{self.limit:,}"), Request(scope))
        response.headers["Connection"] = "close"
        await response(scope, _nothing, send)


async def _nothing():
    return {"type": "http.disconnect"}


class CallRecorder:
    """Logs every call to /v1/ (key, role, endpoint, subjects, purpose, status, time) in the call
    log: plain ASGI, so it adds next to nothing to a request. Endpoints put the subjects and the
    purpose in `request.state`, which is the scope's "state"."""

    def __init__(self, app, log: institutions.CallLog):
        self.app, self.log = app, log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        scope.setdefault("state", {})
        try:
            await self.app(scope, receive, sending)
        finally:
            st = scope["state"]
            caller = st.get("caller")
            self.log.add(key=caller.key if caller else None, role=caller.role.name if caller else users.PUBLIC,
                         method=scope["method"], endpoint=getattr(scope.get("route"), "path", scope["path"]),
                         subjects=st.get("subjects"), purpose=st.get("purpose"),
                         authorization_ref=st.get("authorization_ref"), status=status[0],
                         ms=(time.perf_counter() - started) * 1000, looked_up=st.get("looked_up"))

