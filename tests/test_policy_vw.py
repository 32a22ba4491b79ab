"""VWPolicy mechanics with fixed seeds: pmf and floor, logged propensity, learning moves mass, save/load, errors."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from ltrr.errors import ConfigError
from ltrr.policy import EXPLORATIONS, VWPolicy, arm_catalogue, load_policy, policy_input
from ltrr.policy.vw import example_lines
from ltrr.types import Candidate, Context, Decision, Preview, Query

GENERATORS = ("bm25", "dense", "structured")
ARMS = arm_catalogue(GENERATORS, budget=300)  # 14 arms
NAMES = [arm.name for arm in ARMS]


def make_inputs(query_class: str):
    """Two clearly different contexts: a short spearfishing query with a strong BM25 preview, a topical one."""
    text = "vela moss night drive" if query_class == "spearfishing" else "moody 90s trip hop for rain"
    query = Query(text, text, tuple(text.split()), (), "", query_class)
    strong = query_class == "spearfishing"
    previews = {"bm25": Preview("bm25", 3 if strong else 400, 12.0 if strong else 2.0, 6.0 if strong else 0.1),
                "dense": Preview("dense", 50, 0.6, 0.02)}
    return policy_input(query, Context(device="phone"), ARMS, previews)


SPEAR, TOPICAL = make_inputs("spearfishing"), make_inputs("topical")
# the synthetic truth: each context has one rewarded arm
BEST = {"spearfishing": NAMES.index("bm25"), "topical": NAMES.index("dense_heavy")}


def train(policy: VWPolicy, steps: int) -> None:
    """On-policy steps alternating the two contexts; reward 1 for the context's best arm, else 0."""
    for step in range(steps):
        inputs = SPEAR if step % 2 else TOPICAL
        decision = policy.select(inputs, ARMS)
        policy.update(inputs, decision, 1.0 if decision.arm_index == BEST[inputs.query_class] else 0.0)


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_pmf_sums_to_one_respects_the_floor_and_logs_the_chosen_probability(exploration):
    policy = VWPolicy(exploration, min_propensity=0.02, seed=3)
    for step in range(12):
        inputs = SPEAR if step % 2 else TOPICAL
        decision = policy.select(inputs, ARMS)
        assert len(decision.pmf) == len(ARMS)
        assert sum(decision.pmf) == pytest.approx(1.0, abs=1e-9)
        assert min(decision.pmf) >= 0.02 - 1e-12
        assert decision.propensity == decision.pmf[decision.arm_index]
        assert decision.arm == ARMS[decision.arm_index]
        assert (decision.policy, decision.policy_version) == (f"vw_{exploration}", step)
        policy.update(inputs, decision, -0.5 if step % 3 else 1.0)
    assert policy.version == 12


def train_from_uniform_log(policy: VWPolicy, steps: int) -> None:
    """Off-policy updates from a uniform logger: every arm gets tried in both contexts, so only learning
    (not the luck of the policy's own exploration) decides where the mass goes."""
    rng = np.random.default_rng(0)
    uniform = tuple([1.0 / len(ARMS)] * len(ARMS))
    for step in range(steps):
        inputs = SPEAR if step % 2 else TOPICAL
        index = int(rng.integers(len(ARMS)))
        logged = Decision(ARMS[index], index, uniform[index], uniform, "uniform")
        policy.update(inputs, logged, 1.0 if index == BEST[inputs.query_class] else 0.0)


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_rewarding_an_arm_in_a_context_grows_its_mass_there(exploration):
    policy = VWPolicy(exploration, seed=0)
    before = {inputs.query_class: policy.select(inputs, ARMS).pmf for inputs in (TOPICAL, SPEAR)}
    train_from_uniform_log(policy, 300)
    for inputs in (TOPICAL, SPEAR):
        pmf = policy.select(inputs, ARMS).pmf
        best = BEST[inputs.query_class]
        assert pmf[best] == max(pmf) > before[inputs.query_class][best], (inputs.query_class, pmf)


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_native_calls_give_the_public_apis_decisions(exploration, monkeypatch):
    """The policy drives VW through its compiled bindings (no per-line Example objects); the public
    Workspace.predict / learn path, which it falls back to, must decide exactly the same."""
    from ltrr.policy import vw

    assert vw._NATIVE is not None, "vowpalwabbit's compiled bindings are missing: every search takes the slow path"
    native = VWPolicy(exploration, seed=5)
    train(native, 60)
    monkeypatch.setattr(vw, "_NATIVE", None)
    public = VWPolicy(exploration, seed=5)
    train(public, 60)
    for inputs in (SPEAR, TOPICAL):
        assert public.select(inputs, ARMS).pmf == pytest.approx(native.select(inputs, ARMS).pmf, abs=1e-12)


