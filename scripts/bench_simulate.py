"""Benchmark the replay: simulated searches per second with learning on, and RSS growth over a long run.

    python scripts/bench_simulate.py --db ltrr_data/mpd.db [--scenario sim/mpd.toml] [--sessions 5000]
                                     [--policies vw_squarecb,greedy] [--jobs 2] [--repeat 3] [--json]

--jobs N replays seeds 0..N-1 in N processes at once (as `ltrr simulate --jobs N` does) and reports their
aggregate searches per second; peak memory is then the largest process's peak, and there are N of them.

--repeat N runs the whole measurement N times and reports the median searches per second, with the slowest
and fastest run and each run's rate (one run's rate moves with the machine's other load).

Without --db the scenario's own catalog is used (sim/demo.toml generates the synthetic one).
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.simulation.bench import bench_simulate, bench_simulate_parallel, repeat_runs
from ltrr.simulation.scenario import Scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="catalog store (default: the scenario's)")
    parser.add_argument("--scenario", default="sim/mpd.toml")
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--policies", default="vw_squarecb", help="comma-separated policy names")
    parser.add_argument("--jobs", type=int, default=1, help="seeds replayed at once, one process each (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="measurements to take; the median is reported")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    scenario = Scenario.from_toml(args.scenario, db=args.db)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    policies = args.policies.split(",")

    def measure() -> dict:
        if args.jobs > 1:
            return bench_simulate_parallel(scenario, n_sessions=args.sessions, policies=policies, jobs=args.jobs)
        return bench_simulate(scenario, n_sessions=args.sessions, policies=policies, progress=stage)

    result = repeat_runs(measure, args.repeat)
    result["machine"] = machine()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"bench_simulate: {result['db']}, policies {result['policies']}, {args.jobs} process(es), "
          f"{result['machine']}")
    keys = ("n_sessions", "n_searches", "seconds", "searches_per_s", "searches_per_s_min", "searches_per_s_max",
            "repeats", "sessions_per_s", "rss_at_10pct_mb",
            "rss_end_mb", "rss_growth_mb", "peak_rss_mb", "engine_open_s", "world_build_s")
    print(table(["measure", "value"], [[key, result[key]] for key in keys]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
