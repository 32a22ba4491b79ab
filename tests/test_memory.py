"""MemoryGenerator: predicted queries (cold start), the Bayesian blend, position discount, decay, typo keys,
persistence in files and in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ltrr.errors import NotFittedError, UnknownEntityError
from ltrr.retrieval import memory_index, memory_typo
from ltrr.retrieval.memory import MemoryGenerator
from ltrr.retrieval.memory_predict import BASE_CTR, PRIOR_CTR, popularity_factor, query_key
from ltrr.retrieval.memory_typo import TypoIndex, bounded_distance
from ltrr.retrieval.string_table import StringTable
from ltrr.store.memory_schema import memory_stats
from ltrr.types import Context, Entity, Popularity, TagWeight
from ltrr.understanding.basic import plain_query

ANY = Context.anonymous()
T0 = datetime(2025, 3, 1, 12, 0)
HALF = Popularity(source_popularity=50.0)  # popularity level 0.5 -> factor 0.2 + 0.8 * 0.5 = 0.6


def entity(entity_id: str, kind: str, name: str, **fields) -> Entity:
    return Entity(entity_id, kind, name, "demo", entity_id, **fields)


CATALOG = [
    entity("a1", "artist", "Vela Moss", tags=(TagWeight("synthwave", 0.5, "demo"),)),
    entity("a2", "artist", "The Okra Lane"),
    entity("t1", "track", "Night Drive", artist_id="a1", popularity=HALF),  # artist resolved from a1
    entity("t2", "track", "Glass Harbour - Remastered 2011", artist_name="Vela Moss", artist_id="a1"),
    entity("t3", "track", "Night Market", artist_name="The Okra Lane", artist_id="a2"),
    entity("t4", "track", "Slow Tide", artist_name="The Okra Lane", artist_id="a2"),
    entity("p1", "playlist", "night drive"),
]


def fitted(**kwargs) -> MemoryGenerator:
    return MemoryGenerator(**kwargs).fit(CATALOG)


def ids(candidates) -> list[str]:
    return [c.entity_id for c in candidates]


def check_contract(memory: MemoryGenerator, candidates, k: int) -> None:
    assert len(candidates) <= k
    assert [c.rank for c in candidates] == list(range(len(candidates)))
    assert all(a.score >= b.score for a, b in zip(candidates, candidates[1:]))
    assert len(set(ids(candidates))) == len(candidates)
    assert all(c.source == memory.name for c in candidates)
    kinds = {e.entity_id: e.kind for e in CATALOG}
    assert all(c.kind == kinds.get(c.entity_id, c.kind) for c in candidates)


def test_popularity_factor_by_hand():
    assert popularity_factor(Popularity()) == pytest.approx(0.2)
    assert popularity_factor(HALF) == pytest.approx(0.6)
    # log1p(1000) / log1p(1000) = 1 -> factor 1
    assert popularity_factor(Popularity(playlist_count=1000, source_popularity=10.0)) == pytest.approx(1.0)


def test_query_key_merges_spelling_variants():
    assert query_key("The Weeknd") == query_key("weeknd") == "weeknd"
    assert query_key("AC/DC") == query_key("acdc")
    assert query_key("  !!! ") == ""


def test_predicted_queries_by_hand():
    memory = fitted()
    # title: 0.3 x 0.6; "artist title": 0.6 x 0.6 (t1's artist name comes from artist entity a1)
    assert memory.score("night drive", "t1") == pytest.approx(PRIOR_CTR["title"] * 0.6)
    assert memory.score("vela moss night drive", "t1") == pytest.approx(PRIOR_CTR["artist_title"] * 0.6)
    assert memory.score("vela moss", "a1") == pytest.approx(PRIOR_CTR["name"] * 0.2)
    assert memory.score("vela moss", "t1") == pytest.approx(PRIOR_CTR["by_artist"] * 0.6)
    # the title without "- Remastered 2011" is predicted too; the artist's "The" is optional
    assert memory.score("glass harbour", "t2") == pytest.approx(PRIOR_CTR["title"] * 0.2)
    assert memory.score("okra lane night market", "t3") == pytest.approx(PRIOR_CTR["artist_title"] * 0.2)
    # a track without tags of its own and without a store-given artist name inherits its artist's tags
    assert memory.score("synthwave songs", "t1") == pytest.approx(PRIOR_CTR["tag"] * 0.5 * 0.6)


def test_generate_orders_by_score_and_meets_contract():
    memory = fitted()
    out = memory.generate(plain_query("night drive"), ANY, k=10)
    # t1: 0.3 x 0.6 = 0.18; p1 (playlist name): 0.5 x 0.2 = 0.1
    assert ids(out) == ["t1", "p1"]
    assert [c.kind for c in out] == ["track", "playlist"]
    check_contract(memory, out, 10)
    assert ids(memory.generate(plain_query("night drive"), ANY, k=1)) == ["t1"]


def test_new_entity_is_findable_by_title_and_artist_title_before_any_click():
    memory = fitted()
    memory.add([entity("t9", "track", "Paper Suns", artist_name="Zoë Quill"),
                entity("t10", "track", "Ember Lines", artist_id="a1")])  # artist name remembered from fit
    for text, entity_id in [("paper suns", "t9"), ("Zoe Quill Paper Suns", "t9"), ("vela moss ember lines", "t10")]:
        assert ids(memory.generate(plain_query(text), ANY, k=5))[0] == entity_id
    assert memory.score("zoe quill paper suns", "t9") == pytest.approx(PRIOR_CTR["artist_title"] * 0.2)
    assert not memory.query_seen("paper suns")


def test_bayesian_blend_by_hand():
    memory = fitted(prior_strength=10.0)
    p = PRIOR_CTR["title"] * 0.6  # 0.18
    assert memory.score("night drive", "t1") == pytest.approx(p)  # 0 impressions: the prediction
    for _ in range(10):
        memory.record("night drive", "t1", clicked=True, timestamp=T0)
    assert memory.score("night drive", "t1", at=T0) == pytest.approx((10 + 10 * p) / (10 + 10))
    for i in range(990):
        memory.record("night drive", "t1", clicked=i < 290, timestamp=T0)
    # 1,000 impressions, 300 clicks: (300 + 10 p) / (1000 + 10), close to the observed CTR 0.3
    assert memory.score("night drive", "t1", at=T0) == pytest.approx((300 + 10 * p) / 1010)
    assert abs(memory.score("night drive", "t1", at=T0) - 0.3) < 0.002
    # a pair never predicted starts from BASE_CTR
    memory.record("slow tide", "t1", clicked=True, timestamp=T0)
    assert memory.score("slow tide", "t1", at=T0) == pytest.approx((1 + 10 * BASE_CTR) / 11)
    assert memory.query_seen("night drive") and not memory.query_seen("glass harbour")


def test_pair_stats_reads_a_whole_pool_in_one_lookup():
    memory = fitted(prior_strength=10.0)
    for clicked in (True, False, False):
        memory.record("night drive", "t1", clicked=clicked, position=0, timestamp=T0)
    at_t0 = Context(timestamp=T0)
    scores, impressions = memory.pair_stats(plain_query("Night  Drive"), ["t1", "t3", "zz"], at_t0)
    assert scores.tolist() == pytest.approx([memory.score("night drive", "t1", at=T0),
                                             memory.score("night drive", "t3", at=T0), 0.0])
    assert impressions.tolist() == pytest.approx([3.0, 0.0, 0.0])
    empty = memory.pair_stats(plain_query("!!"), ["t1"], at_t0)
    assert empty[0].tolist() == [0.0] and empty[1].tolist() == [0.0]


def test_position_discount_by_hand():
    memory = fitted()
    memory.record("night drive", "t1", clicked=False, position=0, timestamp=T0)  # 1 / log2(2) = 1
    memory.record("night drive", "t1", clicked=False, position=2, timestamp=T0)  # 1 / log2(4) = 0.5
    memory.record("night drive", "t1", clicked=False, position=6, timestamp=T0)  # 1 / log2(8) = 1/3
    assert memory.counts("night drive", "t1") == pytest.approx((1 + 0.5 + 1 / 3, 0.0))
    memory.record("night drive", "t1", clicked=True, position=6, timestamp=T0)  # a click is a full impression
    assert memory.counts("night drive", "t1") == pytest.approx((2 + 0.5 + 1 / 3, 1.0))


@pytest.mark.parametrize("position", [-1, 1.5, True])
def test_record_rejects_bad_positions(position):
    with pytest.raises(ValueError, match="position must be a 0-based int"):
        fitted().record("night drive", "t1", clicked=False, position=position, timestamp=T0)


def test_decay_by_hand_two_clicks_one_half_life_apart():
    memory = fitted(half_life_days=14.0)
    memory.record("night drive", "t1", clicked=True, timestamp=T0)
    memory.record("night drive", "t1", clicked=True, timestamp=T0 + timedelta(days=14))
    assert memory.counts("night drive", "t1") == pytest.approx((1.5, 1.5))  # 0.5 + 1
    assert memory.counts("night drive", "t1", at=T0 + timedelta(days=28)) == pytest.approx((0.75, 0.75))
    # an event arriving late weighs what it would have: the same total in either order
    late = fitted(half_life_days=14.0)
    late.record("night drive", "t1", clicked=True, timestamp=T0 + timedelta(days=14))
    late.record("night drive", "t1", clicked=True, timestamp=T0)
    assert late.counts("night drive", "t1") == pytest.approx((1.5, 1.5))


def test_decayed_evidence_drifts_back_to_the_prediction():
    memory = fitted(prior_strength=10.0)
    for _ in range(20):
        memory.record("night drive", "t2", clicked=True, timestamp=T0)
    fresh = memory.generate(plain_query("night drive"), Context(timestamp=T0), k=3)
    assert ids(fresh)[0] == "t2" and fresh[0].score == pytest.approx((20 + 10 * BASE_CTR) / 30)
    old = memory.generate(plain_query("night drive"), Context(timestamp=T0 + timedelta(days=14 * 40)), k=3)
    assert ids(old) == ["t1", "p1", "t2"] and old[2].score == pytest.approx(BASE_CTR, rel=1e-6)


def test_typo_variants_find_the_known_key_with_a_discount():
    memory = fitted(typo_discount=0.5)
    exact = 0.3 * 0.6
    one_edit = memory.generate(plain_query("night drve"), ANY, k=5)
    assert ids(one_edit) == ["t1", "p1"] and one_edit[0].score == pytest.approx(exact * 0.5)
    two_edits = memory.generate(plain_query("nighht drve"), ANY, k=5)  # 2 edits: allowed from 10 characters
    assert two_edits[0].entity_id == "t1" and two_edits[0].score == pytest.approx(exact * 0.25)
    transposed = memory.generate(plain_query("nigth drive"), ANY, k=5)  # a swap counts as one edit
    assert transposed[0].entity_id == "t1" and transposed[0].score == pytest.approx(exact * 0.5)
    assert memory.generate(plain_query("nite"), ANY, k=5) == []  # 4 characters: 1 edit allowed, none near
    assert memory.preview(plain_query("night drve"), ANY).n_hits == 0  # preview: exact key only


@pytest.mark.parametrize("sort_share", [0.0, 1e9])  # count by np.bincount, or by sorting
def test_typo_index_matches_brute_force(monkeypatch, sort_share):
    monkeypatch.setattr(memory_typo, "SORT_SHARE", sort_share)
    words = ["night drive", "night market", "glass harbour", "slow tide", "love", "live", "dove", "lover"]
    typo = TypoIndex.build(StringTable.of(words))

    def distance(query: str, word: str, limit: int) -> int:  # Levenshtein, a swap of neighbours counting 1
        swaps = {query[:i] + query[i + 1] + query[i] + query[i + 2:] for i in range(len(query) - 1)}
        return 1 if word in swaps and word != query and limit >= 1 else bounded_distance(query, word, limit)

    for query in ["nigt drive", "lave", "lvoe", "slow tid", "glas harbour", "night markte", "xyz", "olve"]:
        limit = 0 if len(query) < 4 else 1 if len(query) < 10 else 2
        expected = sorted((w, distance(query, w, limit)) for w in words if 0 < distance(query, w, limit) <= limit)
        assert sorted(typo.similar(query)) == expected
    assert typo.similar("lvoe") == [("love", 1)] and typo.similar("night markte") == [("night market", 1)]


def test_typo_lookups_remembered_for_built_keys_still_find_keys_added_later():
    typo = TypoIndex.build(StringTable.of(["night drive", "love", "slow tide"]))
    assert typo.similar("nigth drive") == [("night drive", 1)]
    assert typo.similar("lvoe") == [("love", 1)]
    twin = typo.copy()  # shares the remembered built matches, not the keys added later
    typo.add(["night drives", "lvoes", "vloe", "olve"])  # an insertion, a swap, and two edits of "lvoe"
    assert typo.similar("nigth drive") == [("night drive", 1)]  # "night drives" is two edits from the query
    assert typo.similar("night drive") == [("night drives", 1)]
    assert typo.similar("lvoe") == [("love", 1), ("lvoes", 1), ("vloe", 1)]
    assert twin.similar("night drive") == [] and twin.similar("lvoe") == [("love", 1)]
    assert typo._built_matches is twin._built_matches and "lvoe" in typo._built_matches

def test_bounded_distance_by_hand():
    assert bounded_distance("kitten", "sitting", 3) == 3
    assert bounded_distance("kitten", "sitting", 2) == 3  # over the limit: limit + 1
    assert bounded_distance("abc", "abc", 1) == 0


def test_preview_by_hand():
    memory = fitted()
    preview = memory.preview(plain_query("night drive"), ANY)
    assert (preview.n_hits, preview.source) == (2, "memory")
    assert preview.top_score == pytest.approx(0.18) and preview.score_gap == pytest.approx(0.18 - 0.1)
    assert memory.preview(plain_query("unheard of"), ANY).n_hits == 0


def test_playlist_names_predict_tracks_only_from_the_mappings():
    plain = fitted()
    assert ids(plain.generate(plain_query("night drive"), ANY, k=10)) == ["t1", "p1"]
    memory = MemoryGenerator().fit(CATALOG, {"p1": ["t3", "t4", "t3"]}, {"p1": "Night Drive"})
    # 0.05 x (1 of 1 "night drive" playlists holds t3) x factor 0.2 = 0.01
    assert memory.score("night drive", "t3") == pytest.approx(PRIOR_CTR["playlist_tracks"] * 0.2)
    assert set(ids(memory.generate(plain_query("night drive"), ANY, k=10))) == {"t1", "p1", "t3", "t4"}


@pytest.mark.parametrize("k", [-1, 1.5, "3"])
def test_generate_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        fitted().generate(plain_query("night"), ANY, k)


def test_empty_results_and_errors():
    memory = fitted()
    assert memory.generate(plain_query("night drive"), ANY, k=0) == []
    assert memory.generate(plain_query("!!!"), ANY, k=5) == []
    with pytest.raises(UnknownEntityError, match="add it with add"):
        memory.record("night drive", "nope", clicked=True)
    with pytest.raises(ValueError, match="no words to remember"):
        memory.record(plain_query("!!!"), "t1", clicked=True)
    with pytest.raises(ValueError, match="max_per_key must be >= 1"):
        MemoryGenerator(max_per_key=0).fit(CATALOG)
    with pytest.raises(ValueError, match="occurs twice"):
        MemoryGenerator().fit(CATALOG + CATALOG[:1])


@pytest.mark.parametrize("call", [
    lambda m: m.generate(plain_query("night"), ANY, 5), lambda m: m.preview(plain_query("night"), ANY),
    lambda m: m.add(CATALOG), lambda m: m.record("night", "t1", True), lambda m: m.save("unused")])
def test_use_before_fit_raises(call):
    with pytest.raises(NotFittedError, match="call fit"):
        call(MemoryGenerator())


def test_add_folds_the_overlay_into_the_index_when_it_grows(monkeypatch):
    monkeypatch.setattr(memory_index, "COMPACT_MIN_PAIRS", 0)
    monkeypatch.setattr(memory_index, "COMPACT_SHARE", 0.0)
    memory = fitted()
    memory.record("Vela Moss Night Drive", "t4", clicked=True, timestamp=T0)
    memory.add([entity("t9", "track", "Paper Suns", artist_name="Zoë Quill")])
    assert memory.index_.overlay == {}  # compacted
    assert ids(memory.generate(plain_query("paper suns"), ANY, k=3)) == ["t9"]
    assert ids(memory.generate(plain_query("papr suns"), ANY, k=3)) == ["t9"]  # typo index rebuilt
    assert memory.counts("vela moss night drive", "t4") == pytest.approx((1.0, 1.0))


def test_file_round_trip(tmp_path):
    memory = fitted()
    memory.add([entity("t9", "track", "Paper Suns", artist_name="Zoë Quill")])
    memory.record("night drive", "t3", clicked=True, position=2, timestamp=T0)
    memory.record("brand new query", "t4", clicked=True, timestamp=T0)
    memory.save(tmp_path / "memory")
    loaded = MemoryGenerator.load(tmp_path / "memory")
    for text in ["night drive", "paper suns", "brand new query", "brand new qery", "vela moss"]:
        assert loaded.generate(plain_query(text), ANY, 10) == memory.generate(plain_query(text), ANY, 10)
    assert loaded.counts("night drive", "t3") == memory.counts("night drive", "t3")
    loaded.add([entity("t11", "track", "Quiet Orbit", artist_id="a1")])
    assert ids(loaded.generate(plain_query("vela moss quiet orbit"), ANY, 3)) == ["t11"]
    with pytest.raises(FileNotFoundError, match="save a MemoryGenerator"):
        MemoryGenerator.load(tmp_path / "missing")


def test_store_round_trip_upserts(any_store):
    memory = fitted()
    memory.record("night drive", "t3", clicked=True, position=1, timestamp=T0)
    memory.record("night drive", "t1", clicked=False, position=3, timestamp=T0 + timedelta(days=1))
    memory.record("okra", "t4", clicked=True, timestamp=T0 + timedelta(days=2))
    assert memory.save_to(any_store) == 3
    memory.record("okra", "t4", clicked=True, timestamp=T0 + timedelta(days=2))  # changes one row
    other = fitted(name="memory_b")
    other.record("okra", "t3", clicked=True, timestamp=T0)
    assert memory.save_to(any_store) == 3 and other.save_to(any_store) == 1
    with any_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(memory_stats)).scalar_one() == 4
    loaded = fitted().load_from(any_store)
    for text, entity_id in [("night drive", "t3"), ("night drive", "t1"), ("okra", "t4"), ("okra", "t3")]:
        assert loaded.counts(text, entity_id) == pytest.approx(memory.counts(text, entity_id))
    assert loaded.counts("okra", "t4") == pytest.approx((2.0, 2.0))
    assert loaded.generate(plain_query("okra"), ANY, 5) == memory.generate(plain_query("okra"), ANY, 5)
    assert loaded.generate(plain_query("okr"), ANY, 5) == []  # 3 characters: no typo search


def test_load_from_skips_unknown_entities(store):
    memory = fitted()
    memory.add([entity("t9", "track", "Paper Suns")])
    memory.record("paper suns", "t9", clicked=True, timestamp=T0)
    memory.record("night drive", "t1", clicked=True, timestamp=T0)
    memory.save_to(store)
    loaded = fitted().load_from(store)  # t9 unknown to a memory fitted without it
    assert loaded.counts("night drive", "t1") == pytest.approx((1.0, 1.0))
    assert not loaded.query_seen("paper suns")


@pytest.fixture(scope="module")
def shared_memory() -> MemoryGenerator:
    return fitted()


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), k=st.integers(0, 20))
def test_any_text_meets_the_contract(shared_memory, text, k):
    try:
        query = plain_query(text)
    except ValueError:
        assume(False)
    out = shared_memory.generate(query, ANY, k)
    check_contract(shared_memory, out, k)
    preview = shared_memory.preview(query, ANY)
    assert preview.n_hits >= 0 and math.isfinite(preview.top_score)
    if query.tokens:
        shared_memory.record(query, "t1", clicked=bool(k % 2), position=k, timestamp=T0)


def test_demo_catalog_smoke():
    from ltrr.config import EngineConfig
    from ltrr.synthetic import generate_catalog

    catalog = generate_catalog(EngineConfig().catalog.synthetic)
    memory = MemoryGenerator().fit(catalog.entities, catalog.playlist_tracks,
                                   {p.entity_id: p.name for p in catalog.playlists})
    artists = {a.entity_id: a.name for a in catalog.artists}
    tracks = catalog.tracks[::40]
    title_hits = sum(t.entity_id in ids(memory.generate(plain_query(t.name), ANY, 10)) for t in tracks)
    assert title_hits / len(tracks) >= 0.9
    # "artist title" names one recording; only a title track's album of the same name may come before it
    for track in tracks:
        out = memory.generate(plain_query(f"{artists[track.artist_id]} {track.name}"), ANY, 3)
        assert track.entity_id in ids(out[:2]) and all(c.kind in ("track", "album") for c in out[:2])
    artist = catalog.artists[0]
    assert ids(memory.generate(plain_query(artist.name), ANY, 5))[0] == artist.entity_id


def test_fit_reports_progress_per_entity():
    stages: dict[str, list[int]] = {}

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def update(self, n: int = 1) -> None:
            stages[self.name].append(n)

        def close(self) -> None:
            stages[self.name].append(-1)

    def factory(description: str, total: int | None) -> Recorder:
        stages[description] = []
        return Recorder(description)

    MemoryGenerator().fit(CATALOG, progress=factory)
    assert stages == {"memory: predict queries": [len(CATALOG), -1]}


def test_string_table_take_and_entity_ids_in_batches():
    table = StringTable.of(["b", "ä", "a", "night drive"])
    assert table.take([3, 0, 0, 2]) == [table[3], table[0], table[0], table[2]] and table.take([]) == []
    entities, _ = memory_index.EntityTable.build(["t2", "t1", "p1"], ["track", "track", "playlist"])
    entities.append(["new1"], ["track"])
    positions = [entities.position(i) for i in ("p1", "t1", "t2")]
    assert entities.entity_ids(positions) == ["p1", "t1", "t2"]  # the packed ones, in one batch
    assert entities.entity_ids([*positions, entities.position("new1")]) == ["p1", "t1", "t2", "new1"]
