"""The spearfishing ceiling: hand-worked posteriors, the partial-title model against the query generator's own
draws, and calibration (the Bayes ranking's realized hits average to its expected recall on generated queries)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ltrr.evaluation.real_queries import SPEARFISH_FORMS, spearfish_queries, spearfish_weights
from ltrr.evaluation.spearfish_ceiling import SpearfishCeiling
from ltrr.simulation.noise import QueryNoise
from ltrr.types import Entity, Popularity


def track(entity_id: str, title: str, artist: str | None, count: int) -> Entity:
    return Entity(entity_id, "track", title, "test", entity_id, artist_name=artist,
                  popularity=Popularity(playlist_count=count))


def test_posterior_worked_by_hand():
    tracks = [track("a", "Wait", "Xena", 9), track("b", "Wait - Live", "Yuri", 1), track("c", "Wait For Me", "Zed", 29)]
    ceiling = SpearfishCeiling(tracks, spearfish_weights(tracks), SPEARFISH_FORMS)
    # "Wait": a and b by title (0.4) or as the whole of a one-word title's part (0.2): 0.6 each ("- Live" is
    # dropped); c as a one-word part of 3 words: P(L=1) = 1/2, P(start at the first word) = 0.5 + 0.5/3, x 0.2.
    likelihoods = ceiling.likelihoods("Wait")
    assert likelihoods == pytest.approx({0: 0.6, 1: 0.6, 2: 0.2 * 0.5 * (0.5 + 0.5 / 3)})
    scores = {"a": 10 * 0.6, "b": 2 * 0.6, "c": 30 * 0.2 / 3}  # weights: playlist_count + 1
    total = sum(scores.values())
    assert ceiling.recall_at("Wait", k=1) == pytest.approx(scores["a"] / total)
    assert ceiling.recall_at("Wait", k=2) == pytest.approx((scores["a"] + scores["c"]) / total)
    assert ceiling.recall_at("Wait", k=3) == pytest.approx(1.0)
    assert [ceiling.hit_at("Wait", t, k=2) for t in "abc"] == [1.0, 0.0, 1.0]
    assert ceiling.recall_at("Xena Wait", k=1) == pytest.approx(1.0)  # "artist title" names one track
    assert ceiling.likelihoods("Me") == pytest.approx({2: 0.2 * 0.5 * (0.5 / 3)})  # a part not at the start


def test_a_part_skips_words_without_letters_and_strips_its_edges():
    tracks = [track("p", "Porgy and Bess / Act 3: Clara", "Gershwin", 0)]
    ceiling = SpearfishCeiling(tracks, [1.0], SPEARFISH_FORMS)
    # words: Porgy and Bess Act 3: Clara (n = 6; "/" is not one); "Bess Act 3:" is the run of 3 at start 2
    assert ceiling.likelihoods("Bess Act 3") == pytest.approx({0: 0.2 * (1 / 5) * (0.5 / 4)})


def test_ties_split_the_cut_and_forms_renormalize_without_an_artist():
    tracks = [track("d", "Hello", None, 4), track("e", "Hello", None, 4)]
    ceiling = SpearfishCeiling(tracks, spearfish_weights(tracks), SPEARFISH_FORMS)
    assert ceiling.likelihoods("Hello") == pytest.approx({0: 1.0, 1: 1.0})  # title 0.4/0.6 + part 0.2/0.6
    assert ceiling.recall_at("Hello", k=1) == pytest.approx(0.5)
    assert ceiling.hit_at("Hello", "d", k=1) == pytest.approx(0.5)


def test_bad_input_is_named():
    tracks = [track("a", "Wait", "Xena", 1)]
    with pytest.raises(ValueError, match="word_drop"):
        SpearfishCeiling(tracks, [1.0], {"title": 0.5, "word_drop": 0.5})
    with pytest.raises(ValueError, match="one number >= 0 per track"):
        SpearfishCeiling(tracks, [1.0, 2.0], SPEARFISH_FORMS)
    ceiling = SpearfishCeiling(tracks, [1.0], SPEARFISH_FORMS)
    with pytest.raises(ValueError, match="'Wiat'"):
        ceiling.recall_at("Wiat")
    with pytest.raises(ValueError, match="'zz' is not among"):
        ceiling.hit_at("Wait", "zz")


def test_partial_title_model_matches_the_generators_draws():
    title = "Hey Jude, Don't Make It Bad"
    noise = QueryNoise(seed=7)
    target = track("t", title, "The Beatles", 0)
    draws = Counter(noise.formulate(target, "partial_title") for _ in range(20_000))
    ceiling = SpearfishCeiling([target], [1.0], {"partial_title": 1.0})
    model = {text: ceiling.partial_probability(title, text) for text in draws}
    assert "Hey Jude" in draws and sum(model.values()) == pytest.approx(1.0)  # every draw explained, edges stripped
    for text, count in draws.items():
        assert count / 20_000 == pytest.approx(model[text], abs=0.01), text


def test_realized_hits_average_to_the_expected_ceiling():
    rng = np.random.default_rng(3)
    words = ["Love", "Night,", "Wait:", "Home", "Fire!", "Gold", "/", "(Live)", "- Remix"]  # with edges to strip
    tracks = [track(f"t{i}", " ".join(rng.choice(words, size=int(rng.integers(1, 5)))),
                    ["Ada", "Bo", "Cy"][i % 3], int(rng.integers(0, 20))) for i in range(40)]
    queries = spearfish_queries(tracks, 4000, seed=5, typo_rate=0.0)
    ceiling = SpearfishCeiling(tracks, spearfish_weights(tracks), SPEARFISH_FORMS)
    expected = np.mean([ceiling.recall_at(q.intended, k=1) for q in queries])
    realized = np.mean([ceiling.hit_at(q.intended, next(iter(q.relevance)), k=1) for q in queries])
    assert all(q.intended == q.text for q in queries)  # hit_at raised if a target could not produce its words
    assert 0.2 < expected < 0.95  # collisions make the top 1 uncertain, and the test informative
    assert realized == pytest.approx(expected, abs=0.025)