def test_probe_features_let_one_query_context_prefer_different_plans():
    """Same query, user and previews; only the probe lists differ (BM25 and memory agree, or not). With the
    lists x plan interaction the policy learns a different best plan for each; without it, it cannot."""
    query = Query("wait", "wait", ("wait",), (), "", "spearfishing")

    def inputs(agree: bool):
        memory = [Candidate("t1" if agree else "t9", "track", "memory", 0.8, 0)]
        lists = {"bm25": [Candidate("t1", "track", "bm25", 9.0, 0)], "memory": memory}
        return policy_input(query, Context(device="phone"), ARMS, {}, lists=lists, probe_depth=10)

    agree, disagree = inputs(True), inputs(False)
    best = {id(agree): NAMES.index("bm25"), id(disagree): NAMES.index("equal")}
    uniform = tuple([1.0 / len(ARMS)] * len(ARMS))

    def trained(interactions):
        policy = VWPolicy("greedy", min_propensity=0.0, seed=0, interactions=interactions)
        rng = np.random.default_rng(0)
        for step in range(400):
            search = agree if step % 2 else disagree
            index = int(rng.integers(len(ARMS)))
            policy.update(search, Decision(ARMS[index], index, uniform[index], uniform, "uniform"),
                          1.0 if index == best[id(search)] else 0.0)
        return [policy.select(search, ARMS).arm_index for search in (agree, disagree)]

    assert trained(("SA", "UA", "SP", "LA")) == [best[id(agree)], best[id(disagree)]]
    assert len(set(trained(("SA", "UA", "SP")))) == 1  # the lists alone, not crossed with the plan: one choice


def test_greedy_without_floor_logs_propensity_one_for_the_best_arm():
    policy = VWPolicy("greedy", min_propensity=0.0, seed=0)
    train_from_uniform_log(policy, 300)
    decision = policy.select(TOPICAL, ARMS)
    assert (decision.arm_index, decision.propensity) == (BEST["topical"], 1.0)


def test_greedy_with_floor_logs_the_floored_pmf():
    policy = VWPolicy("greedy", min_propensity=0.01, seed=0)
    train_from_uniform_log(policy, 300)
    pmf = policy.select(TOPICAL, ARMS).pmf
    assert max(pmf) == pytest.approx(1.0 - (len(ARMS) - 1) * 0.01)
    assert min(pmf) == pytest.approx(0.01)


def test_a_decaying_floor_holds_for_floor_decay_updates_then_shrinks_as_the_square_root():
    policy = VWPolicy("greedy", min_propensity=0.01, floor_decay=100, seed=0)
    train_from_uniform_log(policy, 100)
    assert policy.select(TOPICAL, ARMS).propensity == pytest.approx(1.0 - (len(ARMS) - 1) * 0.01)
    train_from_uniform_log(policy, 300)  # 400 updates: the floor is 0.01 * sqrt(100 / 400)
    decision = policy.select(TOPICAL, ARMS)
    assert policy.floor() == pytest.approx(0.005)
    assert min(decision.pmf) == pytest.approx(0.005)
    assert decision.propensity == pytest.approx(1.0 - (len(ARMS) - 1) * 0.005)


@pytest.mark.parametrize("exploration", EXPLORATIONS)
def test_save_then_load_gives_identical_decisions(exploration, tmp_path):
    original = VWPolicy(exploration, learning_rate=0.3, interactions=("SA", "SP"), seed=11, floor_decay=10)
    train(original, 30)
    original.save(tmp_path / "policy")
    restored = load_policy(tmp_path / "policy")
    assert isinstance(restored, VWPolicy)
    assert (restored.name, restored.version, restored.options()) == (original.name, 30, original.options())
    trails = []
    for policy in (original, restored):
        trail = []
        for step in range(20):
            inputs = SPEAR if step % 3 else TOPICAL
            decision = policy.select(inputs, ARMS)
            trail.append(decision)
            policy.update(inputs, decision, 1.0 if decision.arm.name == "structured" else -0.3)
        trails.append(trail)
    assert trails[0] == trails[1]


