"""The credit services API on FastAPI: routes, who the caller is, quotas and the call log.

Every request reads the snapshot current when it starts (`readmodel.current`) and nothing else,
so an answer comes from one snapshot even while a new one is published, and the next request
sees the new one. Run it with `chengxin serve` (uvicorn; `create_app` is its factory).
"""

# no `from __future__ import annotations`: FastAPI reads the routes' annotations at run time,
# and some name objects local to `create_app`
import asyncio
import datetime as dt
import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chengxin import changes, config, identifiers, institutions, readmodel, state, users, workspace
from chengxin.api.problems import Problem, respond, schema
from chengxin.users import Role

BATCH_LIMIT = 10_000
# what each scope of `users.API_SCOPES` lets a caller do, for the 403's detail (English, Chinese)
SCOPE_WORDS = {"subjects": ("look up subjects", "查询主体"), "batch": ("look up subjects in batches", "批量查询"),
               "explanation": ("read explanations", "查看评分解释"), "lists": ("read the lists", "查看红黑名单"),
               "criteria": ("read the criteria", "查看评价标准"), "watchlist": ("keep a watchlist", "使用关注名单"),
               "checks": ("run credit checks", "进行信用核查"), "cases": ("handle cases", "办理异议、修复和复核案件")}
ERRORS = {code: schema() for code in (400, 401, 403, 404, 409, 413, 429, 503)}


class Caller:
    """Who is calling: a stored key and its role, or the public (no key)."""

    def __init__(self, key: institutions.Key | None, role: Role, address: str | None = None):
        self.key, self.role, self.address = key, role, address

    @property
    def quota(self) -> institutions.Key | None:
        """What this call counts against: its key's quota, or without a key the public's per
        client address (`api_rate_per_minute` of the role in roles.yaml)."""
        if self.key is not None:
            return self.key
        rate = self.role.api_rate_per_minute
        return institutions.address_quota(self.address, rate) if rate and self.address else None

    @property
    def report_quota(self) -> institutions.Key | None:
        """Reports without a key also count against their own, lower quota per client address
        (`report_rate_per_minute` of the role in roles.yaml)."""
        rate = self.role.report_rate_per_minute
        return institutions.address_quota("report:" + self.address, rate) if self.key is None and rate and self.address else None

    @property
    def user(self) -> str:
        return f"api:{self.key['key_id']}" if self.key else "api:public"

    def may(self, scope: str) -> None:
        if scope not in self.role.api:
            if self.key is None:
                raise Problem("unauthorized")
            what_en, what_zh = SCOPE_WORDS[scope]
            raise Problem("forbidden", what=what_en, what_zh=what_zh)


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


def invalid(errors: list[dict]) -> Problem:
    """The 400 of a request whose parameters or body do not validate (pydantic's errors)."""
    why = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return Problem("invalid-request", why=why)


