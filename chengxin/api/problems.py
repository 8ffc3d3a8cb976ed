"""Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` per kind of
problem, a title, and the detail in English (`detail`) and Chinese (`detail_zh`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:chengxin:problem:"

# slug -> (status, title, detail in English, detail in Chinese)
PROBLEMS = {
    "invalid-request": (400, "Invalid request", "The request could not be read: {why}", "请求无法解析：{why_zh}"),
    "invalid-subject-id": (400, "Invalid subject id", "Not a unified social credit code or resident ID number.",
                           "不是有效的统一社会信用代码或居民身份证号码。"),
    "needs-purpose": (400, "Purpose required", "Looking up an individual needs `purpose` and `authorization_ref` "
                      "(the subject's consent reference); the look-up is audited.",
                      "查询个人需提供查询用途 purpose 和授权编号 authorization_ref；查询将留痕审计。"),
    "unknown-action": (400, "Unknown action", "{action!r} is not an action of the measure catalogue: {actions}.",
                       "{action} 不是联合奖惩措施清单中的事项：{actions}。"),
    "invalid-feedback": (400, "Invalid feedback", "{why}", "反馈无效：{why}"),
    "unauthorized": (401, "Key required or not valid", "This needs a valid API key: send `Authorization: Bearer <key>`.",
                     "需要有效的 API 密钥：请在请求头中发送 Authorization: Bearer <密钥>。"),
    "forbidden": (403, "Not allowed for this role", "The role of this key may not {what}.", "该密钥的角色无权{what_zh}。"),
    "individuals-not-allowed": (403, "Individuals not allowed", "The role of this key may not look up individuals.",
                                "该密钥的角色无权查询个人信用信息。"),
    "unknown-subject": (404, "Unknown subject", "No published rating or record for this id.", "未找到该主体的公开信用信息。"),
    "not-rated-then": (404, "Not rated on that date", "This subject had no published rating on or before {as_of}.",
                       "该主体在 {as_of} 及以前没有公开的信用评价。"),
    "unknown-criteria": (404, "Unknown criteria version", "No published criteria {version} for {subject}.",
                         "未找到 {subject} 的评价标准版本 {version}。"),
    "unknown-check": (404, "Unknown check", "No credit check with this id for this institution.",
                      "本机构没有该编号的信用核查记录。"),
    "invalid-case": (400, "Case refused", "{why}", "案件请求无效：{why}"),
    "report-not-allowed": (403, "Report not allowed", "This key may not have this report: {why}",
                           "该密钥无权获取该报告：{why}"),
    "case-forbidden": (403, "Not allowed on this case", "{why}", "无权办理该案件：{why}"),
    "unknown-case": (404, "Unknown case", "No case {case_no} for this caller.", "未找到案件 {case_no}。"),
    "case-conflict": (409, "Case conflict", "{why}", "案件状态冲突：{why}"),
    "unknown-plan": (404, "No plan for that month", "No inspection plan is stored for {month}.",
                     "{month} 没有已保存的抽查计划。"),
    "not-classified": (404, "Not classified", "No risk class is stored for this enterprise: it was not live on the "
                       "classification date, or nothing has been classified yet.",
                       "该企业没有风险分类：分类基准日不在存续状态，或尚未进行风险分类。"),
    "unknown-report": (404, "Altered or unknown", "The platform issued no report with this number and code.",
                       "平台未出具该编号和验证码的报告（不存在或已被篡改）。"),
    "not-found": (404, "Not found", "No such resource: {path}.", "资源不存在：{path}。"),
    "method-not-allowed": (405, "Method not allowed", "{method} is not allowed here.", "此处不允许 {method} 方法。"),
    "body-too-large": (413, "Request body too large", "A request body may have at most {limit} bytes.",
                       "请求体最多 {limit} 字节。"),
    "too-many-ids": (413, "Too many ids", "A batch takes at most {limit} ids.", "批量查询最多 {limit} 个主体。"),
    "quota-exceeded": (429, "Quota exceeded", "The {rate} requests (ids, in a batch) a minute of this key (without a "
                       "key: of this address) are used up; retry after {retry} s.",
                       "本分钟 {rate} 次查询额度已用完（按密钥计；无密钥时按来访地址计），请 {retry} 秒后重试。"),
    "no-snapshot": (503, "Nothing published yet", "No ratings have been published yet: run `chengxin publish dashboard`.",
                    "尚未发布信用评价快照：请运行 chengxin publish dashboard。"),
    "internal": (500, "Internal error", "The server failed; the call was logged.", "服务器内部错误，已记录。"),
}


class Problem(Exception):
    """Raise to answer with a problem detail; `fields` fill the texts' {placeholders}."""

    def __init__(self, slug: str, headers: dict | None = None, **fields):
        super().__init__(slug)
        self.slug, self.headers, self.fields = slug, headers or {}, fields

    @property
    def status(self) -> int:
        return PROBLEMS[self.slug][0]

    def body(self, instance: str) -> dict:
        status, title, en, zh = PROBLEMS[self.slug]
        fields = {"why_zh": self.fields.get("why", ""), **self.fields}  # a desk's refusal has its words only once
        return {"type": TYPE_PREFIX + self.slug, "title": title, "status": status,
                "detail": en.format_map(_Blank(fields)), "detail_zh": zh.format_map(_Blank(fields)),
                "instance": instance}


