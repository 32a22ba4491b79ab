"""The Engine facade on a small synthetic catalog: the query flow, clicks and rewards, save/load, bad input.

A hashing encoder and exact dense search keep these fast; tests/test_engine_real.py runs the real components.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from ltrr.config import EngineConfig
from ltrr.engine import Engine
from ltrr.errors import ConfigError, UnknownEntityError, UnknownRequestError
from ltrr.store import CatalogStore
from ltrr.synthetic import generate_catalog, write_catalog
from ltrr.types import Candidate, Context

SMALL = {"catalog": {"synthetic": {"n_artists": 25, "n_playlists": 20, "n_users": 10}},
         "retrieval": {"encoder": "hashing", "dense": {"exact": True}}}


def small_config(**sections) -> EngineConfig:
    data = json.loads(json.dumps(SMALL))
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return EngineConfig.from_dict(data)


@pytest.fixture(scope="module")
def catalog_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("engine") / "catalog.db"
    store = CatalogStore.open(path)
    write_catalog(store, generate_catalog(small_config().catalog.synthetic))
    store.close()
    return str(path)


@pytest.fixture
def make_engine(catalog_db, tmp_path):
    """Fresh engines over a copy of the module's catalog (so logs and state start empty)."""
    built = []

    def make(**sections) -> Engine:
        copy = tmp_path / f"catalog{len(built)}.db"
        copy.write_bytes(open(catalog_db, "rb").read())
        built.append(Engine.open(copy, config=small_config(**sections)))
        return built[-1]

    yield make
    for engine in built:
        engine.shutdown()


@pytest.fixture
def engine(make_engine):
    return make_engine()


def a_track(engine: Engine):
    return next(engine.store.iter_entities(kind="track"))


def test_search_reads_like_the_architecture(engine):
    track = a_track(engine)
    result = engine.search(f"{track.artist_name} {track.name}", limit=5)
    assert 1 <= len(result.items) <= 5 and result.items[0].entity_id == track.entity_id
    assert [item.position for item in result.items] == list(range(len(result.items)))
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)
    assert all(item.sources for item in result.items)
    plan = dict(result.decision.arm.plan)
    assert all(source.generator in plan for item in result.items for source in item.sources)
    assert result.n_candidates <= result.decision.arm.budget
    assert result.decision.propensity == pytest.approx(result.decision.pmf[result.decision.arm_index])
    assert {"understand", "select", "generate", "union", "features", "rank", "log", "total"} <= set(
        result.timings_ms)
    logged = engine.log.get_impression(result.request_id)
    assert [item.entity_id for item in logged.items] == [item.entity_id for item in result.items]
    assert logged.decision.propensity == result.decision.propensity
    traits = {(row[1], row[2]) for row in engine.stats.to_dict()["traits"]}  # what each called generator brought
    retrieved = {source.generator for item in result.items for source in item.sources}
    assert {(generator, "new") for generator in retrieved} <= traits



def test_search_result_keeps_each_planned_generators_list(engine):
    track = a_track(engine)
    result = engine.search(f"{track.artist_name} {track.name}", limit=3)
    plan = dict(result.decision.arm.plan)
    assert set(result.retrieved) == set(plan)
    for name, ids in result.retrieved.items():
        assert len(ids) <= plan[name] and len(set(ids)) == len(ids)
    pooled = set().union(*map(set, result.retrieved.values()))
    assert len(pooled) == result.n_candidates  # the pool is exactly the union of the lists
    for item in result.items:  # each shown item's sources are the lists that hold it, at its rank there
        for source in item.sources:
            assert result.retrieved[source.generator][source.rank] == item.entity_id

@pytest.mark.parametrize("kwargs, error, message", [
    ({"text": "   "}, ValueError, "query text is empty"),
    ({"text": ""}, ValueError, "query text is empty"),
    ({"limit": 0}, ValueError, "limit must be >= 1, got 0"),
    ({"limit": True}, ValueError, "limit must be >= 1"),
])
def test_search_rejects_bad_input(engine, kwargs, error, message):
    with pytest.raises(error, match=message):
        engine.search(**{"text": "night", **kwargs})


@pytest.mark.parametrize("text", ["a" * 10_000, "\x00\x07 night", "🎵🎶", "שלום עולם", "'; DROP TABLE entities; --"])
def test_odd_queries_do_not_crash(engine, text):
    result = engine.search(text, limit=3)
    assert len(result.items) <= 3


def test_clicks_count_once_reward_the_plan_and_reach_the_memory(engine):
    track = a_track(engine)
    result = engine.search(track.name, limit=5)
    clicked = result.items[0]
    before = engine.policy.version
    assert engine.record_click(result.request_id, clicked.entity_id, position=0) is True
    assert engine.record_click(result.request_id, clicked.entity_id, position=0) is False
    assert engine.policy.version == before + 1  # settled once, at the first click
    assert engine.log.counts()["clicks"] == 1
    assert engine.generators["memory"].query_seen(result.query)
    assert engine.close(result.request_id) is None  # settled already


