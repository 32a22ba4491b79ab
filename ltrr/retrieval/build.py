"""Build every candidate generator from one snapshot of the catalog.

The snapshot can leave playlists out (`exclude`): their entities, their names on tracks and their
memberships then reach no generator, which is how an evaluation holds playlist queries out.

    snapshot = load_snapshot(store)
    built = build_generators(snapshot, encoder=SentenceEncoder(), cache_dir="ltrr_data/emb_cache")
    candidates = built.generators["bm25"].generate(built.parser.parse("80s synthwave"), Context(), k=100)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..types import Entity
from ..understanding.lexicon import Lexicon
from ..understanding.parser import QueryParser
from .base import CandidateGenerator
from .bm25 import BM25Generator
from .dense import DenseGenerator
from .encoders import TextEncoder
from .exploration import ExplorationGenerator
from .memory import MemoryGenerator
from .structured import StructuredGenerator

GENERATOR_NAMES = ("bm25", "dense", "structured", "memory", "exploration")


@dataclass(frozen=True)
class CatalogSnapshot:
    """The entities and playlist contents the generators are built from."""

    entities: list[Entity]
    playlist_tracks: dict[str, list[str]]
    playlist_names: dict[str, str] = field(default_factory=dict)

    def names_by_track(self) -> dict[str, list[str]]:
        """Track id -> the names of the snapshot's playlists that contain it (once per playlist)."""
        names: dict[str, list[str]] = {}
        for playlist_id, tracks in self.playlist_tracks.items():
            for track_id in dict.fromkeys(tracks):
                names.setdefault(track_id, []).append(self.playlist_names[playlist_id])
        return names


def load_snapshot(store: CatalogStore, exclude: frozenset[str] = frozenset(),
                  progress: StageFactory = no_progress) -> CatalogSnapshot:
    """Every entity of the store but the excluded ids, and the memberships of the playlists kept."""
    stage = progress("load catalog", None)
    entities = []
    for batch in store.iter_batches(batch_size=5000):
        entities.extend(entity for entity in batch if entity.entity_id not in exclude)
        stage.update(len(batch))
    stage.close()
    names = {e.entity_id: e.name for e in entities if e.kind == "playlist"}
    tracks = {pid: ids for pid, ids in store.playlist_memberships().items() if pid in names}
    return CatalogSnapshot(entities, tracks, names)


@dataclass(frozen=True)
class GeneratorSet:
    """The fitted generators by name and the query parser that gives them slots."""

    parser: QueryParser
    generators: dict[str, CandidateGenerator]


def build_generators(snapshot: CatalogSnapshot, *, encoder: TextEncoder, cache_dir: str | Path | None = None,
                     seed: int = 0, names: Sequence[str] = GENERATOR_NAMES,
                     progress: StageFactory = no_progress) -> GeneratorSet:
    """Fit the named generators (default: all five) on the snapshot."""
    unknown = set(names) - set(GENERATOR_NAMES)
    if unknown:
        raise ValueError(f"unknown generators {sorted(unknown)}; choose from {GENERATOR_NAMES}")
    parser = QueryParser(Lexicon.from_entities(snapshot.entities))
    built: dict[str, CandidateGenerator] = {}
    for name in names:
        stage = progress(f"fit {name}", None)
        built[name] = fit_generator(name, snapshot, parser, encoder, cache_dir, seed, progress)
        stage.close()
    return GeneratorSet(parser, built)


def fit_generator(name: str, snapshot: CatalogSnapshot, parser: QueryParser, encoder: TextEncoder,
         cache_dir: str | Path | None, seed: int, progress: StageFactory) -> CandidateGenerator:
    """Fit one generator by name on the snapshot."""
    if name == "bm25":
        return BM25Generator().fit(snapshot.entities, playlist_names=snapshot.names_by_track())
    if name == "dense":
        return DenseGenerator(encoder, cache_dir=cache_dir).fit(snapshot.entities, progress=progress)
    if name == "structured":
        return StructuredGenerator(parser).fit(snapshot.entities)
    if name == "memory":
        return MemoryGenerator().fit(snapshot.entities, playlist_tracks=snapshot.playlist_tracks,
                                     playlist_names=snapshot.playlist_names, progress=progress)
    return ExplorationGenerator(seed=seed).fit(snapshot.entities, progress=progress)
