"""Recall@k of every candidate generator and of their union, on a catalog store with the MPD playlists.

    python scripts/eval_generators.py --db ltrr_data/mpd.db [--cache-dir ltrr_data/emb_cache] [--json]

Ingest first (README: `ltrr ingest mpd|genres|billboard|lastfm ... --db FILE`). The first run encodes the
whole catalog with the real model (about 15 minutes on 2 cores); the embedding cache makes later runs fast.
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from ltrr.bench import machine, table
from ltrr.evaluation.generator_eval import evaluate_generators
from ltrr.retrieval.encoders import HashingEncoder, SentenceEncoder
from ltrr.store import CatalogStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="catalog store path or SQLAlchemy URL")
    parser.add_argument("--cache-dir", default="ltrr_data/emb_cache", help="embedding cache directory")
    parser.add_argument("--spearfish", type=int, default=1000, help="spearfishing queries per class")
    parser.add_argument("--max-topical", type=int, default=None, help="cap on topical queries (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stub-encoder", action="store_true", help="hashing encoder instead of the real model")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    def stage(description, total):
        return tqdm(desc=description, total=total, disable=args.quiet, leave=False, file=sys.stderr)

    encoder = HashingEncoder() if args.stub_encoder else SentenceEncoder()
    store = CatalogStore.open(args.db)
    result = evaluate_generators(store, encoder=encoder, cache_dir=args.cache_dir, n_spearfish=args.spearfish,
                                 max_topical=args.max_topical, seed=args.seed, progress=stage)
    result["machine"] = machine()
    if args.json:
        print(json.dumps(result))
        return 0
    for cls, by_generator in result["recall"].items():
        print(f"\n{cls} ({result['n_queries'][cls]} queries): recall@k")
        ks = list(next(iter(by_generator.values())))
        print(table(["generator", *[f"@{k}" for k in ks]],
                    [[name, *[f"{values[k]:.3f}" for k in ks]] for name, values in by_generator.items()]))
    print(f"\nbuild {result['build_s']} s, evaluation {result['eval_s']} s, "
          f"{result['held_out_playlists']} held-out playlists; {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
