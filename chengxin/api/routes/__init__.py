"""The API's routes, one module per resource, each an `APIRouter` whose endpoints are plain
functions: a route declares its access (`access.Access`) and the workspace it reads
(`access.home`) as dependencies, so an endpoint can be called or tested on its own with a
caller and a workspace. `ROUTERS` is the order `create_app` adds them in: route by route to the app's own router, not
with `include_router`, which in FastAPI 0.165 serves an included route through a handler built
afresh from its endpoint and so would pass by `LeanRoute`'s own serving (each router declares
the problems every route may answer itself, `problems.ERRORS`, as the app's would otherwise)."""

from chengxin.api.routes import cases, checks, lists, reports, service, subjects, watchlist

ROUTERS = [service.router, subjects.router, watchlist.router, checks.router, reports.router, cases.router,
           lists.router]
