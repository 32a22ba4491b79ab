"""StructuredGenerator: slot retrieval, relaxation and the generator contract, on a tiny hand-made catalog."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltrr.config import EngineConfig
from ltrr.errors import NotFittedError
from ltrr.retrieval import structured
from ltrr.retrieval.structured import StructuredGenerator
from ltrr.synthetic import generate_catalog, write_catalog
from ltrr.types import Context, Entity, Popularity, Query, Slot, TagWeight
from ltrr.understanding.basic import plain_query
from ltrr.understanding.lexicon import Lexicon
from ltrr.understanding.parser import QueryParser

CONTEXT = Context.anonymous()


def _tags(*pairs: tuple[str, float]) -> tuple[TagWeight, ...]:
    return tuple(TagWeight(tag, weight, "test") for tag, weight in pairs)


def _track(key: str, title: str, artist: str, year: int, playlists: int, *tags: tuple[str, float]) -> Entity:
    return Entity(f"track:{key}", "track", title, "test", key, artist_id=f"artist:{artist}", year=year,
                  popularity=Popularity(playlist_count=playlists), tags=_tags(*tags))


# Track popularity = log(1 + playlists) / log(81) (the most popular track has 80); artists' over log(901).
TINY = [
    Entity("artist:a1", "artist", "Vela Moss", "test", "a1", popularity=Popularity(playlist_count=100),
           tags=_tags(("synthwave", 1.0))),
    Entity("artist:a2", "artist", "Okra Lane", "test", "a2", popularity=Popularity(playlist_count=50),
           tags=_tags(("hip hop", 0.9))),
    Entity("artist:a3", "artist", "Taylor Swift", "test", "a3", popularity=Popularity(playlist_count=900),
           tags=_tags(("pop", 1.0))),
    Entity("album:b1", "album", "Grid", "test", "b1", artist_id="artist:a1", year=1986),
    _track("t1", "Night Drive", "a1", 1986, 50, ("synthwave", 1.0)),
    _track("t2", "Neon Grid", "a1", 1984, 10, ("synthwave", 0.8)),
    _track("t3", "Chrome Sunset", "a1", 2016, 30, ("synthwave", 1.0), ("chill", 0.6)),
    _track("t4", "Laser Highway", "a1", 1987, 80, ("synthwave", 0.5)),
    _track("t5", "Block Party", "a2", 1994, 20, ("hip hop", 1.0)),
    _track("t6", "Corner Flow", "a2", 2016, 40, ("hip-hop", 0.9)),
    _track("t7", "Love Story", "a3", 2008, 80, ("pop", 1.0)),
    Entity("playlist:p1", "playlist", "synthwave nights", "test", "p1", popularity=Popularity(follower_sum=10),
           tags=_tags(("synthwave", 1.0))),
]


def _query(*slots: tuple[str, str, float]) -> Query:
    """A query carrying exactly these (name, value, confidence) slots."""
    text = " ".join(value for _, value, _ in slots) or "nothing"
    base = plain_query(text)
    return Query(base.text, base.normalized, base.tokens,
                 tuple(Slot(name, value, confidence, value)  # type: ignore[arg-type]
                       for name, value, confidence in slots))


def _score(tag_match: float, popularity: float, violations: int = 0) -> float:
    """The documented score with popularity_weight 0.5."""
    b = tag_match * (0.5 + 0.5 * popularity)
    return (1 + b / (1 + b)) / 2 ** violations


@pytest.fixture(scope="module")
def generator() -> StructuredGenerator:
    return StructuredGenerator().fit(TINY)


def _ids(candidates) -> list[str]:
    return [c.entity_id for c in candidates]


def test_genre_and_era_return_the_hand_expected_ids_in_order(generator):
    query = _query(("genre", "synthwave", 1.0), ("years", "1980-1989", 1.0))
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=3)
    assert _ids(candidates) == ["track:t1", "track:t2", "track:t4"] and relaxations == ()
    t1 = _score(1.0, math.log(51) / math.log(81))
    t2 = _score(0.8, math.log(11) / math.log(81))
    assert [c.score for c in candidates] == pytest.approx([t1, t2, _score(0.5, 1.0)])
    assert [c.rank for c in candidates] == [0, 1, 2] and {c.kind for c in candidates} == {"track"}


def test_relaxation_widens_then_drops_years_and_ranks_strict_matches_first(generator):
    query = _query(("genre", "synthwave", 1.0), ("years", "1980-1989", 1.0))
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=6)
    assert relaxations == ("widen years 1975-1994", "drop years")
    # relaxed ones violate the years: playlist (popularity 1), t3 (log 31 / log 81), artist (log 101 / log 901)
    assert _ids(candidates) == ["track:t1", "track:t2", "track:t4", "playlist:p1", "track:t3", "artist:a1"]
    assert candidates[3].score == pytest.approx(_score(1.0, 1.0, violations=1))


def test_over_constrained_query_records_the_widening(generator):
    # no 90s synthwave: widening to 1985-2004 finds t1 (1986) and t4 (1987), enough for k=2
    query = _query(("genre", "synthwave", 1.0), ("years", "1990-1999", 1.0))
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=2)
    assert _ids(candidates) == ["track:t1", "track:t4"] and relaxations == ("widen years 1985-2004",)
    assert all(c.score < 1.0 for c in candidates)  # each violates the asked years: halved


def test_kind_slot_is_respected_then_relaxed_last(generator):
    query = _query(("genre", "synthwave", 1.0), ("kind", "playlist", 1.0))
    assert generator.generate_with_trace(query, CONTEXT, k=1) == (generator.generate(query, CONTEXT, 1), ())
    assert _ids(generator.generate(query, CONTEXT, k=1)) == ["playlist:p1"]
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=3)
    assert _ids(candidates) == ["playlist:p1", "track:t1", "track:t3"] and relaxations == ("drop kind playlist",)


def test_lowest_confidence_tag_is_dropped_first(generator):
    query = _query(("mood", "chill", 0.6), ("genre", "synthwave", 0.9))
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=3)
    assert relaxations == ("drop mood chill",)
    assert _ids(candidates) == ["track:t3", "playlist:p1", "track:t1"]


def test_unknown_tag_is_dropped_when_other_constraints_remain(generator):
    query = _query(("genre", "polka", 1.0), ("years", "1980-1989", 1.0))
    candidates, relaxations = generator.generate_with_trace(query, CONTEXT, k=3)
    assert relaxations == ("drop genre polka",)
    assert _ids(candidates) == ["track:t4", "track:t1", "track:t2"]  # by popularity; the album has none
    assert generator.generate(_query(("genre", "polka", 1.0)), CONTEXT, k=3) == []


def test_a_lone_years_slot_is_widened_but_never_dropped(generator):
    # 1990-1994 holds t5 only; 1985-1999 adds t4, t1 and the album (1986): enough for k=3
    candidates, relaxations = generator.generate_with_trace(_query(("years", "1990-1994", 1.0)), CONTEXT, k=3)
    assert _ids(candidates) == ["track:t5", "track:t4", "track:t1"] and relaxations == ("widen years 1985-1999",)
    everything, relaxations = generator.generate_with_trace(_query(("years", "1990-1994", 1.0)), CONTEXT, k=50)
    assert len(everything) == 4 and relaxations == ("widen years 1985-1999",)  # t2 (1984) stays out


def test_decade_tags_stand_in_for_missing_years_only():
    entities = [Entity("artist:x", "artist", "X", "test", "x", tags=_tags(("80s", 1.0))),
                _track("y1", "Late", "x", 1995, 1, ("80s", 1.0))]
    generator = StructuredGenerator().fit(entities)
    candidates = generator.generate(_query(("years", "1980-1989", 1.0)), CONTEXT, k=1)
    assert _ids(candidates) == ["artist:x"]  # the track's own year, 1995, wins over its "80s" tag


def test_artist_slot_returns_the_artist_then_its_entities_by_popularity(generator):
    candidates = generator.generate(_query(("artist", "vela moss", 1.0)), CONTEXT, k=10)
    assert _ids(candidates) == ["artist:a1", "track:t4", "track:t1", "track:t3", "track:t2", "album:b1"]
    songs = _query(("artist", "vela moss", 1.0), ("kind", "track", 1.0))
    assert _ids(generator.generate(songs, CONTEXT, k=4)) == ["track:t4", "track:t1", "track:t3", "track:t2"]
    more, relaxations = generator.generate_with_trace(songs, CONTEXT, k=10)  # the artist constraint stays
    assert _ids(more) == ["track:t4", "track:t1", "track:t3", "track:t2", "artist:a1", "album:b1"]
    assert relaxations == ("drop kind track",)
    assert generator.generate(_query(("artist", "nobody", 1.0)), CONTEXT, k=10) == []


def test_hip_hop_spellings_are_one_tag(generator):
    candidates = generator.generate(_query(("genre", "hip hop", 1.0)), CONTEXT, k=10)
    assert set(_ids(candidates)) == {"track:t5", "track:t6", "artist:a2"}


def test_preview_counts_strict_matches(generator):
    query = _query(("genre", "synthwave", 1.0), ("years", "1980-1989", 1.0))
    preview = generator.preview(query, CONTEXT)
    scores = [c.score for c in generator.generate(query, CONTEXT, k=3)]
    assert (preview.source, preview.n_hits) == ("structured", 3)
    assert preview.top_score == pytest.approx(scores[0]) and preview.score_gap == pytest.approx(scores[0] - scores[1])
    over = generator.preview(_query(("genre", "synthwave", 1.0), ("years", "1990-1999", 1.0)), CONTEXT)
    assert (over.n_hits, over.top_score, over.score_gap) == (0, 0.0, 0.0)


def test_no_slot_k_zero_and_bad_k(generator):
    assert generator.generate(_query(), CONTEXT, k=5) == []
    assert generator.generate(_query(("genre", "synthwave", 1.0)), CONTEXT, k=0) == []
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        generator.generate(_query(("genre", "synthwave", 1.0)), CONTEXT, k=-1)


@pytest.mark.parametrize("call", [
    lambda g: g.generate(_query(("genre", "synthwave", 1.0)), CONTEXT, 3),
    lambda g: g.preview(_query(("genre", "synthwave", 1.0)), CONTEXT),
    lambda g: g.add(TINY[:1]),
])
def test_use_before_fit_raises(call):
    with pytest.raises(NotFittedError, match="call fit"):
        call(StructuredGenerator())


def test_add_makes_entities_retrievable_and_replaces_known_ids():
    generator = StructuredGenerator().fit(TINY)
    generator.add([_track("t8", "Hyper Grid", "a1", 1989, 80, ("synthwave", 1.0)),
                   _track("t2", "Neon Grid", "a1", 1984, 10, ("pop", 1.0))])
    query = _query(("genre", "synthwave", 1.0), ("years", "1980-1989", 1.0))
    assert _ids(generator.generate(query, CONTEXT, k=3)) == ["track:t8", "track:t1", "track:t4"]
    pop = _ids(generator.generate(_query(("genre", "pop", 1.0)), CONTEXT, k=10))
    assert pop.count("track:t2") == 1 and set(pop) == {"artist:a3", "track:t7", "track:t2"}


def test_remembered_strict_pools_give_fresh_results_and_follow_adds(monkeypatch):
    queries = [_query(("genre", "synthwave", 1.0), ("years", "1980-1989", 1.0)), _query(("genre", "pop", 1.0)),
               _query(("genre", "synthwave", 1.0), ("kind", "playlist", 1.0)), _query(("mood", "chill", 0.7))]
    warm = StructuredGenerator().fit(TINY)
    for query in queries:  # previewed first, as a search does: generate then reads the remembered pool
        warm.preview(query, CONTEXT)
        for k in (1, 3, 6):
            assert warm.generate_with_trace(query, CONTEXT, k) == StructuredGenerator().fit(
                TINY).generate_with_trace(query, CONTEXT, k)
    monkeypatch.setattr(structured, "RECENT", 2)
    hip_hop = _query(("genre", "hip hop", 1.0))
    warm.preview(hip_hop, CONTEXT)
    assert list(warm._recent) == [queries[3], hip_hop]  # the oldest go first
    warm.add([_track("t8", "Hyper Grid", "a1", 1989, 80, ("synthwave", 1.0))])
    assert warm.preview(queries[0], CONTEXT).n_hits == 4  # the new index: nothing remembered from the old
    assert _ids(warm.generate(queries[0], CONTEXT, k=1)) == ["track:t8"]


def test_save_load_round_trip(tmp_path):
    lexicon = Lexicon.from_entities(TINY, min_tag_count=1)
    generator = StructuredGenerator(lexicon).fit(TINY)
    generator.save(tmp_path / "structured")
    loaded = StructuredGenerator.load(tmp_path / "structured")
    query = plain_query("80s synthwave")  # no slots: both parse it with their lexicon
    assert generator.generate_with_trace(query, CONTEXT, 6) == loaded.generate_with_trace(query, CONTEXT, 6)
    assert _ids(loaded.generate(query, CONTEXT, 3)) == ["track:t1", "track:t2", "track:t4"]
    shared = QueryParser(lexicon)  # given a parser over the same lexicon, it uses that one
    sharing = StructuredGenerator.load(tmp_path / "structured", shared)
    assert sharing.parser_ is shared and sharing.generate_with_trace(query, CONTEXT, 6) == loaded.generate_with_trace(
        query, CONTEXT, 6)


def test_load_rejects_other_versions(tmp_path):
    StructuredGenerator().fit(TINY).save(tmp_path)
    (tmp_path / "structured.json").write_text('{"format_version": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="format_version 99, expected 1"):
        StructuredGenerator.load(tmp_path)


@pytest.fixture(scope="module")
def parsing_generator() -> StructuredGenerator:
    return StructuredGenerator(QueryParser(Lexicon.from_entities(TINY, min_tag_count=1))).fit(TINY)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=200) | st.sampled_from(["80s synthwave", "vela mos songs", "hiphop"]),
       k=st.integers(min_value=0, max_value=8))
def test_contract_on_random_text(parsing_generator, text, k):
    try:
        query = plain_query(text)
    except ValueError:
        return
    candidates = parsing_generator.generate(query, CONTEXT, k)
    parsing_generator.preview(query, CONTEXT)
    assert len(candidates) <= k and [c.rank for c in candidates] == list(range(len(candidates)))
    assert len({c.entity_id for c in candidates}) == len(candidates)
    assert all(a.score >= b.score for a, b in zip(candidates, candidates[1:]))
    assert all(c.source == "structured" and c.entity_id.startswith(c.kind) for c in candidates)


def test_demo_catalog_genre_yields_tracks_tagged_with_it(store):
    config = EngineConfig().catalog.synthetic
    write_catalog(store, generate_catalog(config))
    parser = QueryParser(Lexicon.from_store(store))
    generator = StructuredGenerator(parser).fit(store.iter_entities())
    genre = config.genres[0]
    query = parser.parse(f"{genre} songs")
    assert [(s.name, s.value) for s in query.slots] == [("genre", genre), ("kind", "track")]
    candidates = generator.generate(query, CONTEXT, k=20)
    tracks = store.get_entities(_ids(candidates))
    assert len(tracks) == 20 and all(t.kind == "track" for t in tracks)
    assert all(genre in {tag.tag for tag in t.tags} for t in tracks)
