"""The `ltrr` command line: demo, ingest, stats, index, search, train-ranker, simulate.

This is the only module that reads environment variables and flags, prints, and draws progress bars.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import IngestError, LtrrError

DEFAULT_DB = "ltrr_data/ltrr.db"
DEFAULT_DEMO_DB = "ltrr_data/demo.db"


def _tqdm_stages(quiet: bool):
    """A progress StageFactory drawing tqdm bars on stderr (none with --quiet)."""
    from tqdm import tqdm

    def stage(description: str, total: int | None):
        return tqdm(desc=description, total=total, disable=quiet, unit="row", unit_scale=True,
                    leave=False, file=sys.stderr, dynamic_ncols=True)

    return stage


def _db_default(fallback: str) -> str:
    return os.environ.get("LTRR_DB", fallback)


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest
    from .store import CatalogStore

    mapping = None
    if args.map:
        from .ingest.fields import load_mapping
        mapping = load_mapping(args.map)
    store = CatalogStore.open(args.db)
    try:
        report = ingest(args.kind, store, Path(args.path), skip_bad=args.skip_bad,
                        rejects_path=Path(args.rejects) if args.rejects else None,
                        progress=_tqdm_stages(args.quiet), mapping=mapping, source=args.source,
                        default_kind=args.entity_kind, delimiter=_unescape(args.delimiter))
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print("\n".join(report.lines()))
        print(f"store: {store.url}")
    return 0


def _unescape(delimiter: str) -> str:
    """Let shells pass a tab as `--delimiter '\\t'`."""
    return {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)


def cmd_stats(args: argparse.Namespace) -> int:
    from .store import CatalogStore

    store = CatalogStore.open(args.db)
    counts = store.counts()
    store.close()
    if args.json:
        print(json.dumps(counts.to_dict()))
        return 0
    print(f"store: {store.url}")
    for name, value in counts.to_dict().items():
        print(f"  {name:<16}{value:>12,}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .config import EngineConfig
    from .demo import run_demo

    config = EngineConfig.from_toml(args.config) if args.config else EngineConfig()
    lines = run_demo(config, db=args.db, seed=args.seed, progress=_tqdm_stages(args.quiet), n_warm_up=args.warm_up)
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ltrr", description="ltrr: learning to rank and retrieve for music search")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="build and index a seeded synthetic catalog, replay simulated users "
                                            "(regret vs the oracle), show searches")
    demo.add_argument("--db", default=DEFAULT_DEMO_DB,
                      help=f"SQLite path or SQLAlchemy URL of the demo store (default {DEFAULT_DEMO_DB})")
    demo.add_argument("--config", help="an ltrr TOML config (default: built-in defaults)")
    demo.add_argument("--seed", type=int, help="override catalog.synthetic.seed")
    demo.add_argument("--warm-up", type=int, default=400,
                      help="simulated sessions replayed while the bandit learns (400)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)

    from .ingest import KINDS
    ingest = commands.add_parser("ingest", help="load catalog data into the store (idempotent, all or nothing)")
    ingest.add_argument("kind", choices=KINDS, help="the source format")
    ingest.add_argument("path", help="the file or folder to read")
    ingest.add_argument("--db", default=_db_default(DEFAULT_DB),
                        help=f"SQLite path or SQLAlchemy URL (default {DEFAULT_DB}, or $LTRR_DB)")
    ingest.add_argument("--skip-bad", action="store_true",
                        help="commit the good rows and write the bad ones to the rejects file")
    ingest.add_argument("--rejects", help="where --skip-bad writes bad rows (default rejects-KIND.jsonl)")
    ingest.add_argument("--map", help="csv/jsonl: field mapping, a JSON file or 'name=title_col,artist=artist_col'")
    ingest.add_argument("--source", help="csv/jsonl: namespace of the ids (default: the format name)")
    ingest.add_argument("--kind", dest="entity_kind", default="track",
                        help="csv/jsonl: entity kind of rows without a kind column (default track)")
    ingest.add_argument("--delimiter", default=",", help="csv: field delimiter (default ','; '\\t' or tab for tabs)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    ingest.set_defaults(func=cmd_ingest)

    stats = commands.add_parser("stats", help="entity, tag and user counts of a store")
    stats.add_argument("--db", default=_db_default(DEFAULT_DB),
                       help=f"SQLite path or SQLAlchemy URL (default {DEFAULT_DB}, or $LTRR_DB)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=cmd_stats)

    from .cli_engine import add_engine_commands
    add_engine_commands(commands, _db_default(DEFAULT_DB), _tqdm_stages)
    from .simulation.cli import add_simulate_command
    add_simulate_command(commands, _tqdm_stages)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as exc:
        print(f"ltrr: {exc}", file=sys.stderr)
        return 1
    except LtrrError as exc:
        print(f"ltrr: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ltrr: interrupted; the store keeps only fully committed writes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
