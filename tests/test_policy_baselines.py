"""Baselines, make_policy and the shared helpers (floor_pmf, sample_index, load_policy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltrr.config import EngineConfig
from ltrr.engine_support import policy_from_config
from ltrr.errors import ConfigError
from ltrr.policy import (
    FixedPlan,
    Policy,
    SingleGenerator,
    UniformRandom,
    VWPolicy,
    arm_catalogue,
    floor_pmf,
    load_policy,
    make_policy,
    policy_input,
    sample_index,
)
from ltrr.types import Context, Query

ARMS = arm_catalogue(("bm25", "dense", "structured"))  # 14 arms
NAMES = [arm.name for arm in ARMS]
INPUTS = policy_input(Query("night drive", "night drive", ("night", "drive")), Context.anonymous(), ARMS, {})


def test_fixed_plan_always_picks_its_arm_with_propensity_one():
    decision = FixedPlan("dense+structured").select(INPUTS, ARMS)
    assert decision.arm.name == "dense+structured" and decision.propensity == 1.0
    assert decision.pmf == tuple(1.0 if name == "dense+structured" else 0.0 for name in NAMES)
    assert decision.policy == "fixed_dense+structured"
    with pytest.raises(ConfigError, match="unknown arm 'nope'"):
        FixedPlan("nope").select(INPUTS, ARMS)


def test_single_generator_picks_the_full_budget_arm_not_the_lean_one():
    decision = SingleGenerator("dense").select(INPUTS, ARMS)
    assert (decision.arm.name, decision.arm.plan, decision.propensity) == ("dense", (("dense", 300),), 1.0)
    with pytest.raises(ConfigError, match="no arm calls generator 'memory' alone.*'bm25', 'dense', 'structured'"):
        SingleGenerator("memory").select(INPUTS, ARMS)


def test_uniform_random_is_uniform_seeded_and_covers_every_arm():
    draws = [UniformRandom(seed=5).select(INPUTS, ARMS) for _ in range(2)]
    assert draws[0] == draws[1]
    assert draws[0].pmf == tuple([1.0 / 14] * 14) and draws[0].propensity == 1.0 / 14
    policy = UniformRandom(seed=5)
    chosen = {policy.select(INPUTS, ARMS).arm_index for _ in range(200)}
    assert chosen == set(range(14))


@pytest.mark.parametrize("policy", [FixedPlan("equal"), SingleGenerator("bm25"), UniformRandom(1)], ids=repr)
def test_baselines_follow_the_protocol_and_do_not_learn(policy):
    assert isinstance(policy, Policy)
    decision = policy.select(INPUTS, ARMS)
    policy.update(INPUTS, decision, 1.0)
    assert policy.version == 0
    with pytest.raises(ValueError, match="reward must be a number in"):
        policy.update(INPUTS, decision, float("nan"))


@pytest.mark.parametrize("kind, options", [("fixed", {"arm_name": "bm25_heavy"}), ("single", {"generator": "dense"}),
                                           ("uniform", {}), ("greedy", {}), ("vw", {"exploration": "bag"})])
def test_save_then_load_policy_gives_identical_decisions(kind, options, tmp_path):
    original = make_policy(kind, arms=ARMS, seed=9, **options)
    for _ in range(3):  # move any rng state away from the seed's start
        original.update(INPUTS, original.select(INPUTS, ARMS), 0.5)
    original.save(tmp_path)
    restored = load_policy(tmp_path)
    assert type(restored) is type(original) and restored.name == original.name
    assert [original.select(INPUTS, ARMS) for _ in range(10)] == [restored.select(INPUTS, ARMS) for _ in range(10)]


@pytest.mark.parametrize("kind, options, name, cls", [
    ("vw", {}, "vw_squarecb", VWPolicy),
    ("vw", {"exploration": "cover", "cover_size": 4}, "vw_cover", VWPolicy),
    ("greedy", {"learning_rate": 0.1}, "vw_greedy", VWPolicy),
    ("fixed", {"arm_name": "lean_equal"}, "fixed_lean_equal", FixedPlan),
    ("single", {"generator": "structured"}, "single_structured", SingleGenerator),
    ("uniform", {}, "uniform", UniformRandom),
])
def test_make_policy_builds_each_kind(kind, options, name, cls):
    policy = make_policy(kind, arms=ARMS, seed=0, **options)
    assert isinstance(policy, cls) and policy.name == name


@pytest.mark.parametrize("kind, options, message", [
    ("thompson", {}, "unknown policy kind 'thompson'; pick one of vw, greedy, fixed, single, uniform"),
    ("uniform", {"epsilon": 0.1}, r"unknown option\(s\) \['epsilon'\] for policy kind 'uniform'; its options are: none"),
    ("greedy", {"exploration": "bag"}, r"unknown option\(s\) \['exploration'\] for policy kind 'greedy'"),
    ("fixed", {}, "policy kind 'fixed' needs the option 'arm_name'"),
    ("fixed", {"arm_name": "nope"}, "unknown arm 'nope'"),
    ("single", {"generator": "memory"}, "no arm calls generator 'memory' alone"),
    ("vw", {"exploration": "softmax"}, "unknown exploration 'softmax'"),
    ("vw", {"min_propensity": 0.1}, r"min_propensity 0.1 is too high for 14 arms .* use at most 0.07143"),
])
def test_make_policy_rejects_bad_configuration(kind, options, message):
    with pytest.raises(ConfigError, match=message):
        make_policy(kind, arms=ARMS, seed=0, **options)


def test_make_policy_needs_arms():
    with pytest.raises(ConfigError, match="arms is empty"):
        make_policy("uniform", arms=(), seed=0)


def test_floor_pmf_by_hand():
    # lowest 0 must reach 0.1: mix weight w with 0.1 = w / 4 -> w = 0.4; best arm 0.6 * 1 + 0.1
    assert floor_pmf([1.0, 0.0, 0.0, 0.0], 0.1) == pytest.approx([0.7, 0.1, 0.1, 0.1])
    assert list(floor_pmf([2.0, 1.0, 1.0], 0.1)) == [0.5, 0.25, 0.25]  # normalized, already above the floor
    assert floor_pmf([1.0, 0.0, 0.0, 0.0], 0.25) == pytest.approx([0.25] * 4)


@pytest.mark.parametrize("pmf, floor, message", [
    ([0.5, 0.5, 0.0, 0.0], 0.3, r"min_propensity must be in \[0, 1 / n_arms\] = \[0, 0.25\] for 4 arms, got 0.3"),
    ([0.5, 0.5], -0.1, "min_propensity must be in"),
    ([0.0, 0.0], 0.1, "pmf must be non-negative with a positive finite sum"),
    ([1.5, -0.5], 0.1, "pmf must be non-negative"),
])
def test_floor_pmf_rejects_bad_input(pmf, floor, message):
    with pytest.raises(ValueError, match=message):
        floor_pmf(pmf, floor)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30).filter(lambda values: sum(values) > 1e-6),
       st.floats(0.0, 1.0))
def test_floor_pmf_property(values, share):
    floor = share / len(values)
    pmf = floor_pmf(values, floor)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert pmf.min() >= floor - 1e-9
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(pmf[order]) >= -1e-12)  # mixing with uniform keeps the arms' order


def test_sample_index_follows_the_pmf_and_the_held_generator():
    pmf = np.array([0.0, 0.25, 0.75])
    rng = np.random.default_rng(3)
    draws = [sample_index(pmf, rng) for _ in range(4000)]
    assert 0 not in draws
    assert np.mean(np.array(draws) == 2) == pytest.approx(0.75, abs=0.03)
    assert [sample_index(pmf, np.random.default_rng(3)) for _ in range(2)] == [draws[0]] * 2


def test_policy_from_config_passes_the_floor_and_its_decay():
    config = EngineConfig.from_dict({"policy": {"min_propensity": 0.004, "floor_decay": 250}})
    policy = policy_from_config(config, arm_catalogue(["bm25", "dense"]))
    assert isinstance(policy, VWPolicy)
    assert (policy.min_propensity, policy.floor_decay) == (0.004, 250)
