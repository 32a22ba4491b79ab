"""BM25Generator: lexical retrieval over every entity kind, with per-field weights and a popularity prior.

Each entity is one document of five fields: title (`name`), artist (`artist_name`), album (`album_name`),
playlist text and tags. For a playlist, the playlist field is its description; its name is already its title, so it
is not counted twice. For any other entity, the field holds the names of the playlists that contain it, taken only
from the `playlist_names` argument, so that an evaluation can withhold playlists. Tags are `Entity.tags` names.
Tokens come from `ltrr.text.tokenize`.

Field weights multiply term frequencies: tf_d(t) = sum_f w_f * tf_f(t) and |d| = sum_f w_f * |d_f|. With integer
weights the index is exactly `rank_bm25.BM25Okapi` over a document whose field tokens are repeated w_f times, with the
same idf and epsilon floor (see `bm25_index`). Defaults: title 3, artist 2, album 1, playlist 0.5, tags 0.5. Most music
queries name a track or an artist, and "artist title" queries need the artist to count above the topical words. The
playlist and tag fields are noisy, and every token they hold also lengthens |d|. Deliberate document choices, which
leave the scoring formula unchanged: the playlist and tag fields keep each distinct token once. Playlist tokens are
ordered by how many of the entity's playlist names use them and capped at MAX_PLAYLIST_TOKENS; tag tokens follow
tag order and are capped at MAX_TAG_TOKENS. Without caps, a hit found in 500 playlists has a document hundreds of
tokens long, and length normalization buries its title match under every cover's. On the MPD catalog, for title-only
queries of 1,000 tracks drawn by popularity, recall@10 of the exact track is 0.79 with caps of 32 and 16, all weights
1 and no prior. The defaults give 0.94. On a uniform draw, recall@10 goes from 0.93 to 0.95.

Popularity prior: score = bm25 + popularity_weight * min(1, log1p(s) / log1p(max s of the entity's kind at fit)).
Here s is the entity's first known count among playlist_count, follower_sum and play_count (for a playlist, its
follower_sum comes first), or 0. The prior is added only to entities that match a query term, so among equal text
matches the more popular one wins. popularity_weight=0 disables it. The default of 4 is small next to a title match
(a one-word title match scores about 10 to 20). On the same measurement, weights of 2, 4 and 6 give uniform-draw
recall@10 of 0.943, 0.947 and 0.939, and popular-draw recall@10 of 0.91, 0.94 and 0.95.

Typos: a query word that is not in the vocabulary (4 characters or more) is replaced by the vocabulary words
nearest to it (`understanding.fuzzy.FuzzyIndex`: 1 edit up to 6 characters, 2 from 7; adjacent transpositions
count as one), at most FUZZY_EXPANSIONS of them, the most frequent first, each weighted typo_discount ** edits
as a query term. Known words are never expanded, so a clean query scores exactly as before. On the MPD catalog
(600 spearfishing queries by popularity, 30% misspelt; two seeds), recall@10 went from 0.80 and 0.79 to 0.88
and 0.85; misspelt titles from 0.49 and 0.44 to 0.88 and 0.78, at about +0.15 ms per query. A discount of 0.5
to 0.9 and 1 to 5 expansions all gave 0.84 to 0.88. typo_discount=0 disables it.

A "kind" slot on the query restricts results to those kinds. The tokens of that slot ("playlists", "songs") are not
searched, unless they are all the query has.

    >>> from ltrr.types import Entity
    >>> from ltrr.understanding.basic import plain_query
    >>> bm25 = BM25Generator().fit([Entity("t1", "track", "Night Drive", "demo", "1"),
    ...                             Entity("t2", "track", "Glass Harbour", "demo", "2")])
    >>> [c.entity_id for c in bm25.generate(plain_query("night"), Context(), k=5)]
    ['t1']
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import NotFittedError
from ..text import tokenize
from ..types import ENTITY_KINDS, Candidate, Context, Entity, Preview, Query
from ..understanding.fuzzy import FuzzyIndex
from .base import check_k
from .bm25_index import BM25Index, Postings, count_matches, search

FIELDS = ("title", "artist", "album", "playlist", "tags")
DEFAULT_FIELD_WEIGHTS = MappingProxyType({"title": 3.0, "artist": 2.0, "album": 1.0, "playlist": 0.5, "tags": 0.5})
DEFAULT_POPULARITY_WEIGHT = 4.0
MAX_PLAYLIST_TOKENS = 12
MAX_TAG_TOKENS = 8
FORMAT_VERSION = 1
DEFAULT_TYPO_DISCOUNT = 0.5
FUZZY_EXPANSIONS = 3
FUZZY_MIN_LENGTH = 4  # shorter words have too many 1-edit neighbours to guess from
_KIND_CODE = {kind: code for code, kind in enumerate(ENTITY_KINDS)}
_POSTINGS = ("indptr", "docs", "tf", "weights")


def entity_fields(entity: Entity, playlist_names: Sequence[str] = (),
                  tokens: Callable[[str], list[str]] = tokenize) -> dict[str, list[str]]:
    """The tokens of each field of one entity's document (see the module docstring); `tokens` may memoize."""
    if entity.kind == "playlist":
        playlist = tokenize(entity.description or "")
    else:
        counts = Counter(token for name in playlist_names for token in tokens(name))
        playlist = [token for token, _ in counts.most_common(MAX_PLAYLIST_TOKENS)]
    tags = dict.fromkeys(token for tag in dict.fromkeys(t.tag for t in entity.tags) for token in tokens(tag))
    return {"title": tokenize(entity.name), "artist": tokens(entity.artist_name or ""),
            "album": tokens(entity.album_name or ""), "playlist": playlist, "tags": list(tags)[:MAX_TAG_TOKENS]}