def test_unknown_request_and_entity_raise_clear_errors(engine):
    result = engine.search("night", limit=3)
    with pytest.raises(UnknownRequestError, match="nope"):
        engine.record_click("nope", result.items[0].entity_id)
    with pytest.raises(UnknownEntityError, match="not-an-entity"):
        engine.record_click(result.request_id, "not-an-entity")
    with pytest.raises(UnknownRequestError):
        engine.close("nope")


def test_close_gives_the_no_click_reward(engine):
    result = engine.search("night", limit=3)
    reward = engine.close(result.request_id)
    expected = -engine.config.feedback.cost_per_candidate * result.n_candidates
    assert reward == pytest.approx(expected, abs=1e-9)


def test_explanations_sum_to_the_score(engine):
    result = engine.search("night", limit=5, explain=True)
    for item in result.items:
        explanation = item.explanation
        assert explanation is not None and explanation.plan == result.decision.arm.plan
        total = explanation.bias + sum(value for _, value in explanation.contributions)
        assert total == pytest.approx(item.score, rel=1e-6, abs=1e-9)


def test_save_load_gives_identical_decisions(engine, tmp_path):
    for text in ("night", "love songs", "80s rock"):
        result = engine.search(text, limit=3)
        if result.items:  # a plan may call only generators that find nothing
            engine.record_click(result.request_id, result.items[0].entity_id)
        else:
            engine.close(result.request_id)
    engine.save(tmp_path / "saved")
    twin = Engine.load(tmp_path / "saved")
    try:
        for text in ("summer", "night drive", "chill", "90s"):
            mine, theirs = engine.search(text, limit=5), twin.search(text, limit=5)
            assert mine.decision.arm == theirs.decision.arm and mine.decision.pmf == theirs.decision.pmf
            assert [i.entity_id for i in mine.items] == [i.entity_id for i in theirs.items]
    finally:
        twin.shutdown()


def test_warm_up_builds_ahead_and_changes_no_decision(catalog_db, tmp_path):
    engines = []
    for warm in (False, True):
        copy = tmp_path / f"warm{warm}.db"
        copy.write_bytes(open(catalog_db, "rb").read())
        engines.append(Engine.open(copy, config=small_config(), warm=warm))
    cold, warmed = engines
    try:
        assert "matcher" in warmed.parser.__dict__ and "matcher" not in cold.parser.__dict__
        assert warmed.log.counts()["impressions"] == 0 and warmed.policy.version == 0  # nothing logged or learned
        assert warmed.generators["exploration"].sampling_state() == cold.generators["exploration"].sampling_state()
        assert set(warmed.warm_up()) >= {"parser", "parse", "previews", "rank"}
        for text in ("night", "love songs", "80s rock", "summer", "chill"):
            mine, theirs = cold.search(text, limit=5), warmed.search(text, limit=5)
            assert mine.decision.arm == theirs.decision.arm and mine.decision.pmf == theirs.decision.pmf
            assert [i.entity_id for i in mine.items] == [i.entity_id for i in theirs.items]
            for engine, result in ((cold, mine), (warmed, theirs)):
                if result.items:
                    engine.record_click(result.request_id, result.items[0].entity_id)
                else:
                    engine.close(result.request_id)
    finally:
        for engine in engines:
            engine.shutdown()


