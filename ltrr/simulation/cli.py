"""The `ltrr simulate` subcommand: argparse -> Scenario -> simulate -> a printed summary."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable


def add_simulate_command(commands, stages: Callable) -> None:
    """Register `ltrr simulate SCENARIO --out DIR [--db URL] [--seeds N] [--searches N] [--jobs N]`."""
    simulate = commands.add_parser("simulate", help="replay policies on simulated users; regret vs the oracle")
    simulate.add_argument("scenario", help="a scenario TOML file, e.g. sim/demo.toml")
    simulate.add_argument("--out", required=True, help="output folder (trace, summary.json/.md, plots)")
    simulate.add_argument("--db", help="catalog store: overrides the scenario's [catalog] db")
    simulate.add_argument("--seeds", type=int, help="number of seeds (overrides [run] seeds)")
    simulate.add_argument("--searches", type=int, help="sessions per seed (overrides [run] searches)")
    simulate.add_argument("--jobs", type=int, default=1, help="worker processes running seeds in parallel (each "
                          "holds its own copy of the indexes in memory); default 1")
    simulate.add_argument("--quiet", action="store_true", help="no progress bars")
    simulate.add_argument("--json", action="store_true", help="print summary.json's object instead of the table")
    simulate.set_defaults(func=lambda args: cmd_simulate(args, stages))


def cmd_simulate(args: argparse.Namespace, stages: Callable) -> int:
    from pathlib import Path

    from .report import summary_markdown
    from .run import simulate
    from .scenario import Scenario

    scenario = Scenario.from_toml(args.scenario, db=args.db,
                                  overrides={"seeds": args.seeds, "searches": args.searches})
    summary = simulate(scenario, args.out, progress=stages(args.quiet), jobs=args.jobs)
    if args.json:
        print(json.dumps(summary))
    else:
        print(summary_markdown(summary, scenario=scenario.name, claim=scenario.claim))
        print(f"outputs in {Path(args.out).resolve()} (regret.png, reward.png, summary.json, trace.jsonl.gz); "
              f"{summary['elapsed_s']} s")
    return 0
