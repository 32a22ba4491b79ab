"""BM25Generator: equality with rank_bm25, field weights, prior, kind slot, add/compact, save/load, pruning."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from ltrr.config import EngineConfig
from ltrr.errors import NotFittedError
from ltrr.retrieval import bm25_index
from ltrr.retrieval.bm25 import BM25Generator, entity_fields
from ltrr.synthetic import generate_catalog
from ltrr.text import tokenize
from ltrr.types import Context, Entity, Popularity, Query, Slot, TagWeight
from ltrr.understanding.basic import plain_query

CTX = Context.anonymous()
WEIGHTS = {"title": 3, "artist": 2, "album": 1, "playlist": 1, "tags": 2}


def track(entity_id: str, name: str, artist: str | None = None, playlists: int | None = None,
          tags: tuple[str, ...] = (), kind: str = "track", description: str | None = None) -> Entity:
    return Entity(entity_id, kind, name, "demo", entity_id,  # type: ignore[arg-type]
                  artist_name=artist, description=description, popularity=Popularity(playlist_count=playlists),
                  tags=tuple(TagWeight(tag, 1.0, "demo") for tag in tags))


# 9 docs (odd, so no idf is exactly 0): "the" is in 5 of them (negative idf -> epsilon floor), "night" in 4
CATALOG = [
    track("t1", "Night Drive", "Vela Moss", tags=("synthwave",)),
    track("t2", "Glass Harbour", "Vela Moss", tags=("ambient",)),
    track("t3", "Night Market", "Okra Lane", tags=("trip hop",)),
    track("t4", "The Night We Met", "The Lumens", tags=("indie",)),
    track("t5", "The Sound", "The Nightjars"),
    track("t6", "Slow Tide", "The Okra Lane Band", tags=("ambient", "chill")),
    track("a1", "The Doors", kind="artist", tags=("rock",)),
    track("p1", "night drive", kind="playlist", description="late night synthwave for the road"),
    track("p2", "chill", kind="playlist", description="slow sundays"),
]
PLAYLIST_NAMES = {"t1": ["night drive"], "t6": ["chill"], "t3": ["night drive", "chill"]}


def reference_tokens(entity: Entity) -> list[str]:
    """The document rank_bm25 sees: each field's tokens repeated (integer) field-weight times."""
    fields = entity_fields(entity, PLAYLIST_NAMES.get(entity.entity_id, ()))
    return [token for name, tokens in fields.items() for _ in range(WEIGHTS[name]) for token in tokens]


@pytest.fixture
def fitted() -> BM25Generator:
    return BM25Generator(field_weights=WEIGHTS, popularity_weight=0.0).fit(CATALOG, PLAYLIST_NAMES)


def scores_of(gen: BM25Generator, text: str, k: int = 100) -> dict[str, float]:
    return {c.entity_id: c.score for c in gen.generate(plain_query(text), CTX, k)}


@pytest.mark.parametrize("text", ["night", "the night", "night night drive", "the", "the the sound", "okra lane",
                                  "chill slow", "zzqx night", "synthwave road", "trip hop doors"])
def test_scores_equal_rank_bm25_okapi_on_repeated_field_tokens(fitted, text):
    corpus = [reference_tokens(entity) for entity in CATALOG]
    reference = BM25Okapi(corpus, k1=1.2, b=0.75, epsilon=0.25).get_scores(tokenize(text))
    query = set(tokenize(text))
    matching = {e.entity_id for e, doc in zip(CATALOG, corpus) if query & set(doc)}
    found = scores_of(fitted, text)
    assert set(found) == matching
    for entity, expected in zip(CATALOG, reference):
        if entity.entity_id in matching:
            assert found[entity.entity_id] == pytest.approx(expected, rel=1e-5)


def test_epsilon_floor_applies_to_a_term_in_most_docs(fitted):
    corpus = [reference_tokens(entity) for entity in CATALOG]
    n_the = sum("the" in doc for doc in corpus)
    assert n_the > len(corpus) / 2  # "the" really has a negative raw idf, so the floor is exercised
    reference = BM25Okapi(corpus, k1=1.2, b=0.75, epsilon=0.25)
    assert reference.idf["the"] == pytest.approx(0.25 * reference.average_idf)
    assert all(score > 0 for score in scores_of(fitted, "the").values())


