"""Catalog ingestion: one module per source, each validating every row before one all-or-nothing write.

`ingest(kind, store, path, ...)` dispatches to the source's function; `ltrr ingest KIND PATH` calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import IngestError
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from .report import IngestReport

KINDS = ("mpd", "genres", "billboard", "lastfm", "csv", "jsonl")


def ingest(kind: str, store: CatalogStore, path: Path, *, skip_bad: bool = False, rejects_path: Path | None = None,
           progress: StageFactory = no_progress, mapping: Mapping[str, str] | None = None,
           source: str | None = None, default_kind: str = "track", delimiter: str = ",") -> IngestReport:
    """Run the ingester for `kind` (one of KINDS) on `path`; see each module for its input format."""
    common = {"skip_bad": skip_bad, "rejects_path": rejects_path, "progress": progress}
    if kind == "mpd":
        from .mpd import ingest_mpd
        return ingest_mpd(store, path, **common)
    if kind == "genres":
        from .genres import ingest_genres
        return ingest_genres(store, path, **common)
    if kind == "billboard":
        from .billboard import ingest_billboard
        return ingest_billboard(store, path, **common)
    if kind == "lastfm":
        from .lastfm import ingest_lastfm
        return ingest_lastfm(store, path, **common)
    if kind in ("csv", "jsonl"):
        from .generic import ingest_table
        return ingest_table(store, path, fmt=kind, mapping=mapping, source=source or kind,
                            default_kind=default_kind, delimiter=delimiter, **common)
    raise IngestError(f"unknown ingest kind {kind!r}; use one of {', '.join(KINDS)}")


__all__ = ["KINDS", "IngestReport", "ingest"]
