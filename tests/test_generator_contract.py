"""The contract every candidate generator meets, run against each of them (PyTerrier/implicit style)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltrr.config import EngineConfig
from ltrr.retrieval.base import CandidateGenerator, union
from ltrr.retrieval.build import GENERATOR_NAMES, build_generators, exploring, load_snapshot
from ltrr.retrieval.encoders import HashingEncoder
from ltrr.store import CatalogStore
from ltrr.synthetic import generate_catalog, write_catalog
from ltrr.types import Context, Preview
from ltrr.understanding import plain_query

QUERIES = ["night", "80s synthwave", "chill vibes", "songs by vela", "workout playlist", "love", "zzqx unknown"]


@pytest.fixture(scope="module")
def built():
    settings_ = dataclasses.replace(EngineConfig().catalog.synthetic, n_artists=40, n_playlists=20, n_users=5)
    store = CatalogStore.open("sqlite://")
    write_catalog(store, generate_catalog(settings_))
    generators = build_generators(load_snapshot(store), encoder=HashingEncoder(dim=32), config=exploring(3))
    yield generators, store
    store.close()


def check_candidates(gen, found, k):
    assert len(found) <= k
    assert [c.rank for c in found] == list(range(len(found)))
    assert all(c.source == gen.name for c in found)
    assert len({c.entity_id for c in found}) == len(found)
    assert all(a.score >= b.score for a, b in zip(found, found[1:]))


@pytest.mark.parametrize("name", GENERATOR_NAMES)
@pytest.mark.parametrize("text", QUERIES)
def test_generate_meets_the_contract(built, name, text):
    generators, store = built
    gen = generators.generators[name]
    assert isinstance(gen, CandidateGenerator)
    query = generators.parser.parse(text)
    found = gen.generate(query, Context.anonymous(), k=7)
    check_candidates(gen, found, 7)
    kinds = {e.entity_id: e.kind for e in store.get_entities([c.entity_id for c in found])}
    assert all(kinds[c.entity_id] == c.kind for c in found)
    preview = gen.preview(query, Context.anonymous())
    assert isinstance(preview, Preview) and preview.source == gen.name and preview.n_hits >= 0


@pytest.mark.parametrize("name", GENERATOR_NAMES)
def test_k_zero_and_negative(built, name):
    generators, _ = built
    gen = generators.generators[name]
    query = generators.parser.parse("night")
    assert gen.generate(query, Context.anonymous(), k=0) == []
    with pytest.raises(ValueError, match="k must be"):
        gen.generate(query, Context.anonymous(), k=-1)


@pytest.mark.parametrize("name", GENERATOR_NAMES)
def test_query_without_tokens_gives_nothing(built, name):
    generators, _ = built
    assert generators.generators[name].generate(plain_query("🎵 ✨"), Context.anonymous(), k=5) == []


def test_union_keeps_each_entity_once_with_all_its_sources(built):
    generators, _ = built
    query = generators.parser.parse("night drive")
    lists = [gen.generate(query, Context.anonymous(), k=20) for gen in generators.generators.values()]
    pool = union(lists)
    assert len(pool.entity_ids) == len(set(pool.entity_ids)) == len({c.entity_id for found in lists for c in found})
    assert sum(len(item.sources) for item in pool.items) == sum(len(found) for found in lists)


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_random_unicode_never_breaks_a_generator(built, text):
    generators, _ = built
    try:
        query = generators.parser.parse(text)
    except ValueError as exc:
        assert "empty" in str(exc)
        return
    for gen in generators.generators.values():
        check_candidates(gen, gen.generate(query, Context.anonymous(), k=5), 5)
        gen.preview(query, Context.anonymous())


HOSTILE = ["a" * 10_000, "night\x00drive\x1b[31m", "🎧🔥 night", "שיר לילה", "ليلة", "'; DROP TABLE entities; --",
           "%_\\' OR 1=1", "Ｎｉｇｈｔ　Ｄｒｉｖｅ", "night " * 3000]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_are_answered_not_raised(built, text):
    generators, store = built
    query = generators.parser.parse(text)
    assert len(query.text) <= 512
    for gen in generators.generators.values():
        check_candidates(gen, gen.generate(query, Context.anonymous(), k=5), 5)
    assert store.counts().tracks > 0  # the SQL-looking text did nothing to the store


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\x00\x01"])
def test_empty_text_is_a_clear_value_error(built, text):
    generators, _ = built
    with pytest.raises(ValueError, match="query text is empty"):
        generators.parser.parse(text)
