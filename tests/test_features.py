"""Ranking features: each family on a tiny hand-made pool, NaN conventions, shapes and the registry's errors."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltrr.features import FeatureInput, FeatureSet, default_feature_set, registered_features, source_quantities
from ltrr.features.edit import edit_similarity, levenshtein_many
from ltrr.retrieval.base import union
from ltrr.retrieval.memory_predict import popularity_level
from ltrr.text import fold, tokenize
from ltrr.types import (
    ENTITY_KINDS,
    Affinity,
    Candidate,
    Context,
    Entity,
    Popularity,
    Query,
    Slot,
    TagWeight,
    UserProfile,
)

NOW = datetime(2025, 6, 1, 12, 0)
GENERATORS = ("bm25", "dense", "memory")


def _tags(*pairs: tuple[str, float]) -> tuple[TagWeight, ...]:
    return tuple(TagWeight(tag, weight, "test") for tag, weight in pairs)


# Four entities, checked by eye: two tracks by Vela Moss, the artist Okra Lane, a playlist.
ENTITIES = [
    Entity("t1", "track", "Night Drive", "test", "1", artist_id="a1", artist_name="Vela Moss", year=1986,
           added_at=NOW - timedelta(days=10), tags=_tags(("synthwave", 1.0), ("Chill", 0.5)),
           popularity=Popularity(playlist_count=99, follower_sum=0)),
    Entity("t2", "track", "Night Market - Remastered 2011", "test", "2", artist_id="a1", artist_name="Vela Moss",
           year=1997, added_at=NOW - timedelta(days=400), tags=_tags(("trip hop", 0.8)),
           popularity=Popularity(chart_points=5_000, chart_best_rank=3)),
    Entity("a2", "artist", "Okra Lane", "test", "3", tags=_tags(("hip-hop", 0.9), ("hip hop", 0.4))),
    Entity("p1", "playlist", "night drive", "test", "4", popularity=Popularity(source_popularity=50.0)),
]


def _candidates(source: str, ids: list[str], scores: list[float]) -> list[Candidate]:
    kinds = {entity.entity_id: entity.kind for entity in ENTITIES}
    return [Candidate(entity_id, kinds[entity_id], source, score, rank)
            for rank, (entity_id, score) in enumerate(zip(ids, scores))]


# bm25 returns t1, t2, p1; dense returns p1, a2; memory returns nothing. Pool order: t1, t2, p1, a2.
POOL = union([_candidates("bm25", ["t1", "t2", "p1"], [9.0, 4.0, 0.0]), _candidates("dense", ["p1", "a2"], [0.8, 0.3])])
BY_ID = {entity.entity_id: entity for entity in ENTITIES}


def _query(text: str, *slots: tuple[str, str, float], residual: str | None = None) -> Query:
    """A query with these (name, value, confidence) slots; any text, even one the parser would refuse."""
    normalized = fold(text)
    return Query(text, normalized, tuple(tokenize(normalized)),
                 tuple(Slot(name, value, confidence, value) for name, value, confidence in slots),  # type: ignore[arg-type]
                 residual=normalized if residual is None else residual)


def _batch(query: Query | None = None, **kwargs) -> FeatureInput:
    fields = {"query": query or _query("night drive"), "context": Context(), "pool": POOL,
              "entities": [BY_ID[entity_id] for entity_id in POOL.entity_ids], "generators": GENERATORS, "now": NOW}
    return FeatureInput(**{**fields, **kwargs})


def _column(name: str, batch: FeatureInput) -> list[float]:
    return FeatureSet([name]).build(batch)[:, 0].tolist()


def _same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all((math.isnan(w) and math.isnan(g)) or g == pytest.approx(w)
                                         for g, w in zip(got, want))


NAN = math.nan


def test_source_features_by_hand():
    batch = _batch()
    assert POOL.entity_ids == ["t1", "t2", "p1", "a2"]
    assert _same(_column("bm25.score", batch), [9.0, 4.0, 0.0, NAN])  # NaN (missing), not 0: p1 really scored 0
    assert _same(_column("bm25.rank", batch), [0, 1, 2, NAN])
    assert _same(_column("dense.retrieved", batch), [0, 0, 1, 1])
    assert _same(_column("memory.rank", batch), [NAN] * 4)
    assert _same(_column("pool.n_sources", batch), [1, 1, 2, 1])
    assert _same(_column("pool.best_rank", batch), [0, 1, 0, 1])
    assert _same(_column("pool.rrf", batch), [1 / 61, 1 / 62, 1 / 63 + 1 / 61, 1 / 62])
    assert _same(_column("pool.size", batch), [4] * 4)


def test_lexical_features_by_hand():
    batch = _batch(_query("night drive"))
    assert _same(_column("lexical.title_exact", batch), [1, 0, 1, 0])  # "- Remastered 2011" is ignored
    assert _same(_column("lexical.title_coverage", batch), [1, 0.5, 1, 0])
    # t2's tokens: night, market, remastered, 2011: 1 shared of 5 in all
    assert _same(_column("lexical.title_jaccard", batch), [1, 1 / 5, 1, 0])
    assert _same(_column("lexical.artist_coverage", batch), [0, 0, NAN, 0])  # a playlist has no artist
    # "night market" vs "night drive": 5 edits over 12 characters
    assert _same(_column("lexical.title_similarity", batch), [1, 1 - 5 / 12, 1, 1 - 9 / 11])
    artist = _column("lexical.artist_similarity", _batch(_query("vela mos")))
    assert _same(artist, [1 - 1 / 9, 1 - 1 / 9, NAN, 1 - 7 / 9])


def test_residual_and_query_coverage():
    query = _query("vela moss night market", ("artist", "vela moss", 0.9), residual="night market")
    batch = _batch(query)
    assert _same(_column("lexical.query_coverage", batch), [3 / 4, 1, 1 / 4, 0])
    assert _column("lexical.title_exact", batch) == [0, 1, 0, 0]  # the residual names t2's title
    assert _column("lexical.residual_title_similarity", batch)[1] == 1.0
    assert _same(_column("lexical.title_coverage", _batch(_query("  "))), [NAN] * 4)


@given(st.text(alphabet="abcé ", max_size=70), st.lists(st.text(alphabet="abcé ", max_size=70), max_size=6))
@settings(max_examples=200, deadline=None)
def test_levenshtein_many_equals_the_dynamic_programme(query, texts):
    def distance(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            current = [i] + [0] * len(b)
            for j, cb in enumerate(b, 1):
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            previous = current
        return previous[-1]
    assert levenshtein_many(query, texts).tolist() == [distance(query[:64], text[:64]) for text in texts]


def test_edit_similarity_edges():
    assert _same(edit_similarity("abc", ["abc", "", "xyz"]).tolist(), [1.0, NAN, 0.0])
    assert _same(edit_similarity("", ["abc"]).tolist(), [NAN])
    assert edit_similarity("abc", []).shape == (0,)


def test_entity_features_by_hand():
    batch = _batch()  # rows: t1, t2, p1, a2
    assert _same(_column("entity.log_playlist_count", batch), [math.log(100), NAN, NAN, NAN])
    assert _same(_column("entity.log_follower_sum", batch), [0, NAN, NAN, NAN])
    assert _same(_column("entity.chart_best_rank", batch), [NAN, 3, NAN, NAN])
    assert _same(_column("entity.source_popularity", batch), [NAN, NAN, 0.5, NAN])
    levels = [popularity_level(BY_ID[entity_id].popularity) for entity_id in POOL.entity_ids]
    assert _same(_column("entity.popularity", batch), levels[:3] + [NAN])  # the artist has no signal: NaN
    assert _same(_column("entity.popularity_normalized", batch), [levels[0], 1.0, 0.5, 0.0])  # 5,000 points = 1
    assert _same(_column("entity.age_days", batch), [10, 400, NAN, NAN])
    assert _column("entity.is_new", batch) == [1, 0, 0, 0]
    assert _same(_column("entity.release_age_years", batch), [39, 28, NAN, NAN])
    assert _column("entity.kind_track", batch) == [1, 1, 0, 0]
    assert _column("entity.kind_playlist", batch) == [0, 0, 1, 0]


def test_slot_features_by_hand():
    query = _query("vela moss 90s hip hop playlist", ("artist", "vela moss", 0.9), ("years", "1990-1999", 1.0),
                   ("genre", "Hip-Hop", 0.5), ("kind", "playlist", 0.8), ("mood", "chill", 1.0))
    batch = _batch(query)
    assert _same(_column("slots.artist_match", batch), [0.9, 0.9, 0, 0])
    assert _same(_column("slots.years_match", batch), [0, 1, 0, 0])
    assert _same(_column("slots.genre_match", batch), [0, 0, 0, 0.45])  # "hip-hop" and "hip hop": one tag, 0.9
    assert _same(_column("slots.mood_match", batch), [0.5, 0, 0, 0])
    assert _same(_column("slots.kind_match", batch), [0, 0, 0.8, 0])
    assert _column("query.n_slots", batch) == [5] * 4
    no_slots = _batch(_query("night drive"))
    for name in ("slots.artist_match", "slots.genre_match", "slots.years_match", "slots.kind_match"):
        assert _same(_column(name, no_slots), [NAN] * 4)  # no constraint is not a failed one


def test_behavior_features_by_hand():
    profile = UserProfile("u1", "test", artists=(Affinity("a1", 0.7), Affinity("Okra Lane", 0.4)),
                          tags=(Affinity("synthwave", 1.0), Affinity("hip hop", 0.5)))
    batch = _batch(profile=profile, memory_ctr=np.array([0.2, NAN, 0.1, 0.0]),
                   memory_impressions=np.array([3.0, 0.0, 1.0, 0.0]),
                   context=Context(device="mobile", timestamp=datetime(2025, 6, 1, 6, 0)))
    assert _same(_column("user.artist_affinity", batch), [0.7, 0.7, 0, 0.4])  # a2 matched by its name
    assert _same(_column("user.tag_affinity", batch), [1.0 / 1.5, 0, NAN, 0.5])
    assert _same(_column("memory.ctr", batch), [0.2, NAN, 0.1, 0.0])
    assert _same(_column("memory.impressions", batch), [math.log(4), 0, math.log(2), 0])
    assert _column("context.device_phone", batch) == [1] * 4
    assert _column("context.device_other", batch) == [0] * 4
    assert _same(_column("context.hour_sin", batch), [1.0] * 4)
    assert _same(_column("context.hour_cos", batch), [0.0] * 4)


def test_missing_profile_memory_and_device():
    batch = _batch(context=Context(device="tv"))
    for name in ("user.artist_affinity", "user.tag_affinity", "memory.ctr", "memory.impressions"):
        assert _same(_column(name, batch), [NAN] * 4)
    assert _column("context.device_other", batch) == [1] * 4
    assert _column("context.device_phone", _batch()) == [0] * 4  # unknown device: every one-hot 0


def test_default_feature_set_columns_and_shape():
    feature_set = default_feature_set(GENERATORS)
    per_source = [f"{g}.{q}" for g in GENERATORS for q in source_quantities()]
    assert feature_set.names == (*per_source, *registered_features())
    assert {"bm25.score", "bm25.rank", "bm25.retrieved", "pool.rrf", "entity.popularity_normalized"} <= set(
        feature_set.names)
    matrix = feature_set.build(_batch())
    assert matrix.shape == (4, len(feature_set)) and matrix.dtype == np.float64
    assert not np.isinf(matrix).any()
    empty = feature_set.build(_batch(pool=union([]), entities=[]))
    assert empty.shape == (0, len(feature_set))


def test_feature_set_keeps_the_given_order():
    names = ["pool.rrf", "bm25.rank", "entity.kind_track"]
    matrix = FeatureSet(names).build(_batch())
    assert matrix[:, 1].tolist()[:3] == [0, 1, 2] and matrix[:, 2].tolist() == [1, 1, 0, 0]


@pytest.mark.parametrize("names, generators, message", [
    (["pool.rrf", "pool.nope"], None, r"unknown feature 'pool.nope'.*known features: .*pool\.rrf"),
    (["bm25x.score"], GENERATORS, r"unknown feature 'bm25x.score' with generators"),
    (["pool.rrf", "pool.rrf"], None, r"feature names must be distinct"),
])
def test_feature_set_rejects_bad_names(names, generators, message):
    with pytest.raises(ValueError, match=message):
        FeatureSet(names, generators=generators)


@st.composite
def _pools(draw):
    n = draw(st.integers(0, 12))
    entities = [Entity(f"e{i}", draw(st.sampled_from(ENTITY_KINDS)), draw(st.text(max_size=30)), "test", str(i),
                       artist_name=draw(st.none() | st.text(max_size=20)), year=draw(st.none() | st.integers(0, 2100)),
                       added_at=draw(st.none() | st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1))),
                       popularity=Popularity(playlist_count=draw(st.none() | st.integers(0, 10**9)),
                                             source_popularity=draw(st.none() | st.floats(0, 100))),
                       tags=tuple(TagWeight(tag, weight, "test") for tag, weight in
                                  draw(st.lists(st.tuples(st.text(max_size=8), st.floats(0, 1)), max_size=3))))
                for i in range(n)]
    lists = [[Candidate(e.entity_id, e.kind, source, draw(st.floats(-1e6, 1e6)), rank)
              for rank, e in enumerate(draw(st.permutations(entities))[:draw(st.integers(0, n))])]
             for source in GENERATORS]
    pool = union(lists)
    by_id = {e.entity_id: e for e in entities}
    return pool, [by_id[entity_id] for entity_id in pool.entity_ids]


@given(_pools(), st.text(max_size=40))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_build_never_gives_inf_and_one_row_per_entity(pool_and_entities, text):
    pool, entities = pool_and_entities
    profile = UserProfile("u", "test", artists=(Affinity("e0", 1.0),), tags=(Affinity("rock", 0.5),))
    batch = FeatureInput(_query(text), Context(device="car"), pool, entities, GENERATORS, profile, now=NOW)
    matrix = default_feature_set(GENERATORS).build(batch)
    assert matrix.shape == (len(pool), len(default_feature_set(GENERATORS)))
    assert not np.isinf(matrix).any()


@pytest.mark.parametrize("kwargs, message", [
    ({"entities": ENTITIES[:2]}, r"entities must align with pool.items: got 2 entities for a pool of 4"),
    ({"entities": list(reversed(ENTITIES))}, r"entities must be in pool order"),
    ({"memory_ctr": np.zeros(3)}, r"memory_ctr must have shape \(4,\)"),
])
def test_feature_input_rejects_misaligned_arrays(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _batch(**kwargs)


def test_default_columns_follow_the_group_order_not_the_import_order():
    # Regression: sorting the package's imports once reordered the columns, so saved models stopped matching.
    from ltrr.features.registry import GROUP_ORDER

    names = default_feature_set(["bm25"]).names[3:]
    ranks = [GROUP_ORDER.index(name.partition(".")[0]) for name in names]
    assert ranks == sorted(ranks) and names[0] == "pool.n_sources"


def test_pool_columns_take_gives_the_columns_of_those_rows():
    from ltrr.features.columns import PoolColumns

    columns = PoolColumns.from_entities(ENTITIES)
    taken, expected = columns.take(np.array([3, 0, 1])), PoolColumns.from_entities([ENTITIES[3], ENTITIES[0],
                                                                                    ENTITIES[1]])
    for name in ("entity_ids", "kinds", "names", "artist_ids", "artist_names", "album_names", "tag_names"):
        assert list(getattr(taken, name)) == list(getattr(expected, name))
    for name in ("years", "added_days", "popularity", "tag_counts", "tag_weights"):
        np.testing.assert_array_equal(getattr(taken, name), getattr(expected, name))
    assert taken.tag_names == ["synthwave", "Chill", "trip hop"] and len(columns.take(np.zeros(0, int))) == 0


def test_deferred_pool_columns_gather_each_column_once_when_first_read():
    from ltrr.features.columns import PoolColumns

    full = PoolColumns.from_entities(ENTITIES)
    asked: list[str] = []

    def load(name):
        asked.append(name)
        if name == "tags":
            return full.tag_counts, full.tag_names, full.tag_weights
        return getattr(full, name)

    columns = PoolColumns.deferred(full.entity_ids, load)
    assert len(columns) == len(ENTITIES) and asked == []
    np.testing.assert_array_equal(columns.popularity, full.popularity)
    assert columns.tag_names == full.tag_names and list(columns.tag_counts) == list(full.tag_counts)
    assert columns.own_artist_ids == full.own_artist_ids
    columns.tag_weights, columns.popularity, columns.kinds  # read again: gathered already
    assert asked == ["popularity", "tags", "kinds", "artist_ids"]
    taken = columns.take(np.array([2, 0]))
    assert taken.names == [full.names[2], full.names[0]] and "names" in asked
    with pytest.raises(AttributeError, match="no attribute 'colour'"):
        columns.colour
    short = PoolColumns.deferred(full.entity_ids, lambda name: full.years[:1])
    with pytest.raises(ValueError, match="years has 1 rows"):
        short.years
