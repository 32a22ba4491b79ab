"""Benchmark end-to-end search on a catalog store: cold and head latency (p50/p95/p99), stages, QPS, memory.

    python scripts/bench_search.py --db ltrr_data/mpd.db [--index-dir DIR] [--json]

Every run starts from a fresh policy and ranker (saved state is not read or written). The first run builds
the indexes (the dense one encodes the catalog: about 15 minutes on 2 cores for the
201k-track catalog, unless the index directory's embedding cache is warm). Searches are logged in the store.
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.config import EngineConfig
from ltrr.engine import Engine
from ltrr.evaluation.search_bench import STAGES, bench_search


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--index-dir")
    parser.add_argument("--config", help="an ltrr TOML config")
    parser.add_argument("--cold", type=int, default=1000, help="distinct cold queries")
    parser.add_argument("--warm-up", type=int, default=0, help="simulated searches to learn from first (then a "
                                                                "ranker fit)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    config = EngineConfig.from_toml(args.config) if args.config else None
    engine = Engine.open(args.db, index_dir=args.index_dir, config=config, progress=stage, restore_state=False)
    try:
        result = bench_search(engine, n_cold=args.cold, n_warm_up=args.warm_up, progress=stage)
    finally:
        engine.shutdown(keep_memory=False)  # leave the store's click memory as it was
    result["machine"] = machine()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"bench_search: {result['n_entities']:,} tracks, policy {result['policy']}, {result['machine']}")
    rows = [[name] + [result[run]["stages"][name][q] for run in ("cold", "head") for q in ("p50_ms", "p95_ms")]
            for name in STAGES]
    print(table(["stage", "cold p50 ms", "cold p95 ms", "head p50 ms", "head p95 ms"], rows))
    for run in ("cold", "head", "equal_split"):
        wall = result[run]["wall"]
        print(f"{run:<12} p50 {wall['p50_ms']:.2f} ms  p95 {wall['p95_ms']:.2f} ms  p99 {wall['p99_ms']:.2f} ms  "
              f"{result[run]['qps']:.0f} QPS  {result[run]['mean_candidates']:.0f} candidates on average")
    if "warm_up" in result:
        warm = result["warm_up"]
        print(f"warm-up: {warm['n_searches']} searches in {warm['seconds']:.0f} s, CTR {warm['ctr']:.2f}, mean reward "
              f"{warm['mean_reward_first_half']:.3f} -> {warm['mean_reward_second_half']:.3f}; ranker "
              f"v{warm['ranker']['version']} (validation nDCG@10 {warm['ranker']['validation_ndcg@10']})")
    print(f"peak memory {result['peak_rss_mb']:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
