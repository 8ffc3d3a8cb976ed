"""The API's routes, one module per resource, each an `APIRouter` whose endpoints are plain
functions: a route declares its access (`access.Access`) and the workspace it reads
(`access.home`) as dependencies, so an endpoint can be called or tested on its own with a
caller and a workspace. `ROUTERS` is the order `create_app` adds them in: route by route to the app's own router, not
with `include_router`, which in FastAPI 0.165 serves an included route through a handler built
afresh from its endpoint and so would pass by `LeanRoute`'s own serving.

Each route names its operation (`operation_id`: the method a generated client calls), its answer
(`response_model`, a model of `shapes`) and the problems its endpoint may raise
(`problems.answers`); the document adds those every route of its kind may give
(`problems.implied`). `TAGS` describes the resources the routes are tagged with, in the order
the document lists them."""

from chengxin.api.routes import cases, checks, lists, reports, service, subjects, supervision, watchlist

TAGS = [
    {"name": "subjects", "description": "One subject's card, a batch of them, and a subject's explanation"},
    {"name": "lists", "description": "The red and black lists (红黑名单), a page at a time"},
    {"name": "criteria", "description": "The published rating criteria (公共信用综合评价标准)"},
    {"name": "watchlist", "description": "An institution's watchlist and the feed of its subjects' changes"},
    {"name": "checks", "description": "Credit checks inside departments' decisions (联合奖惩) and their feedback"},
    {"name": "reports", "description": "Credit reports (PDF or HTML) and their verification"},
    {"name": "cases", "description": "Objections, credit repairs and reviews, on their legal clocks"},
    {"name": "supervision", "description": "Risk classes (信用风险分类) and the month's random inspections (双随机): "
                                           "the inspecting departments' own tool, never published"},
    {"name": "service", "description": "The service's health"},
]
ROUTERS = [service.router, subjects.router, watchlist.router, checks.router, reports.router, cases.router,
           supervision.router, lists.router]
