"""Test queries for the real-data evaluation (`real_eval`): a seeded train/test split of the playlists, topical
queries with graded relevance from the test playlists, noisy spearfishing queries, and the catalog as the
training side may see it.

Topical queries: the test playlists grouped by normalized name (`text.name_key`, as `simulation.intents` groups
them; names made only of stopwords, fillers and kind words are skipped). The query text is that key; a track's
grade is the number of the group's test playlists containing it (uncapped). The class is "head" when some
train playlist has the same key (the engine could have learned the query in the warm-up), else "tail".

    split = split_train_test(playlist_ids, test_share=0.2, seed=0)
    queries = topical_queries(playlists, store.playlist_memberships(), split)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from ..simulation.intents import is_topical_name
from ..simulation.noise import QueryNoise
from ..text import name_key
from ..types import Entity

SPEARFISH_FORMS = MappingProxyType({"title": 0.4, "artist_title": 0.4, "partial_title": 0.2})


@dataclass(frozen=True, slots=True)
class GradedQuery:
    """One test query: text, class ("head", "tail" or "spearfish") and entity id -> grade >= 1 (absent: 0);
    for a spearfishing query, `intended` holds the words the user meant before any typo."""

    text: str
    query_class: str
    relevance: Mapping[str, int]
    intended: str = ""


@dataclass(frozen=True, slots=True)
class PlaylistSplit:
    """Disjoint train and test playlist ids (together: every playlist)."""

    train: frozenset[str]
    test: frozenset[str]


def split_train_test(playlist_ids: Iterable[str], test_share: float, seed: int) -> PlaylistSplit:
    """A seeded split by playlist: round(test_share x n) playlists drawn without replacement are the test side.

    The draw depends on the set of ids only (they are sorted first), not on the order given.
    """
    if isinstance(test_share, bool) or not isinstance(test_share, (int, float)) or not 0.0 < test_share < 1.0:
        raise ValueError(f"test_share must be a number in (0, 1), got {test_share!r}; e.g. 0.2 for a 80/20 split")
    ordered = sorted(set(playlist_ids))
    n_test = int(round(test_share * len(ordered)))
    chosen = np.random.default_rng(seed).choice(len(ordered), size=n_test, replace=False)
    test = frozenset(ordered[i] for i in chosen.tolist())
    return PlaylistSplit(frozenset(ordered) - test, test)


def topical_queries(playlists: Iterable[Entity], memberships: Mapping[str, Sequence[str]],
                    split: PlaylistSplit) -> list[GradedQuery]:
    """One query per topical name key among the test playlists that holds a track, sorted by key."""
    train_keys: set[str] = set()
    grades: dict[str, Counter[str]] = {}
    for playlist in playlists:
        key = name_key(playlist.name)
        if playlist.entity_id in split.train:
            train_keys.add(key)
        elif playlist.entity_id in split.test and key and is_topical_name(key):
            grades.setdefault(key, Counter()).update(set(memberships.get(playlist.entity_id, ())))
    return [GradedQuery(key, "head" if key in train_keys else "tail", MappingProxyType(dict(counts)))
            for key, counts in sorted(grades.items()) if counts]


def sample_queries(queries: Sequence[GradedQuery], max_queries: int | None, seed: int) -> list[GradedQuery]:
    """A seeded sample of at most `max_queries` queries (all when None), in their original order."""
    if max_queries is None or len(queries) <= max_queries:
        return list(queries)
    keep = np.random.default_rng(seed).choice(len(queries), size=max_queries, replace=False)
    return [queries[i] for i in sorted(keep.tolist())]


def spearfish_class(text: str) -> str:
    """"one_word" for a one-word spearfishing query (a title fragment such as "Digger" for "Gold Digger": many
    tracks match it, and the target is often in no generator's top 10), else "multi_word"."""
    return "one_word" if len(text.split()) == 1 else "multi_word"


def count_key(metric: str, query_class: str) -> str:
    """The `n_queries` key counting the queries behind `metric` for `query_class` ("spearfish_one_word", ...)."""
    if not metric.startswith("spearfish"):
        return query_class
    return "spearfish" if query_class == "all" else f"spearfish_{query_class}"


MISSES_NOTE = ("a miss beyond the Bayes top 10 is lost to any ranking in expectation; the other two are what the "
               "system could win back")
"""How to read `real_eval.spearfish_misses`, printed under its table."""


def misses_columns(misses: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The columns of a `real_eval.spearfish_misses` table: every count but "queries", in its order."""
    return [key for key in next(iter(misses.values())) if key != "queries"]


def spearfish_queries(tracks: Sequence[Entity], n: int, seed: int, typo_rate: float) -> list[GradedQuery]:
    """`n` seeded noisy queries for tracks drawn by playlist_count + 1: title, "artist title" or part of the
    title (`SPEARFISH_FORMS`), misspelt with chance `typo_rate` (`simulation.noise.QueryNoise`). The target
    alone is relevant (grade 1)."""
    if n == 0:
        return []
    noise = QueryNoise(seed=seed, typo_rate=typo_rate)
    drawn = noise.spearfish_queries(tracks, n, SPEARFISH_FORMS, typo=True, popularity=spearfish_weights(tracks))
    return [GradedQuery(q.text, "spearfish", MappingProxyType({q.target_entity_id: 1}), q.intended) for q in drawn]


def spearfish_weights(tracks: Sequence[Entity]) -> np.ndarray:
    """How often each track is a spearfishing target, relatively: its playlist_count + 1."""
    return np.asarray([(t.popularity.playlist_count or 0) + 1.0 for t in tracks])


def train_popularity(entities: Sequence[Entity], playlist_tracks: Mapping[str, Sequence[str]]) -> list[Entity]:
    """The entities with their playlist-derived counts recomputed from the given (train) playlists only.

    A track's playlist_count and follower_sum count the playlists holding it and sum their followers; an
    artist's count the playlists holding one of its tracks (the MPD ingest's definitions, `ingest.mpd`). Counts
    the catalog does not have (None) stay None. Ingested over every playlist, they would tell the engine how
    many test playlists hold a track: exactly the test relevance, summed.
    """
    followers = {e.entity_id: e.popularity.follower_sum or 0 for e in entities if e.kind == "playlist"}
    artist_of = {e.entity_id: e.artist_id for e in entities if e.kind == "track" and e.artist_id}
    counts: Counter[str] = Counter()
    follower_sums: Counter[str] = Counter()
    for playlist_id, track_ids in playlist_tracks.items():
        tracks = set(track_ids)
        holders = tracks | {artist_of[t] for t in tracks if t in artist_of}
        for entity_id in holders:
            counts[entity_id] += 1
            follower_sums[entity_id] += followers.get(playlist_id, 0)
    return [_recounted(e, counts[e.entity_id], follower_sums[e.entity_id]) if e.kind in ("track", "artist") else e
            for e in entities]


def _recounted(entity: Entity, playlist_count: int, follower_sum: int) -> Entity:
    popularity = entity.popularity
    if popularity.playlist_count is None and popularity.follower_sum is None:
        return entity
    return replace(entity, popularity=replace(
        popularity, playlist_count=None if popularity.playlist_count is None else playlist_count,
        follower_sum=None if popularity.follower_sum is None else follower_sum))