def test_load_refuses_a_state_saved_with_another_policy(engine, tmp_path):
    engine.save(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    config["config"]["policy"]["kind"] = "uniform"
    (tmp_path / "saved" / "config.json").write_text(json.dumps(config))
    from ltrr.engine_state import load_state
    with pytest.raises(ConfigError, match="another \\[policy\\]"):
        load_state(engine, tmp_path / "saved")


def test_fit_ranker_learns_from_logged_clicks_and_survives_reopen(make_engine):
    engine = make_engine(policy={"kind": "fixed", "fixed_arm": "equal"},  # every search retrieves something
                         ranker={"position_bias_regularization": 5.0})
    rng = np.random.default_rng(0)
    tracks = list(engine.store.iter_entities(kind="track"))
    for index in rng.choice(len(tracks), size=60, replace=False).tolist():
        track = tracks[index]
        result = engine.search(track.name, limit=10)
        target = next((item for item in result.items if item.entity_id == track.entity_id), result.items[-1])
        engine.record_click(result.request_id, target.entity_id, position=target.position)
    summary = engine.fit_ranker()
    assert summary["version"] == 1 and summary["n_searches"] == 60
    assert engine.scorer.get_params()["position_bias_regularization"] == 5.0  # the [ranker] setting reached it
    result = engine.search("night", limit=3, explain=True)
    assert result.items[0].explanation.scorer == "lambdamart v1"
    assert engine.log.get_impression(result.request_id).ranker_version == 1
    reopened = Engine.open(engine.store.url.replace("sqlite:///", ""), config=engine.config)
    try:
        assert reopened.scorer.version == 1
    finally:
        reopened.shutdown()


def test_eight_threads_searching_and_clicking_lose_no_event(make_engine):
    engine = make_engine(policy={"kind": "fixed", "fixed_arm": "equal"})
    texts = ["night", "love", "summer", "rock", "chill", "drive", "blue", "gold"]
    errors = []

    def work(text: str) -> None:
        try:
            for i in range(5):
                result = engine.search(f"{text} {i}", limit=3)
                if result.items:
                    engine.record_click(result.request_id, result.items[0].entity_id, position=0)
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = engine.log.counts()
    assert counts["impressions"] == 40 and counts["clicks"] == 40 and counts["closed"] == 40


def test_index_is_reused_while_the_catalog_is_unchanged(engine, tmp_path):
    assert engine.index_report.action == "built"
    again = Engine.open(engine.store.url.replace("sqlite:///", ""), config=engine.config)
    try:
        assert again.index_report.action == "loaded"
    finally:
        again.shutdown()


def test_encoder_speed_settings_keep_the_index_and_indexed_settings_rebuild_it(catalog_db, tmp_path):
    data = json.loads(json.dumps(SMALL))
    actions = []
    for dense in ({}, {"encoder_threads": 2, "build_threads": 1, "encoder_backend": "torch"},
                  {"preview_k": 5}):
        data["retrieval"]["dense"].update(dense)
        opened = Engine.open(catalog_db, index_dir=tmp_path / "index", config=EngineConfig.from_dict(data))
        actions.append(opened.index_report.action)
        opened.shutdown(keep_memory=False)
    assert actions[0] != "loaded" and actions[1] == "loaded" and actions[2] != "loaded"


def test_a_server_url_needs_an_index_dir():
    with pytest.raises(ConfigError, match="index_dir"):
        Engine.open("postgresql+psycopg://postgres@127.0.0.1:5432/test", config=small_config())


def test_the_index_dir_can_come_from_the_config(catalog_db, tmp_path):
    engine = Engine.open(catalog_db, config=small_config(store={"index_dir": str(tmp_path / "configured")}))
    try:
        assert engine.index_dir == tmp_path / "configured" and (tmp_path / "configured" / "manifest.json").is_file()
    finally:
        engine.shutdown(keep_memory=False)


def test_context_with_user_device_and_time_is_used(engine):
    user = next(engine.store.iter_users())
    from datetime import datetime
    context = Context(user_id=user.user_id, device="speaker", timestamp=datetime(2026, 3, 7, 22, 0))
    result = engine.search("night", context, limit=3)
    logged = engine.log.get_impression(result.request_id)
    assert logged.user_key is not None and user.user_id not in logged.user_key
    assert logged.context.device == "speaker" and logged.context.hour == 22
    assert any(name.startswith("user") for name in replace(logged).feature_names)


def test_exploration_leaves_out_what_a_user_was_shown_and_keeps_no_raw_user_id(make_engine, tmp_path):
    engine = make_engine(policy={"kind": "single", "single_generator": "exploration"},
                         retrieval={"exploration": {"mode": "novel"}})
    user = next(engine.store.iter_users()).user_id
    first = engine.search("song", Context(user_id=user), limit=5)
    shown = {item.entity_id for item in first.items}
    assert len(shown) == 5 and dict(first.decision.arm.plan) == {"exploration": 300}

    def everything_for(user_id: str) -> set[str]:
        return {c.entity_id for c in engine.generators["exploration"].generate(
            engine.parser.parse("song"), Context(user_id=user_id), 100_000)}

    assert everything_for(user) and not shown & everything_for(user)
    assert shown <= everything_for(user + "-other")  # another user's list is not filtered by this one's
    saved = (engine.save(tmp_path / "saved") / "exploration_state.json").read_text()
    assert engine.log.pseudonymize(user) in saved and f'"{user}"' not in saved


def test_engine_runs_on_postgresql_with_an_index_dir(pg_url, tmp_path):
    store = CatalogStore.open(pg_url)
    write_catalog(store, generate_catalog(small_config().catalog.synthetic))
    store.close()
    engine = Engine.open(pg_url, index_dir=tmp_path / "index", config=small_config())
    try:
        track = a_track(engine)
        result = engine.search(track.name, Context(user_id="u1", device="car"), limit=5)
        assert result.items and engine.record_click(result.request_id, result.items[0].entity_id, position=0)
        assert not engine.record_click(result.request_id, result.items[0].entity_id, position=0)
        assert engine.log.counts()["clicks"] == 1 and engine.store.revision() >= 1
    finally:
        engine.shutdown()


def test_search_benchmark_reports_its_headline_keys(engine):
    from ltrr.evaluation.search_bench import bench_search

    result = bench_search(engine, n_cold=12, n_head=3, head_repeats=2, n_warm_up=30)
    assert {"cold_p50_ms", "cold_p95_ms", "head_p50_ms", "qps", "peak_rss_mb"} <= set(result)
    assert result["cold"]["wall"]["n"] == 12 and result["head"]["wall"]["n"] == 6
    assert result["warm_up"]["n_searches"] == 30 and result["ranker_version"] == 1
    assert engine.policy.name == "vw_squarecb"  # the equal-split comparison puts the policy back


def test_the_entity_table_rebuilds_what_the_store_returns(engine):
    from ltrr.engine_entity_table import EntityTable

    stored = list(engine.store.iter_entities())[:80]
    table = EntityTable.build(stored)
    rebuilt = table.get([e.entity_id for e in stored] + ["missing"])
    assert rebuilt[-1] is None
    for original, copy in zip(stored, rebuilt, strict=False):
        assert copy.tags == original.tags and copy.popularity == original.popularity
        assert replace(copy, added_at=None) == replace(original, added_at=None)
        assert abs((copy.added_at - original.added_at).total_seconds()) < 1e-3


def test_the_entity_table_shares_one_tag_object_per_distinct_triple():
    from ltrr.engine_entity_table import EntityTable
    from ltrr.types import Entity, TagWeight

    rock, rock_weak = TagWeight("rock", 1.0, "artist:lastfm"), TagWeight("rock", 0.5, "artist:lastfm")
    rock_other_source = TagWeight("rock", 1.0, "artist:spotify_genres")
    entities = [Entity("t1", "track", "A", "demo", "1", tags=(rock, rock_weak)),
                Entity("t2", "track", "B", "demo", "2",
                       tags=(rock_other_source, TagWeight("rock", 1.0, "artist:lastfm"))),
                Entity("t3", "track", "C", "demo", "3")]
    table = EntityTable.build(entities)
    t1, t2, t3 = table.get(["t1", "t2", "t3"])
    assert (t1.tags, t2.tags, t3.tags) == (entities[0].tags, entities[1].tags, ())
    assert t1.tags[0] is t2.tags[1] and t1.tags[1] is not t1.tags[0] and t2.tags[0] is not t1.tags[0]
    assert len(table._tag_objects()[1]) == 3
    assert EntityTable.build([Entity("t9", "track", "D", "demo", "9")]).get(["t9"])[0].tags == ()


def test_table_columns_give_the_features_the_entities_give(engine):
    """Features read columns gathered from the entity table; built from the store's Entity objects instead,
    every feature of the same pool is the same (dates to a microsecond)."""
    from ltrr.engine_entity_table import EntityTable
    from ltrr.features import FeatureInput
    from ltrr.features.columns import PoolColumns
    from ltrr.retrieval.base import union
    from ltrr.types import Entity, Popularity, TagWeight

    stored = list(engine.store.iter_entities())
    odd = Entity("odd", "track", "Odd (Live) - Remastered 2009", "demo", "odd", year=0, artist_name="The Odd",
                 popularity=Popularity(playlist_count=3, source_popularity=41.5),
                 tags=(TagWeight("Hip-Hop", 0.75, "artist:lastfm"), TagWeight("hip hop", 0.5, "spotify")))
    entities = [odd, *stored[::3]]
    table = EntityTable.build(entities)
    columns = table.columns([e.entity_id for e in entities])
    assert table.columns(["odd", "missing"]) is None
    assert columns.tag_names[:2] == ["Hip-Hop", "hip hop"] and np.isnan(columns.years[0])
    track = a_track(engine)
    profile = engine.entities.user(next(iter(engine.store.iter_users())).user_id)
    query = engine.parser.parse(f"{track.artist_name} {track.name} rock 1990s")
    pool = union([engine.generators["bm25"].generate(query, Context(), 50), [
        Candidate(e.entity_id, e.kind, "dense", 0.5, rank) for rank, e in enumerate(entities[:30])]])
    by_id = {e.entity_id: e for e in entities + stored}
    pooled = [by_id[i] for i in pool.entity_ids]
    objects = FeatureInput(query, Context(device="car"), pool, pooled, tuple(engine.generators), profile)
    from_table = replace(objects, entities=EntityTable.build(pooled).columns(pool.entity_ids))
    assert isinstance(from_table.entities, PoolColumns) and from_table.columns is from_table.entities
    a, b = engine.feature_set.build(objects), engine.feature_set.build(from_table)
    assert a.shape == (len(pool), len(engine.feature_set.names)) and np.isnan(a).any()
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-9, equal_nan=True)  # NaN where NaN, else equal

