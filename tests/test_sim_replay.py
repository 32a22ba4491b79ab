"""Replay mechanics: engine forks learn apart, shared generators compute once, the oracle picks the best plan,
the in-memory log behaves like the durable one, scenarios parse and reject bad input."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_engine import catalog_db, make_engine, small_config  # noqa: F401  (fixtures)

from ltrr.engine import Engine
from ltrr.errors import ConfigError, UnknownEntityError, UnknownRequestError
from ltrr.feedback import Click, FeedbackLog
from ltrr.feedback.recent import RecentFeedbackLog
from ltrr.policy import arm_catalogue, make_policy
from ltrr.policy.arms import widen_plan
from ltrr.simulation.oracle import OraclePolicy, arm_value, arm_values, best_arm
from ltrr.simulation.scenario import Scenario, expand_policies
from ltrr.simulation.shared import SharedGenerator, deepest_k, share_generators
from ltrr.types import Arm, Candidate, Context, Preview


def _candidates(source: str, ids: list[str]) -> list[Candidate]:
    return [Candidate(entity_id, "track", source, 1.0 / (rank + 1), rank) for rank, entity_id in enumerate(ids)]


class _Counting:
    name = "fake"

    def __init__(self, ids: list[str]) -> None:
        self.ids, self.calls = ids, []

    def generate(self, query, context, k):
        self.calls.append(k)
        return _candidates(self.name, self.ids[:k])

    def preview(self, query, context):
        self.calls.append("preview")
        return Preview(self.name, len(self.ids), 1.0, 0.5)

    def add(self, entities):
        pass


def test_shared_generator_computes_once_per_query_and_returns_prefixes(engine):
    inner = _Counting([f"t{i}" for i in range(50)])
    shared = SharedGenerator(inner, max_k=30)
    query = engine.parser.parse("night drive")
    context = Context(device="phone")
    assert [c.entity_id for c in shared.generate(query, context, 5)] == ["t0", "t1", "t2", "t3", "t4"]
    assert len(shared.generate(query, context, 30)) == 30
    assert inner.calls == [30]  # the first call computed the deepest list; the second was a prefix
    shared.generate(query, context, 40)  # deeper than computed: computed again
    assert inner.calls == [30, 40]
    shared.preview(query, context), shared.preview(query, context)
    assert inner.calls.count("preview") == 1
    shared.clear()
    shared.generate(query, context, 3)
    assert inner.calls[-1] == 30


def test_a_probe_shallower_than_any_arm_is_computed_at_its_own_depth():
    inner = _Counting([f"t{i}" for i in range(50)])
    shared = SharedGenerator(inner, max_k=30, min_k=10)
    query = SimpleNamespace(text="night drive")
    context = Context(device="phone")
    assert [c.entity_id for c in shared.generate(query, context, 4)] == ["t0", "t1", "t2", "t3"]
    assert inner.calls == [4]  # a probe: shallow, nothing cached
    assert len(shared.generate(query, context, 10)) == 10
    assert inner.calls == [4, 30]  # an arm's k: the deepest list, once
    shared.generate(query, context, 4)  # a probe after it: a prefix of what is cached
    assert inner.calls == [4, 30]
    assert len(share_generators({"bm25": inner}, arm_catalogue(["bm25", "dense"], budget=30))["bm25"]
               .generate(SimpleNamespace(text="other"), context, 3)) == 3
    assert inner.calls[-1] == 3  # share_generators gives each generator the smallest k its arms ask


def test_a_context_free_generator_keeps_its_most_recent_queries_across_sessions():
    inner = _Counting([f"t{i}" for i in range(50)])
    inner.reads_context = False
    shared = SharedGenerator(inner, max_k=30, keep=2)
    queries = [SimpleNamespace(text=text) for text in ("chill", "worship", "throwbacks")]
    alice, bob = Context(user_id="alice"), Context(user_id="bob")
    for query in queries:
        shared.generate(query, alice, 30), shared.preview(query, alice)
    shared.clear()  # between sessions: the two most recent queries stay
    assert inner.calls == [30, "preview"] * 3
    assert [c.entity_id for c in shared.generate(queries[1], bob, 5)] == [f"t{i}" for i in range(5)]
    shared.preview(queries[2], bob)
    assert inner.calls == [30, "preview"] * 3  # another user, another session: no new retrieval
    shared.generate(queries[0], bob, 30)
    assert inner.calls[-1] == 30  # the oldest query was dropped
    shared.clear(everything=True)
    shared.generate(queries[1], bob, 30)
    assert inner.calls[-1] == 30 and len(inner.calls) == 8


def test_a_generator_that_reads_the_context_keeps_nothing_across_sessions():
    inner = _Counting([f"t{i}" for i in range(50)])  # no reads_context attribute: taken to read it
    shared = SharedGenerator(inner, max_k=30, keep=10)
    query = SimpleNamespace(text="chill")
    shared.generate(query, Context(user_id="alice"), 30)
    shared.generate(query, Context(user_id="bob"), 30)  # another context: its own list
    shared.clear()
    shared.generate(query, Context(user_id="alice"), 30)
    assert (shared.keep, inner.calls) == (0, [30, 30, 30])
    with pytest.raises(ValueError, match="keep must be >= 0, got -1"):
        SharedGenerator(inner, max_k=30, keep=-1)


@pytest.mark.parametrize("name, reads", [("bm25", False), ("dense", False), ("structured", False),
                                         ("memory", True), ("exploration", True)])
def test_the_generators_declare_whether_their_lists_read_the_context(engine, name, reads):
    assert engine.generators[name].reads_context is reads


def test_a_shared_sampling_generator_gives_a_search_the_same_list_whatever_was_drawn_before():
    from datetime import datetime

    from ltrr.retrieval.exploration import ExplorationGenerator
    from ltrr.types import Entity
    from ltrr.understanding.basic import plain_query

    entities = [Entity(f"t{i}", "track", f"Night Drive {i}", "demo", f"t{i}") for i in range(60)]
    night, drive = plain_query("night"), plain_query("drive")
    context = Context(user_id="u1", timestamp=datetime(2024, 5, 6, 12))

    def draw(queries, stream):
        shared = SharedGenerator(ExplorationGenerator(mode="novel", seed=3).fit(entities), max_k=5, stream=stream)
        return [[c.entity_id for c in shared.generate(query, context, 5)] for query in queries][-1]

    alone, after = draw([drive], (11, 0)), draw([night, drive], (11, 0))
    assert alone == after and len(alone) == 5
    assert draw([drive], (11, 1)) != alone  # another seed, another sample
    # without a stream the list depends on the draws before it (60 matches, 5 drawn)
    assert draw([drive], None) != draw([night, drive], None)
    assert draw([drive], (11, 0)) == draw([drive], (11, 0))


def test_share_generators_skips_memory_and_uses_the_deepest_planned_k(engine):
    shared = share_generators(engine.generators, engine.arms)
    assert "memory" not in shared and set(shared) == set(engine.generators) - {"memory"}
    depth = deepest_k(engine.arms)
    assert all(shared[name].max_k == depth[name] for name in shared)
    assert depth["bm25"] == max(k for arm in engine.arms for g, k in arm.plan if g == "bm25")


def test_oracle_prefers_the_best_grade_then_the_smallest_pool():
    lists = {"a": _candidates("a", ["x", "y", "z"]), "b": _candidates("b", ["w", "target"])}
    arms = [Arm("a_only", (("a", 3),)), Arm("both", (("a", 3), ("b", 2))), Arm("b_only", (("b", 2),)),
            Arm("b_lean", (("b", 1),))]
    relevance = {"target": 3, "y": 1}
    assert arm_value(lists, arms[1], relevance) == (3, 5)
    assert best_arm(lists, arms, relevance) == 2  # "both" and "b_only" find grade 3; b_only pools 2, not 5
    assert best_arm(lists, arms, {"y": 1}) == 0  # only the a-arms find y; a_only's pool is smaller
    oracle = OraclePolicy()
    oracle.prepare(lists, relevance)
    decision = oracle.select(None, arms)
    assert decision.arm.name == "b_only" and decision.propensity == 1.0 and sum(decision.pmf) == 1.0


def test_the_oracle_values_the_pool_the_engine_builds_for_each_arm():
    lists = {"a": _candidates("a", ["x", "y", "z"]), "b": _candidates("b", ["target", "v", "w", "u", "t"])}
    arms = [Arm("a_lean", (("a", 2),)), Arm("b_only", (("b", 5),))]
    oracle = OraclePolicy()
    oracle.prepare(lists, {"target": 2})
    assert oracle.select(None, arms).arm.name == "b_only"  # only b's list holds the target
    # with b's first candidate pooled into every plan (as `Engine.pool_plan` pools the probe's lists), a_lean
    # finds the target too, in a pool of 3 (x, y, target) against b_only's 5
    oracle.prepare(lists, {"target": 2}, pooled_plan=lambda plan: widen_plan(plan, ["b"], 1))
    decision = oracle.select(None, arms)
    assert decision.arm == arms[0] and decision.propensity == 1.0  # the catalogue's arm, not the widened one


def test_arm_values_of_all_arms_equal_each_arms_value():
    rng = np.random.default_rng(5)
    ids = [f"e{i}" for i in range(40)]
    for _ in range(30):
        lists = {name: _candidates(name, list(rng.choice(ids, size=int(rng.integers(0, 25)), replace=False)))
                 for name in ("a", "b", "c")}
        arms = [Arm(f"arm{i}", tuple((name, int(rng.integers(1, 30))) for name in ("a", "b", "c", "gone")
                                     if rng.random() < 0.6)) for i in range(12)]
        relevance = {entity_id: int(rng.integers(1, 4)) for entity_id in rng.choice(ids, size=8, replace=False)}
        assert arm_values(lists, arms, relevance) == [arm_value(lists, arm, relevance) for arm in arms]


def test_fork_learns_apart_from_its_parent(engine):
    twin = engine.fork(policy=make_policy("fixed", arms=engine.arms, arm_name="equal"), log=RecentFeedbackLog(100))
    result = twin.search("night drive", Context(user_id=None, device="phone"))
    assert result.decision.policy == twin.policy.name and twin.policy is not engine.policy
    twin.record_feedback(result.request_id, [(result.items[0].entity_id, 0, 90.0)])
    assert twin.log.counts()["clicks"] == 1 and engine.log.counts()["impressions"] == 0
    key = result.query
    assert twin.generators["memory"].query_seen(key) and not engine.generators["memory"].query_seen(key)
    assert twin.generators["bm25"] is engine.generators["bm25"]  # indexes are shared, not copied


def test_record_feedback_settles_once_with_the_best_click(engine):
    result = engine.search("night drive", Context(device="desktop"), limit=5)
    clicks = [(result.items[2].entity_id, 2, 5.0), (result.items[0].entity_id, 0, 120.0)]
    reward = engine.record_feedback(result.request_id, clicks)
    impression = engine.log.get_impression(result.request_id)
    assert reward == pytest.approx(engine.rewards.reward(impression, engine.log.clicks_for(result.request_id)))
    assert reward == pytest.approx(1.0 - engine.rewards.cost(result.n_candidates, impression.latency_ms))
    with pytest.raises(ValueError, match="settled already"):
        engine.record_feedback(result.request_id, [])
    with pytest.raises(UnknownRequestError):
        engine.record_feedback("no-such-request", [])
    unclicked = engine.search("night drive", Context(device="desktop"), limit=5)
    assert engine.record_feedback(unclicked.request_id) == pytest.approx(
        engine.rewards.no_click - engine.rewards.cost(unclicked.n_candidates, 0.0), abs=1e-9)


def _impression_for(log, request_id: str = "r1"):
    from ltrr.feedback import Impression, RequestContext, ShownItem
    from ltrr.feedback.records import utc_now
    from ltrr.types import Decision

    decision = Decision(Arm("bm25_only", (("bm25", 100),)), 0, 1.0, (1.0,), "fixed")
    return Impression(request_id, utc_now(), log.pseudonymize("u1"), "q", "q", "topical", RequestContext(), decision,
                      0, items=(ShownItem(0, "e1", "track", 1.0), ShownItem(1, "e2", "track", 0.5)), n_candidates=2)


@pytest.mark.parametrize("make_log", [lambda: FeedbackLog.open("sqlite://"), lambda: RecentFeedbackLog(10)])
def test_recent_log_matches_the_durable_log(make_log):
    log = make_log()
    log.record_impression(_impression_for(log))
    assert log.record_click(Click("r1", "e2", dwell_s=40.0)) is True
    assert log.record_click(Click("r1", "e2")) is False
    assert [c.position for c in log.clicks_for("r1")] == [1]
    with pytest.raises(UnknownEntityError):
        log.record_click(Click("r1", "nope"))
    with pytest.raises(UnknownRequestError):
        log.get_impression("r2")
    assert log.close("r1", 0.5) is True and log.close("r1", 0.5) is False
    counts = log.counts()
    assert (counts["impressions"], counts["clicks"], counts["streams"], counts["closed"]) == (1, 1, 1, 1)
    assert [i.request_id for i, clicks in log.iter_feedback(min_clicks=1)] == ["r1"]


def test_recent_log_forgets_the_oldest_beyond_its_window():
    log = RecentFeedbackLog(max_searches=2)
    for name in ("a", "b", "c"):
        log.record_impression(_impression_for(log, name))
    assert log.n_forgotten == 1 and [i.request_id for i in log.iter_impressions()] == ["b", "c"]
    with pytest.raises(UnknownRequestError):
        log.clicks_for("a")


def test_scenario_reads_overrides_and_rejects_bad_tables(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('claim = "c"\n[catalog]\ndb = "x.db"\n[run]\nseeds = 4\nsearches = 10\n'
                    '[click_model]\nkind = "pbm"\n[engine.policy]\nbudget = 120\n', encoding="utf-8")
    scenario = Scenario.from_toml(path, overrides={"seeds": 2, "searches": None})
    assert (scenario.run.seeds, scenario.run.searches, scenario.engine.policy.budget) == (2, 10, 120)
    assert Scenario.from_toml(path, db="other.db").db == "other.db"
    path.write_text('[catalog]\ndb = "x.db"\n[runs]\nseeds = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown tables.*runs"):
        Scenario.from_toml(path)
    path.write_text('[catalog]\ndb = "x.db"\n[run]\nseeds = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="seeds must be an integer >= 1"):
        Scenario.from_toml(path)
    path.write_text('[run]\nseeds = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="names no catalog"):
        Scenario.from_toml(path)


def test_policy_names_expand_and_unknown_ones_are_refused():
    names = expand_policies(["oracle", "single_*", "vw_bag", "fixed_equal", "oracle"], ["bm25", "dense"], ["equal"])
    assert names == ["oracle", "single_bm25", "single_dense", "vw_bag", "fixed_equal"]
    with pytest.raises(ConfigError, match="unknown policy 'vw_magic'"):
        expand_policies(["vw_magic"], ["bm25"], ["equal"])


@pytest.fixture
def engine(make_engine) -> Engine:  # noqa: F811
    return make_engine()


def test_expected_reward_of_a_list_by_hand():
    from ltrr.feedback import RewardModel
    from ltrr.simulation.replay import expected_reward

    rewards = RewardModel(cost_per_candidate=0.001, no_click=-0.1)
    # P(first click at 0) = 0.5, at 1 = 0.5 * 0.4 = 0.2, none = 0.5 * 0.6 = 0.3
    # E = 0.5 * 1/log2(2) + 0.2 * 1/log2(3) + 0.3 * (-0.1) - 0.001 * 20
    expected = 0.5 + 0.2 / 1.5849625007211562 - 0.03 - 0.02
    assert expected_reward(np.array([0.5, 0.4]), rewards, 20) == pytest.approx(expected)
    assert expected_reward(np.array([0.0, 0.0]), rewards, 0) == pytest.approx(-0.1)


def test_ope_check_estimates_a_fixed_plan_from_a_uniform_log():
    from ltrr.evaluation.ope_check import check_fixed_targets, logged_rows

    arms = [Arm("a", (("bm25", 10),)), Arm("b", (("dense", 10),))]
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(4000):  # uniform logging; arm a pays 1 with p 0.6, arm b with p 0.2
        arm = "a" if rng.random() < 0.5 else "b"
        reward = float(rng.random() < (0.6 if arm == "a" else 0.2))
        rows.append({"policy": "uniform", "arm": arm, "propensity": 0.5, "reward": reward, "intent": "topical"})
    rows += [{"policy": "fixed_a", "arm": "a", "propensity": 1.0, "reward": float(rng.random() < 0.6),
              "intent": "topical"} for _ in range(4000)]
    data = logged_rows(rows, arms, "uniform")
    assert data.n_rounds == 4000 and set(data.actions.tolist()) == {0, 1}
    result = check_fixed_targets(rows, arms, "uniform", {"fixed_a": "a"})
    target = result["targets"]["fixed_a"]
    assert target["on_policy"] == pytest.approx(0.6, abs=0.03)
    for name in ("ips", "snips", "dr"):
        assert target[name]["value"] == pytest.approx(0.6, abs=0.05)
        assert target[name]["relative_error"] < 0.1
    with pytest.raises(ValueError, match="no rows of policy 'greedy'"):
        logged_rows(rows, arms, "greedy")


def test_ope_check_first_searches_leave_out_the_logging_policys_reformulations():
    from ltrr.evaluation.ope_check import check_fixed_targets

    arms = [Arm("a", (("bm25", 10),)), Arm("b", (("dense", 10),))]
    rng = np.random.default_rng(4)
    rows = []
    for _ in range(4000):  # first searches: arm a pays with p 0.6, b with p 0.2
        arm = "a" if rng.random() < 0.5 else "b"
        rows.append({"policy": "uniform", "arm": arm, "propensity": 0.5, "attempt": 0, "intent": "topical",
                     "reward": float(rng.random() < (0.6 if arm == "a" else 0.2))})
        if rows[-1]["reward"] == 0.0:  # unsatisfied: a reformulation that no plan satisfies
            rows.append({"policy": "uniform", "arm": "a" if rng.random() < 0.5 else "b", "propensity": 0.5,
                         "attempt": 1, "intent": "topical", "reward": 0.0})
    rows += [{"policy": "fixed_a", "arm": "a", "propensity": 1.0, "attempt": 0, "intent": "topical",
              "reward": float(rng.random() < 0.6)} for _ in range(4000)]
    every = check_fixed_targets(rows, arms, "uniform", {"fixed_a": "a"})["targets"]["fixed_a"]
    first = check_fixed_targets(rows, arms, "uniform", {"fixed_a": "a"}, first_only=True)
    assert first["first_only"] and first["n_logged"] == 4000
    first = first["targets"]["fixed_a"]
    assert every["snips"]["relative_error"] > 0.15  # the reformulations drag the estimate down
    for name in ("ips", "snips", "dr"):
        assert first[name]["relative_error"] < 0.1
    rows.append({"policy": "uniform", "arm": "a", "propensity": 0.5, "intent": "topical", "reward": 1.0})
    with pytest.raises(ValueError, match="has no 'attempt'"):
        check_fixed_targets(rows, arms, "uniform", {"fixed_a": "a"}, first_only=True)


def test_recent_log_can_drop_the_bandit_inputs():
    log = RecentFeedbackLog(10, keep_policy_input=False)
    impression = _impression_for(log)
    from dataclasses import replace

    log.record_impression(replace(impression, policy_input={"shared": {}, "actions": [], "query_class": "topical"}))
    assert log.get_impression("r1").policy_input == {}
    assert log.get_impression("r1").items == impression.items
