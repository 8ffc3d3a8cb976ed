"""From a case decision to every face (issue 22): how long until the dashboard snapshot, the API's
card, the public list and the watchlists' feed show the re-rated subject.

On a rated workspace with a published dashboard (default: `make demo`'s, `.chengxin`), for
`--cases` black-listed firms with a serious penalty: file an objection to the penalty (at the
counter), then decide `delete` on behalf of its department, and time the decision end to end,
stage by stage (indicators, rating, ratings run, explanations, public list, snapshot). Then a
look-up through the read model (what the API and the dashboard answer from) checks that the
card shows the new version. It changes the workspace it runs on: run it on a copy.

    cp -r .chengxin /tmp/bench-home && .venv/bin/python benchmarks/cases_benchmark.py --home /tmp/bench-home
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd

from common import machine, markdown_table, write_section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=Path(".chengxin"))
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    os.environ["CHENGXIN_HOME"] = str(args.home.resolve())
    from chengxin import readmodel, users
    from chengxin.desks import cases
    from chengxin.flows import rerate
    from chengxin.readmodel.subject import subject_cards

    snap = readmodel.current(args.home)
    entries = pd.read_parquet(snap.path / "lists.parquet")
    listed = entries[(entries["rule"] == "serious_penalty") & (entries["status"] == "active")].head(args.cases)
    rated = pd.read_parquet(snap.path / "ratings.parquet", columns=["subject_id"])
    rows = []
    for firm, reference in zip(listed["subject_id"], listed["reference"]):
        case = cases.file("objection", firm, record=f"penalty:{reference}", reason="benchmark", home=args.home)
        started = time.perf_counter()
        result = rerate.decide(case["case_no"], "delete", by="admin1", note="benchmark: revoked", home=args.home)
        card = subject_cards(readmodel.current(args.home), [firm], users.role("lender", args.home), home=args.home)[0]
        seen = time.perf_counter() - started
        assert card.get("restated", {}).get("cause") == f"case:{case['case_no']}", card
        r = result["rerated"]
        rows.append({"case": case["case_no"], "to_every_face_s": round(seen, 2), **r["timings"],
                     "grade": f"{r['previous']['grade']} -> {r['current']['grade']}",
                     "tier": f"{r['previous']['tier']} -> {r['current']['tier']}", "changes": r["changes"]})
    frame = pd.DataFrame(rows)
    print(frame.to_string(index=False))
    median = statistics.median(frame["to_every_face_s"])
    body = ("## From a case decision to every face (`benchmarks/cases_benchmark.py`)\n\n"
            f"{machine()}; workspace `{args.home}` ({len(rated):,} rated subjects), {len(frame)} objections decided "
            f"`delete`, each timed from the decision to the read model's card showing the new version.\n\n"
            f"Median **{median:.1f} s** from decision to every face (target: 60 s).\n\n" + markdown_table(frame) +
            "\n\nReproduce: `cp -r .chengxin /tmp/bench-home && .venv/bin/python benchmarks/cases_benchmark.py "
            "--home /tmp/bench-home` after `make demo`.")
    if not args.no_write:
        write_section("From a case decision to every face (`benchmarks/cases_benchmark.py`)", body)


if __name__ == "__main__":
    main()