def _clicked_engine(engine: Engine) -> tuple[Engine, object, Context]:
    """The engine after a few clicked searches (memory statistics exist), a query that was clicked for, and
    a user's context (a taste profile exists)."""
    track = a_track(engine)
    text = f"{track.artist_name} {track.name}"
    for _ in range(3):
        result = engine.search(text, limit=5)
        engine.record_feedback(result.request_id, [(result.items[0].entity_id, 0, 120.0)])
    user = next(iter(engine.store.iter_users())).user_id
    return engine, engine.parser.parse(text), Context(user_id=user, device="car")


def test_build_each_equals_building_each_pool_alone(engine):
    """The row-wise columns computed once over the union and taken per pool, the pooled ones per pool: the
    same matrix as building each pool on its own. Building the union alone differs on the pooled columns,
    so a feature wrongly registered as row-wise would fail here."""
    from ltrr.features import FeatureInput
    from ltrr.features.registry import is_pooled
    from ltrr.retrieval.base import union

    engine, query, context = _clicked_engine(engine)
    memory = engine.generators["memory"]
    profile = engine.entities.user(context.user_id)

    def batch(pool):
        ctr, impressions = memory.pair_stats(query, pool.entity_ids, context)
        return FeatureInput(query, context, pool, engine.entities.columns(pool.entity_ids), tuple(engine.generators),
                            profile, ctr, impressions, now=now)

    now = datetime(2026, 1, 1, 12, 0)
    plans = [arm.plan for arm in engine.arms if "exploration" not in dict(arm.plan)][:8]
    lists = {(name, k): engine.generators[name].generate(query, context, k) for plan in plans for name, k in plan}
    pools = [union([lists[pair] for pair in plan]) for plan in plans]
    everything = union(list(lists.values()))
    assert len({len(pool) for pool in pools}) > 1 and all(len(pool) < len(everything) for pool in pools)
    together = engine.feature_set.build_each(batch(everything), pools)
    whole = engine.feature_set.build(batch(everything))
    row_of = {entity_id: row for row, entity_id in enumerate(everything.entity_ids)}
    pooled = np.array([is_pooled(name) for name in engine.feature_set.names])
    assert pooled.any() and not pooled.all()
    differs = False
    for pool, matrix in zip(pools, together):
        alone = engine.feature_set.build(batch(pool))
        np.testing.assert_allclose(matrix, alone, rtol=0, atol=1e-12, equal_nan=True)
        taken = whole[[row_of[entity_id] for entity_id in pool.entity_ids]]
        np.testing.assert_allclose(taken[:, ~pooled], alone[:, ~pooled], rtol=0, atol=1e-12, equal_nan=True)
        differs |= not np.allclose(taken[:, pooled], alone[:, pooled], equal_nan=True)
    assert differs
    with pytest.raises(ValueError, match="is not in the batch's pool"):
        engine.feature_set.build_each(batch(pools[0]), [everything])


