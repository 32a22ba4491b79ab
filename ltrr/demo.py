"""`ltrr demo`: build the seeded synthetic catalog in a local SQLite file, index it, let the engine learn from
a short simulated warm-up, and show a few searches with their explanations.

Returns the lines to print; `cli.py` prints them.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import date, datetime, timedelta

from .config import EngineConfig
from .progress import StageFactory, no_progress
from .store import CatalogStore
from .synthetic import SyntheticCatalog, generate_catalog, write_catalog
from .types import Entity


def run_demo(config: EngineConfig, db: str, seed: int | None = None, progress: StageFactory = no_progress,
             n_warm_up: int = 400) -> list[str]:
    """Generate the catalog of `config.catalog.synthetic` (seed overridable), write it to `db`, describe it."""
    settings = config.catalog.synthetic
    if seed is not None:
        settings = dataclasses.replace(settings, seed=seed)
    start = time.perf_counter()
    catalog = generate_catalog(settings)
    generated = time.perf_counter() - start
    store = CatalogStore.open(db)
    try:
        report = write_catalog(store, catalog, progress=progress)
        counts = store.counts()
    finally:
        store.close()
    written = time.perf_counter() - start - generated
    lines = [f"ltrr demo: synthetic catalog (seed {settings.seed}) generated in {generated:.1f} s, "
             f"written in {written:.1f} s", f"store: {store.url}", ""]
    lines += [f"  {name:<16}{value:>8,}" for name, value in counts.to_dict().items()]
    lines += ["", *report.lines(), ""]
    lines += describe(catalog, settings.reference)
    lines += ["", *learn_and_search(config, db, catalog, n_warm_up, progress)]
    lines += ["", f"next: `ltrr search \"{EXAMPLE_QUERIES[0]}\" --db {db} --explain`; ingest real data with "
              "`ltrr ingest KIND PATH --db FILE` (see README.md)"]
    return lines


EXAMPLE_QUERIES = ("80s classic rock", "workout")


def learn_and_search(config: EngineConfig, db: str, catalog: SyntheticCatalog, n_warm_up: int,
                     progress: StageFactory) -> list[str]:
    """Open the engine (building its indexes), warm it up by self-play, fit the ranker, show searches."""
    from .cli_engine import format_result
    from .engine import Engine
    from .simulation.warmup import warm_up

    start = time.perf_counter()
    engine = Engine.open(db, config=config, progress=progress)
    opened = time.perf_counter() - start
    try:
        report = warm_up(engine, n_warm_up, seed=config.catalog.synthetic.seed, progress=progress)
        summary = engine.fit_ranker()
        half = report.n_searches // 2
        lines = [f"engine: indexes {engine.index_report.action} in {opened:.1f} s ({engine.index_dir}); policy "
                 f"{engine.policy.name}", f"warm-up: {report.n_searches} simulated searches, CTR {report.ctr():.2f},"
                 f" mean reward {report.mean_reward(slice(None, half)):.3f} (first half) -> "
                 f"{report.mean_reward(slice(half, None)):.3f} (second half)",
                 "plans chosen: " + ", ".join(f"{name} {count}" for name, count in report.arms.most_common(6)),
                 f"ranker: LambdaMART v{summary['version']} from {summary['n_searches']} searches with clicks", ""]
        track = catalog.tracks[0]
        artist = next(a.name for a in catalog.artists if a.entity_id == track.artist_id)
        for text in (*EXAMPLE_QUERIES, f"{artist} {track.name}"):
            result = engine.search(text, limit=5, explain=True)
            engine.close(result.request_id)
            lines += [*format_result(result, n_contributions=3), ""]
        engine.save()
    finally:
        engine.shutdown()
    return lines


def describe(catalog: SyntheticCatalog, reference: date) -> list[str]:
    """A few examples a person can check by eye: popular artists with tags, playlists, new tracks."""
    def score(entity: Entity) -> int:
        return entity.popularity.playlist_count or 0

    artists = {artist.entity_id: artist for artist in catalog.artists}
    lines = ["most popular artists (playlist count; top tags):"]
    for artist in sorted(catalog.artists, key=score, reverse=True)[:5]:
        top = sorted(artist.tags, key=lambda t: -t.weight)[:3]
        tags = ", ".join(f"{t.tag} {t.weight:.2f}" for t in top)
        lines.append(f"  {artist.name:<28}{score(artist):>5}  {tags}")
    lines.append("some playlists (tracks; followers):")
    for playlist in sorted(catalog.playlists, key=lambda p: -(p.popularity.follower_sum or 0))[:5]:
        lines.append(f"  {playlist.name:<28}{len(catalog.playlist_tracks[playlist.entity_id]):>5}  "
                     f"{playlist.popularity.follower_sum or 0:>6,}")
    cutoff = datetime.combine(reference, datetime.min.time()) - timedelta(days=30)
    fresh = [t for t in catalog.tracks if t.added_at is not None and t.added_at >= cutoff]
    lines.append(f"newly added in the last 30 days: {len(fresh)} tracks, e.g.")
    for track in fresh[:3]:
        lines.append(f"  {track.name} - {artists[track.artist_id].name} ({track.added_at:%Y-%m-%d})")
    return lines
