"""Dense retrieval: entities and queries embedded by one encoder, nearest neighbours by cosine similarity.

Entity text templates (what gets embedded, and what the embedding cache is keyed by):

    track     "Title — Artist"            + " — Album" when the album is known and differs from the title
    album     "Album — Artist"
    artist    "Artist: genre, genre, genre"  (its 3 heaviest tags, each name once; just "Artist" without tags)
    playlist  "Name. Description"         (just "Name" without a description)

The query text embedded is `Query.normalized` (folded; the model is uncased anyway, and "Night Drive" and
"night drive" share one entry of the query-embedding LRU cache), less the words of any "kind" slot ("christmas
playlists" embeds "christmas") unless they are all the query has; other slots' words stay: they carry meaning.

A "kind" slot restricts results to its kinds. Each minority kind (fewer than `kind_index_share` of the
entities at fit, e.g. playlists and artists among tracks) gets an index of its own, searched directly. Other
kinds are over-fetched from the main index and filtered: it is asked for
min(size, max(k, min(max_fetch, 2 * k * ceil(size / n_of_those_kinds)))) neighbours, about twice what k
results would need if kinds were spread evenly (for a majority kind at most 4k), so a few may be missing.
Over-fetching alone proved poor for rare kinds on a 250k catalog: 36 ms for 100 playlists (8,400 fetched),
and as few as 0 of 10 artists for some queries.

    >>> from ltrr.retrieval.ann import ExactIndex
    >>> from ltrr.retrieval.encoders import HashingEncoder
    >>> from ltrr.understanding.basic import plain_query
    >>> dense = DenseGenerator(HashingEncoder(), index_factory=ExactIndex).fit(
    ...     [Entity("t1", "track", "Night Drive", "demo", "t1", artist_name="Vela Moss"),
    ...      Entity("t2", "track", "Glass Harbour", "demo", "t2", artist_name="Okra Lane")])
    >>> [c.entity_id for c in dense.generate(plain_query("night drive"), Context.anonymous(), k=1)]
    ['t1']
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..errors import NotFittedError
from ..progress import Stage, StageFactory, no_progress
from ..text import fold
from ..types import Candidate, Context, Entity, EntityKind, Preview, Query
from .ann import AnnIndex, HnswIndex, load_index
from .base import check_k
from .embedding_cache import EmbeddingCache, encode_with_cache, text_keys
from .encoders import TextEncoder

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
STATE_FILE = "dense.json"
TEXT_KEYS_FILE = "text_keys.npy"
SEPARATOR = " — "
N_ARTIST_TAGS = 3
INDEX_CHUNK = 16384  # vectors per index.add call during fit (one progress step)


def top_tags(entity: Entity, n: int = N_ARTIST_TAGS) -> list[str]:
    """The n heaviest distinct tag names, heaviest first (ties by name)."""
    best: dict[str, float] = {}
    for tag in entity.tags:
        best[tag.tag] = max(tag.weight, best.get(tag.tag, 0.0))
    return sorted(best, key=lambda name: (-best[name], name))[:n]


def entity_text(entity: Entity) -> str:
    """The text embedded for an entity, by kind (templates in the module docstring)."""
    name = " ".join(entity.name.split())
    if entity.kind == "artist":
        tags = top_tags(entity)
        return f"{name}: {', '.join(tags)}" if tags else name
    if entity.kind == "playlist":
        description = " ".join((entity.description or "").split())
        return f"{name}. {description}" if description else name
    parts = [name, entity.artist_name or ""]
    if entity.kind == "track" and entity.album_name and entity.album_name.casefold() != entity.name.casefold():
        parts.append(entity.album_name)
    return SEPARATOR.join(" ".join(part.split()) for part in parts if part.strip())


def query_text(query: Query) -> str:
    """The text embedded for a query: its normalized text without the words of "kind" slots (when others remain)."""
    text = query.normalized
    for slot in query.slots_named("kind"):
        text = text.replace(fold(slot.matched), " ", 1)
    return " ".join(text.split()) or query.normalized


class DenseGenerator:
    """Candidates by embedding similarity (score: cosine similarity in [-1, 1], best first).

    index_factory: an index class or zero-argument callable (HnswIndex, ExactIndex), or an index instance
    whose `clone()` (same parameters, empty) is used, so refitting never reuses a built index.
    cache_dir: an EmbeddingCache directory; re-fitting then encodes only texts not seen before.
    query_cache_size: query embeddings kept (LRU, by normalized text); 0 disables the cache.
    preview_k, hit_threshold: `preview` probes the preview_k nearest entities and counts as hits those with
    similarity >= hit_threshold (so n_hits <= preview_k); top_score and score_gap come from the same probe.
    kind_index_share: kinds holding less than this share of the entities get their own index (0: none).
    """

    reads_context = False  # its lists depend on the query alone (see base.CandidateGenerator)

    def __init__(self, encoder: TextEncoder, index_factory: Callable[[], AnnIndex] | AnnIndex = HnswIndex,
                 cache_dir: str | Path | None = None, query_cache_size: int = 4096, name: str = "dense",
                 batch_size: int = 64, preview_k: int = 16, hit_threshold: float = 0.5,
                 max_fetch: int = 10_000, kind_index_share: float = 0.5) -> None:
        self.encoder = encoder
        self.index_factory = index_factory
        self.cache_dir = cache_dir
        self.query_cache_size = query_cache_size
        self.name = name
        self.batch_size = batch_size
        self.preview_k = preview_k
        self.hit_threshold = hit_threshold
        self.max_fetch = max_fetch
        self.kind_index_share = kind_index_share

    # -- building ---------------------------------------------------------------------------------------------

    def fit(self, entities: Iterable[Entity], progress: StageFactory = no_progress) -> DenseGenerator:
        """Embed every entity (texts cached on disk when cache_dir is set) and build the index.

        An entity id given twice keeps its last version. Progress stages: "<name>: encode", "<name>: index".
        """
        latest = {entity.entity_id: (entity.kind, entity_text(entity)) for entity in entities}
        kinds = np.array([kind for kind, _ in latest.values()], dtype=object)
        texts = [text for _, text in latest.values()]
        vectors = self._encode(texts, progress)
        counts = Counter(kinds.tolist())
        minority = sorted(kind for kind, count in counts.items() if count < self.kind_index_share * len(kinds))
        stage = progress(f"{self.name}: index", len(kinds) + sum(counts[kind] for kind in minority))
        try:
            index = self._build(vectors, np.arange(len(kinds)), stage)
            kind_indexes = {kind: self._build(vectors[kinds == kind], np.flatnonzero(kinds == kind), stage)
                            for kind in minority}
        finally:
            stage.close()
        self._set_state(index, list(latest), kinds.tolist(), kind_indexes, text_keys(texts))
        logger.info("%s: indexed %d entities with %s; own indexes for %s", self.name, len(kinds),
                    self.encoder.model_id, minority)
        return self

    def _new_index(self) -> AnnIndex:
        return self.index_factory() if callable(self.index_factory) else self.index_factory.clone()

    def _build(self, vectors: np.ndarray, labels: np.ndarray, stage: Stage) -> AnnIndex:
        index = self._new_index()
        for start in range(0, len(labels), INDEX_CHUNK):
            index.add(vectors[start:start + INDEX_CHUNK], labels[start:start + INDEX_CHUNK])
            stage.update(len(labels[start:start + INDEX_CHUNK]))
        return index

    def _encode(self, texts: list[str], progress: StageFactory = no_progress) -> np.ndarray:
        cache = EmbeddingCache(self.cache_dir) if self.cache_dir is not None else None
        return encode_with_cache(self.encoder, texts, cache, batch_size=self.batch_size,
                                 progress=lambda description, total: progress(f"{self.name}: {description}", total))

    def _set_state(self, index: AnnIndex, entity_ids: list[str | None], kinds: list[EntityKind],
                   kind_indexes: dict[str, AnnIndex], keys: np.ndarray) -> None:
        self.index_ = index
        self.kind_indexes_ = kind_indexes              # kind -> an index of that kind's labels only
        self.entity_ids_ = entity_ids                  # label -> entity id (labels are 0..n-1; None: removed)
        self.kinds_ = kinds                            # label -> kind
        self.text_keys_ = list(keys.tolist())          # label -> sha1 of the text embedded (b"" once removed)
        self.label_of_ = {entity_id: label for label, entity_id in enumerate(entity_ids) if entity_id is not None}
        self.kind_counts_ = Counter(kind for label, kind in enumerate(kinds) if entity_ids[label] is not None)
        self.query_vectors_: OrderedDict[str, np.ndarray] = OrderedDict()

    def add(self, entities: Iterable[Entity]) -> None:
        """Embed and index `entities` now; an id already indexed gets its new text, vector and kind."""
        self._check_fitted()
        latest = {entity.entity_id: entity for entity in entities}
        if not latest:
            return
        texts = [entity_text(entity) for entity in latest.values()]
        vectors = self._encode(texts)
        kinds = np.array([entity.kind for entity in latest.values()], dtype=object)
        if self.kind_index_share > 0:
            for kind in set(kinds.tolist()) - set(self.kind_counts_):  # a kind new to the index is a minority
                self.kind_indexes_[kind] = self._new_index()
        labels = np.array([self._label(entity) for entity in latest.values()], dtype=np.int64)
        for label, key in zip(labels.tolist(), text_keys(texts).tolist()):
            self.text_keys_[label] = key
        self.index_.add(vectors, labels)
        for kind, index in self.kind_indexes_.items():
            if np.any(kinds == kind):  # stale copies left in another kind's index are filtered at search
                index.add(vectors[kinds == kind], labels[kinds == kind])

    def _label(self, entity: Entity) -> int:
        """The entity's label (a new one for a new id), with its kind recorded."""
        label = self.label_of_.setdefault(entity.entity_id, len(self.entity_ids_))
        if label == len(self.entity_ids_):
            self.entity_ids_.append(entity.entity_id)
            self.kinds_.append(entity.kind)
            self.text_keys_.append(b"")
        else:
            self.kind_counts_[self.kinds_[label]] -= 1
            self.kinds_[label] = entity.kind
        self.kind_counts_[entity.kind] += 1
        return label

    def remove(self, entity_ids: Iterable[str]) -> int:
        """Take entities out of every later search; unknown ids are ignored. Returns how many were removed."""
        self._check_fitted()
        labels = [self.label_of_.pop(entity_id) for entity_id in dict.fromkeys(entity_ids)
                  if entity_id in self.label_of_]
        for label in labels:
            self.kind_counts_[self.kinds_[label]] -= 1
            self.entity_ids_[label], self.text_keys_[label] = None, b""
        for index in (self.index_, *self.kind_indexes_.values()):
            index.remove(np.array(labels, dtype=np.int64))
        return len(labels)

    def sync(self, entities: Iterable[Entity], progress: StageFactory = no_progress) -> dict[str, int]:
        """Make the index hold exactly `entities`, touching only what changed since fit (or load).

        New entities and those whose embedded text or kind changed are encoded (through the cache) and added;
        entities no longer present are removed; the rest keep their vectors and graph links. This is what
        turns a rebuild of an unchanged 250k catalog from minutes (an HNSW build) into seconds.
        Returns counts: added, changed, removed, unchanged.
        """
        self._check_fitted()
        latest = {entity.entity_id: entity for entity in entities}
        keys = text_keys([entity_text(entity) for entity in latest.values()]).tolist()
        new, changed = [], []
        for entity, key in zip(latest.values(), keys):
            label = self.label_of_.get(entity.entity_id)
            if label is None:
                new.append(entity)
            elif self.text_keys_[label] != key or self.kinds_[label] != entity.kind:
                changed.append(entity)
        gone = [entity_id for entity_id in self.label_of_ if entity_id not in latest]
        stage = progress(f"{self.name}: sync", len(new) + len(changed))
        self.remove(gone)
        for start in range(0, len(new) + len(changed), INDEX_CHUNK):
            batch = (new + changed)[start:start + INDEX_CHUNK]
            self.add(batch)
            stage.update(len(batch))
        stage.close()
        return {"added": len(new), "changed": len(changed), "removed": len(gone),
                "unchanged": len(latest) - len(new) - len(changed)}

    # -- retrieval --------------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError(f"{type(self).__name__} {self.name!r} is not fitted; call fit(entities) first")

    def embed_query(self, text: str) -> np.ndarray:
        """The query embedding, shape (1, dim), from the LRU cache when the same text was seen recently."""
        self._check_fitted()
        vector = self.query_vectors_.get(text)
        if vector is not None:
            self.query_vectors_.move_to_end(text)
            return vector
        vector = self.encoder.encode([text])
        vector.setflags(write=False)  # shared by every later hit on the cache
        if self.query_cache_size > 0:
            self.query_vectors_[text] = vector
            if len(self.query_vectors_) > self.query_cache_size:
                self.query_vectors_.popitem(last=False)
        return vector

    def _fetch_size(self, k: int, n_wanted: int) -> int:
        size = len(self.index_)
        return min(size, max(k, min(self.max_fetch, 2 * k * math.ceil(size / n_wanted))))

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        """The k entities most similar to the query text (of the kinds a "kind" slot asks for, if any)."""
        check_k(k)
        self._check_fitted()
        if k == 0 or not query.tokens or len(self.index_) == 0:
            return []
        wanted = sorted({slot.value for slot in query.slots_named("kind")})
        if wanted and sum(self.kind_counts_[kind] for kind in wanted) == 0:
            return []
        found = self._search(self.embed_query(query_text(query)), k, wanted)
        return [Candidate(self.entity_ids_[label], self.kinds_[label], self.name, score, rank)
                for rank, (label, score) in enumerate(found[:k])]

    def _search(self, vector: np.ndarray, k: int, wanted: list[str]) -> list[tuple[int, float]]:
        """(label, score) pairs best first, of the wanted kinds (any kind when none is wanted)."""
        if not wanted:
            labels, scores = self.index_.search(vector, k)
        elif all(kind in self.kind_indexes_ for kind in wanted):
            results = [self.kind_indexes_[kind].search(vector, k) for kind in wanted]
            labels, scores = (np.concatenate([r[i] for r in results], axis=1) for i in (0, 1))
        else:
            labels, scores = self.index_.search(vector, self._fetch_size(k, sum(self.kind_counts_[w] for w in wanted)))
        pairs = [(label, score) for label, score in zip(labels[0].tolist(), scores[0].tolist())
                 if not wanted or self.kinds_[label] in wanted]
        return sorted(pairs, key=lambda pair: -pair[1])  # stable: the index's order among equal scores

    def preview(self, query: Query, context: Context) -> Preview:
        """One small probe (preview_k neighbours, kind slots ignored): hits above hit_threshold, best score
        and the gap between the two best."""
        self._check_fitted()
        if not query.tokens or len(self.index_) == 0:
            return Preview(self.name, 0, 0.0, 0.0)
        _, scores = self.index_.search(self.embed_query(query_text(query)), self.preview_k)
        scores = scores[0]
        gap = float(scores[0] - scores[1]) if len(scores) >= 2 else 0.0
        return Preview(self.name, int(np.sum(scores >= self.hit_threshold)), float(scores[0]) if len(scores) else 0.0,
                       gap)

    # -- persistence ------------------------------------------------------------------------------------------

    def _params(self) -> dict:
        return {"query_cache_size": self.query_cache_size, "name": self.name, "batch_size": self.batch_size,
                "preview_k": self.preview_k, "hit_threshold": self.hit_threshold, "max_fetch": self.max_fetch,
                "kind_index_share": self.kind_index_share}

    def save(self, directory: str | Path) -> None:
        """Write the index (index/), each kind's own index (kinds/<kind>/) and dense.json: parameters, encoder
        model_id, label -> (entity id, kind)."""
        self._check_fitted()
        directory = Path(directory)
        self.index_.save(directory / "index")
        np.save(directory / TEXT_KEYS_FILE, np.array(self.text_keys_, dtype="S20"), allow_pickle=False)
        for kind, index in self.kind_indexes_.items():
            index.save(directory / "kinds" / kind)
        state = {"format_version": FORMAT_VERSION, "model_id": self.encoder.model_id, "dim": self.encoder.dim,
                 "params": self._params(), "entity_ids": self.entity_ids_, "kinds": self.kinds_,
                 "kind_indexes": sorted(self.kind_indexes_)}
        (directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, encoder: TextEncoder, cache_dir: str | Path | None = None) -> DenseGenerator:
        """A fitted generator from `save`; `encoder` must be the model it was built with (same model_id)."""
        path = Path(directory) / STATE_FILE
        if not path.exists():
            raise FileNotFoundError(f"no dense generator at {directory} ({STATE_FILE} is missing); save one there")
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path} has format_version {state.get('format_version')!r}, expected "
                             f"{FORMAT_VERSION}; refit and save the dense generator again")
        if state["model_id"] != encoder.model_id:
            raise ValueError(f"the dense index at {directory} was built with encoder {state['model_id']!r}, got "
                             f"{encoder.model_id!r}; pass that encoder, or refit with the new one")
        index = load_index(Path(directory) / "index")
        generator = cls(encoder, index_factory=index, cache_dir=cache_dir, **state["params"])
        kind_indexes = {kind: load_index(Path(directory) / "kinds" / kind) for kind in state["kind_indexes"]}
        keys = np.load(Path(directory) / TEXT_KEYS_FILE, allow_pickle=False)
        generator._set_state(index, state["entity_ids"], state["kinds"], kind_indexes, keys)
        return generator


__all__ = ["DenseGenerator", "entity_text", "query_text", "top_tags"]
