"""Who calls and what they may do: the key, its role, the scope of a route and its quota, as one
dependency declared per route (`Access`), and the workspace and snapshot a request reads.

    @router.get("/v1/lists/{which}")
    def lists(who: Annotated[Caller, Depends(Access("lists"))], ...): ...

A key is a dict look-up on the event loop once known (`institutions.authenticate`); a quota is
drawn from this worker's lease when it holds one, else from the shared state in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from chengxin import readmodel, users
from chengxin.desks import institutions
from chengxin.api.problems import Problem
from chengxin.users import Role

BATCH_LIMIT = 10_000
# what each scope of `users.API_SCOPES` lets a caller do, for the 403's detail (English, Chinese)
SCOPE_WORDS = {"subjects": ("look up subjects", "查询主体"), "batch": ("look up subjects in batches", "批量查询"),
               "explanation": ("read explanations", "查看评分解释"), "lists": ("read the lists", "查看红黑名单"),
               "criteria": ("read the criteria", "查看评价标准"), "watchlist": ("keep a watchlist", "使用关注名单"),
               "checks": ("run credit checks", "进行信用核查"), "cases": ("handle cases", "办理异议、修复和复核案件"),
               "supervision": ("read risk classes and inspection plans", "查看信用风险分类和抽查计划")}


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

    @property
    def institution(self) -> str | None:
        return self.key["institution"] if self.key else None

    def may(self, scope: str) -> None:
        if scope not in self.role.api:
            if self.key is None:
                raise Problem("unauthorized")
            what_en, what_zh = SCOPE_WORDS[scope]
            raise Problem("forbidden", what=what_en, what_zh=what_zh)


def home_of(request: Request) -> Path | None:
    """The workspace the app serves (`create_app(home)`)."""
    return request.app.state.home


async def home(request: Request) -> Path | None:
    """`home_of` as a route's dependency (`async`: FastAPI runs a plain function's in a worker thread)."""
    return request.app.state.home


def identify(request: Request) -> Caller:
    """The caller of this request (kept in `request.state.caller` for the call log): its key's
    role, or the public's without a key; an unknown key is a 401."""
    where = home_of(request)
    header = request.headers.get("authorization")
    if header is None:
        found = Caller(None, users.role(users.PUBLIC, where), request.client.host if request.client else None)
    else:
        scheme, _, key = header.partition(" ")
        stored = institutions.authenticate(key.strip(), where) if scheme.lower() == "bearer" and key.strip() else None
        if stored is None:
            raise Problem("unauthorized", headers={"WWW-Authenticate": "Bearer"})
        found = Caller(stored, users.role(stored["role"], where))
    request.state.caller = found
    return found


async def charge(quota: institutions.Key | None, units: int, where: Path | None) -> None:
    """Count `units` against `quota` (none: nothing to count), or answer 429 with Retry-After."""
    if quota is None:
        return
    retry = institutions.take_held(quota, units)
    if retry is None:
        retry = await run_in_threadpool(institutions.take, quota, units, where)
    if retry:
        raise Problem("quota-exceeded", headers={"Retry-After": str(retry)}, rate=quota["rate_per_minute"], retry=retry)


def ids_in(*fields: str) -> Callable[[Any], int]:
    """A route's cost: the ids its JSON body lists in `fields` (at least 1; over `BATCH_LIMIT`
    is refused before anything is counted)."""
    def cost(body: Any) -> int:
        lists = [body.get(f) for f in fields] if isinstance(body, dict) else []
        count = sum(len(v) for v in lists if isinstance(v, list))
        if count > BATCH_LIMIT:
            raise Problem("too-many-ids", limit=f"{BATCH_LIMIT:,}")
        return max(1, count)
    return cost


# how the OpenAPI document names the key (its Authorize button, generated clients); the key itself
# is read by `identify`, so a request without one is the public's, not a 403
BEARER = HTTPBearer(auto_error=False, scheme_name="key", description="An institution's API key: `chengxin keys issue`. "
                    "Without one, a request is the public's.")


class Access:
    """A route's key, role, scope and quota as one dependency: identifies the caller, refuses a
    role without `scope` (401 without a key, else 403), and counts the call against its quota
    (`cost`: 1 unit, or what `cost(json_body)` says, e.g. `ids_in("ids")`). `reports`: also
    against the public's own quota for reports. Runs before the body is validated, so a refused
    caller learns nothing of the request's shape."""

    def __init__(self, scope: str, *, cost: Callable[[Any], int] | None = None, reports: bool = False):
        if scope not in SCOPE_WORDS:
            raise ValueError(f"unknown API scope {scope!r}: scopes are {', '.join(SCOPE_WORDS)}")
        self.scope, self.cost, self.reports = scope, cost, reports

    async def __call__(self, request: Request,
                       _key: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> Caller:  # noqa: B008
        who = identify(request)
        who.may(self.scope)
        units = 1 if self.cost is None else self.cost(await _json_body(request))
        await charge(who.quota, units, home_of(request))
        if self.reports:  # a report costs the server about 0.4 s: its own, lower quota
            await charge(who.report_quota, 1, home_of(request))
        return who

    def __repr__(self) -> str:
        return f"Access({self.scope!r})"


async def _json_body(request: Request) -> Any:
    """The request's JSON body as FastAPI already read it (cached), or None."""
    try:
        return await request.json()
    except ValueError:
        return None


def snapshot(request: Request) -> readmodel.Snapshot:
    """The snapshot current when the request asks (503 before anything is published)."""
    snap = readmodel.current(home_of(request))
    if snap is None:
        raise Problem("no-snapshot")
    return snap


async def ready(snap: readmodel.Snapshot) -> readmodel.Snapshot:
    """The snapshot with its tables for cards in memory: a look-up on the event loop then takes
    microseconds. The first after start or after a new snapshot reads them in a worker thread
    (seconds on a city of a million), and the look-ups arriving meanwhile wait for it."""
    if not readmodel.cards_ready(snap):
        await run_in_threadpool(readmodel.warm_cards, snap)
    return snap