class LeanRoute(APIRoute):
    """A route documented from its declared endpoint (parameters, responses: the OpenAPI
    document and schemathesis read them) but served by `serve(request) -> Response`, which
    reads the same parameters itself and calls the same endpoint, without FastAPI's per-request
    dependency solving. For the one hot path, the look-up, whose answer costs tens of
    microseconds: FastAPI's machinery would otherwise be most of its time. Errors raised in
    `serve` reach the app's exception handlers as any route's do.

    Use: `app.router.add_api_route(path, endpoint, route_class_override=functools.partial(LeanRoute, serve=serve), ...)`."""

    def __init__(self, path: str, endpoint, *, serve, **kwargs):
        super().__init__(path, endpoint, **kwargs)

        async def app(scope, receive, send):
            response = await serve(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app


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


# --- response shapes (the OpenAPI document and schemathesis read them) --------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Reason(BaseModel):
    code: str | None = Field(None, description="the indicator of the published criteria; `tier_rule:<rule>`: a direct "
                                               "rule of the criteria forced the tier; `in_default`: a record put the "
                                               "subject in default, which forces tier D and grade D")
    text_zh: str | None = None
    text_en: str | None = None
    points: float | None = Field(None, description="points the subject is short of the indicator's best bin")


class Words(BaseModel):
    zh: str
    en: str


class TierRule(BaseModel):
    """The direct rule of the published criteria that decided the public tier (一票否决)."""
    rule: str = Field(description="the rule's name in the criteria's `direct_tiers`")
    tier: str = Field(description="the tier it forces, whatever the points")
    text: Words = Field(description="what the rule is about")
    basis: Words = Field(description="its legal basis")
    list_rule: str | None = Field(None, description="the list rule whose entry in force triggers it (`/v1/lists`); "
                                                    "none for the rule of subjects in default")


class ListEntry(_Open):
    list: Literal["black", "red"]
    rule: str
    text_zh: str | None = None
    text_en: str | None = None
    start: str | None = None
    ends: str | None = None
    status: str | None = None


class Objection(BaseModel):
    case: int
    record: str = Field(description="SOURCE:NATURAL_KEY of the record, or `rating`")
    since: str
    text_zh: str = "异议处理中"
    text_en: str = "under objection"


class SubjectCard(_Open):
    subject_id: str
    found: bool
    status: int = Field(description="200, or the status this id alone would have had")
    problem: str | None = Field(None, description="why the id was not answered (a problem type's last part)")
    subject_type: config.SubjectType | None = None
    display_id: str | None = None
    name: str | None = None
    county: str | None = None
    industry: str | None = None
    rated: bool | None = None
    as_of: str | None = None
    tier: str | None = None
    tier_rule: TierRule | None = Field(None, description="the direct rule that decided the tier, when one did")
    grade: str | None = None
    pd: float | None = None
    score: float | None = None
    reasons: list[Reason] | None = None
    lists: list[ListEntry] | None = None
    model_version: str | None = None
    criteria_version: str | None = None
    under_objection: list[Objection] | None = Field(None, description="records of the subject under objection "
                                                                       "(异议处理中), flagged the day the objection is filed")
    restated: dict | None = Field(None, description="re-rated after a case decision: its `cause` (case:N) and when")
    grade_override: dict | None = Field(None, description="a grade a person set on review, beside the model's grade")
    notes: list[str] | None = None


class LookupQuery(BaseModel):
    """The query of a look-up: who asks for an individual and on what authority, and the date
    to replay."""
    purpose: str | None = Field(None, max_length=500, description="needed for an individual: why it is looked up")
    authorization_ref: str | None = Field(None, max_length=200, description="needed for an individual: "
                                                                             "the subject's consent reference")
    as_of: dt.date | None = Field(None, description="answer with what was published on or before this date")


SUBJECT_ID_MAX = identifiers.ID_MAX_LENGTH
# case numbers are stored in 64-bit columns: a larger one is no case
CaseNumber = Annotated[int, Path(ge=1, le=state.BIGINT_MAX, description="the case's number")]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1, description=f"at most {BATCH_LIMIT:,} subject ids")
    purpose: str | None = Field(None, max_length=500)
    authorization_ref: str | None = Field(None, max_length=200)


class WatchlistEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, description=f"at most {BATCH_LIMIT:,} ids per call, with remove")
    remove: list[str] = Field(default_factory=list)
    purpose: str | None = Field(None, max_length=500, description="needed to watch an individual")
    authorization_ref: str | None = Field(None, max_length=200, description="needed to watch an individual")


class Change(BaseModel):
    seq: int
    subject_id: str
    subject_type: str | None = None
    kind: str = Field(description=" | ".join(changes.KINDS))
    previous: Any = None
    current: Any = None
    reason: str | None = None
    reason_zh: str | None = None
    as_of: str | None = None
    changed_at: str
    snapshot: str


class ChangeFeed(BaseModel):
    changes: list[Change]
    next_cursor: str = Field(description="pass it as `cursor` in the next poll")
    more: bool = Field(description="more changes wait after next_cursor")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(max_length=SUBJECT_ID_MAX)
    action: str = Field(max_length=40, description="one of the actions of chengxin/conf/measures.yaml")
    purpose: str = Field(min_length=1, max_length=500)
    case_ref: str = Field(min_length=1, max_length=200, description="the decision's case or file number")


class CaseFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["objection", "repair", "review"]
    subject_id: str = Field(max_length=SUBJECT_ID_MAX)
    record: str | None = Field(None, max_length=300, description="SOURCE:NATURAL_KEY of the record (objection, repair)")
    reason: str | None = Field(None, max_length=2000)
    commitment: str | None = Field(None, max_length=2000, description="a repair's credit commitment (信用承诺)")
    filed_on: dt.date | None = Field(None, description="the day it was received (counter or post); default today")


class CaseDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str | None = Field(None, max_length=40, description="objection: correct, delete, add, stop_publishing, "
                                 "remove_from_list, reject; repair: approve, reject; review: confirm, override")
    set: dict[str, str] = Field(default_factory=dict, description="a corrected or added record's values; an override's grade")
    note: str = Field(min_length=1, max_length=4000, description="the reasons, kept with the case")
    extend: bool = Field(False, description="take the case's one extension (the note says why) instead of deciding")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applied: list[str] = Field(default_factory=list, description="codes of the measures applied")
    outcome: str = Field(min_length=1, max_length=200, description="e.g. refused, approved with conditions")
    note: str | None = Field(None, max_length=2000)


class BatchAnswer(BaseModel):
    snapshot: str
    results: list[SubjectCard]


class Health(BaseModel):
    status: str
    snapshot: str
    created: str | None = None
    as_of: dict[str, str | None]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over `limit` bytes with 413: at once when its Content-Length says
    so (before anything is read, before the key is looked at), else as soon as the bytes
    received pass it. Plain ASGI, outermost."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
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


def create_app(home=None, *, lean_lookup: bool = True) -> FastAPI:
    """The API over the workspace `home` (default `$CHENGXIN_HOME`). `lean_lookup`: serve the
    look-up through `LeanRoute` (False: through FastAPI's own handling, which the tests compare it with)."""
    home = home or os.environ.get("CHENGXIN_HOME") or None
    log = institutions.CallLog(home)
    # replays read past reasons from the snapshot's files: one thread for that, since every thread
    # that decodes Parquet keeps its own allocator heap (40 of them took a worker 400 MB further)
    disk = ThreadPoolExecutor(1, thread_name_prefix="chengxin-disk")

    @asynccontextmanager
    async def lifespan(_app):
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
                         lifespan=lifespan, responses=ERRORS, redirect_slashes=False)  # never a redirect
    # built from the caller's Host header: a path with a trailing slash is answered 404

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return respond(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return respond(invalid(exc.errors()), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "invalid-request")
        return respond(Problem(slug, path=request.url.path, method=request.method, why=str(exc.detail)), request)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        return respond(Problem("internal"), request)

    app.add_middleware(CallRecorder, log=log)
    app.add_middleware(BodyLimit, limit=config.settings(home).api.max_body_bytes)  # outermost: before anything reads

    async def caller(request: Request) -> Caller:  # on the event loop: a known key is a dict look-up
        header = request.headers.get("authorization")
        if header is None:
            found = Caller(None, users.role(users.PUBLIC, home), request.client.host if request.client else None)
        else:
            scheme, _, key = header.partition(" ")
            stored = institutions.authenticate(key.strip(), home) if scheme.lower() == "bearer" and key.strip() else None
            if stored is None:
                raise Problem("unauthorized", headers={"WWW-Authenticate": "Bearer"})
            found = Caller(stored, users.role(stored["role"], home))
        request.state.caller = found
        return found

    def refuse_over_quota(quota: institutions.Key, retry: int) -> None:
        if retry:
            raise Problem("quota-exceeded", headers={"Retry-After": str(retry)}, rate=quota["rate_per_minute"], retry=retry)

    def charge(who: Caller, units: int = 1) -> None:
        quota = who.quota
        if quota is not None:
            refuse_over_quota(quota, institutions.take(quota, units, home))

    async def charge_async(who: Caller, units: int = 1) -> None:
        """`charge` on the event loop: from this worker's lease when it holds one, else from the
        database in a worker thread."""
        quota = who.quota
        if quota is not None:
            retry = institutions.take_held(quota, units)
            if retry is None:
                retry = await run_in_threadpool(institutions.take, quota, units, home)
            refuse_over_quota(quota, retry)

    def snapshot():
        snap = readmodel.current(home)
        if snap is None:
            raise Problem("no-snapshot")
        return snap

    async def ready(snap):
        """The snapshot with its tables for cards in memory: a look-up on the event loop then
        takes microseconds. The first after start or after a new snapshot reads them in a worker
        thread (seconds on a city of a million), and the look-ups arriving meanwhile wait for it."""
        if not readmodel.cards_ready(snap):
            await run_in_threadpool(readmodel.warm_cards, snap)
        return snap

    Who = Annotated[Caller, Depends(caller)]

    @app.get("/v1/health", response_model=Health, tags=["service"])
    def health() -> dict:
        """The snapshot this server answers from (no key needed)."""
        snap = snapshot()
        return {"status": "ok", "snapshot": snap.id, "created": snap.manifest.get("created_at"),
                "as_of": {s: str(snap.as_of(s)) if snap.as_of(s) else None for s in readmodel.SUBJECTS}}

    @app.get("/v1/ping", tags=["service"])
    async def ping() -> dict[str, bool]:
        """A constant answer: what the server costs with nothing read (load balancers; the
        benchmark's baseline)."""
        return {"pong": True}

    async def subject(request: Request, who: Who, subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                      query: Annotated[LookupQuery, Query()]) -> Response:
        """One subject as the caller's role may see it; `as_of` answers with what was published
        on or before that date. Individuals: roles that may see them, with `purpose` and
        `authorization_ref`; audited before the answer."""
        who.may("subjects")
        await charge_async(who)
        purpose, authorization_ref, as_of = query.purpose, query.authorization_ref, query.as_of
        on_record(request, [subject_id], purpose, authorization_ref)
        snap = await ready(snapshot())
        read = functools.partial(readmodel.subject_cards, snap, [subject_id], who.role, purpose=purpose,
                                 authorization_ref=authorization_ref, as_of=as_of, user=who.user, home=home)
        # a replay reads past reasons from the snapshot's file (the disk thread), and a look-up of an
        # individual writes the audit log first (a worker thread): neither on the event loop
        if as_of is not None:
            card = (await asyncio.get_running_loop().run_in_executor(disk, read))[0]
        elif readmodel.writes_audit(snap, [subject_id], who.role, purpose, authorization_ref):
            card = (await run_in_threadpool(read))[0]
        else:
            card = read()[0]
        if card["status"] != 200:
            raise Problem(card["problem"])
        if as_of is not None and not card["rated"]:
            raise Problem("not-rated-then", as_of=str(as_of))
        on_looked_up(request, [card])
        return json_response(card)

    EMPTY_LOOKUP = LookupQuery()  # a look-up without a query string

    async def serve_subject(request: Request) -> Response:
        """`subject` with its caller and parameters read as FastAPI would (the key first, then the
        same checks and the same 400s)."""
        who = await caller(request)
        subject_id = request.path_params["subject_id"]
        if len(subject_id) > SUBJECT_ID_MAX:
            raise invalid([{"loc": ("path", "subject_id"), "msg": f"String should have at most {SUBJECT_ID_MAX} characters"}])
        try:
            query = LookupQuery.model_validate(dict(request.query_params)) if request.scope["query_string"] else EMPTY_LOOKUP
        except ValidationError as exc:
            raise invalid([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()])
        return await subject(request, who, subject_id, query)

    app.router.add_api_route("/v1/subjects/{subject_id}", subject, methods=["GET"], response_model=SubjectCard,
                             response_model_exclude_none=True, tags=["subjects"],
                             route_class_override=functools.partial(LeanRoute, serve=serve_subject) if lean_lookup else None)

    @app.post("/v1/subjects:batch", response_model=BatchAnswer, response_model_exclude_none=True, tags=["subjects"])
    def batch(request: Request, who: Who, body: Batch) -> Response:
        """Up to 10,000 subjects in one call, one result per id (found or not), the same policy
        per id; the quota counts the ids."""
        who.may("batch")
        if len(body.ids) > BATCH_LIMIT:
            raise Problem("too-many-ids", limit=f"{BATCH_LIMIT:,}")
        charge(who, len(body.ids))
        on_record(request, body.ids, body.purpose, body.authorization_ref)
        snap = snapshot()
        cards = readmodel.subject_cards(snap, body.ids, who.role, purpose=body.purpose,
                                        authorization_ref=body.authorization_ref, user=who.user, home=home)
        on_looked_up(request, cards)
        return json_response({"snapshot": snap.id, "results": cards})

    @app.get("/v1/subjects/{subject_id}/explanation", tags=["subjects"])
    def explanation(request: Request, who: Who, subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                    purpose: Annotated[str | None, Query(max_length=500)] = None,
                    authorization_ref: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
        """Both models' contributions with their base values, and the credit-repair path."""
        who.may("explanation")
        charge(who)
        on_record(request, [subject_id], purpose, authorization_ref)
        snap = snapshot()
        card = readmodel.subject_cards(snap, [subject_id], who.role, purpose=purpose,
                                       authorization_ref=authorization_ref, user=who.user, home=home)[0]
        if card["status"] != 200:
            raise Problem(card["problem"])
        on_looked_up(request, [card])
        sid, kind = card["subject_id"], card["subject_type"]
        models = readmodel.stored_contributions(snap, kind, sid) if card["rated"] else None
        fix = readmodel.repair(snap, sid, who.role, user=who.user, purpose=purpose) if card["rated"] else None
        notes = [] if models else ["explain_unavailable"]
        return {"subject_id": sid, "subject_type": kind, "as_of": card.get("as_of"),
                "models": {m: {"base_value": v["base_value"], "versions": str(v["versions"]),
                               "contributions": v["contributions"]}
                           for m, v in (models or {}).items()},
                "repair": fix, "notes": notes + (fix or {}).get("notes", [])}

    @app.put("/v1/watchlist", tags=["watchlist"])
    def watchlist_edit(request: Request, who: Who, body: WatchlistEdit) -> dict[str, Any]:
        """Add subjects to the institution's watchlist and remove others. Each id added is
        checked as a look-up is (an individual needs purpose and authorization_ref, and is
        audited); `rejected` lists the ids not added and why."""
        who.may("watchlist")
        if len(body.add) + len(body.remove) > BATCH_LIMIT:
            raise Problem("too-many-ids", limit=f"{BATCH_LIMIT:,}")
        charge(who, max(1, len(body.add) + len(body.remove)))
        on_record(request, body.add + body.remove, body.purpose, body.authorization_ref)
        cards = readmodel.subject_cards(snapshot(), body.add, who.role, purpose=body.purpose,
                                        authorization_ref=body.authorization_ref, user=who.user, home=home)
        ok = {c["subject_id"]: c["subject_type"] for c in cards if c["status"] == 200}
        on_looked_up(request, cards)
        rejected = [{"subject_id": c["subject_id"], "status": c["status"], "problem": c["problem"]}
                    for c in cards if c["status"] != 200]
        removed = []
        for raw in body.remove:
            sid = identifiers.normalised_or_none(raw)
            if sid is None:
                rejected.append({"subject_id": str(raw)[:SUBJECT_ID_MAX], "status": 400, "problem": "invalid-subject-id"})
            else:
                removed.append(sid)
        people = any(kind == "individual" for kind in ok.values())
        result = changes.watch(owner(who), ok, removed, purpose=body.purpose if people else None,
                               authorization_ref=body.authorization_ref if people else None, added_by=who.user, home=home)
        return {"added": list(ok), "removed": removed, "rejected": rejected, **result}

    def owner(who: Caller) -> changes.Owner:
        """Whose watchlist a key reaches: its institution's, in the role the key is issued for."""
        return changes.Owner(who.key["institution"], who.role.name)

    @app.get("/v1/watchlist", tags=["watchlist"])
    def watchlist(who: Who) -> dict[str, Any]:
        """The subjects the institution watches in this key's role, as the role may see them
        (individuals masked where the role masks)."""
        who.may("watchlist")
        charge(who)
        return readmodel.watchlist(owner(who), who.role, home)

    @app.get("/v1/watchlist/changes", response_model=ChangeFeed, tags=["watchlist"])
    def watchlist_changes(who: Who, cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]*$")] = None,
                          limit: Annotated[int, Query(ge=1, le=changes.FEED_LIMIT)] = changes.FEED_LIMIT) -> dict:
        """Each change of a watched subject since `cursor` (tier, grade, list entry added or
        ended, new early-warning alert), oldest first, with the next cursor: a change is never
        lost or repeated between two polls. A person's changes are read under the purpose it was
        watched with, and audited."""
        who.may("watchlist")
        charge(who)
        try:
            at = changes.parse_cursor(cursor)
        except workspace.UserError as exc:
            raise Problem("invalid-request", why=str(exc))
        return readmodel.watch_feed(owner(who), who.role, at, limit, user=who.user, home=home)

    @app.post("/v1/checks", tags=["checks"])
    async def credit_check(request: Request, who: Who, body: CheckRequest) -> dict[str, Any]:
        """A credit check inside a decision: the subject's active list entries, the measures
        they trigger for this action (code, text, legal basis, why), the red list's incentives,
        and the verdict `clear`, `restricted` or `barred`. Stored with its `check_id` before
        it is answered."""
        who.may("checks")
        await charge_async(who)
        on_record(request, [body.subject_id], body.purpose, body.case_ref)
        snap = await ready(snapshot())
        judge = functools.partial(readmodel.judge_check, snap, body.subject_id, body.action, who.role,
                                  purpose=body.purpose, case_ref=body.case_ref, user=who.user, home=home)
        try:  # the judgement is a read (on the event loop) unless it audits an individual
            out = (await run_in_threadpool(judge) if readmodel.writes_audit(snap, [body.subject_id], who.role, body.purpose,
                                                                            body.case_ref) else judge())
        except readmodel.UnknownAction:
            raise Problem("unknown-action", action=body.action, actions=", ".join(readmodel.check_actions()))
        except workspace.UserError as exc:
            raise Problem("invalid-request", why=str(exc))
        if out["status"] != 200:
            raise Problem(out["problem"])
        on_looked_up(request, [out])
        await run_in_threadpool(readmodel.record_check, out, who.role, purpose=body.purpose, case_ref=body.case_ref,
                                institution=who.key["institution"], key_id=who.key["key_id"], home=home)
        return json_response(out)

    @app.post("/v1/checks/{check_id}/feedback", tags=["checks"])
    def check_feedback(who: Who, check_id: Annotated[str, Path(max_length=40)], body: Feedback) -> dict[str, Any]:
        """What the department applied after the check (measure codes among those returned) and
        the outcome of its decision."""
        who.may("checks")
        charge(who)
        try:
            return readmodel.check_feedback(check_id, body.applied, body.outcome, body.note, institution=who.key["institution"],
                                            role=who.role.name, key_id=who.key["key_id"], home=home)
        except readmodel.UnknownCheck:
            raise Problem("unknown-check")
        except readmodel.NotYours:
            raise Problem("unknown-check")  # another institution's check is not there for this one
        except workspace.UserError as exc:
            raise Problem("invalid-feedback", why=str(exc))

    def case_actor(who: Caller):
        """The key acting on cases: its role's case rights, its institution standing for the
        department whose records it decides on."""
        from chengxin import cases

        who.may("cases")
        charge(who)
        return cases.Actor(f"{who.user} {who.key['institution']}", who.role, department=who.key["institution"])

    def case_call(call):
        from chengxin import cases

        try:
            return call()
        except cases.UnknownCase as exc:
            raise Problem("unknown-case", case_no=str(exc).removeprefix("no case "))
        except cases.NotAllowed as exc:
            raise Problem("case-forbidden", why=str(exc))
        except cases.Conflict as exc:
            raise Problem("case-conflict", why=str(exc))
        except workspace.UserError as exc:
            raise Problem("invalid-case", why=str(exc))

    @app.get("/v1/subjects/{subject_id}/report", tags=["reports"],
             responses={200: {"content": {"application/pdf": {}}, "description": "the report (PDF)"}, **ERRORS})
    def subject_report(who: Who, subject_id: Annotated[str, Path(max_length=SUBJECT_ID_MAX)],
                       kind: Literal["public", "certificate", "lender"] = "public",
                       as_of: dt.date | None = None, years: Annotated[int | None, Query(ge=1, le=20)] = None,
                       purpose: Annotated[str | None, Query(max_length=500)] = None,
                       authorization_ref: Annotated[str | None, Query(max_length=200)] = None) -> Response:
        """A credit report as PDF, numbered and signed: `public` (公共信用信息报告), `certificate` (in
        place of no-violation certificates, per domain over `years`) or `lender` (lender, analyst
        and admin roles). Its number and verification code are in the file and in the headers
        `X-Report-Number` and `X-Report-Code`."""
        from chengxin import cases, reports

        who.may("subjects")
        charge(who)
        reports_quota = who.report_quota
        if reports_quota is not None:  # a report costs the server about 0.4 s: its own, lower quota
            refuse_over_quota(reports_quota, institutions.take(reports_quota, 1, home))
        name = who.key["institution"] if who.key else "public"
        try:
            issued = reports.issue(snapshot(), subject_id, kind, reports.Reader(name, who.role), purpose=purpose,
                                   authorization_ref=authorization_ref, years=years, as_of=as_of, home=home)
        except cases.NotAllowed as exc:
            if who.key is None:
                raise Problem("unauthorized")
            raise Problem("case-forbidden", why=str(exc))
        except workspace.UserError as exc:
            raise Problem("invalid-request", why=str(exc))
        return Response(issued.data, media_type=issued.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{issued.filename}"',
                                 "X-Report-Number": issued.number, "X-Report-Code": issued.record["code"]})

    @app.get("/v1/reports/{number}/verify", tags=["reports"])
    def verify_report(number: Annotated[str, Path(max_length=40)],
                      code: Annotated[str, Query(min_length=1, max_length=40, description="the verification code "
                                                 "printed on the report: a number alone confirms nothing")]) -> dict[str, Any]:
        """Did the platform issue this report number with this verification code? What it
        issued: kind, subject (an individual masked), as-of date, time, and the SHA-256 of the
        file, to compare with yours."""
        from chengxin import reports

        found = reports.verify_number(number, code, home=home)
        if found is None:
            raise Problem("unknown-report")
        return {"authentic": True, **found}

    @app.get("/v1/cases", tags=["cases"])
    def list_cases(who: Who, status: Literal["open", "decided"] | None = None, overdue: bool = False,
                   subject_id: Annotated[str | None, Query(max_length=SUBJECT_ID_MAX)] = None) -> dict[str, Any]:
        """The cases this key may see (the office's desk every case, a department those about its
        own records), with their clocks: days left, due within one working day, overdue."""
        me = case_actor(who)
        return case_call(lambda: {"cases": readmodel.list_cases(me, who.role, status=status, overdue=overdue,
                                                                subject=subject_id, home=home)})

    @app.get("/v1/cases/{case_no}", tags=["cases"])
    def show_case(who: Who, case_no: CaseNumber) -> dict[str, Any]:
        """One case and every step of its history."""
        me = case_actor(who)
        return case_call(lambda: readmodel.show_case(case_no, me, who.role, home=home))

    @app.post("/v1/cases", status_code=201, tags=["cases"])
    def file_case(who: Who, body: CaseFiling) -> dict[str, Any]:
        """File a case (the office's counter): its number, deadline and, for a repair, whether it
        is eligible and from when. A record under objection is flagged at once."""
        from chengxin import cases

        me = case_actor(who)
        return case_call(lambda: readmodel.case_view(cases.file(
            body.kind, body.subject_id, record=body.record, reason=body.reason, commitment=body.commitment,
            filed_on=body.filed_on, by=me, home=home), who.role))

    @app.post("/v1/cases/{case_no}/decision", tags=["cases"])
    def decide_case(who: Who, case_no: CaseNumber, body: CaseDecision) -> dict[str, Any]:
        """Decide a case (the department that provided the record, the office on ratings and
        reviews): a decision that changes a record writes its new version and re-rates the subject
        at once; the answer carries the re-rating."""
        from chengxin.flows import rerate

        me = case_actor(who)
        if not body.extend and not body.decision:
            raise Problem("invalid-case", why="`decision` is required (or `extend`)")
        return case_call(lambda: readmodel.case_view(rerate.decide(
            case_no, body.decision or "", by=me, note=body.note, sets=[f"{k}={v}" for k, v in body.set.items()],
            extend=body.extend, home=home), who.role))

    @app.get("/v1/lists/{which}", tags=["lists"])
    def lists(request: Request, who: Who, which: Literal["black", "red"],
              subject_type: config.SubjectType | None = None,
              county: Annotated[str | None, Query(max_length=12)] = None,
              changed_since: dt.date | None = None) -> dict[str, Any]:
        """Entries of the red or black list with rule, since, until and measures; by subject
        type, county, and what changed since a date."""
        who.may("lists")
        charge(who)
        snap = snapshot()
        entries = readmodel.list_feed(snap, who.role, which, subject_type=subject_type, county=county,
                                      changed_since=changed_since)
        return {"snapshot": snap.id, "list": which, "entries": entries}

    @app.get("/v1/criteria/{subject_type}", tags=["criteria"])
    def criteria(who: Who, subject_type: config.SubjectType,
                 version: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        """The published rating criteria (the version in force, or `version`)."""
        who.may("criteria")
        charge(who)
        document = readmodel.published_criteria(subject_type, version, home)
        if document is None:
            raise Problem("unknown-criteria", subject=subject_type, version=version or "")
        return document

    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call (`chengxin serve`): the workspace from `CHENGXIN_HOME`."""
    return create_app()
