"""Query understanding: lexicon, typo-tolerant matching, eras and the parser, on a tiny hand-made catalog."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltrr.types import Entity, Popularity, TagWeight
from ltrr.understanding.eras import decade_of, match_eras
from ltrr.understanding.fuzzy import FuzzyIndex, max_edits, osa_distance
from ltrr.understanding.lexicon import Lexicon, match_key, normalized_popularity
from ltrr.understanding.parser import QueryParser


def _tags(*pairs: tuple[str, float]) -> tuple[TagWeight, ...]:
    return tuple(TagWeight(tag, weight, "test") for tag, weight in pairs)


def _artist(key: str, name: str, playlists: int, *tags: tuple[str, float]) -> Entity:
    return Entity(f"test:artist:{key}", "artist", name, "test", key,
                  popularity=Popularity(playlist_count=playlists), tags=_tags(*tags))


def _track(key: str, title: str, artist: str, year: int, *tags: tuple[str, float]) -> Entity:
    return Entity(f"test:track:{key}", "track", title, "test", key, artist_id=f"test:artist:{artist}", year=year,
                  tags=_tags(*tags))


TINY = [
    _artist("swift", "Taylor Swift", 900, ("pop", 1.0)),
    _artist("dayne", "Taylor Dayne", 20, ("pop", 0.8)),
    _artist("beyonce", "Beyoncé", 800, ("r&b", 0.9)),
    _artist("metallica", "Metallica", 700, ("metal", 1.0)),
    _artist("love", "Love", 5, ("rock", 0.7)),
    _artist("the", "The", 1),
    _artist("you", "You", 1),
    _artist("vela", "Vela Moss", 50, ("synthwave", 1.0), ("chill", 0.5)),
    _track("t1", "Love Story", "swift", 2008),
    _track("t2", "Crazy in Love", "beyonce", 2003),
    _track("t3", "Summer Love", "love", 1967),
    _track("t4", "Summer Nights", "vela", 1986, ("synthwave", 0.9)),
    _track("t5", "Block Party", "vela", 1994, ("hip hop", 1.0)),
    _track("t6", "Corner Flow", "vela", 2016, ("hip-hop", 0.9), ("workout", 0.6)),
    Entity("test:playlist:p1", "playlist", "night drive", "test", "p1"),
    Entity("test:playlist:p2", "playlist", "night run", "test", "p2"),
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.from_entities(TINY, min_tag_count=1)


@pytest.fixture(scope="module")
def parser(lexicon: Lexicon) -> QueryParser:
    return QueryParser(lexicon)


def test_lexicon_counts_by_hand(lexicon):
    assert lexicon.tags["synthwave"] == 2 and lexicon.tags["pop"] == 2 and lexicon.tags["hip-hop"] == 1
    assert lexicon.moods == {"chill": 1, "workout": 1}
    assert lexicon.playlist_words == {"night": 2}  # "drive" and "run" appear once: below min_word_count=2
    assert lexicon.title_words["love"] == 3 and lexicon.title_words["summer"] == 2 and lexicon.n_titles == 6
    assert lexicon.artists["beyonce"].name == "Beyoncé"
    # popularity: log1p(playlists) / log1p(900), the most popular artist scores 1
    assert lexicon.artists["taylor swift"].popularity == pytest.approx(1.0)
    assert lexicon.artists["love"].popularity == pytest.approx(math.log(6) / math.log(901), abs=1e-6)


def test_lexicon_keeps_every_artist_of_a_key_most_popular_first():
    twins = [_artist("a", "Nova", 3), _artist("b", "NOVA", 30), _artist("c", "Nová", 0)]
    entry = Lexicon.from_entities(twins).artists["nova"]
    assert entry.artist_ids == ("test:artist:b", "test:artist:a", "test:artist:c") and entry.name == "NOVA"


def test_lexicon_ignores_inherited_tags_and_rare_genres():
    inherited = Entity("x:track:1", "track", "Song", "x", "1", tags=(TagWeight("pop", 1.0, "artist:test"),))
    rare = _artist("a", "A", 1, ("polka", 1.0), ("sad", 1.0))
    tags = Lexicon.from_entities([inherited, rare], min_tag_count=2).tags
    assert tags == {"sad": 1}  # a mood word is kept even when rare; the inherited "pop" is not counted


def test_lexicon_json_round_trip(lexicon, tmp_path):
    lexicon.save(tmp_path / "lexicon.json")
    assert Lexicon.load(tmp_path / "lexicon.json") == lexicon


def test_lexicon_load_rejects_other_versions(tmp_path):
    (tmp_path / "old.json").write_text('{"format_version": 0}', encoding="utf-8")
    with pytest.raises(ValueError, match="format_version 0, expected 1"):
        Lexicon.load(tmp_path / "old.json")


def test_normalized_popularity_by_hand():
    import numpy as np
    signals = np.array([[np.log1p(9), np.nan], [np.log1p(99), 0.5], [np.nan, np.nan]])
    scores, scale = normalized_popularity(signals)
    assert scores == pytest.approx([np.log1p(9) / np.log1p(99), 1.0, 0.0])
    assert normalized_popularity(np.array([[np.log1p(999), 0.25]]), scale)[0] == pytest.approx([0.75])


@pytest.mark.parametrize("text, key", [
    ("The Beatles", "beatles"), ("Hip-Hop", "hiphop"), ("hip hop", "hiphop"), ("R&B", "rb"),
    ("Simon & Garfunkel", "simongarfunkel"), ("Simon and Garfunkel", "simongarfunkel"), ("The The", "the"),
    ("Guns N' Roses", "gunsroses"), ("Beyoncé", "beyonce"), ("!!!", ""),
])
def test_match_key(text, key):
    assert match_key(text) == key


@pytest.mark.parametrize("length, edits", [(1, 0), (3, 0), (4, 1), (6, 1), (7, 2), (20, 2)])
def test_max_edits_by_length(length, edits):
    assert max_edits(length) == edits


@pytest.mark.parametrize("a, b, limit, distance", [
    ("beyonse", "beyonce", 2, 1), ("metalica", "metallica", 2, 1), ("taylerswift", "taylorswift", 2, 1),
    ("ab", "ba", 1, 1), ("ca", "abc", 3, 3), ("abcdef", "abcdef", 0, 0), ("kitten", "sitting", 3, 3),
    ("kitten", "sitting", 2, 3), ("", "abc", 2, 3), ("abc", "", 3, 3),
])
def test_osa_distance_by_hand(a, b, limit, distance):
    # "ca" -> "abc" is 3 under optimal string alignment (a substring is edited once), 2 under true Damerau
    assert osa_distance(a, b, limit) == distance


def test_fuzzy_index_finds_keys_within_the_allowed_edits():
    index = FuzzyIndex(["taylorswift", "beyonce", "metallica", "love", "lover", "sia"])
    assert index.lookup("taylerswift") == [(0, 1)]
    assert index.lookup("metalica") == [(2, 1)]
    assert index.lookup("lovr") == [(3, 1), (4, 1)]
    assert index.lookup("sea") == []  # keys of 3 characters match exactly only
    assert index.lookup("beyoncexx") == [(1, 2)] and index.lookup("beyxxce") == [(1, 2)]
    assert index.lookup("bexxxce") == []


@pytest.mark.parametrize("word, decade", [
    ("80s", (1980, 0.95)), ("1980s", (1980, 1.0)), ("eighties", (1980, 0.95)), ("00s", (2000, 0.95)),
    ("2000s", (2000, 1.0)), ("20s", (2020, 0.95)), ("twenties", (1920, 0.95)), ("1985", None), ("85s", None),
])
def test_decade_of(word, decade):
    assert decade_of(word) == decade


@pytest.mark.parametrize("words, start, expected", [
    (["from", "the", "80s"], 0, [("1980-1989", 3)]),
    (["late", "90s"], 0, [("1996-1999", 2)]),
    (["2010", "to", "2015"], 0, [("2010-2010", 1), ("2010-2015", 3)]),
    (["2015", "to", "2010"], 0, [("2015-2015", 1)]),
    (["20102015"], 0, [("2010-2015", 1)]),
    (["1850"], 0, []),
    (["summer", "2014"], 0, []),
])
def test_match_eras(words, start, expected):
    assert [(era.value, era.n_words) for era in match_eras(words, start)] == expected


@pytest.mark.parametrize("text, slots, query_class", [
    ("tayler swift", [("artist", "taylor swift")], "spearfishing"),
    ("Taylor Swift", [("artist", "taylor swift")], "spearfishing"),
    ("beyonse", [("artist", "beyonce")], "spearfishing"),
    ("metalica", [("artist", "metallica")], "spearfishing"),
    ("hip hop", [("genre", "hip hop")], "topical"),
    ("hiphop", [("genre", "hip hop")], "topical"),
    ("hip-hop", [("genre", "hip hop")], "topical"),
    ("synthwav", [("genre", "synthwave")], "topical"),
    ("love", [("mood", "love")], "ambiguous"),  # a mood and a frequent title word; not the artist Love
    ("summer", [("mood", "summer")], "ambiguous"),
    ("the", [("artist", "the")], "ambiguous"),  # nothing else explains it: the artist The, weakly
    ("you belong with me", [], "ambiguous"),  # "you" is not the artist You inside a longer query; and no
    # word is known ("belong" is in no title of the tiny catalog): nothing recognized
    ("songs by taylor swift", [("kind", "track"), ("artist", "taylor swift")], "spearfishing"),
    ("songs by love", [("kind", "track"), ("artist", "love")], "spearfishing"),  # "by" cues the artist
    ("80s synthwave", [("years", "1980-1989"), ("genre", "synthwave")], "topical"),
    ("'80s", [("years", "1980-1989")], "topical"),
    ("eighties", [("years", "1980-1989")], "topical"),
    ("1980s", [("years", "1980-1989")], "topical"),
    ("90's hip-hop", [("years", "1990-1999"), ("genre", "hip hop")], "topical"),
    ("2014", [("years", "2014-2014")], "topical"),
    ("from 2010", [("years", "2010-2010")], "topical"),
    ("2000s", [("years", "2000-2009")], "topical"),
    ("early 90s", [("years", "1990-1993")], "topical"),
    ("chill synthwave playlists", [("mood", "chill"), ("genre", "synthwave"), ("kind", "playlist")], "topical"),
    ("gym music", [("mood", "workout")], "topical"),  # alias: the catalog says "workout"
    ("study", [("mood", "study")], "topical"),  # a mood word no entity carries yet
    ("taylor swift night", [("artist", "taylor swift")], "spearfishing"),
    ("xqzv", [], "ambiguous"),
    ("crazy", [], "spearfishing"),  # a title word, nothing else
])
def test_parse_table(parser, text, slots, query_class):
    query = parser.parse(text)
    assert [(slot.name, slot.value) for slot in query.slots] == slots
    assert query.query_class == query_class


@pytest.mark.parametrize("text, spans, matched, residual", [
    ("hip-hop", [(0, 3)], ["hiphop"], ""),
    ("songs by taylor swift", [(0, 1), (1, 4)], ["songs", "by taylor swift"], ""),
    ("from the 80s metal", [(0, 3), (3, 4)], ["from the 80s", "metal"], ""),
    ("taylor swift shake it off", [(0, 2)], ["taylor swift"], "shake it off"),
    ("the the", [], [], "the the"),
])
def test_parse_spans_and_residual(parser, text, spans, matched, residual):
    query = parser.parse(text)
    assert [slot.span for slot in query.slots] == spans
    assert [slot.matched for slot in query.slots] == matched
    assert query.residual == residual


def test_confidences_rank_exact_above_typos_and_popular_above_obscure(parser):
    exact = parser.parse("taylor swift").slots[0].confidence
    typo = parser.parse("tayler swift").slots[0].confidence
    assert exact == pytest.approx(1.0) and 0.5 < typo < exact
    assert parser.parse("taylor dayne").slots[0].confidence < exact  # less popular artist
    assert parser.parse("the").slots[0].confidence == pytest.approx(0.3)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "\u200b"])
def test_parse_rejects_empty_text(parser, text):
    with pytest.raises(ValueError, match="query text is empty"):
        parser.parse(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_parse_never_raises_but_on_empty_text(parser, text):
    try:
        query = parser.parse(text)
    except ValueError as error:
        assert "query text is empty" in str(error)
        return
    for slot in query.slots:
        assert 0.0 <= slot.confidence <= 1.0 and 0 <= slot.span[0] < slot.span[1] <= len(query.tokens)
    assert query.query_class in ("spearfishing", "topical", "ambiguous")


def test_parse_survives_hostile_text(parser):
    for text in ["'; DROP TABLE entities; --", "🔥🔥 80s 🔥", "موسيقى هادئة", "a" * 10_000, "hip\x00hop"]:
        parser.parse(text)
    assert [s.value for s in parser.parse("🔥🔥 80s 🔥").slots] == ["1980-1989"]


def test_a_repeated_text_is_parsed_once_and_the_cache_is_bounded(lexicon, monkeypatch):
    parser = QueryParser(lexicon, cache_size=2)
    calls = []
    original = parser._parse
    monkeypatch.setattr(parser, "_parse", lambda text: calls.append(text) or original(text))
    first = parser.parse("90s hip hop")
    assert parser.parse("90s hip hop") is first and calls == ["90s hip hop"]
    parser.parse("chill"), parser.parse("rock")  # two more distinct texts push the first out
    assert parser.parse("90s hip hop") == first and calls == ["90s hip hop", "chill", "rock", "90s hip hop"]
    uncached = QueryParser(lexicon, cache_size=0)
    assert uncached.parse("chill") == uncached.parse("chill") and not uncached._parsed


def test_a_bad_parse_cache_size_is_refused(lexicon):
    with pytest.raises(ValueError, match="cache_size must be an integer >= 0, got -1"):
        QueryParser(lexicon, cache_size=-1)