class _Blank(dict):
    def __missing__(self, key):
        return ""


class _Elided(dict):
    def __missing__(self, key):
        return "…"


def _example(slug: str) -> dict:
    """A problem of this type as the document shows it, its particulars elided."""
    status, title, en, zh = PROBLEMS[slug]
    return {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": en.format_map(_Elided()),
            "detail_zh": zh.format_map(_Elided()), "instance": "/v1/…"}


def respond(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status, headers=problem.headers,
                        media_type=MEDIA_TYPE)


class ProblemDetail(BaseModel):
    """An error, as RFC 9457 describes it (`application/problem+json`)."""
    model_config = ConfigDict(extra="forbid")
    type: str = Field(description=f"the kind of problem, stable: `{TYPE_PREFIX}<slug>`; each answer lists the "
                                  "types it may carry")
    title: str = Field(description="the kind of problem in a few words (English)")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="what went wrong with this request, and what to do (English)")
    detail_zh: str = Field(description="the same in Chinese")
    instance: str | None = Field(None, description="the path asked for")


def answers(*slugs: str) -> dict[int, dict]:
    """The error answers a route declares, for FastAPI's `responses=`: its own problems, grouped
    by status; each status names its problem types (`x-problems`). The document adds those every
    route of its kind can give (`implied`) and writes each status out (`_described`)."""
    return {status: {"model": ProblemDetail, "description": ", ".join(found), "x-problems": found}
            for status, found in _grouped(slugs).items()}


def _grouped(slugs) -> dict[int, list[str]]:
    """Problem types by their status, statuses and types in order."""
    found: dict[int, list[str]] = {}
    for slug in sorted(set(slugs), key=lambda s: (PROBLEMS[s][0], s)):
        found.setdefault(PROBLEMS[slug][0], []).append(slug)
    return found


def _described(slugs: list[str]) -> dict:
    """One status's OpenAPI answer: its problem types in words, the problem detail's schema, and
    an example of each type."""
    status = PROBLEMS[slugs[0]][0]
    examples = {slug: {"summary": PROBLEMS[slug][1], "value": _example(slug)} for slug in slugs}
    return {"description": "; ".join(f"`{slug}`: {PROBLEMS[slug][1]}" for slug in slugs),
            "x-problems": [TYPE_PREFIX + slug for slug in slugs],
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}, "examples": examples}},
            **({"headers": {"Retry-After": {"description": "seconds until the quota has room again",
                                            "schema": {"type": "integer"}}}} if status == 429 else {})}


