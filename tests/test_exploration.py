"""ExplorationGenerator: modes (new, long_tail, novel, mix), slot filters, seeded determinism, persistence."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltrr.errors import NotFittedError
from ltrr.retrieval import exploration
from ltrr.retrieval.exploration import ExplorationGenerator
from ltrr.types import Context, Entity, Popularity, Query, Slot, TagWeight
from ltrr.understanding.basic import plain_query

ANY = Context.anonymous()
NOW = datetime(2025, 6, 1)


def entity(entity_id: str, kind: str, name: str, days_old: float, **fields) -> Entity:
    return Entity(entity_id, kind, name, "demo", entity_id, added_at=NOW - timedelta(days=days_old), **fields)


SYNTH = (TagWeight("synthwave", 1.0, "demo"),)
CATALOG = [
    entity("a1", "artist", "Vela Moss", 400, tags=SYNTH),
    entity("a2", "artist", "Okra Lane", 400, tags=(TagWeight("disco", 1.0, "demo"),)),
    entity("t1", "track", "Night Drive", 400, artist_id="a1", year=1986, popularity=Popularity(playlist_count=900)),
    entity("t2", "track", "Night Market", 15, artist_id="a1", year=2025),  # new: 2 - 15/30 = 1.5
    entity("t3", "track", "Night Fever", 0, artist_name="Okra Lane", artist_id="a2", year=1997),  # new: 2.0
    entity("t4", "track", "Slow Tide", 3, artist_name="Okra Lane", artist_id="a2", year=1988),  # new: 1.9
    entity("t5", "track", "Glass Harbour", 200, artist_id="a1", year=1984, popularity=Popularity(playlist_count=5)),
    entity("p1", "playlist", "night drive", 100),
]
KINDS = {e.entity_id: e.kind for e in CATALOG}


def fitted(**kwargs) -> ExplorationGenerator:
    kwargs.setdefault("seed", 0)
    return ExplorationGenerator(**kwargs).fit(CATALOG)


def ids(candidates) -> list[str]:
    return [c.entity_id for c in candidates]


def with_slots(*slots: Slot) -> Query:
    query = plain_query(" ".join(slot.matched for slot in slots))
    return Query(query.text, query.normalized, query.tokens, slots)


def check_contract(gen, candidates, k: int) -> None:
    assert len(candidates) <= k
    assert [c.rank for c in candidates] == list(range(len(candidates)))
    assert all(a.score >= b.score for a, b in zip(candidates, candidates[1:]))
    assert len(set(ids(candidates))) == len(candidates)
    assert all(c.source == gen.name and c.kind == KINDS[c.entity_id] and c.score > 0 for c in candidates)


def test_new_mode_returns_only_new_entities_weighted_by_age():
    explore = fitted(mode="new", new_days=30)  # reference: the newest added_at (t3, 0 days old)
    out = explore.generate(plain_query("night"), ANY, k=10)
    assert ids(out) == ["t3", "t2"]  # t1 (400 days) and p1 (100 days) are not new
    assert [c.score for c in out] == pytest.approx([2.0, 1.5])
    check_contract(explore, out, 10)
    later = fitted(mode="new", new_days=30, reference_time=NOW + timedelta(days=20))
    assert ids(later.generate(plain_query("night"), ANY, k=10)) == ["t3"]  # t2 is 35 days old by then


def test_long_tail_mode_leaves_out_the_head():
    explore = fitted(mode="long_tail", tail_share=0.8)
    out = explore.generate(plain_query("night"), ANY, k=10)
    assert "t1" not in ids(out) and set(ids(out)) == {"t2", "t3", "p1"}
    assert all(c.score == pytest.approx(1.05) for c in out)  # popularity level 0 -> 1.05 - 0


def test_novel_mode_skips_what_the_user_was_shown():
    explore = fitted(mode="novel", novel_window=2)
    everything = {"t1", "t2", "t3", "p1"}
    assert set(ids(explore.generate(plain_query("night"), Context(user_id="u1"), 10))) == everything
    explore.record_shown("u1", ["t1", "t2"])
    assert set(ids(explore.generate(plain_query("night"), Context(user_id="u1"), 10))) == {"t3", "p1"}
    assert set(ids(explore.generate(plain_query("night"), Context(user_id="u2"), 10))) == everything
    explore.record_shown("u1", ["t3"])  # window of 2: t1 drops out
    assert set(ids(explore.generate(plain_query("night"), Context(user_id="u1"), 10))) == {"t1", "p1"}


def test_mix_weights_by_hand():
    explore = fitted(mode="mix")
    out = {c.entity_id: c.score for c in explore.generate(plain_query("night"), ANY, 10)}
    # new (2 - age/30) + long tail (1.05 - level, 0 in the head) + 0.05
    assert out["t3"] == pytest.approx(2.0 + 1.05 + 0.05) and out["t2"] == pytest.approx(1.5 + 1.05 + 0.05)
    assert out["p1"] == pytest.approx(1.05 + 0.05) and out["t1"] == pytest.approx(0.05)


def test_slots_filter_by_genre_years_kind_and_artist():
    explore = fitted(mode="novel")

    def found(*slots: Slot) -> set[str]:
        return set(ids(explore.generate(with_slots(*slots), ANY, 20)))

    genre = Slot("genre", "synthwave", 1.0, "synthwave")
    eighties = Slot("years", "1980-1989", 1.0, "80s")
    # tracks without tags inherit their artist's when given only artist_id
    assert found(genre) == {"a1", "t1", "t2", "t5"}
    assert found(genre, eighties) == {"t1", "t5"}
    assert found(eighties, Slot("years", "1990-1999", 1.0, "90s")) == {"t1", "t3", "t4", "t5"}
    assert found(Slot("kind", "playlist", 1.0, "playlist")) == {"p1"}
    assert found(Slot("artist", "okra lane", 1.0, "okra lane")) == {"a2", "t3", "t4"}
    assert found(Slot("genre", "polka", 1.0, "polka")) == set()


def test_new_mode_respects_slots():
    explore = fitted(mode="new")
    out = explore.generate(with_slots(Slot("artist", "okra lane", 1.0, "okra lane")), ANY, 10)
    assert ids(out) == ["t3", "t4"]


def test_token_union_by_mask_equals_union_by_sorting(monkeypatch):
    by_sorting = fitted(mode="novel").preview(plain_query("night okra"), ANY)
    monkeypatch.setattr(exploration, "UNIQUE_LIMIT", 0)
    explore = fitted(mode="novel")
    assert explore.preview(plain_query("night okra"), ANY) == by_sorting
    assert set(ids(explore.generate(plain_query("night okra"), ANY, 10))) == {"t1", "t2", "t3", "t4", "p1", "a2"}


def test_same_seed_same_calls_same_results():
    first, second = fitted(mode="mix", seed=42), fitted(mode="mix", seed=42)
    for text in ["night", "okra", "night", "slow"]:
        assert first.generate(plain_query(text), ANY, 2) == second.generate(plain_query(text), ANY, 2)
    first.preview(plain_query("night"), ANY)  # preview draws nothing
    assert first.generate(plain_query("night"), ANY, 2) == second.generate(plain_query("night"), ANY, 2)


def test_sampling_follows_the_weights():
    explore = ExplorationGenerator(mode="long_tail", seed=1, tail_share=1.0).fit(
        [entity("x", "track", "echo", 1, popularity=Popularity(source_popularity=95.0)),  # weight 0.10
         entity("y", "track", "echo", 1)])  # weight 1.05
    firsts = [ids(explore.generate(plain_query("echo"), ANY, 1))[0] for _ in range(2000)]
    assert firsts.count("y") / 2000 == pytest.approx(1.05 / 1.15, abs=0.03)


def test_add_makes_new_entities_retrievable():
    explore = fitted(mode="new")
    explore.add([entity("t9", "track", "Night Swim", 1, artist_id="a1")])
    assert "t9" in ids(explore.generate(plain_query("night"), ANY, 10))
    assert "t9" in ids(explore.generate(with_slots(Slot("genre", "synthwave", 1.0, "synthwave")), ANY, 10))
    # a newer entity moves the reference: t2 (15 days before t3) is 35 days old next to t10
    explore.add([entity("t10", "track", "Late Night", -20)])
    assert ids(explore.generate(plain_query("night"), ANY, 10)) == ["t10", "t3", "t9"]


def test_preview_by_hand():
    preview = fitted(mode="new").preview(plain_query("night"), ANY)
    assert (preview.n_hits, preview.top_score) == (2, pytest.approx(2.0))
    assert preview.score_gap == pytest.approx(0.5)


def test_file_round_trip_continues_the_random_sequence(tmp_path):
    explore = fitted(mode="mix", seed=3)
    explore.add([entity("t9", "track", "Night Swim", 1, artist_id="a1")])
    explore.record_shown("u1", ["t3"])
    explore.generate(plain_query("night"), ANY, 2)
    explore.save(tmp_path / "explore")
    loaded = ExplorationGenerator.load(tmp_path / "explore")
    for user in ["u1", None]:
        context = Context(user_id=user)
        assert loaded.generate(plain_query("night"), context, 3) == explore.generate(plain_query("night"), context, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "random"}, "mode must be one of"), ({"new_days": 0}, "new_days must be > 0"),
    ({"tail_share": 1.5}, r"tail_share must be in \[0, 1\]")])
def test_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ExplorationGenerator(**kwargs).fit(CATALOG)


def test_errors_and_empty_results():
    explore = fitted()
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        explore.generate(plain_query("night"), ANY, -1)
    assert explore.generate(plain_query("night"), ANY, 0) == []
    assert explore.generate(plain_query("!!!"), ANY, 5) == []
    assert explore.generate(plain_query("zzz"), ANY, 5) == []
    with pytest.raises(NotFittedError, match="call fit"):
        ExplorationGenerator().generate(plain_query("night"), ANY, 5)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), k=st.integers(0, 10), mode=st.sampled_from(["new", "long_tail", "novel", "mix"]))
def test_any_text_meets_the_contract(text, k, mode):
    try:
        query = plain_query(text)
    except ValueError:
        assume(False)
    explore = GENERATORS[mode]
    check_contract(explore, explore.generate(query, Context(user_id="u"), k), k)
    assert explore.preview(query, ANY).n_hits >= 0


GENERATORS = {mode: fitted(mode=mode) for mode in ["new", "long_tail", "novel", "mix"]}


def test_demo_catalog_smoke():
    from ltrr.config import EngineConfig
    from ltrr.synthetic import generate_catalog

    catalog = generate_catalog(EngineConfig().catalog.synthetic)
    explore = ExplorationGenerator(mode="new", seed=0).fit(catalog.entities)
    newest = max(e.added_at for e in catalog.entities)
    added = {e.entity_id: e.added_at for e in catalog.entities}
    genre = catalog.artists[0].tags[0].tag
    out = explore.generate(with_slots(Slot("genre", genre, 1.0, genre)), ANY, 50)
    assert out and all(newest - added[c.entity_id] <= timedelta(days=30) for c in out)
    scores = np.array([c.score for c in out])
    assert np.all((scores >= 1.0) & (scores <= 2.0))


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 60)), st.lists(st.integers(-5, 70), max_size=20))
def test_leaving_out_shown_positions_equals_a_set_difference(positions, removed):
    sorted_positions = np.asarray(sorted(positions), dtype=np.int64)
    kept = exploration._without(sorted_positions, np.unique(np.asarray(removed, dtype=np.int64)))
    assert kept.tolist() == sorted(positions - set(removed))


def test_weights_follow_a_mode_changed_after_fitting():
    explore = fitted(mode="mix")
    explore.generate(plain_query("night"), ANY, 10)  # computes the mix weights
    explore.mode = "new"
    assert {c.entity_id: c.score for c in explore.generate(plain_query("night"), ANY, 10)} == pytest.approx(
        {"t3": 2.0, "t2": 1.5})
