"""Benchmark the candidate generators on a real catalog store: build time, latency p50/p95, ANN recall.

    python scripts/bench_generators.py --db ltrr_data/mpd.db [--cache-dir ltrr_data/emb_cache] [--json]

The first run encodes the catalog with the real model (about 15 minutes on 2 cores); later runs hit the cache.
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.evaluation.generator_bench import bench_generators
from ltrr.retrieval.encoders import SentenceEncoder
from ltrr.store import CatalogStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--cache-dir", default="ltrr_data/emb_cache")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--synthetic-docs", type=int, default=1_000_000, help="BM25 synthetic index size (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the encoder")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    result = bench_generators(CatalogStore.open(args.db), encoder=SentenceEncoder(n_threads=args.threads),
                              cache_dir=args.cache_dir, n_queries=args.queries, synthetic_docs=args.synthetic_docs,
                              progress=stage)
    result["machine"] = machine()
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [[name, result["build_s"][name], g["generate_k100"]["p50_ms"], g["generate_k100"]["p95_ms"],
             g["preview"]["p50_ms"], g["preview"]["p95_ms"]] for name, g in result["generators"].items()]
    print(f"bench_generators: {result['n_entities']:,} entities, {args.queries} queries, {result['machine']}")
    print(table(["generator", "build s", "k=100 p50 ms", "k=100 p95 ms", "preview p50 ms", "preview p95 ms"], rows))
    dense, syn = result["dense"], result["bm25_synthetic"]
    print(f"parse p50 {result['parse']['p50_ms']:.3f} ms, p95 {result['parse']['p95_ms']:.3f} ms; "
          f"lexicon build {result['build_s']['lexicon']:.1f} s; catalog load {result['load_s']:.1f} s")
    print(f"dense: encode one query p50 {dense['encode_one']['p50_ms']:.2f} ms p95 {dense['encode_one']['p95_ms']:.2f}"
          f" ms; ANN search p50 {dense['ann_search_k100']['p50_ms']:.3f} ms p95 {dense['ann_search_k100']['p95_ms']:.3f}"
          f" ms; ANN recall@100 vs exact {dense['ann_recall_at_100']:.4f}")
    if syn:
        print(f"bm25 at {syn['n_docs']:,} synthetic docs: build {syn['build_s']:.1f} s, "
              f"p50 {syn['generate_k100']['p50_ms']:.3f} ms, p95 {syn['generate_k100']['p95_ms']:.3f} ms")
    print(f"peak memory {result['rss_mb']:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