def test_one_document_worked_by_hand():
    # N = 3, "drive" in 1 doc: idf = ln((3 - 1 + 0.5) / (1 + 0.5)) = ln(5 / 3)
    docs = [track("x", "Night Drive"), track("y", "Blue"), track("z", "Red")]
    gen = BM25Generator(field_weights={"title": 3}, popularity_weight=0.0).fit(docs)
    # |x| = 6, |y| = |z| = 3, avgdl = 4; tf = 3: 3 * 2.2 / (3 + 1.2 * (0.25 + 0.75 * 6 / 4)) = 6.6 / 4.65
    assert scores_of(gen, "drive") == {"x": pytest.approx(math.log(5 / 3) * 6.6 / 4.65, rel=1e-6)}


def test_playlist_field_comes_only_from_the_given_names():
    with_names = BM25Generator().fit(CATALOG, PLAYLIST_NAMES)
    without = BM25Generator().fit(CATALOG)
    assert "t6" in scores_of(with_names, "chill")  # "Slow Tide" is in a playlist named "chill" (and tagged chill)
    assert "t3" in scores_of(with_names, "chill") and "t3" not in scores_of(without, "chill")


def test_fields_cap_playlist_and_tag_tokens_and_keep_them_distinct():
    entity = track("t", "Song", tags=("pop", "dance pop", "pop"))
    fields = entity_fields(entity, ["chill", "Chill vibes", "chill", "road trip"])
    assert fields["tags"] == ["pop", "dance"]
    assert fields["playlist"] == ["chill", "vibes", "road", "trip"]  # most used first, then first seen


def test_popular_track_wins_among_identical_titles():
    quiet, popular = track("t1", "Closer", playlists=1), track("t2", "Closer", playlists=500)
    others = [track("t3", "Far", playlists=0)]
    plain = BM25Generator(popularity_weight=0.0).fit([quiet, popular, *others])
    assert [c.entity_id for c in plain.generate(plain_query("closer"), CTX, 2)] == ["t1", "t2"]  # tie: index order
    assert [c.entity_id for c in plain.generate(plain_query("closer"), CTX, 1)] == ["t1"]
    gen = BM25Generator(popularity_weight=2.0).fit([quiet, popular, *others])
    found = gen.generate(plain_query("closer"), CTX, 2)
    assert [c.entity_id for c in found] == ["t2", "t1"]
    # prior = weight * log1p(count) / log1p(max count of the kind): 2 * (1 - ln 2 / ln 501)
    assert found[0].score - found[1].score == pytest.approx(2.0 * (1 - math.log(2) / math.log(501)), rel=1e-5)
    assert scores_of(gen, "far")["t3"] == pytest.approx(scores_of(plain, "far")["t3"], rel=1e-6)


def test_added_entity_gets_its_prior_on_the_frozen_scale():
    fitted = [track("t1", "Closer", playlists=1), track("t3", "Far", playlists=100)]
    gen = BM25Generator(popularity_weight=2.0).fit(fitted)
    gen.add([track("t2", "Closer", playlists=400)])  # above the fitted max of 100: the prior is capped at 2
    found = gen.generate(plain_query("closer"), CTX, 2)
    assert [c.entity_id for c in found] == ["t2", "t1"]
    assert found[0].score - found[1].score == pytest.approx(2.0 * (1 - math.log(2) / math.log(101)), rel=1e-5)


def kind_query(text: str, kind: str, position: int) -> Query:
    base = plain_query(text)
    slot = Slot("kind", kind, 1.0, base.tokens[position], (position, position + 1))
    return dataclasses.replace(base, slots=(slot,))


