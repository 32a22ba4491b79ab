"""The arm catalogue: its documented shape, splits worked by hand, and bad input."""

from __future__ import annotations

import pytest

from ltrr.errors import ConfigError
from ltrr.policy import arm_catalogue, arm_index
from ltrr.policy.arms import widen_plan

GENERATORS = ("bm25", "dense", "structured", "memory", "exploration")


def test_catalogue_names_in_documented_order():
    names = [arm.name for arm in arm_catalogue(GENERATORS)]
    pairs = ["bm25+dense", "bm25+structured", "bm25+memory", "bm25+exploration", "dense+structured",
             "dense+memory", "dense+exploration", "structured+memory", "structured+exploration", "memory+exploration"]
    assert names == [*GENERATORS, "equal", *pairs, *(f"{g}_heavy" for g in GENERATORS),
                     *(f"lean_{g}" for g in GENERATORS), "lean_equal"]


def test_catalogue_plans_worked_by_hand():
    arms = {arm.name: arm.plan for arm in arm_catalogue(GENERATORS, budget=300)}
    assert arms["bm25"] == (("bm25", 300),)
    assert arms["equal"] == tuple((g, 60) for g in GENERATORS)
    assert arms["dense+memory"] == (("dense", 150), ("memory", 150))
    # 60% of 300 = 180 to the favoured generator; the other four split 120
    assert arms["memory_heavy"] == (("bm25", 30), ("dense", 30), ("structured", 30), ("memory", 180),
                                    ("exploration", 30))
    assert arms["lean_dense"] == (("dense", 100),)
    assert arms["lean_equal"] == tuple((g, 20) for g in GENERATORS)


def test_remainder_goes_to_generators_listed_first():
    arms = {arm.name: arm.plan for arm in arm_catalogue(["a", "b", "c"], budget=302)}
    assert arms["equal"] == (("a", 101), ("b", 101), ("c", 100))
    assert arms["a+c"] == (("a", 151), ("c", 151))


def test_plans_keep_the_given_generator_order_and_budget():
    order = ("memory", "bm25", "dense")
    for arm in arm_catalogue(order, budget=300):
        positions = [order.index(name) for name, _ in arm.plan]
        assert positions == sorted(positions), arm
        assert arm.budget == (100 if arm.name.startswith("lean_") else 300)
        assert all(k >= 1 for _, k in arm.plan)


def test_catalogue_is_deterministic_and_has_distinct_names_and_plans():
    first, second = arm_catalogue(GENERATORS), arm_catalogue(list(GENERATORS))
    assert first == second
    assert len({arm.name for arm in first}) == len({arm.plan for arm in first}) == len(first) == 27


def test_repeated_plans_are_dropped():
    assert [arm.name for arm in arm_catalogue(["bm25"])] == ["bm25", "lean_bm25"]
    # with two generators the pair is the equal split
    assert "bm25+dense" not in [arm.name for arm in arm_catalogue(["bm25", "dense"])]


def test_tiny_budget_leaves_out_plans_that_cannot_feed_every_generator():
    arms = {arm.name: arm.plan for arm in arm_catalogue(GENERATORS, budget=5)}
    assert arms["equal"] == tuple((g, 1) for g in GENERATORS)
    assert not any(name.endswith("_heavy") for name in arms)  # 3 for one leaves 2 for four others
    assert "lean_equal" not in arms and arms["lean_bm25"] == (("bm25", 1),)


@pytest.mark.parametrize("generators, budget, message", [
    ([], 300, "generators is empty"),
    (["bm25", "dense", "bm25"], 300, r"duplicates \['bm25'\]"),
    ("bm25", 300, "must be a sequence of names"),
    (["bm25", " "], 300, "non-empty strings"),
    (["bm25", "dense", "memory"], 2, r"budget must be an integer >= the number of generators \(3\), got 2"),
    (["bm25"], 0, "budget must be an integer"),
    (["bm25"], 300.0, "budget must be an integer"),
    (["bm25"], True, "budget must be an integer"),
])
def test_catalogue_rejects_bad_input(generators, budget, message):
    with pytest.raises(ValueError, match=message):
        arm_catalogue(generators, budget=budget)


def test_arm_index_finds_arms_and_names_the_known_ones():
    arms = arm_catalogue(["bm25", "dense"])
    assert arms[arm_index(arms, "dense_heavy")].name == "dense_heavy"
    with pytest.raises(ConfigError, match=r"unknown arm 'bm25_dense'.*'bm25', 'dense', 'equal'"):
        arm_index(arms, "bm25_dense")


def test_widen_plan_raises_and_appends_the_named_generators_after_the_plan():
    plan = (("dense", 100), ("bm25", 5), ("exploration", 3))
    assert widen_plan(plan, ["bm25", "structured", "memory"], 10) == (
        ("dense", 100), ("bm25", 10), ("exploration", 3), ("structured", 10), ("memory", 10))
    assert widen_plan((("bm25", 300),), ["bm25"], 10) == (("bm25", 300),)  # deep enough already
    assert widen_plan(plan, ["bm25"], 0) == plan  # nothing to widen by
    assert widen_plan((), ["memory"], 4) == (("memory", 4),)
