"""Retrieval systems and the engine (cold, and after a simulated warm-up) on held-out playlist-name queries.

    python scripts/eval_real.py --db ltrr_data/mpd.db [--max-queries 300 --warm-up 1500 --retrain-every 400
                                                      --spearfish 300] [--json]

A seeded share of the MPD playlists (--test-share) is held out: their names are the test queries, graded by how
many same-named test playlists hold each track ("head" when a train playlist has the name, else "tail"), and no
system sees them (`ltrr/evaluation/real_eval.py` lists how). Prints nDCG@10, recall@100 and MRR per class, and
spearfishing recall@10 and MRR, with 95% bootstrap intervals; --json prints
{metric: {class: {system: {"mean": m, "ci95": [lo, hi]}}}} on stdout (query counts and timings on stderr).
Opens the engine's indexes next to the store (`<db>.ltrr/`, built when missing) and writes nothing to the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.config import EngineConfig
from ltrr.evaluation.real_eval import RealEvalOptions, RealEvalReport, evaluate_real
from ltrr.evaluation.real_queries import MISSES_NOTE, count_key, misses_columns


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="catalog store path or SQLAlchemy URL")
    parser.add_argument("--index-dir", default=None, help="engine index directory (default: <db>.ltrr)")
    parser.add_argument("--config", default=None, help="ltrr TOML config (default: EngineConfig())")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of playlists held out (0-1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm-up", type=int, default=1500, help="simulated sessions before engine_learned")
    parser.add_argument("--max-queries", type=int, default=None, help="cap on topical test queries (seeded)")
    parser.add_argument("--spearfish", type=int, default=300, help="noisy title/artist queries")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--retrain-every", type=int, default=400,
                        help="clicks between ranker refits during the warm-up (0: fit once, at its end)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    try:
        options = RealEvalOptions(test_share=args.test_share, seed=args.seed, warm_up=args.warm_up,
                                  max_queries=args.max_queries, spearfish=args.spearfish, n_resamples=args.resamples,
                                  retrain_every=args.retrain_every)
    except ValueError as error:
        parser.error(str(error))
    config = EngineConfig.from_toml(args.config) if args.config else None
    report = evaluate_real(args.db, options, config=config, index_dir=args.index_dir, progress=stage)
    if args.json:
        print(json.dumps(report.metrics))
        print(json.dumps(_about(report)), file=sys.stderr)
    else:
        print(_tables(report))
    return 0


def _about(report: RealEvalReport) -> dict:
    return {"n_queries": report.n_queries, "n_playlists": report.n_playlists, "warm_up": report.warm_up,
            "timings_s": report.timings_s, "frozen": report.frozen, "spearfish_ceiling": report.spearfish_ceiling,
            "spearfish_misses": report.spearfish_misses, "machine": machine()}


def _cell(entry: dict) -> str:
    if entry["mean"] is None:
        return "-"
    low, high = entry["ci95"]
    return f"{entry['mean']:.3f} [{low:.3f}, {high:.3f}]"


def _tables(report: RealEvalReport) -> str:
    parts = []
    for metric, by_class in report.metrics.items():
        classes = list(by_class)
        systems = list(next(iter(by_class.values())))
        counted = {cls: report.n_queries.get(count_key(metric, cls), "?") for cls in classes}
        header = [metric, *[f"{cls} (n={counted[cls]})" for cls in classes]]
        parts.append(table(header, [[system, *[_cell(by_class[cls][system]) for cls in classes]]
                                    for system in systems]))
    ceiling = {cls: value for cls, value in report.spearfish_ceiling.items() if value is not None}
    if ceiling:
        parts.append("spearfish_recall@10 ceiling (Bayes-optimal under the query model; no system exceeds it in "
                     "expectation): " + ", ".join(f"{cls} {value:.3f}" for cls, value in ceiling.items()))
    if report.spearfish_misses:
        parts.append(misses_table(report.spearfish_misses))
    warm = report.warm_up
    parts.append(f"playlists: {report.n_playlists['train']} train, {report.n_playlists['test']} test; warm-up: "
                 f"{warm['sessions']} sessions, {warm['searches']} searches, {warm['clicks']} clicks, ranker "
                 f"{warm['ranker']}; evaluation learned nothing: {report.frozen}; timings (s): {report.timings_s}; "
                 f"{machine()}")
    return "\n\n".join(parts)


def misses_table(misses: dict) -> str:
    """Where each system's missed spearfishing targets were lost (`real_eval.spearfish_misses`)."""
    keys = misses_columns(misses)
    rows = [[system, *[counts[key] for key in keys]] for system, counts in misses.items()]
    return table(["spearfishing misses", *keys], rows) + f"\n({MISSES_NOTE})"


if __name__ == "__main__":
    sys.exit(main())