def test_shared_rows_give_each_engine_its_own_learned_columns(engine):
    """Two forks that learned different clicks share a search's row-wise columns: each matrix, built through
    the shared rows in any order (and by build_each), equals the one built alone, memory columns included."""
    from ltrr.features import FeatureInput, SharedRows
    from ltrr.retrieval.base import union

    engine, query, _ = _clicked_engine(engine)
    context = Context(user_id=next(iter(engine.store.iter_users())).user_id, device="car",
                      timestamp=datetime(2026, 1, 1, 12, 0))
    learned, fresh = engine.fork(), engine.fork()
    for _ in range(3):
        result = learned.search(query.text, context, limit=5)
        learned.record_feedback(result.request_id, [(result.items[1].entity_id, 1, 120.0)])
    profile = engine.entities.user(context.user_id)

    def batch(fork, pool):
        ctr, impressions = fork.generators["memory"].pair_stats(query, pool.entity_ids, context)
        return FeatureInput(query, context, pool, engine.entities.columns(pool.entity_ids), tuple(engine.generators),
                            profile, ctr, impressions, now=datetime(2026, 1, 1, 12, 0))

    small = union([engine.generators["bm25"].generate(query, context, 10)])
    large = union([engine.generators["bm25"].generate(query, context, 40),
                   engine.generators["dense"].generate(query, context, 40)])
    names, shared = engine.feature_set.names, SharedRows()
    alone = {(id(fork), id(pool)): engine.feature_set.build(batch(fork, pool)) for fork in (learned, fresh)
             for pool in (small, large)}
    ctr = names.index("memory.ctr")
    assert not np.allclose(alone[id(learned), id(small)][:, ctr], alone[id(fresh), id(small)][:, ctr], equal_nan=True)
    for fork, pool in ((learned, small), (fresh, large), (fresh, small), (learned, large)):
        np.testing.assert_allclose(engine.feature_set.build(batch(fork, pool), shared), alone[id(fork), id(pool)],
                                   rtol=0, atol=1e-12, equal_nan=True)
    assert len(shared.rows((names, None), query, context)) == len(large)
    each = engine.feature_set.build_each(batch(fresh, large), [small, large], shared)
    for pool, matrix in zip((small, large), each):
        np.testing.assert_allclose(matrix, alone[id(fresh), id(pool)], rtol=0, atol=1e-12, equal_nan=True)
    clockless = replace(context, timestamp=None)
    engine.feature_set.build(replace(batch(fresh, small), context=clockless), shared)
    assert shared.rows((names, None), query, clockless) == {}  # no timestamp, no shared clock: nothing shared
    shared.clear()
    assert shared.rows((names, None), query, context) == {}


