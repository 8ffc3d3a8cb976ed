"""Credit services API speed (issue 21) on a rated, published workspace (default: the
1,000,000-subject city of `ingest_benchmark.py --keep`, `rating_benchmark.py`, `explain --all`
and `publish dashboard`).

`chengxin serve` runs as its own process; the load generator is a bounded asyncio client (aiohttp,
one process, on the same machine: it competes with the server for the same cores). For each
round, in this order:

- `GET /v1/ping` (a constant answer from the same server), the baseline throughput, and
  `GET /v1/subjects/{id}` for random rated enterprises with a lender key: throughput, latency;
  the two in alternating slices of a tenth each, so that their ratio compares the same moments;
- `GET /v1/subjects/{id}` for random rated individuals, with purpose and authorization
  reference (each written to the audit log before the answer);
- `GET /v1/subjects/{id}?as_of=` for random rated enterprises (a replay, whose history and reasons are read
  from the snapshot's files on disk);
- `POST /v1/checks` (procurement) for random listed and unlisted enterprises;
- `POST /v1/subjects:batch` with 10,000 random ids (enterprises and unknown codes).

Medians over the rounds; the server's peak resident memory (its process and children) at the end.

    .venv/bin/python benchmarks/api_benchmark.py --home benchmarks/work/home
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

from common import machine, markdown_table, relative, write_section

ROOT = Path(__file__).resolve().parents[1]


async def _load(base: str, requests: list[tuple[str, str, dict]], concurrency: int, headers: dict) -> dict:
    """Send the requests with at most `concurrency` in flight (aiohttp: a client several times
    cheaper per request than httpx's, which matters with the client on the server's cores);
    wall time, latencies, errors."""
    import aiohttp

    queue = list(reversed(requests))
    latencies, errors = [], 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=base, headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as client:
        async def worker():
            nonlocal errors
            while queue:
                method, path, kwargs = queue.pop()
                t = time.perf_counter()
                async with client.request(method, path, **kwargs) as r:
                    await r.read()
                    errors += r.status >= 400
                latencies.append(time.perf_counter() - t)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return _figures(latencies, wall, errors)


def _figures(latencies: list[float], wall: float, errors: int) -> dict:
    lat = np.array(latencies)
    return {"requests": len(lat), "rps": len(lat) / wall, "p50_ms": float(np.percentile(lat, 50) * 1000),
            "p95_ms": float(np.percentile(lat, 95) * 1000), "errors": errors, "latencies": latencies, "wall": wall}


def _paired(base: str, loads: dict[str, tuple[list, dict]], concurrency: int, slices: int = 10) -> dict[str, dict]:
    """Several loads measured in alternating slices (a slice of the first, of the second, ...,
    `slices` times), each load's figures summed over its slices: two loads whose ratio is the
    target then see the same moments of a machine whose speed drifts (other work, a shared host)."""
    parts: dict[str, list[dict]] = {name: [] for name in loads}
    for i in range(slices):
        for name, (requests, headers) in loads.items():
            part = requests[i * len(requests) // slices:(i + 1) * len(requests) // slices]
            parts[name].append(asyncio.run(_load(base, part, concurrency, headers)))
    return {name: _figures([x for p in ps for x in p["latencies"]], sum(p["wall"] for p in ps), sum(p["errors"] for p in ps))
            for name, ps in parts.items()}


def _rss_mib(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "work" / "home")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=20_000, help="requests per measurement and round (a few "
                    "seconds each: shorter runs swing with whatever else the machine does)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--port", type=int, default=8619)
    args = ap.parse_args()
    home = args.home.resolve()
    os.environ["CHENGXIN_HOME"] = str(home)
    from chengxin import identifiers, readmodel
    from chengxin.desks import institutions

    snap = readmodel.current(home)
    firms = readmodel.ratings(snap, "enterprise")["subject_id"].to_numpy()
    people = readmodel.ratings(snap, "individual")["subject_id"].to_numpy()
    listed = readmodel.list_entries(snap).query("status == 'active' and subject_type == 'enterprise'")["subject_id"].unique()
    rng = np.random.default_rng(0)
    key = institutions.issue("benchmark bank", "lender", 10_000_000, home=home)["key"]
    dept = institutions.issue("benchmark department", "department", 10_000_000, home=home)["key"]
    env = dict(os.environ, CHENGXIN_HOME=str(home))
    server = subprocess.Popen([sys.executable, "-m", "chengxin", "serve", "--port", str(args.port), "--workers",
                               str(args.workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        auth = {"Authorization": f"Bearer {key}"}
        t = time.perf_counter()
        httpx.get(f"{base}/v1/subjects/{firms[0]}", headers=auth, timeout=300)  # the snapshot's tables into memory
        first = time.perf_counter() - t
        n, c = args.requests, args.concurrency
        # every worker reads the tables once before anything is measured (each reads them at its first look-up)
        asyncio.run(_load(base, [("GET", f"/v1/subjects/{s}", {}) for s in firms[:50 * args.workers]], c, auth))
        asyncio.run(_load(base, [("POST", "/v1/checks", {"json": {"subject_id": s, "action": "procurement",
                                  "purpose": "warm-up", "case_ref": "BENCH-0"}}) for s in firms[:20 * args.workers]],
                          c, {"Authorization": f"Bearer {dept}"}))
        rounds = {k: [] for k in ("ping", "enterprise", "individual", "replay", "check", "batch")}
        replay_day = str(snap.as_of("enterprise"))  # the rating in force that day, with its reasons from the history file
        for _ in range(args.rounds):
            paired = _paired(base, {"ping": ([("GET", "/v1/ping", {})] * n, {}),
                                    "enterprise": ([("GET", f"/v1/subjects/{s}", {}) for s in rng.choice(firms, n)], auth)}, c)
            rounds["ping"].append(paired["ping"])
            rounds["enterprise"].append(paired["enterprise"])
            rounds["individual"].append(asyncio.run(_load(
                base, [("GET", f"/v1/subjects/{s}", {"params": {"purpose": "loan application", "authorization_ref": "AUTH-1"}})
                       for s in rng.choice(people, n // 3)], c, auth)))
            rounds["replay"].append(asyncio.run(_load(
                base, [("GET", f"/v1/subjects/{s}", {"params": {"as_of": replay_day}}) for s in rng.choice(firms, n // 10)],
                c, auth)))
            picks = np.concatenate([rng.choice(listed, n // 6), rng.choice(firms, n // 6)]) if len(listed) else rng.choice(firms, n // 3)
            rounds["check"].append(asyncio.run(_load(
                base, [("POST", "/v1/checks", {"json": {"subject_id": s, "action": "procurement", "purpose": "tender review",
                                                         "case_ref": "BENCH-1"}}) for s in picks], c,
                {"Authorization": f"Bearer {dept}"})))
            unknown = [f"91610300{i:09d}" for i in range(2000)]
            unknown = [u + next(ch for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY"
                                if identifiers.CHECKERS["enterprise"](u + ch)[0] == identifiers.VALID) for u in unknown]
            ids = [*rng.choice(firms, 8000).tolist(), *unknown]
            batch = []
            for _ in range(3):
                t = time.perf_counter()
                r = httpx.post(f"{base}/v1/subjects:batch", json={"ids": ids}, headers=auth, timeout=300)
                batch.append({"seconds": time.perf_counter() - t, "ok": r.status_code == 200 and len(r.json()["results"]) == len(ids)})
            rounds["batch"].append({"seconds": statistics.median(b["seconds"] for b in batch), "ok": all(b["ok"] for b in batch)})
            print({k: {f: x for f, x in v[-1].items() if f != "latencies"} for k, v in rounds.items()}, flush=True)
        rss = _rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    def med(kind, field):
        return statistics.median(r[field] for r in rounds[kind])

    ratio = med("enterprise", "rps") / med("ping", "rps")
    rows = [
        {"measurement": "`GET /v1/ping` (a constant, `async def`, same server)", "throughput": f"{med('ping', 'rps'):,.0f}/s",
         "p50": f"{med('ping', 'p50_ms'):.1f} ms", "p95": f"{med('ping', 'p95_ms'):.1f} ms",
         "errors": sum(r["errors"] for r in rounds["ping"]), "target": ""},
        {"measurement": "`GET /v1/subjects/{id}`, enterprises (lender)", "throughput": f"{med('enterprise', 'rps'):,.0f}/s "
         f"({ratio:.2f}x ping)", "p50": f"{med('enterprise', 'p50_ms'):.1f} ms", "p95": f"{med('enterprise', 'p95_ms'):.1f} ms",
         "errors": sum(r["errors"] for r in rounds["enterprise"]), "target": ">= 0.5x ping, p95 <= 50 ms, 0 errors"},
        {"measurement": "`GET /v1/subjects/{id}`, individuals (audited before the answer)",
         "throughput": f"{med('individual', 'rps'):,.0f}/s", "p50": f"{med('individual', 'p50_ms'):.1f} ms",
         "p95": f"{med('individual', 'p95_ms'):.1f} ms", "errors": sum(r["errors"] for r in rounds["individual"]), "target": "report"},
        {"measurement": "`GET /v1/subjects/{id}?as_of=`, enterprises (a replay: its history and reasons read from disk)",
         "throughput": f"{med('replay', 'rps'):,.0f}/s", "p50": f"{med('replay', 'p50_ms'):.1f} ms",
         "p95": f"{med('replay', 'p95_ms'):.1f} ms", "errors": sum(r["errors"] for r in rounds["replay"]), "target": "report"},
        {"measurement": "`POST /v1/checks` (procurement; half listed firms)", "throughput": f"{med('check', 'rps'):,.0f}/s",
         "p50": f"{med('check', 'p50_ms'):.1f} ms", "p95": f"{med('check', 'p95_ms'):.1f} ms",
         "errors": sum(r["errors"] for r in rounds["check"]), "target": "p95 <= 100 ms"},
        {"measurement": "`POST /v1/subjects:batch`, 10,000 ids (8,000 firms, 2,000 unknown codes)", "throughput": "",
         "p50": f"{statistics.median(r['seconds'] for r in rounds['batch']):.2f} s", "p95": "",
         "errors": sum(not r["ok"] for r in rounds["batch"]), "target": "<= 2 s"},
    ]
    met = {"throughput": ratio >= 0.5, "p95": med("enterprise", "p95_ms") <= 50,
           "errors": all(r["errors"] == 0 for k in ("enterprise", "check") for r in rounds[k]),
           "batch": statistics.median(r["seconds"] for r in rounds["batch"]) <= 2, "check": med("check", "p95_ms") <= 100,
           "memory": rss <= 2048}
    import pandas as pd

    body = "\n".join([
        "## Credit services API (`benchmarks/api_benchmark.py`)", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} by `python benchmarks/api_benchmark.py --home "
        f"{relative(home)} --rounds {args.rounds} --requests {n} --concurrency {c} --workers {args.workers}`: "
        f"{len(firms):,} rated enterprises, {len(people):,} individuals; {c} concurrent clients (one asyncio "
        f"process on the same cores as the server); medians of {args.rounds} rounds. The first look-up after start "
        f"(the snapshot's tables read into memory) took {first:.1f} s.", "",
        markdown_table(pd.DataFrame(rows)), "",
        "Look-ups to the constant endpoint, round by round: " + ", ".join(
            f"{e['rps'] / p['rps']:.2f}x" for p, e in zip(rounds["ping"], rounds["enterprise"])) + ".", "",
        f"Server resident memory at the end (all its processes): {rss:,.0f} MiB (target <= 2,048 MiB).", "",
        "Targets: " + ", ".join(f"{k} {'met' if v else '**not met**'}" for k, v in met.items()) + ".", "",
        "The constant endpoint is `async def` with no key, served by FastAPI's own handling: it costs the server "
        "uvicorn, the middleware (the call log included), routing and FastAPI's response handling. A look-up adds "
        "the key, the quota, reading its parameters, the read model's card and its JSON. The look-up is served by "
        "`LeanRoute` (`chengxin/api/answers.py`): documented from its FastAPI declaration, it reads its key and "
        "parameters itself instead of through FastAPI's per-request dependency solving, and "
        "`tests/faces/api/test_api.py::test_the_lean_look_up_answers_exactly_as_fastapi_would` checks that it answers "
        "byte for byte as FastAPI's handling of the same declaration does.",
    ])
    write_section("api", body)
    print(body)


if __name__ == "__main__":
    main()
