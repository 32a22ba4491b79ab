"""Validate the off-policy estimators on simulator logs: an exploring policy's log estimates fixed plans.

    python scripts/validate_ope.py [--scenario sim/demo.toml] [--db URL] [--searches 100000] [--seeds 1]
                                   [--jobs 1] [--out DIR] [--json]

Runs a replay with `uniform` (the logging policy: every plan with probability 1/27) and the target fixed plans
(`static_union` and `single_bm25` by default), then prints each target's on-policy value
next to its IPS, SNIPS and DR estimates from the uniform log (goal: SNIPS and DR within 5% at 10^5 searches),
twice: over every logged search, and over each session's first search only (the searches whose query and
context do not depend on the policy; see ltrr/evaluation/ope_check.py). `--searches` is sessions per seed;
the seeds' rows are pooled.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from ltrr.bench import table
from ltrr.engine import Engine
from ltrr.evaluation.ope_check import check_fixed_targets
from ltrr.simulation.replay import read_trace
from ltrr.simulation.run import simulate
from ltrr.simulation.scenario import Scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="sim/demo.toml")
    parser.add_argument("--db")
    parser.add_argument("--searches", type=int, default=100_000, help="sessions of the logging run")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the seeds")
    parser.add_argument("--targets", default="static_union=equal,single_bm25=bm25")
    parser.add_argument("--out", default="sim/out/validate_ope")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    targets = dict(item.split("=", 1) for item in args.targets.split(","))
    scenario = Scenario.from_toml(args.scenario, db=args.db)
    scenario = replace(scenario, run=replace(scenario.run, seeds=args.seeds, searches=args.searches,
                                             policies=("uniform", *targets), best_fixed_pilot=0))
    simulate(scenario, args.out, progress=stage, jobs=args.jobs)
    engine = Engine.open(scenario.db, config=scenario.engine, restore_state=False)
    arms = engine.arms
    engine.shutdown(keep_memory=False)
    rows = read_trace(Path(args.out) / "trace.jsonl.gz")
    result = {"all": check_fixed_targets(rows, arms, "uniform", targets),
              "first": check_fixed_targets(rows, arms, "uniform", targets, first_only=True)}
    if args.json:
        print(json.dumps(result))
        return 0
    for view, title in (("all", "every search"), ("first", "first search of each session")):
        print(f"validate_ope, {title}: {result[view]['n_logged']} logged searches of `uniform` "
              f"({args.scenario}, {args.seeds} seed(s) x {args.searches} sessions)")
        lines = []
        for name, target in result[view]["targets"].items():
            lines.append([name, target["arm"], target["n_on_policy"], f"{target['on_policy']:.4f}"]
                         + [f"{target[e]['value']:.4f} ({100 * target[e]['relative_error']:.1f}%)"
                            for e in ("ips", "snips", "dr")])
        print(table(["target", "arm", "n on-policy", "on-policy", "IPS (err)", "SNIPS (err)", "DR (err)"], lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
