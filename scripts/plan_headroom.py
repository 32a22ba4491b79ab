"""How much could any policy gain over the best fixed plan? Full-information plan values from a replay's oracle.

    python scripts/plan_headroom.py --db ltrr_data/mpd.db [--scenario sim/mpd.toml] [--sessions 3000]
                                    [--seeds 0,1] [--train-share 0.5] [--json]

For each seed, the oracle replays the scenario's stream alone and evaluates every plan for every search; the
regret per search of the best fixed plan, the best plan per query class and a full-information learner on the
bandit's own features is then measured on the searches after the training share (`ltrr.simulation.headroom`).
Without --db the scenario's own catalog is used (sim/demo.toml generates the synthetic one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.engine import Engine
from ltrr.simulation.click_models import make_click_model
from ltrr.simulation.headroom import collect_plan_values, headroom
from ltrr.simulation.run import ensure_synthetic_catalog
from ltrr.simulation.scenario import Scenario
from ltrr.simulation.world import World, WorldConfig

POLICIES = ("best_fixed", "per_class", "per_class_hindsight", "full_information")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="catalog store (default: the scenario's)")
    parser.add_argument("--scenario", default="sim/mpd.toml")
    parser.add_argument("--sessions", type=int, default=3000, help="sessions per seed (default 3000)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--train-share", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers such as 0,1,2, got {args.seeds!r}")
    if not seeds or args.sessions < 2:
        parser.error("give at least one seed and --sessions >= 2")

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    scenario = Scenario.from_toml(args.scenario, db=args.db)
    if scenario.synthetic:
        ensure_synthetic_catalog(scenario, stage)
    start = time.perf_counter()
    engine = Engine.open(scenario.db, config=scenario.engine, progress=stage, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world), progress=stage)
        click_model = make_click_model(**scenario.click_model)
        reports = {}
        for seed in seeds:
            values = collect_plan_values(engine, world, click_model, scenario, seed=seed, n_sessions=args.sessions,
                                         progress=stage)
            reports[seed] = headroom(values, train_share=args.train_share, seed=seed)
    finally:
        engine.shutdown(keep_memory=False)
    result = {"scenario": args.scenario, "db": scenario.db, "sessions": args.sessions, "seeds": seeds,
              "train_share": args.train_share, "by_seed": {str(seed): report for seed, report in reports.items()},
              "mean_regret_per_search": {name: float(np.mean([r["policies"][name]["regret_per_search"]
                                                              for r in reports.values()])) for name in POLICIES},
              "seconds": round(time.perf_counter() - start, 1), "machine": machine()}
    if args.json:
        print(json.dumps(result))
        return 0
    rows = []
    for seed, report in reports.items():
        fixed = report["policies"]["best_fixed"]["regret_per_search"]
        for name in POLICIES:
            entry = report["policies"][name]
            chosen = entry.get("arm") or ", ".join(f"{c}: {a}" for c, a in entry.get("arms", {}).items()) or "-"
            ratio = entry["regret_per_search"] / fixed if fixed > 0 else float("nan")
            rows.append([str(seed), name, f"{entry['regret_per_search']:.4f}", f"{ratio:.2f}", chosen])
    print(f"{args.scenario}: {args.sessions} sessions per seed; regret per search against the oracle on the last "
          f"{1 - args.train_share:.0%} of each seed's searches")
    print(table(["seed", "policy", "regret/search", "x best fixed", "plan(s)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