def test_kind_slot_restricts_results_and_its_word_is_not_searched(fitted):
    found = fitted.generate(kind_query("night playlist", "playlist", 1), CTX, 10)
    assert [c.entity_id for c in found] == ["p1"] and found[0].kind == "playlist"
    assert found[0].score == pytest.approx(scores_of(fitted, "night")["p1"], rel=1e-6)
    preview = fitted.preview(kind_query("night playlist", "playlist", 1), CTX)
    assert preview.n_hits == 1 and preview.score_gap == 0.0
    only_kind = fitted.generate(kind_query("playlist", "playlist", 0), CTX, 10)
    assert only_kind == []  # the word alone is searched, and no document contains it


def test_kind_word_is_searched_only_when_it_is_the_whole_query():
    playlists = [track("p1", "Night Vibes", kind="playlist", description="songs for late nights"),
                 track("p2", "Road Trip", kind="playlist", description="the best playlist for driving"),
                 track("t1", "Night Playlist")]
    gen = BM25Generator().fit(playlists)
    assert [c.entity_id for c in gen.generate(kind_query("night playlist", "playlist", 1), CTX, 10)] == ["p1"]
    assert [c.entity_id for c in gen.generate(kind_query("playlist", "playlist", 0), CTX, 10)] == ["p2"]
    assert {c.entity_id for c in gen.generate(plain_query("night playlist"), CTX, 10)} == {"p1", "p2", "t1"}


def test_preview_counts_the_union_and_reports_the_best_two(fitted):
    found = fitted.generate(plain_query("night chill"), CTX, 100)
    preview = fitted.preview(plain_query("night chill"), CTX)
    assert preview.n_hits == len(found) == len({"t1", "t3", "t4", "t6", "p1", "p2"})  # not t5: "nightjars"
    assert preview.top_score == pytest.approx(found[0].score)
    assert preview.score_gap == pytest.approx(found[0].score - found[1].score)
    assert fitted.preview(plain_query("zzqx"), CTX) == dataclasses.replace(preview, n_hits=0, top_score=0.0,
                                                                           score_gap=0.0)


def test_contract_basics(fitted):
    found = fitted.generate(plain_query("night"), CTX, 3)
    assert [c.rank for c in found] == [0, 1, 2] and all(c.source == "bm25" for c in found)
    assert all(a.score >= b.score for a, b in zip(found, found[1:]))
    assert fitted.generate(plain_query("night"), CTX, 0) == []
    assert fitted.generate(plain_query("zzqx"), CTX, 5) == []
    assert fitted.generate(plain_query("🎵 ✨"), CTX, 5) == []
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        fitted.generate(plain_query("night"), CTX, -1)
    with pytest.raises(NotFittedError, match=r"call fit\(entities\) first"):
        BM25Generator().generate(plain_query("night"), CTX, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({"field_weights": {"lyrics": 1.0}}, "unknown fields"),
    ({"field_weights": {"title": -1.0}}, "must be >= 0"),
    ({"popularity_weight": -0.5}, "must be >= 0"),
    ({"b": 1.5}, "0 <= b <= 1"),
])
def test_fit_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BM25Generator(**kwargs).fit(CATALOG)


def test_fit_rejects_a_repeated_entity_id():
    with pytest.raises(ValueError, match="appears twice"):
        BM25Generator().fit([CATALOG[0], CATALOG[0]])


def test_added_entity_is_found_at_once_with_frozen_statistics(fitted):
    before = scores_of(fitted, "night")
    fitted.add([track("t9", "Night Moves", "Bob Seger"), track("t10", "Zzyzx Road")])
    after = scores_of(fitted, "night")
    assert "t9" in after and {key: after[key] for key in before} == pytest.approx(before)  # idf, avgdl frozen
    assert [c.entity_id for c in fitted.generate(plain_query("zzyzx"), CTX, 5)] == ["t10"]  # a term new to the index


def test_an_empty_fit_serves_nothing_and_accepts_additions():
    gen = BM25Generator().fit([])
    assert gen.generate(plain_query("night"), CTX, 5) == [] and gen.preview(plain_query("night"), CTX).n_hits == 0
    gen.add([track("t1", "Night Drive")])
    found = gen.generate(plain_query("night"), CTX, 5)
    assert [c.entity_id for c in found] == ["t1"] and math.isfinite(found[0].score)


