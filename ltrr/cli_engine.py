"""The engine's commands: `ltrr index`, `ltrr search`, `ltrr train-ranker`.

    ltrr index --db ltrr_data/mpd.db                     # build or refresh the indexes (incremental)
    ltrr search "80s synthwave" --db ltrr_data/mpd.db --explain
    ltrr train-ranker --db ltrr_data/mpd.db              # LambdaMART from the logged clicks
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime

from .config import EngineConfig
from .result import SearchResult
from .types import Context


def add_engine_commands(commands, db_default: str, stages: Callable) -> None:
    """Register the three subcommands on the `ltrr` parser's subparsers."""
    index = commands.add_parser("index", help="build or refresh every index of a catalog store, incrementally")
    _common(index, db_default)
    index.add_argument("--rebuild", action="store_true", help="rebuild even when the indexes are up to date")
    index.set_defaults(func=lambda args: cmd_index(args, stages(args.quiet)))

    search = commands.add_parser("search", help="search a catalog store and show where each result came from")
    search.add_argument("query", help="the query text")
    _common(search, db_default)
    search.add_argument("--user", help="a user id of the store (personalizes features and the plan)")
    search.add_argument("--device", help="phone, desktop, tablet, speaker, car, tv or web")
    search.add_argument("--limit", type=int, default=10, help="results to show (default 10)")
    search.add_argument("--explain", action="store_true", help="per result: sources, plan, feature contributions")
    search.set_defaults(func=lambda args: cmd_search(args, stages(args.quiet)))

    train = commands.add_parser("train-ranker", help="train the LambdaMART ranker on the logged searches and clicks")
    _common(train, db_default)
    train.set_defaults(func=lambda args: cmd_train_ranker(args, stages(args.quiet)))


def _common(parser: argparse.ArgumentParser, db_default: str) -> None:
    parser.add_argument("--db", default=db_default, help="SQLite path or SQLAlchemy URL of the catalog store")
    parser.add_argument("--index-dir", help="indexes and learned state (default: <db file>.ltrr; required for a "
                                            "server URL)")
    parser.add_argument("--config", help="an ltrr TOML config (default: built-in defaults)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _open(args: argparse.Namespace, progress, rebuild: bool = False):
    from .engine import Engine

    config = EngineConfig.from_toml(args.config) if args.config else None
    return Engine.open(args.db, index_dir=args.index_dir, config=config, progress=progress, rebuild=rebuild)


def cmd_index(args: argparse.Namespace, progress) -> int:
    engine = _open(args, progress, rebuild=args.rebuild)
    report = engine.index_report
    engine.shutdown()
    summary = {"action": report.action, "build": report.build, "catalog_revision": report.revision,
               "index_dir": str(engine.index_dir), "dense_sync": report.dense_sync}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"indexes {report.action} ({report.build}, catalog revision {report.revision}) in {engine.index_dir}")
        if report.dense_sync:
            print("  dense: " + ", ".join(f"{name} {count:,}" for name, count in report.dense_sync.items()))
    return 0


def cmd_search(args: argparse.Namespace, progress) -> int:
    engine = _open(args, progress)
    try:
        context = Context(user_id=args.user, device=args.device,
                          timestamp=datetime.now(UTC).replace(tzinfo=None))
        result = engine.search(args.query, context, limit=args.limit, explain=args.explain)
    finally:  # logged, but left unsettled: a command-line search teaches the bandit nothing
        engine.shutdown()
    print(json.dumps(result.to_dict()) if args.json else "\n".join(format_result(result)))
    return 0


def cmd_train_ranker(args: argparse.Namespace, progress) -> int:
    engine = _open(args, progress)
    try:
        summary = engine.fit_ranker()
    finally:
        engine.shutdown()
    if args.json:
        print(json.dumps(summary))
    else:
        ndcg = summary["validation_ndcg@10"]
        print(f"ranker v{summary['version']}: {summary['n_searches']:,} searches, {summary['n_rows']:,} rows; "
              f"validation nDCG@10 {'n/a' if ndcg is None else f'{ndcg:.4f}'}; saved in {engine.index_dir}/state")
    return 0


def format_result(result: SearchResult, n_contributions: int = 4) -> list[str]:
    """Human-readable lines: the plan, then one line per item (and its explanation when there is one)."""
    decision = result.decision
    plan = ", ".join(f"{name} {k}" for name, k in decision.arm.plan)
    lines = [f"query {result.query.text!r} ({result.query.query_class}); plan {decision.arm.name} [{plan}] "
             f"p={decision.propensity:.3f} by {decision.policy}; {result.n_candidates} candidates; "
             f"{result.timings_ms.get('total', 0.0):.1f} ms"]
    for item in result.items:
        artist = f" — {item.artist}" if item.artist else ""
        sources = " ".join(f"{s.generator}#{s.rank + 1}" for s in item.sources)
        lines.append(f"{item.position + 1:>3}. [{item.kind}] {item.title}{artist}  ({item.score:.4f}; {sources})")
        if item.explanation is not None:
            terms = ", ".join(f"{name} {value:+.3f}" for name, value in item.explanation.top(n_contributions))
            lines.append(f"       {item.explanation.scorer}: bias {item.explanation.bias:+.3f}; {terms}")
    return lines
