"""MemoryGenerator: the entities users clicked for a query before, and, cold, the ones predicted for it.

For a query key (`memory_predict.query_key`: "The Weeknd" and "weeknd" share one) each entity's score is

    score = (clicks + prior_strength * p) / (impressions + prior_strength)

the posterior mean of a Beta prior centered on p with `prior_strength` pseudo-impressions, where p is the
entity's predicted CTR for the key (`memory_predict`: prior by query type x popularity) or BASE_CTR (0.01)
for a pair that was observed but never predicted. Impressions and clicks are position-discounted and decay
with `half_life_days` (`memory_stats`). So an entity nobody clicked yet scores its prediction, and as
evidence accrues its score tends to the observed CTR; as the evidence ages it drifts back to p.

When the exact key has fewer than k entities (or none), keys within a small edit distance (`memory_typo`)
add theirs, scores multiplied by typo_discount ** distance. Decay is computed at `Context.timestamp`, or
else at the latest recorded event (so results do not depend on the wall clock).

    >>> from ltrr.types import Context, Entity
    >>> from ltrr.understanding.basic import plain_query
    >>> memory = MemoryGenerator().fit([Entity("t1", "track", "Night Drive", "demo", "t1", artist_name="Vela Moss")])
    >>> [c.entity_id for c in memory.generate(plain_query("vela moss night drive"), Context(), k=5)]
    ['t1']
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import NotFittedError, UnknownEntityError
from ..progress import Stage, StageFactory, no_progress
from ..types import Candidate, Context, Entity, Preview, Query
from ..understanding.basic import plain_query
from .base import check_k
from .memory_index import EntityTable, PredictedIndex
from .memory_predict import BASE_CTR, PredictionBuilder, playlist_queries, query_key
from .memory_stats import ObservedStats, examination_weight, posterior_ctr, to_day
from .memory_store import load_memory, load_stats, save_memory, save_stats
from .memory_typo import TypoIndex

if TYPE_CHECKING:
    from ..store import CatalogStore

PROGRESS_STEP = 10_000  # entities per progress update


class MemoryGenerator:
    """Query-to-entity memory with predicted queries for cold start.

    Args:
        half_life_days: observed counts halve every this many days.
        prior_strength: pseudo-impressions of the prior (the predicted CTR) in the blend.
        max_per_key: predicted entities kept per query key (the best-scored ones).
        n_tags: top tags per entity that give "<tag>" / "<tag> songs" predicted queries.
        typo_discount: score factor per edit of a near-duplicate key.
    """

    reads_context = True  # its lists depend on who asks and when

    def __init__(self, half_life_days: float = 14.0, prior_strength: float = 20.0, max_per_key: int = 500,
                 n_tags: int = 2, typo_discount: float = 0.5, name: str = "memory") -> None:
        self.half_life_days = half_life_days
        self.prior_strength = prior_strength
        self.max_per_key = max_per_key
        self.n_tags = n_tags
        self.typo_discount = typo_discount
        self.name = name

    def fit(self, entities: Iterable[Entity], playlist_tracks: Mapping[str, Sequence[str]] | None = None,
            playlist_names: Mapping[str, str] | None = None, progress: StageFactory = no_progress) -> MemoryGenerator:
        """Predict the queries of every entity; playlist names predict their tracks only when given here.

        `playlist_names` defaults to the names of the playlist entities among `entities`; pass both mappings
        (e.g. `store.playlist_memberships()`) or neither, to withhold playlists from an evaluation.
        """
        self._check_params()
        builder = PredictionBuilder(self.n_tags, names={}, artist_tags={})
        ids, kinds, own_names = _predict_stream(builder, entities, progress(f"{self.name}: predict queries", None))
        if playlist_tracks:
            names = playlist_names if playlist_names is not None else own_names
            builder.add_pairs(_playlist_triples(builder, ids, playlist_tracks, names))
        self.entities_, remap = EntityTable.build(ids, kinds)
        positions = remap[np.asarray(builder.positions, dtype=np.int64)]
        self.index_ = PredictedIndex.build(builder.keys, np.asarray(builder.rows), positions,
                                           np.asarray(builder.scores), self.max_per_key)
        self.typo_ = TypoIndex.build(self.index_.keys)
        self.observed_ = ObservedStats(self.half_life_days)
        self.names_, self.artist_tags_ = builder.names, builder.artist_tags
        return self

    def add(self, entities: Sequence[Entity]) -> None:
        """Predict the queries of new (or changed) entities: findable at once, before any click."""
        self._check_fitted()
        entities = list(entities)
        positions = self.entities_.append([e.entity_id for e in entities], [e.kind for e in entities])
        builder = PredictionBuilder(self.n_tags, names=self.names_, artist_tags=self.artist_tags_)
        for local, entity in enumerate(entities):
            builder.add(local, entity)
        builder.finish()
        keys = [builder.keys[row] for row in builder.rows]
        self.typo_.add(self.index_.add(keys, [positions[i] for i in builder.positions], builder.scores))
        if self.index_.needs_compaction():
            self.index_ = self.index_.compacted()
            self.typo_ = TypoIndex.build(self.index_.keys)
            self.typo_.add(key for key in self.observed_.pairs if self.index_.keys.find(key) < 0)

    def fork(self) -> MemoryGenerator:
        """A memory with the same predictions and no click statistics, that learns apart from this one.

        The predicted index and entity table are shared, not copied (cheap at any catalog size), so `add`
        on either changes what both predict: fork for replaying several policies over one fixed catalog.
        """
        self._check_fitted()
        twin = copy.copy(self)
        twin.observed_ = ObservedStats(self.half_life_days)
        twin.typo_ = self.typo_.copy()
        return twin

    def record(self, query: Query | str, entity_id: str, clicked: bool, position: int | None = None,
               timestamp: datetime | None = None) -> None:
        """Remember one impression of `entity_id` for `query` (0-based `position`; now when no timestamp)."""
        self._check_fitted()
        key = self._key(query)
        if not key:
            raise ValueError(f"query {getattr(query, 'text', query)!r} has no words to remember; "
                             "record only queries with tokens")
        entity = self.entities_.position(entity_id)
        if entity < 0:
            raise UnknownEntityError(f"entity {entity_id!r} is not in the memory; add it with add([...]) first")
        weight = examination_weight(position)  # validates position even for a click
        impressions, clicks = (1.0, 1.0) if clicked else (weight, 0.0)
        day = to_day(timestamp or datetime.now(UTC))
        is_new = key not in self.observed_.pairs and key not in self.index_.overlay and self.index_.keys.find(key) < 0
        self.observed_.record(key, entity, impressions, clicks, day)
        if is_new:
            self.typo_.add([key])

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        """At most k entities for the query, best score first (ties: fitted entities in id order, then added ones)."""
        check_k(k)
        self._check_fitted()
        key = query_key(query.normalized) if query.tokens else ""
        if k == 0 or not key:
            return []
        day = self._day(context)
        scores = self._scores(key, day)
        if len(scores) < k:
            for other, distance in self.typo_.similar(key):
                discount = self.typo_discount ** distance
                for entity, score in self._scores(other, day).items():
                    if score * discount > scores.get(entity, -1.0):
                        scores[entity] = score * discount
        best = heapq.nsmallest(k, scores.items(), key=lambda item: (-item[1], item[0]))
        ids = self.entities_.entity_ids([entity for entity, _ in best])
        return [Candidate(entity_id, self.entities_.kind(entity), self.name, float(score), rank)
                for rank, (entity_id, (entity, score)) in enumerate(zip(ids, best))]

    def preview(self, query: Query, context: Context) -> Preview:
        """Entities of the exact query key (no typo search: cheap), with the top score and its gap."""
        self._check_fitted()
        key = query_key(query.normalized) if query.tokens else ""
        scores = self._scores(key, self._day(context)) if key else {}
        top = heapq.nlargest(2, scores.values()) + [0.0, 0.0]
        return Preview(self.name, len(scores), float(top[0]), float(top[0] - top[1]) if len(scores) > 1 else 0.0)

    def query_seen(self, query: Query | str) -> bool:
        """Whether any impression was recorded for the query's key (predictions alone do not count)."""
        self._check_fitted()
        return self._key(query) in self.observed_.pairs

    def counts(self, query: Query | str, entity_id: str, at: datetime | None = None) -> tuple[float, float]:
        """Decayed (impressions, clicks) of the pair at `at` (default: the latest event); (0, 0) if unseen."""
        self._check_fitted()
        stat = self.observed_.entities(self._key(query)).get(self.entities_.position(entity_id))
        day = to_day(at) if at is not None else self.observed_.clock
        return (0.0, 0.0) if stat is None else self.observed_.counts_at(stat, day)

    def score(self, query: Query | str, entity_id: str, at: datetime | None = None) -> float:
        """The pair's score for the exact key (0.0 when neither predicted nor observed)."""
        self._check_fitted()
        day = to_day(at) if at is not None else self.observed_.clock
        return self._scores(self._key(query), day).get(self.entities_.position(entity_id), 0.0)

    def pair_stats(self, query: Query, entity_ids: Sequence[str], context: Context) -> tuple[np.ndarray, np.ndarray]:
        """For the query's exact key and each entity: (score, decayed impressions), both 0.0 when unknown.

        One lookup of the key for a whole pool: what the ranker's memory features read.
        """
        self._check_fitted()
        key = query_key(query.normalized) if query.tokens else ""
        n = len(entity_ids)
        if not key:
            return np.zeros(n), np.zeros(n)
        day = self._day(context)
        scores, observed = self._scores(key, day), self.observed_.entities(key)
        positions = [self.entities_.position(entity_id) for entity_id in entity_ids]
        impressions = [self.observed_.counts_at(observed[p], day)[0] if p in observed else 0.0 for p in positions]
        return np.array([scores.get(p, 0.0) for p in positions]), np.array(impressions, dtype=np.float64)

    def save(self, directory: str | Path) -> None:
        """Write the fitted state (JSON + npy) to `directory`."""
        self._check_fitted()
        save_memory(self, Path(directory))

    @classmethod
    def load(cls, directory: str | Path) -> MemoryGenerator:
        return load_memory(cls, Path(directory))

    def save_to(self, store: CatalogStore) -> int:
        """Upsert the observed statistics into the catalog store in one transaction; returns rows written."""
        self._check_fitted()
        return save_stats(self, store)

    def load_from(self, store: CatalogStore) -> MemoryGenerator:
        """Replace the observed statistics with this generator's rows in the store (fit first)."""
        self._check_fitted()
        load_stats(self, store)
        return self

    def _scores(self, key: str, day: float | None) -> dict[int, float]:
        """Entity position -> blended score for one exact key."""
        predicted = self.index_.lookup(key)
        scores = dict(predicted)
        for entity, stat in self.observed_.entities(key).items():
            impressions, clicks = self.observed_.counts_at(stat, day)
            scores[entity] = posterior_ctr(clicks, impressions, predicted.get(entity, BASE_CTR), self.prior_strength)
        return scores

    def _key(self, query: Query | str) -> str:
        return query_key(query.normalized if isinstance(query, Query) else plain_query(query).normalized)

    def _day(self, context: Context) -> float | None:
        return to_day(context.timestamp) if context.timestamp is not None else self.observed_.clock

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError(f"{type(self).__name__} {self.name!r} is not fitted; call fit(entities) first")

    def _check_params(self) -> None:
        problems = [(name, value, rule) for name, value, rule, ok in [
            ("half_life_days", self.half_life_days, "> 0", self.half_life_days > 0),
            ("prior_strength", self.prior_strength, ">= 0", self.prior_strength >= 0),
            ("max_per_key", self.max_per_key, ">= 1", self.max_per_key >= 1),
            ("n_tags", self.n_tags, ">= 0", self.n_tags >= 0),
            ("typo_discount", self.typo_discount, "in [0, 1]", 0 <= self.typo_discount <= 1)] if not ok]
        if problems:
            name, value, rule = problems[0]
            raise ValueError(f"MemoryGenerator {name} must be {rule}, got {value!r}")


