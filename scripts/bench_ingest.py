"""Benchmark: ingest the real catalog (mpd + genres + billboard + lastfm) into a fresh store.

    python scripts/bench_ingest.py [--data ../shared/data] [--db URL] [--repeat N] [--json]

Each repeat ingests into a new SQLite file (or, with --db, into that database after emptying nothing:
give a fresh PostgreSQL database or schema), then re-runs every ingester once to time the idempotent
no-change path. Prints wall time per source (median and p95 over repeats), peak memory and final counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from ltrr.bench import machine, peak_rss_mb, summarize, table
from ltrr.ingest import ingest
from ltrr.store import CatalogStore

SOURCES = (("mpd", "mpd_popular_playlists"), ("genres", "spotify_artist_genres/data_w_genres.csv.gz"),
           ("billboard", "billboard_hot100"), ("lastfm", "lastfm_hetrec2011_2k"))


def run_once(db: str, data: Path) -> tuple[dict[str, float], dict[str, float], dict, dict]:
    store = CatalogStore.open(db)
    first, second, matches = {}, {}, {}
    for kind, relative in SOURCES:
        start = time.perf_counter()
        report = ingest(kind, store, data / relative)
        first[kind] = time.perf_counter() - start
        matches[kind] = report.to_dict()["matches"]
    for kind, relative in SOURCES:
        start = time.perf_counter()
        report = ingest(kind, store, data / relative)
        second[kind] = time.perf_counter() - start
        if report.changed:
            raise SystemExit(f"re-ingesting {kind} changed {report.changed} rows: ingestion is not idempotent")
    counts = store.counts().to_dict()
    store.close()
    return first, second, counts, matches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--db", help="a fresh database URL (default: a new SQLite file per repeat)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    firsts, seconds = [], []
    counts, matches = {}, {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or str(Path(tmp) / "catalog.db")
            first, second, counts, matches = run_once(db, data)
        firsts.append(first)
        seconds.append(second)
    rows, result = [], {"machine": machine(), "db": "sqlite" if not args.db else args.db.split(":")[0],
                        "counts": counts, "matches": matches, "peak_rss_mb": round(peak_rss_mb(), 1), "stages": {}}
    for kind in [k for k, _ in SOURCES] + ["total"]:
        pick = (lambda d: sum(d.values())) if kind == "total" else (lambda d, k=kind: d[k])
        cold, warm = summarize([pick(d) for d in firsts]), summarize([pick(d) for d in seconds])
        result["stages"][kind] = {"ingest": cold, "rerun_unchanged": warm}
        rows.append([kind, cold["median_s"], cold["p95_s"], warm["median_s"], warm["p95_s"]])
    if args.json:
        print(json.dumps(result))
        return 0
    info = result["machine"]
    print(f"bench_ingest: {args.repeat} repeat(s), {info['cores']} cores, {info['memory_gib']} GiB, "
          f"commit {info['commit']}, {result['db']}")
    print(table(["source", "ingest median s", "ingest p95 s", "re-run median s", "re-run p95 s"], rows))
    print(f"peak memory {result['peak_rss_mb']:,.0f} MiB; counts {json.dumps(counts)}")
    for kind, m in matches.items():
        for what, v in m.items():
            print(f"  {kind}: matched {what}: {v['matched']:,} of {v['total']:,} ({v['rate']:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