def popularity_signal(entity: Entity) -> float:
    """log1p of the entity's first known popularity count (see the module docstring), 0 when none is known."""
    signals = entity.popularity
    order = ((signals.follower_sum, signals.playlist_count, signals.play_count) if entity.kind == "playlist"
             else (signals.playlist_count, signals.follower_sum, signals.play_count))
    value = next((v for v in order if v is not None), 0)
    return float(np.log1p(max(value, 0)))


class BM25Generator:
    """BM25 over tracks, artists, albums and playlists, served from a sparse term-major index.

    Fitted state: `index_` (postings and statistics), `vocabulary_` (term -> row), `entity_ids_` (doc -> id),
    `kinds_` (doc -> kind code), `signal_` (doc -> log1p popularity), `prior_scale_` (kind code -> max signal).
    """

    reads_context = False  # its lists depend on the query alone (see base.CandidateGenerator)

    def __init__(self, k1: float = 1.2, b: float = 0.75, epsilon: float = 0.25,
                 field_weights: Mapping[str, float] | None = None,
                 popularity_weight: float = DEFAULT_POPULARITY_WEIGHT, name: str = "bm25",
                 typo_discount: float = DEFAULT_TYPO_DISCOUNT) -> None:
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self.field_weights = field_weights
        self.popularity_weight = popularity_weight
        self.name = name
        self.typo_discount = typo_discount
        self._fuzzy: FuzzyIndex | None = None

    def fit(self, entities: Iterable[Entity], playlist_names: Mapping[str, Sequence[str]] | None = None,
            ) -> BM25Generator:
        """Index every entity (read once, in order); `playlist_names` maps an entity id to the names of the
        playlists that contain it."""
        weights = self._weights()
        self.vocabulary_: dict[str, int] = {}
        self.entity_ids_: list[str] = []
        self.doc_of_: dict[str, int] = {}
        terms, docs, tf, kinds, signal = self._documents(entities, playlist_names or {}, weights)
        self.kinds_, self.signal_ = kinds, signal
        self.prior_scale_ = _prior_scale(kinds, signal)
        self.index_ = BM25Index.build(terms, docs, tf, len(self.vocabulary_), self._static(kinds, signal),
                                      self.k1, self.b, self.epsilon)
        self._build_fuzzy()
        return self

    def add(self, entities: Sequence[Entity], playlist_names: Mapping[str, Sequence[str]] | None = None) -> None:
        """Make entities searchable now, weighted with the statistics of the last fit or compact.

        An entity whose id is already indexed replaces the old version. `compact()` refreshes the statistics.
        """
        self._check_fitted()
        new = list({entity.entity_id: entity for entity in entities}.values())
        self.index_.retire([self.doc_of_[e.entity_id] for e in new if e.entity_id in self.doc_of_])
        terms, docs, tf, kinds, signal = self._documents(new, playlist_names or {}, self._weights())
        self.kinds_ = np.concatenate([self.kinds_, kinds])
        self.signal_ = np.concatenate([self.signal_, signal])
        self.index_.append(terms, docs, tf, len(self.vocabulary_), self._static(kinds, signal))

    def compact(self) -> BM25Generator:
        """Recompute every statistic (N, document frequencies, avgdl, prior scales) over the current entities.

        Scores afterwards equal those of a fresh `fit` on the same entities in the same order, with replaced
        versions dropped.
        """
        self._check_fitted()
        index, kept_docs, kept_terms = self.index_.compacted()
        terms = list(self.vocabulary_)
        self.vocabulary_ = {terms[row]: new for new, row in enumerate(kept_terms)}
        self.entity_ids_ = [self.entity_ids_[doc] for doc in kept_docs]
        self.doc_of_ = {entity_id: doc for doc, entity_id in enumerate(self.entity_ids_)}
        self.kinds_, self.signal_ = self.kinds_[kept_docs], self.signal_[kept_docs]
        self.prior_scale_ = _prior_scale(self.kinds_, self.signal_)
        index.set_static(self._static(self.kinds_, self.signal_))
        self.index_ = index
        self._build_fuzzy()
        return self

    def generate(self, query: Query, context: Context, k: int) -> list[Candidate]:
        """The k best entities, score descending (ties: earlier indexed first); [] when no query term is known."""
        check_k(k)
        self._check_fitted()
        docs, scores = search(self.index_, self._terms(query), k, self._kind_filter(query))
        return [Candidate(self.entity_ids_[doc], ENTITY_KINDS[self.kinds_[doc]], self.name, float(score), rank)
                for rank, (doc, score) in enumerate(zip(docs.tolist(), scores.tolist()))]

    def preview(self, query: Query, context: Context) -> Preview:
        """n_hits: entities with any query term (kind slot respected); top_score and score_gap of the best two."""
        self._check_fitted()
        terms, keep = self._terms(query), self._kind_filter(query)
        _, scores = search(self.index_, terms, 2, keep)
        top = float(scores[0]) if len(scores) else 0.0
        gap = float(scores[0] - scores[1]) if len(scores) > 1 else 0.0
        return Preview(self.name, count_matches(self.index_, terms, keep), top, gap)

    def save(self, directory: str | Path) -> None:
        """Write the fitted state as bm25.json, vocabulary.json, entity_ids.json and .npy arrays."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        index = self.index_
        meta = {"format_version": FORMAT_VERSION, "params": self._params(), "n_stat_docs": index.n_stat_docs,
                "avgdl": index.avgdl, "unseen_idf": index.unseen_idf, "prior_scale": self.prior_scale_.tolist()}
        (path / "bm25.json").write_text(json.dumps(meta, indent=1))
        (path / "vocabulary.json").write_text(json.dumps(list(self.vocabulary_), ensure_ascii=False))
        (path / "entity_ids.json").write_text(json.dumps(self.entity_ids_, ensure_ascii=False))
        arrays = {"idf": index.idf, "doc_len": index.doc_len, "static": index.static, "live": index.live,
                  "kinds": self.kinds_, "signal": self.signal_}
        for segment in ("base", "delta"):
            postings = getattr(index, segment)
            arrays.update({f"{segment}_{field}": getattr(postings, field) for field in _POSTINGS})
        for key, values in arrays.items():
            np.save(path / f"{key}.npy", values, allow_pickle=False)

    @classmethod
    def load(cls, directory: str | Path) -> BM25Generator:
        """Read a generator written by `save`; results are identical to the saved one's."""
        path = Path(directory)
        if not (path / "bm25.json").is_file():
            raise FileNotFoundError(f"no saved BM25Generator in {str(path)!r} (bm25.json is missing); "
                                    "write one with BM25Generator.save(directory)")
        meta = json.loads((path / "bm25.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path / 'bm25.json'} has format_version {meta.get('format_version')!r}, this ltrr "
                             f"reads {FORMAT_VERSION}; refit and save the generator again")
        gen = cls(**meta["params"])
        arrays = {key.stem: np.load(key, allow_pickle=False) for key in path.glob("*.npy")}
        segments = {s: Postings(*(arrays[f"{s}_{f}"] for f in _POSTINGS)) for s in ("base", "delta")}
        gen.index_ = BM25Index(gen.k1, gen.b, gen.epsilon, meta["n_stat_docs"], meta["avgdl"], arrays["idf"],
                               meta["unseen_idf"], arrays["doc_len"], arrays["static"], arrays["live"],
                               segments["base"], segments["delta"])
        gen.vocabulary_ = {term: row for row, term in enumerate(json.loads((path / "vocabulary.json").read_text()))}
        gen.entity_ids_ = json.loads((path / "entity_ids.json").read_text())
        gen.doc_of_ = {entity_id: doc for doc, entity_id in enumerate(gen.entity_ids_) if gen.index_.live[doc]}
        gen.kinds_, gen.signal_ = arrays["kinds"], arrays["signal"]
        gen.prior_scale_ = np.asarray(meta["prior_scale"], np.float64)
        gen._build_fuzzy()
        return gen

    def _params(self) -> dict[str, object]:
        return {"k1": self.k1, "b": self.b, "epsilon": self.epsilon, "popularity_weight": self.popularity_weight,
                "field_weights": None if self.field_weights is None else dict(self.field_weights),
                "name": self.name, "typo_discount": self.typo_discount}

    def _weights(self) -> dict[str, float]:
        """The field weights, checked (sklearn style: parameters are checked when fit uses them)."""
        weights = {**DEFAULT_FIELD_WEIGHTS, **(self.field_weights or {})}
        unknown = sorted(set(weights) - set(FIELDS))
        if unknown:
            raise ValueError(f"field_weights has unknown fields {unknown}; use only {list(FIELDS)}")
        negative = {f: w for f, w in weights.items() if not w >= 0}
        if negative or not self.popularity_weight >= 0:
            raise ValueError(f"field weights and popularity_weight must be >= 0, got {negative or {}} and "
                             f"{self.popularity_weight!r}; use 0 to ignore a field or the prior")
        if not 0 <= self.typo_discount <= 1:
            raise ValueError(f"typo_discount must be in [0, 1], got {self.typo_discount!r}; use 0 to match "
                             "unknown words exactly only")
        if not (self.k1 >= 0 and 0 <= self.b <= 1):
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1!r}, b={self.b!r}")
        return weights

    def _documents(self, entities: Iterable[Entity], playlist_names: Mapping[str, Sequence[str]],
                   weights: Mapping[str, float]):
        """(term, doc, weighted tf) triplets, kind codes and popularity signals of the entities, indexed as docs
        n, n + 1, ... (streamed: compact typed arrays, not one Python object per posting)."""
        vocabulary, first = self.vocabulary_, len(self.entity_ids_)
        cache: dict[str, list[str]] = {}  # artist, album, tag and playlist names repeat across entities

        def memo(text: str) -> list[str]:
            found = cache.get(text)
            if found is None:
                found = cache[text] = tokenize(text)
            return found

        terms, docs, tf, kinds, signal = array("i"), array("i"), array("f"), array("B"), array("f")
        for doc, entity in enumerate(entities, start=first):
            if self.doc_of_.get(entity.entity_id, -1) >= first:
                raise ValueError(f"entity id {entity.entity_id!r} appears twice; give each entity once")
            self.doc_of_[entity.entity_id] = doc
            self.entity_ids_.append(entity.entity_id)
            for field, tokens in entity_fields(entity, playlist_names.get(entity.entity_id, ()), memo).items():
                if weights[field] and tokens:
                    terms.extend([vocabulary.setdefault(token, len(vocabulary)) for token in tokens])
                    docs.extend([doc] * len(tokens))
                    tf.extend([weights[field]] * len(tokens))
            kinds.append(_KIND_CODE[entity.kind])
            signal.append(popularity_signal(entity))
        return (np.frombuffer(terms, np.int32), np.frombuffer(docs, np.int32), np.frombuffer(tf, np.float32),
                np.frombuffer(kinds, np.uint8), np.frombuffer(signal, np.float32))

    def _static(self, kinds: np.ndarray, signal: np.ndarray) -> np.ndarray:
        scale = self.prior_scale_[kinds]
        prior = np.divide(signal, scale, out=np.zeros(len(signal)), where=scale > 0)
        return (self.popularity_weight * np.minimum(prior, 1.0)).astype(np.float32)

    def _terms(self, query: Query) -> list[tuple[int, float]]:
        """(row, weight) of the query's tokens, leaving out the words of kind slots: a known token's count, or
        an unknown token's nearest vocabulary words (see the module docstring)."""
        tokens = list(query.tokens)
        dropped = {i for slot in query.slots_named("kind") for i in range(*slot.span)}
        content = [token for i, token in enumerate(tokens) if i not in dropped] or tokens
        terms: list[tuple[int, float]] = []
        for token, count in Counter(content).items():
            row = self.vocabulary_.get(token)
            if row is not None:
                terms.append((row, count))
            elif self.typo_discount > 0 and len(token) >= FUZZY_MIN_LENGTH:
                terms.extend(self._near_terms(token, count))
        return terms

    def _near_terms(self, token: str, count: int) -> list[tuple[int, float]]:
        """(row, weight) of the vocabulary words nearest an unknown `token`: those at the smallest distance
        found, most frequent (lowest idf) first, at most FUZZY_EXPANSIONS, weighted typo_discount ** distance."""
        if self._fuzzy is None or len(self._fuzzy) != len(self.vocabulary_):  # words were added since
            self._build_fuzzy()
        found = self._fuzzy.lookup(token) if self._fuzzy is not None else []
        if not found:
            return []
        nearest = found[0][1]
        idf, unseen = self.index_.idf, self.index_.unseen_idf
        rows = sorted((row for row, distance in found if distance == nearest),
                      key=lambda row: (idf[row] if row < len(idf) else unseen, row))[:FUZZY_EXPANSIONS]
        weight = count * self.typo_discount ** nearest
        return [(row, weight) for row in rows]

    def _build_fuzzy(self) -> None:
        """The typo index over the vocabulary (its key i is term row i); skipped when typos are not matched."""
        self._fuzzy = FuzzyIndex(list(self.vocabulary_)) if self.typo_discount > 0 else None

    def _kind_filter(self, query: Query):
        codes = [_KIND_CODE[slot.value] for slot in query.slots_named("kind") if slot.value in _KIND_CODE]
        if not codes:
            return None
        allowed = np.zeros(len(ENTITY_KINDS), bool)
        allowed[codes] = True
        kinds = self.kinds_
        return lambda docs: allowed[kinds[docs]]

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError(f"{type(self).__name__} {self.name!r} is not fitted; call fit(entities) first")


def _prior_scale(kinds: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Max signal per kind code (0 where a kind has no docs)."""
    scale = np.zeros(len(ENTITY_KINDS))
    np.maximum.at(scale, kinds.astype(np.int64), signal.astype(np.float64))
    return scale