def test_update_puts_the_cb_label_on_the_chosen_line_only():
    decision = VWPolicy("epsilon", seed=0).select(TOPICAL, ARMS)
    lines = example_lines(TOPICAL, label=(decision.arm_index, -1.0, decision.propensity))
    assert lines[0].startswith("shared |S ")
    labelled = [index for index, line in enumerate(lines[1:]) if not line.startswith("|")]
    assert labelled == [decision.arm_index]
    assert lines[1 + decision.arm_index].startswith(f"0:-1.0:{decision.propensity!r} |A ")


@pytest.mark.parametrize("with_stats", [False, True])
def test_the_lines_policy_input_renders_equal_those_rendered_from_its_dicts(with_stats):
    from ltrr.policy import GeneratorStats, PolicyInput
    from ltrr.policy.vw import namespaces_text
    stats = None
    if with_stats:
        stats = GeneratorStats()
        stats.record("spearfishing", ARMS[NAMES.index("bm25_heavy")], 0.75)
        stats.record_traits("spearfishing", "dense", {"new": 0.5, "popular": 0.0, "personalized": 1.0})
    query = Query("vela moss", "vela moss", ("vela", "moss"), (), "", "spearfishing")
    previews = {"bm25": Preview("bm25", 3, 12.5, float("nan")), "dense": Preview("dense", 0, 0.0, 0.0),
                "structured": Preview("structured", 7, 0.25, 1e-12)}
    built = policy_input(query, Context(device="car", user_id="u1"), ARMS, previews, taste=["hip hop", "rock"],
                         memory_seen=True, stats=stats)
    fresh = PolicyInput(built.shared, built.actions, built.query_class)  # no lines kept: rendered from the dicts
    assert "_vw_lines" in built.__dict__ and "_vw_lines" not in fresh.__dict__
    expected = ["shared " + namespaces_text(fresh.shared)] + [namespaces_text(action) for action in fresh.actions]
    assert example_lines(built) == expected
    assert any("arm_reward:" in line for line in expected) == with_stats


def test_concurrent_selects_and_updates_do_not_corrupt_the_workspace():
    policy = VWPolicy("squarecb", seed=0)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                decision = policy.select(TOPICAL, ARMS)
                policy.update(TOPICAL, decision, 0.5)
        except BaseException as error:  # reported below: an exception in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and policy.version == 100


@pytest.mark.parametrize("kwargs, message", [
    ({"exploration": "thompson"}, "unknown exploration 'thompson'; pick one of epsilon, squarecb"),
    ({"epsilon": 1.5}, r"epsilon must be a number in \[0.0, 1.0\], got 1.5"),
    ({"min_propensity": -0.1}, "min_propensity must be a number in"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
    ({"gamma_scale": float("nan")}, "gamma_scale must be a finite number > 0"),
    ({"bag_size": 0}, "bag_size must be an integer >= 1"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"floor_decay": -5}, "floor_decay must be an integer >= 0"),
    ({"interactions": "SA"}, "interactions must be a sequence"),
    ({"interactions": ("S A",)}, "interactions must be a sequence"),
])
def test_bad_options_raise_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        VWPolicy(**kwargs)


def test_floor_too_high_for_the_catalogue_raises_at_select():
    with pytest.raises(ConfigError, match=r"min_propensity must be in \[0, 1 / n_arms\].*14 arms, got 0.1"):
        VWPolicy("epsilon", min_propensity=0.1).select(TOPICAL, ARMS)


def test_bad_update_and_mismatched_arms_raise():
    policy = VWPolicy("epsilon", seed=0)
    decision = policy.select(TOPICAL, ARMS)
    with pytest.raises(ValueError, match=r"reward must be a number in \[-1, 1\], got 2"):
        policy.update(TOPICAL, decision, 2)
    with pytest.raises(ValueError, match="inputs describe 14 arms but 13 arms were given"):
        policy.select(TOPICAL, ARMS[:-1])
    with pytest.raises(ValueError, match="the inputs' arm 0 was not built for arm 'dense'"):
        policy.select(TOPICAL, (ARMS[1], ARMS[0], *ARMS[2:]))
    with pytest.raises(ValueError, match="was not built for arm"):
        policy.update(TOPICAL, replace(decision, arm=ARMS[(decision.arm_index + 1) % len(ARMS)]), 1.0)
    assert policy.version == 0


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved policy"):
        load_policy(tmp_path)
    VWPolicy("epsilon").save(tmp_path / "vw")
    (tmp_path / "vw" / "model.vw").unlink()
    with pytest.raises(FileNotFoundError, match="model.vw is missing"):
        load_policy(tmp_path / "vw")
