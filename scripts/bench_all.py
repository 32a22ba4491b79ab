"""Run every benchmark and regenerate BENCHMARKS.md (one table per benchmark, with its command, commit and machine).

    python scripts/bench_all.py --db ltrr_data/mpd.db [--quick] [--only search,simulate] [--data ../shared/data]
    python scripts/bench_all.py --render-only [--out bench/out] [--output BENCHMARKS.md]

Each benchmark (ingest, generators, search, simulate, eval_real) runs as a subprocess from the repository root
with --json; its stdout goes to OUT/NAME.json, its stderr to OUT/NAME.err. --quick runs smaller sizes. The
file is then rendered from every NAME.json in OUT (a benchmark with none is noted as not run). A failed
benchmark is shown with its return code and the end of its stderr, and the exit status is then 1.
Expect hours at full sizes on 2 cores (see `ltrr/bench_report.py` for the sizes).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ltrr.bench_report import BENCHMARKS, BY_NAME, DEFAULT_DATA, ROOT, BenchOptions, bench_all


def from_root(value: str | None) -> str | None:
    """A relative path given from another folder, made relative to the repository root (where scripts run)."""
    if value is None or "://" in value or Path(value).is_absolute():
        return value
    return os.path.relpath(Path.cwd() / value, ROOT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="the ingested real catalog (path or SQLAlchemy URL); all but ingest need it")
    parser.add_argument("--data", default=None, help=f"bench_ingest's data folder (default {DEFAULT_DATA}, relative "
                                                     "to the repository root)")
    parser.add_argument("--only", default=None, help="comma-separated benchmarks to run: "
                                                     + ",".join(b.name for b in BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--out", default="bench/out", help="folder for the JSON and stderr of each benchmark")
    parser.add_argument("--render-only", action="store_true", help="render from --out without running anything")
    parser.add_argument("--output", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else [b.name for b in BENCHMARKS]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        parser.error(f"--only: unknown benchmark(s) {unknown}; choose from {', '.join(BY_NAME)}")
    needing = [n for n in names if BY_NAME[n].needs_db]
    if needing and not args.db and not args.render_only:
        parser.error(f"--db (the ingested real catalog) is required for {', '.join(needing)}; or use --only ingest")
    data = from_root(args.data) if args.data else DEFAULT_DATA
    options = BenchOptions(db=from_root(args.db), data=data, quick=args.quick)
    invocation = shlex.join(["python", "scripts/bench_all.py", *(sys.argv[1:] if argv is None else argv)])
    return bench_all(options, names, out_dir=Path(args.out), output=Path(args.output), render_only=args.render_only,
                     invocation=invocation, log=lambda message: print(message, file=sys.stderr, flush=True))


if __name__ == "__main__":
    sys.exit(main())
