"""`ltrr demo`: build the seeded synthetic catalog in a local SQLite file and show what is in it.

Returns the lines to print; `cli.py` prints them. Later steps extend the demo to index, search and
simulate on the same catalog.
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


def run_demo(config: EngineConfig, db: str, seed: int | None = None,
             progress: StageFactory = no_progress) -> list[str]:
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
    lines += ["", "next: `ltrr stats --db " + db + "`; ingest real data with `ltrr ingest KIND PATH --db FILE` "
              "(see README.md)"]
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
