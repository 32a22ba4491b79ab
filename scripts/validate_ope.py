"""Validate the off-policy estimators on simulator logs: an exploring policy's log estimates fixed plans.

    python scripts/validate_ope.py [--scenario sim/demo.toml] [--db URL] [--searches 100000] [--out DIR] [--json]

Runs a replay with `uniform` (the logging policy: every plan with probability 1/27) and the target fixed plans
(`static_union` and `single_bm25` by default), then prints each target's on-policy value
next to its IPS, SNIPS and DR estimates from the uniform log (goal: SNIPS and DR within 5% at 10^5 searches).
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
    parser.add_argument("--targets", default="static_union=equal,single_bm25=bm25")
    parser.add_argument("--out", default="sim/out/validate_ope")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    targets = dict(item.split("=", 1) for item in args.targets.split(","))
    scenario = Scenario.from_toml(args.scenario, db=args.db)
    scenario = replace(scenario, run=replace(scenario.run, seeds=1, searches=args.searches,
                                             policies=("uniform", *targets), best_fixed_pilot=0))
    simulate(scenario, args.out, progress=stage)
    engine = Engine.open(scenario.db, config=scenario.engine, restore_state=False)
    arms = engine.arms
    engine.shutdown(keep_memory=False)
    rows = read_trace(Path(args.out) / "trace.jsonl.gz")
    result = check_fixed_targets(rows, arms, "uniform", targets)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"validate_ope: {result['n_logged']} logged searches of `uniform` ({args.scenario})")
    lines = []
    for name, target in result["targets"].items():
        lines.append([name, target["arm"], round(target["on_policy"], 4)]
                     + [f"{target[e]['value']:.4f} ({100 * target[e]['relative_error']:.1f}%)"
                        for e in ("ips", "snips", "dr")])
    print(table(["target", "arm", "on-policy", "IPS (err)", "SNIPS (err)", "DR (err)"], lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
