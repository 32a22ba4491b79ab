"""The simulated world: seeded sessions, intents with known graded ground truth, contexts, reformulations, config.

Expectations are recomputed here from the store (playlist names and memberships, entities, profiles), not read
from the world's own tables.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections import Counter, defaultdict
from datetime import datetime

import numpy as np
import pytest

from ltrr.config import EngineConfig
from ltrr.errors import ConfigError
from ltrr.simulation.intents import MAX_GRADE, Intent
from ltrr.simulation.noise import QueryNoise
from ltrr.simulation.snapshot import CatalogSnapshot
from ltrr.simulation.users import MIN_PLAYLIST_USER_TRACKS, UserPool
from ltrr.simulation.world import World, WorldConfig
from ltrr.store import CatalogStore
from ltrr.synthetic import generate_catalog, write_catalog
from ltrr.text import name_key, title_key
from ltrr.types import Entity, Popularity

SMALL = dataclasses.replace(EngineConfig().catalog.synthetic, n_artists=40, n_playlists=80, n_users=20)
NEUTRAL = {"device_intent_bias": {}, "evening_topical_boost": 0.0}  # intent kinds follow intent_mix alone


def open_store() -> CatalogStore:
    store = CatalogStore.open("sqlite://")
    write_catalog(store, generate_catalog(SMALL))
    return store


@pytest.fixture(scope="module")
def store():
    catalog = open_store()
    yield catalog
    catalog.close()


@pytest.fixture(scope="module")
def snapshot(store) -> CatalogSnapshot:
    return CatalogSnapshot.from_store(store)


@pytest.fixture(scope="module")
def world(store) -> World:
    return World.build(store, WorldConfig(), seed=0)


@pytest.fixture(scope="module")
def entities(store) -> dict:
    return {e.entity_id: e for kind in ("track", "playlist") for e in store.iter_entities(kind=kind)}


def make_world(snapshot: CatalogSnapshot, **options) -> World:
    return World.from_snapshot(snapshot, WorldConfig(**options))


def sessions_of(world: World, kind: str | None = None, n: int = 400, seed: int = 0) -> list:
    found = [s for s in world.sessions(seed, n) if kind is None or s.intent.kind == kind]
    assert found, f"no {kind} session in {n}"
    return found


def test_same_seed_and_index_give_the_same_session_across_worlds_and_draw_orders(world):
    other_store = open_store()
    other = World.build(other_store, WorldConfig(), seed=0)
    indices = list(range(60))
    forward = [world.session(4, i) for i in indices]
    backward = {}
    for i in reversed(indices):  # another order, with another stream's sessions drawn in between
        other.session(9, i)
        backward[i] = other.session(4, i)
    assert forward == [backward[i] for i in indices]
    assert [world.session(4, i) for i in indices] == forward
    other_store.close()


def test_different_seeds_give_different_sessions(world):
    def summary(session):
        return session.user.key, session.intent.description, session.queries

    differing = sum(summary(world.session(0, i)) != summary(world.session(1, i)) for i in range(40))
    assert differing >= 30


def test_session_rejects_negative_seed_or_index(world):
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        world.session(-1, 0)
    with pytest.raises(ValueError, match="index must be an int >= 0"):
        world.session(0, -3)


def test_intent_mix_follows_config(snapshot):
    config = WorldConfig(**NEUTRAL)
    n = 2000
    counts = Counter(s.intent.kind for s in make_world(snapshot, **NEUTRAL).sessions(0, n))
    for kind, weight in config.intent_mix.items():
        p = weight / sum(config.intent_mix.values())
        assert abs(counts[kind] - n * p) <= 4 * math.sqrt(n * p * (1 - p)), (kind, counts)


def test_speaker_sessions_lean_topical(snapshot):
    n, p = 600, 0.35
    world = make_world(snapshot, device_mix={"speaker": 1.0}, evening_topical_boost=0.0,
                       device_intent_bias={"speaker": {"topical": 3.0}})
    topical = sum(s.intent.kind == "topical" for s in world.sessions(0, n))
    assert topical > n * p + 4 * math.sqrt(n * p * (1 - p))


def test_evening_and_weekend_boost_topical(world):
    config = world.config
    morning, evening = datetime(2026, 1, 6, 9), datetime(2026, 1, 6, 21)  # a Tuesday
    saturday = datetime(2026, 1, 10, 9)
    base = dict(zip(*world.intent_probabilities("desktop", morning)))
    for when in (evening, saturday):
        boosted = dict(zip(*world.intent_probabilities("desktop", when)))
        odds = (boosted["topical"] / boosted["spearfish"]) / (base["topical"] / base["spearfish"])
        assert odds == pytest.approx(1 + config.evening_topical_boost)


def test_topical_grades_count_same_named_playlists_holding_the_track(store, world, entities):
    names = {e.entity_id: name_key(e.name) for e in entities.values() if e.kind == "playlist"}
    holders: dict[str, Counter] = defaultdict(Counter)
    for playlist_id, track_ids in store.playlist_memberships().items():
        for track_id in set(track_ids):
            holders[names[playlist_id]][track_id] += 1
    for session in sessions_of(world, "topical"):
        expected = {track: min(n, 4) for track, n in holders[name_key(session.intent.description)].items()}
        assert dict(session.intent.relevance) == expected
        assert session.intent.target_id is None and len(expected) >= world.config.min_topical_tracks
        assert session.queries[0] == session.intent.description.lower() or "+" in session.query_forms[0]


def test_topical_grades_by_hand_with_name_variants_and_the_cap():
    store = CatalogStore.open("sqlite://")
    artist = Entity("x:artist:a1", "artist", "Vela Moss", "x", "a1")
    tracks = [Entity(f"x:track:t{i}", "track", f"Song {i}", "x", f"t{i}", artist_id=artist.entity_id)
              for i in range(1, 7)]
    names = ["chill vibes", "Chill Vibes!", "CHILL  vibes", "chill vibes", "Chill vibes", "Chill-Vibes", "my playlist"]
    playlists = [Entity(f"x:playlist:p{j}", "playlist", name, "x", f"p{j}", popularity=Popularity(follower_sum=j))
                 for j, name in enumerate(names, start=1)]
    contents = {"p1": "1 2 3", "p2": "1 2 4", "p3": "1 2 1", "p4": "1 5", "p5": "1", "p6": "6 1", "p7": "1 2 3 4 5 6"}
    with store.writer() as writer:
        writer.upsert_entities([artist, *tracks, *playlists])
        writer.replace_playlist_tracks({f"x:playlist:{p}": [f"x:track:t{i}" for i in ids.split()]
                                        for p, ids in contents.items()})
    world = World.build(store, WorldConfig(intent_mix={"topical": 1.0}, min_topical_tracks=1))
    # "chill vibes" (p1-p5, punctuation and case folded): t1 in 5 playlists (capped at 4), t2 in 3 (p3 lists t1
    # twice: counted once); "Chill-Vibes" joins into "chillvibes"; "my playlist" is no topical query
    expected = {"chill vibes": {"x:track:t1": 4, "x:track:t2": 3, "x:track:t3": 1, "x:track:t4": 1, "x:track:t5": 1},
                "chillvibes": {"x:track:t6": 1, "x:track:t1": 1}}
    seen = set()
    for session in world.sessions(0, 80):
        key = name_key(session.intent.description)
        seen.add(key)
        assert dict(session.intent.relevance) == expected[key]
    assert seen == set(expected)
    store.close()


def test_a_catalog_of_tracks_alone_gives_spearfish_sessions_of_an_anonymous_user():
    store = CatalogStore.open("sqlite://")
    with store.writer() as writer:
        writer.upsert_entities([Entity("x:track:t1", "track", "Night Drive", "x", "t1"),
                                Entity("x:track:t2", "track", "Slow Tide", "x", "t2"),
                                Entity("x:playlist:p1", "playlist", "music", "x", "p1")])
        writer.replace_playlist_tracks({"x:playlist:p1": ["x:track:t1"]})
    world = World.build(store, WorldConfig())
    assert world.kinds == ("spearfish",) and len(world.users) == 1
    for session in world.sessions(0, 20):
        assert session.context.user_id is None and session.user.source == "anonymous"
        assert session.intent.target_id in ("x:track:t1", "x:track:t2")
    with pytest.raises(ConfigError, match="names no intent kind this catalog supports"):
        World.build(store, WorldConfig(intent_mix={"topical": 1.0}))
    store.close()


def test_spearfish_target_is_the_one_relevant_track_at_the_max_grade(world, entities):
    for session in sessions_of(world, "spearfish"):
        intent = session.intent
        assert entities[intent.target_id].kind == "track"
        assert intent.grade(intent.target_id) == intent.max_grade() == MAX_GRADE
        assert list(intent.relevance) == [intent.target_id] and intent.grade("nope") == 0


def test_spearfish_typo_sessions_reformulate_to_the_clean_text(snapshot, entities):
    world = make_world(snapshot, typo_rate=1.0, device_mix={"phone": 1.0}, intent_mix={"spearfish": 1.0},
                       spearfish_forms={"title": 0.5, "artist_title": 0.5})
    noise = QueryNoise()
    typos = 0
    for session in sessions_of(world, "spearfish", n=150):
        track = entities[session.intent.target_id]
        form = session.query_forms[0].split("+")[0]
        clean = noise.formulate(track, form)
        assert session.queries[1:] and noise.formulate(track, "artist_title") in session.queries
        if session.query_forms[0].endswith("+typo"):
            typos += 1
            assert session.queries[0] != clean and clean in session.queries[1:]
        assert len(session.queries) == len(session.query_forms) <= 1 + world.config.max_reformulations
    assert typos >= 120


def test_no_reformulations_when_none_allowed(snapshot):
    world = make_world(snapshot, max_reformulations=0, typo_rate=1.0)
    assert all(len(s.queries) == len(s.query_forms) == 1 for s in world.sessions(0, 100))


def test_speaker_and_car_queries_are_spoken(snapshot):
    world = make_world(snapshot, device_mix={"speaker": 1.0, "car": 1.0}, typo_rate=1.0)
    sessions = sessions_of(world, n=150)
    assert {s.context.device for s in sessions} == {"speaker", "car"}
    for session in sessions:
        for query, form in zip(session.queries, session.query_forms):
            assert query == query.lower() and re.fullmatch(r"[^\W_]+( [^\W_]+)*", query), query
            assert form.endswith("+voice") and "typo" not in form


def test_ambiguous_relevance_is_word_matches_graded_by_taste(store, snapshot, entities):
    cap = 30
    world = make_world(snapshot, intent_mix={"ambiguous": 1.0}, max_ambiguous_relevant=cap, typo_rate=0.0,
                       device_mix={"desktop": 1.0})
    playlists_of = defaultdict(set)
    for playlist_id, track_ids in store.playlist_memberships().items():
        for track_id in track_ids:
            playlists_of[track_id].add(playlist_id)

    def matches(track_id: str, word: str) -> tuple[bool, bool]:
        in_title = word in title_key(entities[track_id].name).split()
        in_playlist = any(word in name_key(entities[p].name).split() for p in playlists_of[track_id])
        return in_title, in_playlist

    tracks = [e for e in entities.values() if e.kind == "track"]
    for session in sessions_of(world, "ambiguous", n=60):
        word, relevance, liked = session.queries[0], session.intent.relevance, set(session.user.artists)
        assert word == session.intent.description and 0 < len(relevance) <= cap
        for track_id, grade in relevance.items():
            in_title, in_playlist = matches(track_id, word)
            assert in_title or in_playlist
            assert (grade == 4) == (entities[track_id].artist_id in liked)
            assert grade >= 2 or not in_title
        liked_matches = sum(t.artist_id in liked and any(matches(t.entity_id, word)) for t in tracks)
        assert sum(g == 4 for g in relevance.values()) == min(cap, liked_matches)
        if len(session.queries) > 1:
            assert session.queries[-1].startswith(word + " ")


def test_profile_users_carry_their_id_unless_anonymous(store, snapshot):
    profile_ids = {user.user_id for user in store.iter_users()}
    known = make_world(snapshot, user_sources=("profiles",), anonymous_share=0.0)
    for session in known.sessions(0, 100):
        assert session.context.user_id == session.user.user_id and session.user.user_id in profile_ids
        assert session.context.timestamp is not None and session.context.device is not None
    hidden = make_world(snapshot, user_sources=("profiles",), anonymous_share=1.0)
    assert all(s.context.user_id is None for s in hidden.sessions(0, 100))
    playlists = make_world(snapshot, user_sources=("playlists",), anonymous_share=0.0)
    assert all(s.context.user_id is None and s.user.source == "playlist" for s in playlists.sessions(0, 100))


def test_taste_leads_spearfish_targets(snapshot, entities):
    def liked_share(taste_share: float) -> float:
        world = make_world(snapshot, user_sources=("profiles",), intent_mix={"spearfish": 1.0},
                           taste_share=taste_share)
        sessions = list(world.sessions(0, 300))
        return float(np.mean([entities[s.intent.target_id].artist_id in s.user.artists for s in sessions]))

    assert liked_share(0.9) >= 0.85
    assert liked_share(0.9) > liked_share(0.0) + 0.3


def test_user_pool_reads_profiles_and_playlists(store):
    memberships = store.playlist_memberships()
    tracks = {e.entity_id: e for e in store.iter_entities(kind="track")}
    eligible = [p for p, ids in memberships.items() if len(set(ids)) >= MIN_PLAYLIST_USER_TRACKS]
    pool = UserPool.from_store(store, max_playlist_users=7, seed=3)
    assert len(pool) == SMALL.n_users + min(7, len(eligible))
    for user in pool.users:
        assert user.artists or user.tags
        assert sum(user.artists.values()) == pytest.approx(1.0) or not user.artists
        assert sum(user.tags.values()) == pytest.approx(1.0) or not user.tags
        if user.source == "playlist":
            playlist_id = user.key.removeprefix("playlist:")
            assert user.user_id is None and playlist_id in eligible
            assert set(user.artists) <= {tracks[t].artist_id for t in memberships[playlist_id]}
    again = UserPool.from_store(store, max_playlist_users=7, seed=3)
    assert again.users == pool.users
    assert pool.sample(np.random.default_rng(5)) == again.sample(np.random.default_rng(5))


def test_intent_takes_a_plain_dict():
    intent = Intent("topical", None, {"t1": 2, "t2": 4, "t3": 0}, "chill")
    assert intent.grade("t2") == 4 and intent.grade("t3") == 0 and intent.max_grade() == 4
    assert intent.ideal_grades() == (4, 2) and intent.grades(["t1", "x"]) == [2, 0]


@pytest.mark.parametrize("data, message", [
    ({"typo_rat": 0.1}, r"unknown config key 'world.typo_rat'; known keys at \[world\] are: intent_mix"),
    ({"typo_rate": 1.5}, r"world.typo_rate must be a number in \[0, 1\], got 1.5"),
    ({"anonymous_share": True}, r"world.anonymous_share must be a number"),
    ({"intent_mix": {"spearfish": 1, "navigational": 1}}, r"world.intent_mix has unknown keys \['navigational'\]"),
    ({"intent_mix": {"spearfish": -1}}, r"world.intent_mix weights must be finite numbers >= 0"),
    ({"intent_mix": {"spearfish": 0}}, r"world.intent_mix weights must be .*not all 0"),
    ({"device_mix": {"fridge": 1}}, r"world.device_mix has unknown keys \['fridge'\]"),
    ({"device_intent_bias": {"car": {"topical": -2}}}, r"world.device_intent_bias.car must map"),
    ({"device_intent_bias": {"boat": {}}}, r"world.device_intent_bias has unknown devices \['boat'\]"),
    ({"spearfish_forms": {"lyrics": 1}}, r"world.spearfish_forms has unknown keys \['lyrics'\]"),
    ({"max_reformulations": -1}, r"world.max_reformulations must be an int in \[0, 10\], got -1"),
    ({"max_reformulations": 1.5}, r"world.max_reformulations must be an int"),
    ({"minutes_between_sessions": 0}, r"world.minutes_between_sessions must be a number"),
    ({"start": "yesterday"}, r"world.start must be an ISO datetime .* got 'yesterday'"),
    ({"user_sources": ["friends"]}, r"world.user_sources must be a non-empty list of some of"),
    ({"voice_devices": ["fridge"]}, r"world.voice_devices must be a list of some of"),
    ({"ambiguous_words": ["love", " "]}, r"world.ambiguous_words must be a list of non-blank words"),
])
def test_world_config_rejects_bad_values(data, message):
    with pytest.raises(ConfigError, match=message):
        WorldConfig.from_dict(data)


def test_world_config_reads_a_toml_table_and_round_trips():
    data = tomllib.loads("""
        typo_rate = 0.3
        voice_devices = ["speaker"]
        start = 2026-03-01T20:00:00
        ambiguous_words = ["Love", "night"]
        [intent_mix]
        spearfish = 1
        topical = 1
        [device_intent_bias.speaker]
        topical = 3
    """)
    config = WorldConfig.from_dict(data)
    assert config.typo_rate == 0.3 and config.voice_devices == ("speaker",)
    assert config.start == datetime(2026, 3, 1, 20) and config.ambiguous_words == ("love", "night")
    assert dict(config.intent_mix) == {"spearfish": 1.0, "topical": 1.0}
    assert dict(config.device_intent_bias["speaker"]) == {"topical": 3.0}
    assert WorldConfig.from_dict(config.to_dict()) == config
    assert WorldConfig.from_dict({"start": "2026-03-01T20:00:00+02:00"}).start == datetime(2026, 3, 1, 18)


def test_configured_ambiguous_words_are_the_only_ones(snapshot):
    world = make_world(snapshot, intent_mix={"ambiguous": 1.0}, ambiguous_words=("love", "zzqx"))
    assert world.ambiguous.words == ("love",)  # "zzqx" matches nothing, so it is never drawn
    assert {s.intent.description for s in world.sessions(0, 30)} == {"love"}


def test_sessions_are_spaced_in_time(world):
    times = [s.context.timestamp for s in world.sessions(0, 20)]
    assert times == sorted(times) and times[0] >= world.config.start