def test_forks_sharing_rows_search_as_forks_that_do_not(engine):
    from ltrr.features import SharedRows
    from ltrr.policy.baselines import FixedPlan

    rows = SharedRows()
    pairs = [(engine.fork(policy=FixedPlan(arm.name), feature_rows=rows), engine.fork(policy=FixedPlan(arm.name)))
             for arm in engine.arms[:4]]
    track = a_track(engine)
    context = Context(device="phone", timestamp=datetime(2026, 1, 1, 8, 0))
    for text in (f"{track.artist_name} {track.name}", track.name, "night drive"):
        for sharing, alone in pairs:
            a, b = sharing.search(text, context, limit=10), alone.search(text, context, limit=10)
            assert [(i.entity_id, i.score) for i in a.items] == [(i.entity_id, i.score) for i in b.items]
            sharing.record_feedback(a.request_id, [(a.items[0].entity_id, 0, 90.0)] if a.items else [])
            alone.record_feedback(b.request_id, [(b.items[0].entity_id, 0, 90.0)] if b.items else [])
    assert rows.rows((engine.feature_set.names, None), engine.parser.parse("night drive"), context)


def test_a_fixed_plan_whose_log_drops_the_inputs_builds_none_and_searches_the_same(engine):
    from ltrr.feedback.recent import RecentFeedbackLog
    from ltrr.policy.baselines import FixedPlan

    arm = "equal"  # every generator: the features decide the order
    lean = engine.fork(policy=FixedPlan(arm), log=RecentFeedbackLog(100, keep_policy_input=False))
    full = engine.fork(policy=FixedPlan(arm), log=RecentFeedbackLog(100))
    vw = engine.fork(log=RecentFeedbackLog(100, keep_policy_input=False))  # reads its inputs: always built
    seen: dict[str, list] = {"lean": [], "vw": []}
    for name, fork in (("lean", lean), ("vw", vw)):
        def spy(inputs, arms, select=fork.policy.select, found=seen[name]):
            found.append(inputs)
            return select(inputs, arms)
        fork.policy.select = spy
    track = a_track(engine)
    for text in (f"{track.artist_name} {track.name}", "night drive"):
        a, b = (fork.search(text, Context(device="car"), limit=8) for fork in (lean, full))
        assert [(i.entity_id, i.score) for i in a.items] == [(i.entity_id, i.score) for i in b.items]
        assert a.items and a.decision.arm.name == arm and a.decision.propensity == 1.0
        for fork, result in ((lean, a), (full, b)):
            fork.record_feedback(result.request_id, [(result.items[0].entity_id, 0, 60.0)])
        assert lean.stats.to_dict() == full.stats.to_dict()
        vw.search(text, Context(device="car"))
    assert full.log.get_impression(b.request_id).policy_input["shared"]
    assert all(inputs.shared == {} and len(inputs.actions) == len(engine.arms) for inputs in seen["lean"])
    assert len(seen["vw"]) == 2 and all(inputs.shared for inputs in seen["vw"])


def test_building_some_columns_gives_their_full_build_values_and_leaves_the_rest_missing(engine):
    """`only` computes the named columns as a full build does (row-wise, pooled, learned, through shared rows
    or not) and NaN elsewhere; partial and full builds sharing rows never read each other's rows."""
    from ltrr.features import FeatureInput, SharedRows
    from ltrr.retrieval.base import union

    engine, query, context = _clicked_engine(engine)
    context = replace(context, timestamp=datetime(2026, 1, 1, 12, 0))
    memory, profile, fs = engine.generators["memory"], engine.entities.user(context.user_id), engine.feature_set

    def batch(pool):
        ctr, impressions = memory.pair_stats(query, pool.entity_ids, context)
        return FeatureInput(query, context, pool, engine.entities.columns(pool.entity_ids), tuple(engine.generators),
                            profile, ctr, impressions, now=context.timestamp)

    plans = [arm.plan for arm in engine.arms if "exploration" not in dict(arm.plan)][:4]
    lists = {(name, k): engine.generators[name].generate(query, context, k) for plan in plans for name, k in plan}
    pools = [union([lists[pair] for pair in plan]) for plan in plans]
    everything = union(list(lists.values()))
    names = ["pool.rrf", "entity.popularity_normalized", "memory.ctr", "user.artist_affinity", "entity.is_new"]
    only = fs.indices(names)
    assert fs.reads_learned(only) and not fs.reads_learned(fs.indices(names[:2])) and fs.reads_learned(None)
    rest = np.setdiff1d(np.arange(len(fs)), only)
    full = fs.build(batch(everything))
    assert not np.isnan(full[:, rest]).all()
    for shared in (None, SharedRows()):
        for first in ("partial", "full"):  # either build may meet the other's shared rows
            if shared is not None:
                shared.clear()
            builds = {"partial": lambda: fs.build(batch(everything), shared, only),
                      "full": lambda: fs.build(batch(everything), shared)}
            results = {key: builds[key]() for key in (first, "full" if first == "partial" else "partial")}
            np.testing.assert_allclose(results["full"], full, rtol=0, atol=1e-12, equal_nan=True)
            partial = results["partial"]
            np.testing.assert_allclose(partial[:, list(only)], full[:, list(only)], rtol=0, atol=1e-12, equal_nan=True)
            assert np.isnan(partial[:, rest]).all()
        each = fs.build_each(batch(everything), pools, shared, only)
        for pool, matrix in zip(pools, each):
            alone = fs.build(batch(pool))
            np.testing.assert_allclose(matrix[:, list(only)], alone[:, list(only)], rtol=0, atol=1e-12, equal_nan=True)
            assert np.isnan(matrix[:, rest]).all()
    with pytest.raises(ValueError, match="not in this feature set"):
        fs.indices(["pool.rrf", "no.such_feature"])
    with pytest.raises(ValueError, match="column indices must be in"):
        fs.build(batch(everything), only=(len(fs),))