def _predict_stream(builder: PredictionBuilder, entities: Iterable[Entity],
                    stage: Stage) -> tuple[list[str], list[str], dict[str, str]]:
    """Feed the stream to the builder; returns entity ids and kinds in stream order, and playlist names."""
    ids: list[str] = []
    kinds: list[str] = []
    playlist_names: dict[str, str] = {}
    for entity in entities:
        builder.add(len(ids), entity)
        ids.append(entity.entity_id)
        kinds.append(entity.kind)
        if entity.kind == "playlist":
            playlist_names[entity.entity_id] = entity.name
        if len(ids) % PROGRESS_STEP == 0:
            stage.update(PROGRESS_STEP)
    stage.update(len(ids) % PROGRESS_STEP)
    stage.close()
    builder.finish()
    return ids, kinds, playlist_names


def _playlist_triples(builder: PredictionBuilder, ids: list[str], playlist_tracks: Mapping[str, Sequence[str]],
                      playlist_names: Mapping[str, str]) -> list[tuple[str, int, float]]:
    """(key, entity stream position, score) of playlist-name predictions for the fitted tracks."""
    wanted = {track_id for track_ids in playlist_tracks.values() for track_id in track_ids}
    position_of = {entity_id: i for i, entity_id in enumerate(ids) if entity_id in wanted}
    factors = {entity_id: builder.factors[i] for entity_id, i in position_of.items()}
    return [(key, position_of[track_id], score)
            for key, track_id, score in playlist_queries(playlist_tracks, playlist_names, factors)]