def test_add_replaces_an_entity_with_the_same_id(fitted):
    fitted.add([track("t2", "Harbour Lights", "Vela Moss")])
    assert "t2" not in scores_of(fitted, "glass")
    assert "t2" in scores_of(fitted, "lights")
    assert fitted.preview(plain_query("glass"), CTX).n_hits == 0


def test_compact_equals_a_fresh_fit_on_the_same_entities():
    added = [track("t2", "Harbour Lights", "Vela Moss", playlists=9), track("t9", "Night Moves", "Bob Seger",
                                                                          playlists=40)]
    gen = BM25Generator(field_weights=WEIGHTS).fit(CATALOG, PLAYLIST_NAMES)
    gen.add(added, PLAYLIST_NAMES)
    gen.compact()
    fresh = BM25Generator(field_weights=WEIGHTS).fit([e for e in CATALOG if e.entity_id != "t2"] + added,
                                                     PLAYLIST_NAMES)
    for text in ["night", "the night", "harbour lights", "vela moss", "chill", "moves"]:
        got, want = gen.generate(plain_query(text), CTX, 20), fresh.generate(plain_query(text), CTX, 20)
        assert [c.entity_id for c in got] == [c.entity_id for c in want]
        assert [c.score for c in got] == pytest.approx([c.score for c in want], rel=1e-6)
        got_preview, want_preview = gen.preview(plain_query(text), CTX), fresh.preview(plain_query(text), CTX)
        assert got_preview.n_hits == want_preview.n_hits
        assert [got_preview.top_score, got_preview.score_gap] == pytest.approx(
            [want_preview.top_score, want_preview.score_gap], rel=1e-6, abs=1e-9)


def test_save_load_round_trip_gives_identical_results(fitted, tmp_path):
    fitted.add([track("t9", "Night Moves", "Bob Seger"), track("t2", "Harbour Lights")])  # delta + replacement
    fitted.save(tmp_path / "bm25")
    loaded = BM25Generator.load(tmp_path / "bm25")
    for text in ["night", "the night moves", "harbour", "glass", "chill"]:
        query = plain_query(text)
        assert loaded.generate(query, CTX, 20) == fitted.generate(query, CTX, 20)
        assert loaded.preview(query, CTX) == fitted.preview(query, CTX)
    loaded.add([track("t11", "Night Shift")])
    assert "t11" in scores_of(loaded, "night")
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "bm25").iterdir())


def test_load_names_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="bm25.json is missing"):
        BM25Generator.load(tmp_path)


@pytest.fixture(scope="module")
def demo():
    catalog = generate_catalog(EngineConfig().catalog.synthetic)
    names = {e.entity_id: e.name for e in catalog.playlists}
    playlist_names: dict[str, list[str]] = {}
    for playlist_id, track_ids in catalog.playlist_tracks.items():
        for track_id in dict.fromkeys(track_ids):
            playlist_names.setdefault(track_id, []).append(names[playlist_id])
    return catalog, playlist_names


