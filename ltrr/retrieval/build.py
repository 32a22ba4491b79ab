"""Build every candidate generator from one snapshot of the catalog.

The snapshot can leave playlists out (`exclude`): their entities, their names on tracks and their
memberships then reach no generator, which is how an evaluation holds playlist queries out.

    snapshot = load_snapshot(store)
    built = build_generators(snapshot, encoder=SentenceEncoder(), cache_dir="ltrr_data/emb_cache")
    candidates = built.generators["bm25"].generate(built.parser.parse("80s synthwave"), Context(), k=100)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config_sections import GENERATOR_NAMES, RetrievalConfig
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..types import Entity
from ..understanding.lexicon import Lexicon
from ..understanding.parser import QueryParser
from .ann import ExactIndex, HnswIndex
from .base import CandidateGenerator
from .bm25 import BM25Generator
from .dense import DenseGenerator
from .encoders import TextEncoder
from .exploration import ExplorationGenerator
from .memory import MemoryGenerator
from .structured import StructuredGenerator


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
                     config: RetrievalConfig = RetrievalConfig(), names: Sequence[str] | None = None,
                     progress: StageFactory = no_progress) -> GeneratorSet:
    """Fit the named generators (default: `config.generators`) on the snapshot, each from its config table."""
    names = config.generators if names is None else tuple(names)
    unknown = set(names) - set(GENERATOR_NAMES)
    if unknown:
        raise ValueError(f"unknown generators {sorted(unknown)}; choose from {GENERATOR_NAMES}")
    parser = QueryParser(Lexicon.from_entities(snapshot.entities))
    built: dict[str, CandidateGenerator] = {}
    for name in names:
        stage = progress(f"fit {name}", None)
        built[name] = fit_generator(name, snapshot, parser, encoder, cache_dir, config, progress)
        stage.close()
    return GeneratorSet(parser, built)


def exploring(seed: int, config: RetrievalConfig = RetrievalConfig()) -> RetrievalConfig:
    """`config` with the exploration generator's seed replaced (evaluations draw it from their own seed)."""
    return replace(config, exploration=replace(config.exploration, seed=seed))


def make_dense(encoder: TextEncoder, cache_dir: str | Path | None, config: RetrievalConfig) -> DenseGenerator:
    """An unfitted dense generator from `[retrieval.dense]`."""
    dense = config.dense
    index = ExactIndex() if dense.exact else HnswIndex(dense.M, dense.ef_construction, dense.ef_search)
    return DenseGenerator(encoder, index_factory=index, cache_dir=cache_dir, query_cache_size=dense.query_cache_size,
                          batch_size=dense.batch_size, preview_k=dense.preview_k, hit_threshold=dense.hit_threshold,
                          kind_index_share=dense.kind_index_share)


def fit_generator(name: str, snapshot: CatalogSnapshot, parser: QueryParser, encoder: TextEncoder,
                  cache_dir: str | Path | None, config: RetrievalConfig = RetrievalConfig(),
                  progress: StageFactory = no_progress) -> CandidateGenerator:
    """Fit one generator by name on the snapshot, with its `[retrieval.<name>]` parameters."""
    if name == "bm25":
        bm25 = config.bm25
        return BM25Generator(bm25.k1, bm25.b, bm25.epsilon, bm25.field_weights(), bm25.popularity_weight,
                             typo_discount=bm25.typo_discount).fit(
            snapshot.entities, playlist_names=snapshot.names_by_track())
    if name == "dense":
        return make_dense(encoder, cache_dir, config).fit(snapshot.entities, progress=progress)
    if name == "structured":
        return StructuredGenerator(parser, popularity_weight=config.structured.popularity_weight,
                                   years_widening=config.structured.years_widening).fit(snapshot.entities)
    if name == "memory":
        memory = config.memory
        return MemoryGenerator(memory.half_life_days, memory.prior_strength, memory.max_per_key, memory.n_tags,
                               memory.typo_discount).fit(
            snapshot.entities, playlist_tracks=snapshot.playlist_tracks, playlist_names=snapshot.playlist_names,
            progress=progress)
    exploration = config.exploration
    return ExplorationGenerator(mode=exploration.mode, seed=exploration.seed, new_days=exploration.new_days,
                                tail_share=exploration.tail_share, novel_window=exploration.novel_window
                                ).fit(snapshot.entities, progress=progress)
