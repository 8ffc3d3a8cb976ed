"""Helpers for benchmarks: run a step as a child process, measure wall time and peak memory,
and keep one section per benchmark in benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def peak_rss_mib(cmd: list[str], env: dict | None = None) -> dict:
    """Run a command; return its wall seconds, peak resident memory (ru_maxrss, via wait4) and stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env={**os.environ, **(env or {})}, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return {"seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024), "stdout": out}


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.machine()}"


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between the markers of one benchmark."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text("utf-8") if RESULTS.exists() else "# Benchmark results\n\nEvery figure here was measured by the script named in its section.\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, "utf-8")


def markdown_table(frame) -> str:
    """A pandas DataFrame (values already formatted) as a Markdown table."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    return "\n".join([head, rule] + ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)])


def relative(path) -> str:
    """A path as the reader would type it from the repository root."""
    import os

    return os.path.relpath(Path(path).resolve(), RESULTS.parent.parent) if Path(path).is_absolute() else str(path)
