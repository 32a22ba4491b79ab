"""The query noise model: each typo operator by hand, phonetic rules, edit-count distribution, formulation
forms, voice confusions, determinism, validation, and a Unicode property (never raises, never empty)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltrr.simulation import FORMS, OPERATORS, NoisyQuery, QueryNoise
from ltrr.simulation.noise import (
    KEYBOARD_NEIGHBOURS,
    PHONETIC_RULES,
    VOICE_CONFUSIONS,
    candidate_edits,
    clean_title,
    letter_weights,
    phonetic_variants,
)
from ltrr.types import Entity

EDIT_FAMILY = ("substitute", "delete", "insert", "transpose", "double", "strip")  # distance exactly 1
WORDS = ["Metallica", "Taylor Swift", "Beyoncé", "Bohemian Rhapsody", "AC/DC Back in Black", "Hey Jude",
         "Smells Like Teen Spirit", "Don't Stop Me Now", "Mr. Brightside", "Sigur Rós", "Motörhead", "Dancing Queen"]


def damerau_levenshtein(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def only(operator: str, seed: int = 0, **kwargs) -> QueryNoise:
    return QueryNoise(seed=seed, operator_weights={operator: 1.0}, **kwargs)


def track(entity_id: str, title: str, artist: str | None = "The Beatles") -> Entity:
    return Entity(entity_id, "track", title, "demo", entity_id, artist_name=artist)


def test_damerau_levenshtein_helper_by_hand():
    assert [damerau_levenshtein(*pair) for pair in [("ab", "ba"), ("abc", "ac"), ("kitten", "sitting"), ("a", "a")]] \
        == [1, 1, 3, 0]


def test_keyboard_map_is_symmetric_and_covers_every_letter():
    assert sorted(KEYBOARD_NEIGHBOURS) == list("abcdefghijklmnopqrstuvwxyz")
    for key, neighbours in KEYBOARD_NEIGHBOURS.items():
        assert key not in neighbours and all(key in KEYBOARD_NEIGHBOURS[n] for n in neighbours)
    assert set(KEYBOARD_NEIGHBOURS["s"]) == set("wedazx")  # checked on a keyboard


@pytest.mark.parametrize("operator, text, kwargs, expected", [
    ("delete", "ab", {"first_letter_weight": 0.0}, "a"),       # the first letter is protected: only "b" goes
    ("transpose", "ab", {}, "ba"),
    ("transpose", "aab", {}, "aba"),                           # equal neighbours are not swapped
    ("double", "all", {}, "al"),                               # undouble; "a" is not a doubling letter
    ("double", "xy tum", {"first_letter_weight": 0.0}, "xy tumm"),  # x, y, u never doubled; "t" protected
    ("strip", "Beyoncé", {}, "Beyonce"),
    ("strip", "AC/DC", {}, "ACDC"),
    ("strip", "Sigur Ro\u0301s", {}, "Sigur Ros"),                 # a combining accent stored apart
    ("phonetic", "beyonce", {}, "beyonse"),
    ("phonetic", "taylor swift", {}, "tayler swift"),
    ("phonetic", "metallica", {}, "metallika"),
    ("phonetic", "Phoenix", {}, "Foenix"),
])
def test_one_edit_is_forced_where_a_single_edit_is_possible(operator, text, kwargs, expected):
    for seed in range(5):
        assert only(operator, seed, **kwargs).add_typos(text, n_edits=1) == expected


@pytest.mark.parametrize("operator, text, expected", [
    ("substitute", "p", {"o", "l"}),
    ("substitute", "P", {"O", "L"}),          # a capital stays a capital
    ("insert", "p", {"po", "pl"}),
    ("insert", "Pa", {"Poa", "Pla", "Paq", "Paw", "Pas", "Paz"}),  # the extra key is lower case after a capital
    ("delete", "ab", {"a", "b"}),
    ("double", "metallica", {"mmetallica", "meetallica", "mettallica", "metalica", "metallicca"}),
    ("transpose", "aa", set()),
    ("strip", "abc", set()),
])
def test_candidate_edits_by_hand(operator, text, expected):
    assert {edit.apply(text) for edit in candidate_edits(text, operator)} == expected


def test_seeded_draws_cover_the_candidate_set():
    assert {only("substitute", seed).add_typos("p", n_edits=1) for seed in range(30)} == {"o", "l"}


@pytest.mark.parametrize("pattern, replacement, example", PHONETIC_RULES, ids=[r[2] for r in PHONETIC_RULES])
def test_each_phonetic_rule_does_its_documented_example(pattern, replacement, example):
    before, after = example.split(" -> ")
    assert after in phonetic_variants(before)
    assert 1 <= damerau_levenshtein(before, after) <= 3  # phonetic rewrites may move a text by more than 1


def test_phonetic_variants_keep_case_and_list_every_rule_match():
    assert phonetic_variants("Phil Collins") == ["Fil Collins", "Phil Kollins", "Phil Collinz"]
    assert phonetic_variants("FUNKY") == ["PHUNKY", "FUNKIE"] and phonetic_variants("Funky") == ["Phunky", "Funkie"]
    assert phonetic_variants("kelly") == ["kellie"]
    assert sorted(phonetic_variants("cool boys")) == ["cool boyz", "kool boys"]


@pytest.mark.parametrize("operator", EDIT_FAMILY)
def test_one_edit_of_the_edit_family_is_at_distance_one(operator):
    noise = only(operator, seed=11)
    for text in WORDS:
        for _ in range(10):
            out = noise.add_typos(text, n_edits=1)
            if candidate_edits(text, operator):  # "strip" has nothing to do on plain ASCII words
                assert damerau_levenshtein(text, out) == 1, (operator, text, out)


def test_letter_weights_favour_long_words_and_later_letters():
    assert letter_weights("go tupac", short_word_weight=0.1, first_letter_weight=0.5) == \
        [0.05, 0.1, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert letter_weights("1999 2pac_") == [0.0] * 6 + [1.0] * 3 + [0.0]  # digits and "_" never


def test_digits_are_never_edited():
    noise = QueryNoise(seed=2)
    assert {noise.add_typos("1999 2012", n_edits=2) for _ in range(20)} == {"1999 2012"}
    assert all(out.endswith("2012") for out in (noise.add_typos("Prince 2012", n_edits=2) for _ in range(50)))


def test_short_words_are_edited_rarely():
    # substitute only: letter weights a 0.1*0.2, b 0.1 | c 0.2, d..h 1 each -> P(edit in "ab") = 0.12 / 5.32
    noise = only("substitute", seed=5)
    hits = sum(not noise.add_typos("ab cdefgh", n_edits=1).startswith("ab ") for _ in range(2000))
    expected = 2000 * 0.12 / 5.32  # 45.1, sd 6.6: allow about 5 sd
    assert abs(hits - expected) < 33


def test_edit_count_follows_the_configured_distribution():
    noise = QueryNoise(seed=3, typo_rate=1.0, edit_count_weights=(0.8, 0.2))
    queries = noise.spearfish_queries([track("t1", "Smells Like Teen Spirit")], 2000, {"title": 1.0})
    counts = np.bincount([q.n_edits for q in queries], minlength=4)
    sd = math.sqrt(2000 * 0.8 * 0.2)  # binomial: 17.9
    assert counts[0] == 0 and counts[3] == 0 and abs(counts[1] - 1600) < 5 * sd


def test_typo_rate_sets_the_share_of_misspelt_queries():
    noise = QueryNoise(seed=4, typo_rate=0.25, edit_count_weights=(0.5, 0.3, 0.2))
    queries = noise.spearfish_queries([track("t1", "Smells Like Teen Spirit")], 2000, {"title": 1.0})
    counts = np.bincount([q.n_edits for q in queries], minlength=4)
    assert abs(counts[0] - 1500) < 5 * math.sqrt(2000 * 0.25 * 0.75)  # 19.4
    assert abs(counts[3] - 2000 * 0.25 * 0.2) < 5 * math.sqrt(2000 * 0.05 * 0.95)  # 100 +- 49
    assert all((q.text != q.intended) == (q.n_edits > 0) and len(q.operators) == q.n_edits for q in queries)


def test_edits_always_change_the_text_and_never_empty_it():
    noise = QueryNoise(seed=6)
    for text in WORDS + ["a", "ab", "Go", "I"]:
        for n_edits in (1, 2, 3):
            out = noise.add_typos(text, n_edits=n_edits)
            assert out.strip() and out != text, (text, n_edits)
    assert noise.add_typos("Hey Jude", n_edits=0) == "Hey Jude"


def test_formulate_forms_by_hand():
    noise = QueryNoise(seed=0)
    hey_jude = track("t1", "Hey Jude - Remastered 2015")
    assert noise.formulate(hey_jude, "title") == "Hey Jude"
    assert noise.formulate(hey_jude, "artist_title") == "The Beatles Hey Jude"
    assert noise.formulate(hey_jude, "title_artist") == "Hey Jude The Beatles"
    assert noise.formulate(track("t2", "Closer (feat. Halsey)", "The Chainsmokers"), "title") == "Closer"
    assert noise.formulate(track("t3", "Yesterday"), "partial_title") == "Yesterday"
    assert clean_title("(Untitled)") == "(Untitled)"  # all decoration: keep it rather than nothing


def test_partial_title_is_a_shorter_contiguous_run():
    noise = QueryNoise(seed=1)
    outputs = {noise.formulate(track("t1", "Smells Like Teen"), "partial_title") for _ in range(200)}
    assert outputs == {"Smells", "Like", "Teen", "Smells Like", "Like Teen"}
    prefixes = QueryNoise(seed=1, partial_prefix_rate=1.0)
    assert all(prefixes.formulate(track("t1", "Smells Like Teen"), "partial_title").startswith("Smells")
               for _ in range(50))
    assert QueryNoise(seed=1).formulate(track("t1", "Hey, Jude"), "partial_title") in {"Hey", "Jude"}


def test_word_drop_drops_one_word_but_never_the_first():
    noise = QueryNoise(seed=2)
    outputs = {noise.formulate(track("t1", "Hey Jude"), "word_drop") for _ in range(100)}
    assert outputs == {"The Hey Jude", "The Beatles Jude", "The Beatles Hey"}
    artist = Entity("a1", "artist", "Adele", "demo", "a1")
    assert noise.formulate(artist, "word_drop") == noise.formulate(artist, "title") == "Adele"


def test_forms_that_need_an_artist_refuse_an_entity_without_one():
    artist = Entity("a1", "artist", "Red Hot Chili Peppers", "demo", "a1")
    with pytest.raises(ValueError, match="needs an artist name"):
        QueryNoise(seed=0).formulate(artist, "artist_title")
    with pytest.raises(ValueError, match="form must be one of"):
        QueryNoise(seed=0).formulate(artist, "lyrics")
    queries = QueryNoise(seed=0).spearfish_queries([artist], 5, {"artist_title": 1.0}, typo=False)
    assert [q.form for q in queries] == ["title"] * 5 and queries[0].text == "Red Hot Chili Peppers"


def test_voice_confusions():
    assert QueryNoise(seed=0, voice_rate=0.0).voice("Don't Stop Me Now, 2 Times!") == "dont stop me now 2 times"
    always = QueryNoise(seed=0, voice_rate=1.0)
    assert always.voice("22 Nite") == "twenty two night" and always.voice("30") == "thirty"
    assert always.voice("you") == "u" and always.voice("Beyoncé") == "beyonce"
    assert {always.voice("4") for _ in range(30)} == {"for", "four"}
    assert set(VOICE_CONFUSIONS["two"]) == {"2", "to", "too"}  # a homophone group joined with a number
    assert always.voice("?!") == "?!"  # nothing to say: given back, not emptied


def test_spearfish_samples_by_popularity():
    entities = [track("t1", "Hey Jude"), track("t2", "Let It Be")]
    queries = QueryNoise(seed=7).spearfish_queries(entities, 2000, popularity=[1.0, 3.0])
    share = sum(q.target_entity_id == "t2" for q in queries)
    assert abs(share - 1500) < 5 * math.sqrt(2000 * 0.25 * 0.75)
    only_second = QueryNoise(seed=7).spearfish_queries(entities, 50, popularity=np.array([0.0, 2.0]))
    assert {q.target_entity_id for q in only_second} == {"t2"}
    assert {q.form for q in queries} == set(FORMS) and all(isinstance(q, NoisyQuery) for q in queries)


def test_same_seed_same_queries_other_seed_other_queries():
    entities = [track(f"t{i}", title) for i, title in enumerate(WORDS)]

    def run(seed: int) -> list[NoisyQuery]:
        noise = QueryNoise(seed=seed, typo_rate=0.5)
        return noise.spearfish_queries(entities, 100) + [NoisyQuery(noise.voice("Two Nights"), "", "", 0)]

    assert run(1) == run(1)
    assert run(1) != run(2)


@pytest.mark.parametrize("kwargs, message", [
    ({"typo_rate": 1.5}, "typo_rate must be in"),
    ({"edit_count_weights": ()}, "edit_count_weights must be finite weights >= 0, not empty"),
    ({"edit_count_weights": (0.5, -1.0)}, "edit_count_weights must be finite weights >= 0"),
    ({"operator_weights": {"bogus": 1.0}}, r"unknown keys \['bogus'\]"),
    ({"operator_weights": {"substitute": 0.0}}, "operator_weights .* not all 0"),
    ({"operator_weights": {"delete": float("nan")}}, "operator_weights must be finite"),
    ({"short_word_weight": -0.1}, "short_word_weight must be in"),
    ({"first_letter_weight": 2}, "first_letter_weight must be in"),
    ({"partial_prefix_rate": -1}, "partial_prefix_rate must be in"),
    ({"voice_rate": 1.1}, "voice_rate must be in"),
])
def test_config_is_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QueryNoise(seed=0, **kwargs)


def test_call_arguments_are_checked():
    noise, entities = QueryNoise(seed=0), [track("t1", "Hey Jude")]
    cases = [(lambda: noise.add_typos(""), "non-empty str"), (lambda: noise.add_typos("ab", n_edits=-1), "n_edits"),
             (lambda: noise.voice(""), "non-empty str"), (lambda: noise.spearfish_queries([], 3), "entities is empty"),
             (lambda: noise.spearfish_queries(entities, -1), "n must be"),
             (lambda: noise.spearfish_queries(entities, 3, {"lyrics": 1.0}), "unknown keys"),
             (lambda: noise.spearfish_queries(entities, 3, popularity=[1.0, 2.0]), "one weight per entity"),
             (lambda: noise.spearfish_queries(entities, 3, popularity=[0.0]), "not all 0"),
             (lambda: candidate_edits("ab", "swap"), "operator must be one of")]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert noise.spearfish_queries([], 0) == [] and set(OPERATORS) >= set(EDIT_FAMILY)


@settings(max_examples=150, deadline=None)
@given(text=st.text(min_size=1, max_size=40), n_edits=st.integers(0, 3), seed=st.integers(0, 2**32))
def test_random_unicode_never_raises_nor_empties(text, n_edits, seed):
    noise = QueryNoise(seed=seed)
    assert noise.add_typos(text, n_edits=n_edits) and noise.add_typos(text) and noise.voice(text)
    if text.strip():
        entity = Entity("x", "track", text, "demo", "x", artist_name=text)
        assert all(noise.formulate(entity, form) for form in FORMS)
