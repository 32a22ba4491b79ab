"""write_catalog: the synthetic catalog into a CatalogStore, in one transaction, idempotently."""

from __future__ import annotations

from collections.abc import Callable

from ..ingest.report import IngestReport
from ..progress import StageFactory, no_progress
from ..store import CatalogStore, WriteCounts
from .catalog import SyntheticCatalog
from .releases import SOURCE


def write_catalog(store: CatalogStore, catalog: SyntheticCatalog,
                  progress: StageFactory = no_progress) -> IngestReport:
    """Upsert every entity, then tags, playlist contents and users; all commit together or none do.

    Dates come from the config's reference date, so writing the same catalog again reports only
    `unchanged`. Tags with source "demo" of every generated entity are replaced, so a catalog from
    another seed overwrites them; entities the new catalog lacks are left in place.
    """
    report = IngestReport("demo")
    report.read = {"artists": len(catalog.artists), "albums": len(catalog.albums), "tracks": len(catalog.tracks),
                   "playlists": len(catalog.playlists), "users": len(catalog.users)}
    tags = {entity.entity_id: [(tag.tag, tag.weight) for tag in entity.tags] for entity in catalog.entities}
    with store.writer() as writer:
        for target in ("artists", "albums", "tracks", "playlists"):  # this order: foreign keys
            batch = getattr(catalog, target)
            report.add(target, _staged(progress, f"write {target}", len(batch),
                                       lambda update, batch=batch: writer.upsert_entities(batch, progress=update)))
        report.add("tags", _staged(progress, "write tags", len(tags),
                                   lambda update: writer.replace_tags(SOURCE, tags, progress=update)))
        report.add("playlist tracks", _staged(progress, "write playlist tracks", len(catalog.playlist_tracks),
                                              lambda update: writer.replace_playlist_tracks(catalog.playlist_tracks,
                                                                                            progress=update)))
        report.add("users", _staged(progress, "write users", len(catalog.users),
                                    lambda update: writer.upsert_users(catalog.users, progress=update)))
    return report


def _staged(progress: StageFactory, description: str, total: int,
            write: Callable[[Callable[[int], object]], WriteCounts]) -> WriteCounts:
    stage = progress(description, total)
    try:
        return write(stage.update)
    finally:
        stage.close()