def test_pruned_serving_equals_scoring_every_doc(demo, monkeypatch):
    catalog, playlist_names = demo
    rng = np.random.default_rng(5)
    tracks = catalog.tracks
    texts = [tracks[i].name for i in rng.choice(len(tracks), 40)] + ["love", "the night", "rock love", "a a the"]
    texts += ["lvoe", "teh nigth", "rock lvoe", "nihgt love"]  # typos: fractional weights through the heads
    queries = [plain_query(t) for t in texts] + [kind_query("love album", "album", 1)]
    # a delta segment with new versions of 30 tracks (retiring the old ones) and 30 new tracks
    added = [dataclasses.replace(t, name=f"{t.name} love") for t in tracks[:30]]
    added += [dataclasses.replace(t, entity_id=f"new{i}", name=f"the night {t.name}")
              for i, t in enumerate(tracks[:30])]
    monkeypatch.setattr(bm25_index, "HEAD_MIN_DF", 10**9)
    monkeypatch.setattr(bm25_index, "SPARSE_MAX_POSTINGS", 10**9)
    exhaustive = BM25Generator().fit(catalog.entities, playlist_names)
    exhaustive.add(added)
    expected = [[exhaustive.generate(q, CTX, k) for k in (1, 10, 200)] for q in queries]
    # small heads and no sorted merge: every query goes through the head test and the dense accumulator
    monkeypatch.setattr(bm25_index, "HEAD_MIN_DF", 40)
    monkeypatch.setattr(bm25_index, "HEAD_SIZE", 16)
    monkeypatch.setattr(bm25_index, "SPARSE_MAX_POSTINGS", 0)
    pruned = BM25Generator().fit(catalog.entities, playlist_names)
    pruned.add(added)
    assert len(pruned.index_.heads.slot) > 20
    for query, want in zip(queries, expected):
        for k, wanted in zip((1, 10, 200), want):
            got = pruned.generate(query, CTX, k)
            assert [c.entity_id for c in got] == [c.entity_id for c in wanted]
            assert [c.score for c in got] == pytest.approx([c.score for c in wanted], rel=1e-5)
        monkeypatch.setattr(bm25_index, "COUNT_BY_SORTING", 10**9)  # distinct docs counted by sorting
        sorted_count = exhaustive.preview(query, CTX).n_hits
        monkeypatch.setattr(bm25_index, "COUNT_BY_SORTING", 0)  # ... and by marking a bitmap
        assert pruned.preview(query, CTX).n_hits == exhaustive.preview(query, CTX).n_hits == sorted_count


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), k=st.integers(min_value=0, max_value=12))
def test_random_unicode_never_breaks_generate_or_preview(demo_generator, text, k):
    try:
        query = plain_query(text)
    except ValueError as exc:
        assert "empty" in str(exc)
        return
    found = demo_generator.generate(query, CTX, k)
    assert len(found) <= k and [c.rank for c in found] == list(range(len(found)))
    assert len({c.entity_id for c in found}) == len(found) and all(c.source == "bm25" for c in found)
    assert all(a.score >= b.score for a, b in zip(found, found[1:]))
    preview = demo_generator.preview(query, CTX)
    assert preview.source == "bm25" and preview.n_hits >= len(found)
    if preview.n_hits == 0:
        assert not found and preview.top_score == 0.0 and preview.score_gap == 0.0


@pytest.fixture(scope="module")
def demo_generator(demo):
    catalog, playlist_names = demo
    return BM25Generator().fit(catalog.entities, playlist_names)


def test_an_unknown_word_is_searched_as_its_nearest_known_words_at_a_discount(fitted):
    night = scores_of(fitted, "night")
    assert scores_of(fitted, "nigth") == pytest.approx({e: 0.5 * s for e, s in night.items()})  # 1 edit
    assert list(scores_of(fitted, "nigth drive"))[0] == "t1"
    off = BM25Generator(field_weights=WEIGHTS, popularity_weight=0.0, typo_discount=0.0).fit(CATALOG, PLAYLIST_NAMES)
    assert scores_of(off, "nigth") == {} and scores_of(off, "night") == pytest.approx(night)
    assert scores_of(fitted, "nite") == {}  # 2 edits: beyond the 1 a 4-letter word may have
    assert fitted.preview(plain_query("nigth"), CTX).n_hits == len(night)


def test_words_added_later_are_matched_through_typos_and_the_discount_is_saved(fitted, tmp_path):
    fitted.add([track("t9", "Zephyrine", "Okra Lane")])
    assert list(scores_of(fitted, "zephyrnie")) == ["t9"]
    fitted.save(tmp_path / "bm25")
    loaded = BM25Generator.load(tmp_path / "bm25")
    assert loaded.typo_discount == 0.5 and scores_of(loaded, "zephyrnie") == scores_of(fitted, "zephyrnie")
    with pytest.raises(ValueError, match="typo_discount must be in \\[0, 1\\], got 1.5"):
        BM25Generator(typo_discount=1.5).fit(CATALOG)