# --- what the layers below raise, as problems: declared once, for every route ---------------------
def _raised() -> dict[type[Exception], Callable[[Exception, Request], Problem]]:
    """Each exception a route may let through, and the problem it answers with. `UserError`, the
    refusal every desk raises, is `invalid-case` on the case routes and `invalid-request` elsewhere;
    a case's or a report's right refused (`cases.NotAllowed`) is `case-forbidden` or
    `report-not-allowed`, and to a caller without a key the 401 that asks for one."""
    from chengxin import readmodel, workspace
    from chengxin.desks import cases, checks

    def refused(exc, request):
        route = request.scope.get("route")
        return Problem("invalid-case" if "cases" in getattr(route, "tags", ()) else "invalid-request", why=str(exc))

    def not_allowed(exc, request):  # a case's or a report's refusal
        caller = getattr(request.state, "caller", None)
        if caller is not None and caller.key is None:
            return Problem("unauthorized")
        route = request.scope.get("route")
        return Problem("report-not-allowed" if "reports" in getattr(route, "tags", ()) else "case-forbidden", why=str(exc))

    return {
        workspace.UserError: refused,
        cases.NotAllowed: not_allowed,
        cases.Conflict: lambda exc, _: Problem("case-conflict", why=str(exc)),
        cases.UnknownCase: lambda exc, _: Problem("unknown-case", case_no=str(exc).removeprefix("no case ")),
        readmodel.NeedsPurpose: lambda exc, _: Problem("needs-purpose"),
        readmodel.UnknownSubject: lambda exc, _: Problem("unknown-subject"),
        readmodel.NotClassified: lambda exc, _: Problem("not-classified"),
        readmodel.UnknownPlan: lambda exc, _: Problem("unknown-plan", month=exc.month),
        readmodel.InvalidSubjectId: lambda exc, _: Problem("invalid-subject-id"),
        readmodel.NotAllowed: lambda exc, _: Problem("forbidden", what=f"do this ({exc})", what_zh="执行此操作"),
        readmodel.UnknownAction: lambda exc, _: Problem("unknown-action", action=exc.action,
                                                        actions=", ".join(readmodel.check_actions())),
        checks.UnknownCheck: lambda exc, _: Problem("unknown-check"),
        checks.NotYours: lambda exc, _: Problem("unknown-check"),  # another institution's check is not there for it
        checks.InvalidFeedback: lambda exc, _: Problem("invalid-feedback", why=str(exc)),
        RequestValidationError: lambda exc, _: invalid(exc.errors()),
        StarletteHTTPException: lambda exc, request: Problem(
            {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "invalid-request"),
            path=request.url.path, method=request.method, why=str(exc.detail)),
        Exception: lambda exc, _: Problem("internal"),
    }


# pydantic's error types, in Chinese (the English is pydantic's own message)
ERRORS_ZH = {
    "missing": "缺少必填项", "extra_forbidden": "不接受该字段", "json_invalid": "不是有效的 JSON",
    "string_type": "须为文本", "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（最多 {max_length} 个字符）", "string_pattern_mismatch": "格式不符",
    "int_parsing": "须为整数", "int_type": "须为整数", "int_from_float": "须为整数",
    "bool_parsing": "须为 true 或 false", "bool_type": "须为 true 或 false",
    "date_parsing": "须为日期（YYYY-MM-DD）", "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_type": "须为日期（YYYY-MM-DD）", "date_from_datetime_inexact": "须为日期（YYYY-MM-DD）",
    "greater_than_equal": "须不小于 {ge}", "greater_than": "须大于 {gt}", "less_than_equal": "须不大于 {le}",
    "less_than": "须小于 {lt}", "literal_error": "取值须为 {expected}", "enum": "取值须为 {expected}",
    "list_type": "须为列表", "too_short": "太少（至少 {min_length} 项）", "too_long": "太多（最多 {max_length} 项）",
    "dict_type": "须为对象", "model_type": "须为对象", "model_attributes_type": "须为对象",
}