def test_a_log_without_feature_rows_builds_only_what_the_scorer_reads_and_searches_the_same(engine):
    """A fork whose log keeps no feature rows computes the scorer's and the trait statistics' columns only
    (no memory statistics for the default scorer): the same lists, scores, explanations and statistics as a
    fork whose log keeps them; it cannot train a ranker; under a ranker reading every column it builds all."""
    from ltrr.feedback.recent import RecentFeedbackLog
    from ltrr.policy.baselines import FixedPlan
    from ltrr.ranking import LambdaMartRanker, RankingData
    from ltrr.ranking.dataset import NoTrainingDataError

    # the widest plan without exploration, whose per-user "recently shown" lists the two forks would share
    arm = max((arm for arm in engine.arms if "exploration" not in dict(arm.plan)), key=lambda arm: len(arm.plan))
    lean = engine.fork(policy=FixedPlan(arm.name), log=RecentFeedbackLog(100, keep_features=False))
    full = engine.fork(policy=FixedPlan(arm.name), log=RecentFeedbackLog(100))
    calls = {"lean": 0, "full": 0}
    for name, fork in (("lean", lean), ("full", full)):
        def counted(*args, pair_stats=fork.generators["memory"].pair_stats, name=name):
            calls[name] += 1
            return pair_stats(*args)
        fork.generators["memory"].pair_stats = counted
    track = a_track(engine)
    user = next(iter(engine.store.iter_users())).user_id
    context = Context(user_id=user, device="car")

    def same_searches(texts, explain=False):
        for text in texts:
            a, b = (fork.search(text, context, limit=8, explain=explain) for fork in (lean, full))
            assert [(i.entity_id, i.score) for i in a.items] == [(i.entity_id, i.score) for i in b.items]
            assert a.items and [i.explanation for i in a.items] == [i.explanation for i in b.items]
            for fork, result in ((lean, a), (full, b)):
                fork.record_feedback(result.request_id, [(result.items[0].entity_id, 0, 60.0)])
        return a, b

    a, b = same_searches([f"{track.artist_name} {track.name}", track.name, "night drive"])
    assert lean.stats.to_dict() == full.stats.to_dict() and lean.stats.to_dict()
    assert calls["lean"] == 0 and calls["full"] == 3
    logged = lean.log.get_impression(a.request_id)
    assert logged.feature_names == () and all(item.features == () for item in logged.items)
    assert len(full.log.get_impression(b.request_id).feature_names) == len(engine.feature_set)
    with pytest.raises(NoTrainingDataError):
        lean.fit_ranker(save=False)
    same_searches(["night drive"], explain=True)  # explanations: every column
    assert calls["lean"] == 1
    rng = np.random.default_rng(3)
    n, names = 60, engine.feature_set.names
    data = RankingData(rng.normal(size=(n, len(names))), rng.integers(0, 3, size=n).astype(np.int32),
                       np.full(6, 10, dtype=np.int32), np.tile(np.arange(10, dtype=np.int32), 6), names)
    ranker = LambdaMartRanker(n_estimators=5, min_data_in_leaf=2).fit(data)
    lean.scorer = full.scorer = ranker
    same_searches([track.name, "night drive"])
    assert calls["lean"] == 3  # the ranker reads the memory columns too


def test_rank_plans_rank_each_plan_as_its_search_does(engine):
    """Several plans ranked in one call give each plan the list a search playing that plan shows."""
    from ltrr.policy.baselines import FixedPlan

    engine, query, context = _clicked_engine(engine)
    arms = [arm for arm in engine.arms if "exploration" not in dict(arm.plan)][:6]
    together = engine.rank_plans(query, context, [arm.plan for arm in arms], limit=8)
    assert len(together) == len(arms)
    for arm, (ranked, n_pool) in zip(arms, together):
        fork = engine.fork(policy=FixedPlan(arm.name))
        fork.generators["memory"] = engine.generators["memory"]  # the clicks the fork would not have
        result = fork.search(query.text, context, limit=8)
        assert result.decision.arm.name == arm.name
        assert ranked == [item.entity_id for item in result.items] and n_pool == result.n_candidates
    assert engine.rank_plans(query, context, []) == []
    assert engine.rank_plan(query, context, arms[0].plan, limit=8) == together[0]


