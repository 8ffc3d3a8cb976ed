"""How answers are written: JSON straight from the read model's dicts (`json_response`), and
`LeanRoute`, the hot path's way around FastAPI's per-request machinery."""

from __future__ import annotations

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute



def _compact(value):
    """A JSON value without its null members (what `response_model_exclude_none` does)."""
    kind = type(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            if v is not None:
                out[k] = _compact(v) if type(v) is dict or type(v) is list else v
        return out
    if kind is list:
        return [_compact(v) if type(v) is dict or type(v) is list else v for v in value]
    return value


def json_response(value, status_code: int = 200) -> Response:
    """A JSON answer written directly (orjson), without FastAPI's validation of the response
    against its model: for the look-ups, whose shape the read model fixes and the tests and
    schemathesis check against the OpenAPI document."""
    return Response(orjson.dumps(_compact(value)), status_code=status_code, media_type="application/json")


def served_by(serve):
    """Marks an endpoint to be served by `serve(request) -> Response` when it is added as a
    `LeanRoute`: `@served_by(serve_lookup)` above the endpoint."""
    def mark(endpoint):
        endpoint.lean_serve = serve
        return endpoint
    return mark


class LeanRoute(APIRoute):
    """A route documented from its declared endpoint (parameters, responses: the OpenAPI
    document and schemathesis read them) but served by the endpoint's `lean_serve(request) ->
    Response` (`served_by`), which reads the same parameters itself and calls the same endpoint,
    without FastAPI's per-request dependency solving. For the one hot path, the look-up, whose
    answer costs tens of microseconds: FastAPI's machinery would otherwise be most of its time.
    Errors raised in `lean_serve` reach the app's exception handlers as any route's do. An app
    made with `create_app(lean_lookup=False)` serves it through FastAPI's own handling instead
    (the tests compare the two)."""

    def __init__(self, path: str, endpoint, **kwargs):
        super().__init__(path, endpoint, **kwargs)
        standard = self.app

        async def app(scope, receive, send):
            if not scope["app"].state.lean_routes:
                return await standard(scope, receive, send)
            response = await endpoint.lean_serve(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app