def invalid(errors: list[dict]) -> Problem:
    """The 400 of a request whose parameters or body do not validate (pydantic's errors), said in
    English and in Chinese."""
    def where(e):
        return ".".join(str(p) for p in e["loc"])

    def zh(e):
        words = ERRORS_ZH.get(e.get("type", ""), "无效")
        return words.format_map(_Blank({k: v for k, v in (e.get("ctx") or {}).items()}))

    why = "; ".join(f"{where(e)}: {e['msg']}" for e in errors[:5])
    why_zh = "；".join(f"{where(e)}：{zh(e)}" for e in errors[:5])
    return Problem("invalid-request", why=why, why_zh=why_zh)


def document(app: FastAPI) -> None:
    """The OpenAPI document as the API answers: for each operation exactly the problems it can
    give (its own, `answers`, and those every route of its kind can, `implied`), each status with
    its problem types; no 422 (FastAPI's own validation answer, which this API sends as a 400
    problem); a key optional where the public may call without one."""
    from fastapi.openapi.utils import get_openapi
    from fastapi.routing import APIRoute

    def openapi():
        from chengxin import users

        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                              tags=app.openapi_tags)
            roles = users.roles_config(app.state.home).roles
            public = set(roles[users.PUBLIC].api)
            for route in app.routes:
                if not isinstance(route, APIRoute) or not route.include_in_schema:
                    continue
                for method in route.methods:
                    operation = doc["paths"][route.path_format][method.lower()]
                    answered = operation.get("responses", {})
                    operation["responses"] = ({code: answer for code, answer in answered.items() if int(code) < 400}
                                              | {str(status): _described(found)
                                                 for status, found in by_status(route, roles).items()})
                    if operation.get("security") and scopes(route) <= public:
                        operation["security"] = [{}, *operation["security"]]  # a key, or none (the public)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas["ProblemDetail"] = ProblemDetail.model_json_schema()
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi


def scopes(route) -> set[str]:
    """The API scopes a route's `Access` dependency asks for."""
    from chengxin.api.access import Access

    return {d.call.scope for d in route.dependant.dependencies if isinstance(d.call, Access)}


def by_status(route, roles: dict) -> dict[int, list[str]]:
    """Every problem a route can give, by status: its own (`answers`) and those of its kind
    (`implied`) under these roles (roles.yaml)."""
    own = {slug for answer in route.responses.values() for slug in answer.get("x-problems", ())}
    return _grouped(own | implied(route, roles))


def implied(route, roles: dict) -> set[str]:
    """The problems a route can give by what it is, whatever its endpoint does: with a key's
    access, a key not valid (401), the quota used up (429), a role of a key without the scope
    (403, where some key's role lacks it), too many ids (413, a route priced per id); with
    parameters or a body, one that does not validate (400); with a body, one too large (413);
    with a path parameter, an empty one, which matches no route (404); with the snapshot as a
    dependency, nothing published yet (503)."""
    from chengxin import users
    from chengxin.api.access import Access, snapshot

    found: set[str] = set()
    dependant = route.dependant
    calls = [d.call for d in dependant.dependencies]
    for access in (c for c in calls if isinstance(c, Access)):
        found |= {"unauthorized", "quota-exceeded"}
        if any(r.api and access.scope not in r.api for name, r in roles.items() if name != users.PUBLIC):
            found.add("forbidden")
        if access.cost is not None:
            found.add("too-many-ids")
    if snapshot in calls:
        found.add("no-snapshot")
    if dependant.path_params or dependant.query_params or dependant.body_params:
        found.add("invalid-request")
    if dependant.path_params:
        found.add("not-found")
    if dependant.body_params:
        found.add("body-too-large")
    return found


def install(app: FastAPI) -> None:
    """Answer every exception of `_raised` (and a raised `Problem`) as a problem detail. Starlette
    picks the handler of the exception's nearest class, so a desk's own refusal wins over
    `UserError`'s."""
    async def problem(request: Request, exc: Problem):
        return respond(exc, request)

    app.add_exception_handler(Problem, problem)
    for kind, to_problem in _raised().items():
        async def handler(request: Request, exc: Exception, to_problem=to_problem):
            return respond(to_problem(exc, request), request)
        app.add_exception_handler(kind, handler)