def test_reopening_restores_clicks_and_state_unless_told_not_to(engine):
    result = engine.search("night", limit=3)
    engine.record_click(result.request_id, result.items[0].entity_id, position=0)
    engine.save()  # the policy and ranker state, and the memory's click statistics into the store
    path = engine.store.url.replace("sqlite:///", "")
    restored = Engine.open(path, config=engine.config)
    fresh = Engine.open(path, config=engine.config, restore_state=False)
    try:
        assert restored.generators["memory"].query_seen(result.query) and restored.policy.version == 1
        assert restored.index_report.action != "built"  # loaded from the build folder: one parser, shared
        assert restored.generators["structured"].parser_ is restored.parser
        assert not fresh.generators["memory"].query_seen(result.query) and fresh.policy.version == 0
    finally:
        restored.shutdown(keep_memory=False)
        fresh.shutdown(keep_memory=False)


def test_an_empty_catalog_opens_and_finds_nothing(tmp_path):
    engine = Engine.open(tmp_path / "empty.db", config=small_config())
    try:
        result = engine.search("night drive")
        assert len(result.items) == 0 and engine.log.counts()["impressions"] == 1
    finally:
        engine.shutdown()


def test_the_policy_sees_probe_lists_of_bm25_structured_and_memory_before_choosing(make_engine):
    from ltrr.policy.features import list_features

    engine, unprobed = make_engine(), make_engine(policy={"probe_depth": 0})
    track = a_track(engine)
    text = f"{track.artist_name} {track.name}"
    first = engine.search(text, Context(device="car"))
    engine.record_feedback(first.request_id, [(first.items[0].entity_id, 0, 60.0)])  # the memory learns it
    result = engine.search(text, Context(device="car"))
    shared = engine.log.get_impression(result.request_id).policy_input["shared"]
    query = engine.parser.parse(text)
    depth = engine.config.policy.probe_depth
    lists = {name: engine.generators[name].generate(query, Context(device="car"), depth)
             for name in ("bm25", "structured", "memory")}
    assert lists["bm25"] and lists["memory"] and lists["memory"][0].entity_id == first.items[0].entity_id
    assert shared["L"] == pytest.approx(list_features(lists, depth))
    assert "dense_ltop" not in shared["L"] and "exploration_ltop" not in shared["L"]  # not probed
    plain = unprobed.search(text, Context(device="car"))
    assert "L" not in unprobed.log.get_impression(plain.request_id).policy_input["shared"]
    with pytest.raises(ConfigError, match="policy.probe_depth must be >= 0, got -1"):
        small_config(policy={"probe_depth": -1})
    with pytest.raises(ConfigError, match=r"policy.pool_probe must be distinct query classes from \['spearfishing'"):
        small_config(policy={"pool_probe": ["titles"]})


def test_the_probe_lists_join_the_pool_of_a_plan_that_leaves_their_generators_out(make_engine):
    pooled = make_engine(policy={"kind": "fixed", "fixed_arm": "lean_dense", "pool_probe": ["spearfishing"]})
    alone = make_engine(policy={"kind": "fixed", "fixed_arm": "lean_dense"})  # off by default
    track = a_track(pooled)
    text, context = f"{track.artist_name} {track.name}", Context(device="car")
    depth = pooled.config.policy.probe_depth
    plan = next(arm.plan for arm in pooled.arms if arm.name == "lean_dense")
    query = pooled.parser.parse(text)
    assert query.query_class == "spearfishing"
    assert pooled.pool_plan(plan, query) == (*plan, ("bm25", depth), ("structured", depth), ("memory", depth))
    assert alone.pool_plan(plan, query) == plan
    topical = replace(query, query_class="topical")  # a class the option leaves out pools the plan alone
    assert pooled.pool_plan(plan, topical) == plan
    assert pooled.rank_plan(topical, context, plan) == alone.rank_plan(topical, context, plan)
    result = pooled.search(text, context)
    bm25 = tuple(c.entity_id for c in pooled.generators["bm25"].generate(query, context, depth))
    assert bm25 and result.retrieved["bm25"] == bm25 and set(result.retrieved) == {"dense", "bm25", "structured",
                                                                                   "memory"}
    assert result.n_candidates == len(set().union(*result.retrieved.values()))
    assert track.entity_id in {item.entity_id for item in result.items}  # BM25 finds "artist title"
    plain = alone.search(text, context)
    assert set(plain.retrieved) == {"dense"} and plain.n_candidates == len(plain.retrieved["dense"])
    # a what-if ranking pools a plan as a search does
    ranked, n_pool = pooled.rank_plan(query, context, plan)
    assert n_pool == result.n_candidates and ranked == [item.entity_id for item in result.items]
