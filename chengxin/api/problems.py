"""Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` per kind of
problem, a title, and the detail in English (`detail`) and Chinese (`detail_zh`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
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
    "case-forbidden": (403, "Not allowed on this case", "{why}", "无权办理该案件：{why}"),
    "unknown-case": (404, "Unknown case", "No case {case_no} for this caller.", "未找到案件 {case_no}。"),
    "case-conflict": (409, "Case conflict", "{why}", "案件状态冲突：{why}"),
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


def respond(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(problem.body(request.url.path), status_code=problem.status, headers=problem.headers,
                        media_type=MEDIA_TYPE)


class ProblemDetail(BaseModel):
    """An error, as RFC 9457 describes it (`application/problem+json`)."""
    type: str
    title: str
    status: int
    detail: str
    detail_zh: str
    instance: str | None = None


def schema() -> dict:
    """The OpenAPI description of a problem detail, for every error response."""
    return {"description": "A problem detail (RFC 9457)", "model": ProblemDetail,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}}


# --- what the layers below raise, as problems: declared once, for every route ---------------------
def _raised() -> dict[type[Exception], Callable[[Exception, Request], Problem]]:
    """Each exception a route may let through, and the problem it answers with. `UserError`, the
    refusal every desk raises, is `invalid-case` on the case routes and `invalid-request` elsewhere;
    a right refused to a caller without a key is the 401 that asks for one."""
    from chengxin import readmodel, workspace
    from chengxin.desks import cases, checks

    def refused(exc, request):
        route = request.scope.get("route")
        return Problem("invalid-case" if "cases" in getattr(route, "tags", ()) else "invalid-request", why=str(exc))

    def not_allowed(exc, request):
        caller = getattr(request.state, "caller", None)
        return Problem("unauthorized") if caller is not None and caller.key is None else Problem("case-forbidden", why=str(exc))

    return {
        workspace.UserError: refused,
        cases.NotAllowed: not_allowed,
        cases.Conflict: lambda exc, _: Problem("case-conflict", why=str(exc)),
        cases.UnknownCase: lambda exc, _: Problem("unknown-case", case_no=str(exc).removeprefix("no case ")),
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
    """The OpenAPI document as the API answers: the problems each route declares, and no 422
    (FastAPI's own validation answer, which this API sends as a 400 problem)."""
    from fastapi.openapi.utils import get_openapi

    def openapi():
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            optional = _keyless_operations(app)
            for path, operations in doc.get("paths", {}).items():
                for method, operation in operations.items():
                    operation.get("responses", {}).pop("422", None)
                    if operation.get("security") and (path, method.upper()) in optional:
                        operation["security"] = [{}, *operation["security"]]  # a key, or none (the public)
            for name in ("HTTPValidationError", "ValidationError"):
                doc.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi


def _keyless_operations(app: FastAPI) -> set[tuple[str, str]]:
    """The (path, method) of every route the public may call without a key: its `Access` scope is
    one of the public role's (roles.yaml)."""
    from fastapi.routing import APIRoute

    from chengxin import users
    from chengxin.api.access import Access

    public = set(users.role(users.PUBLIC, app.state.home).api)
    out = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            scopes = {d.call.scope for d in route.dependant.dependencies if isinstance(d.call, Access)}
            if scopes and scopes <= public:
                out |= {(route.path, m) for m in route.methods}
    return out


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


# every route may answer these (the OpenAPI document lists them on each); 405: an odd value in a
# path parameter ("%2e%2e", "") can make the path another route's, which may not take the method
ERRORS = {code: schema() for code in (400, 401, 403, 404, 405, 409, 413, 429, 503)}
