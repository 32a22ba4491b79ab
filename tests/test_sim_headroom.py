"""Headroom from full-information plan values: the regret arithmetic on hand-made values, and a tiny collection
through a real replay (the oracle evaluates every plan of every search)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from test_sim_smoke import SMALL_WORLD

from ltrr.engine import Engine
from ltrr.policy import PolicyInput
from ltrr.simulation.click_models import make_click_model
from ltrr.simulation.headroom import PlanValues, collect_plan_values, feature_matrix, headroom
from ltrr.simulation.run import ensure_synthetic_catalog
from ltrr.simulation.scenario import Scenario
from ltrr.simulation.world import World, WorldConfig


def _inputs(query_class: str, signal: float) -> PolicyInput:
    """Two arms; the context feature `signal` is what tells which arm is better."""
    return PolicyInput({"S": {f"class_{query_class}": 1.0, "signal": signal}},
                       ({"A": {"arm_a": 1.0}}, {"A": {"arm_b": 1.0}}), query_class)


def _plan_values(n: int, seed: int = 0) -> PlanValues:
    """Arm a is worth 1 when signal > 0.5 and 0 otherwise; arm b is worth 0.6 always; the class says nothing."""
    rng = np.random.default_rng(seed)
    signal = rng.random(n)
    classes = [("topical", "spearfishing")[i % 2] for i in range(n)]
    values = np.column_stack([(signal > 0.5).astype(float), np.full(n, 0.6)])
    return PlanValues(("a", "b"), values, tuple(classes), tuple(_inputs(c, s) for c, s in zip(classes, signal)))


def test_headroom_by_hand():
    values = _plan_values(2000)
    report = headroom(values, train_share=0.5)
    test = values.values[1000:]
    oracle = test.max(axis=1)
    fixed = report["policies"]["best_fixed"]
    assert fixed["arm"] == "b"  # 0.6 always beats a's ~0.5 mean
    assert fixed["regret_per_search"] == pytest.approx(float(np.mean(oracle - 0.6)))
    # the class carries no information: the per-class choice is the fixed plan's
    assert report["policies"]["per_class"]["arms"] == {"spearfishing": "b", "topical": "b"}
    # a learner on the context finds the signal and chooses a exactly where it is worth 1: (almost) no regret
    assert report["policies"]["full_information"]["regret_per_search"] < 0.05 * fixed["regret_per_search"]
    assert report["full_information_over_best_fixed"] < 0.05
    assert report["oracle_value"] == pytest.approx(float(oracle.mean()))
    assert (report["n_train"], report["n_test"]) == (1000, 1000)
    assert set(report["by_class"]) == {"topical", "spearfishing"}


def test_headroom_without_signal_leaves_the_learner_at_the_fixed_plan():
    values = _plan_values(2000)
    noise = tuple(_inputs(c, 0.0) for c in values.query_classes)  # the signal hidden from every policy
    report = headroom(replace(values, inputs=noise))
    learned = report["policies"]["full_information"]["regret_per_search"]
    assert learned == pytest.approx(report["policies"]["best_fixed"]["regret_per_search"], rel=0.05)


def test_headroom_refuses_bad_splits_and_misaligned_values():
    values = _plan_values(10)
    for share in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="train_share"):
            headroom(values, train_share=share)
    with pytest.raises(ValueError, match="cannot be split"):
        headroom(_plan_values(1), train_share=0.5)
    with pytest.raises(ValueError, match="do not describe the same searches"):
        PlanValues(("a", "b"), np.zeros((3, 2)), ("x",) * 3, values.inputs[:2])


def test_feature_matrix_one_row_per_search_and_arm():
    matrix, columns = feature_matrix([_inputs("topical", 0.25), _inputs("ambiguous", 0.75)])
    assert matrix.shape == (4, len(columns))
    dense = matrix.toarray()
    assert dense[1, columns.index("A:arm_b")] == 1.0 and dense[1, columns.index("A:arm_a")] == 0.0
    assert dense[3, columns.index("S:signal")] == 0.75 and dense[2, columns.index("S:class_ambiguous")] == 1.0


def test_collect_plan_values_evaluates_every_plan_of_every_search(tmp_path):
    data = json.loads(json.dumps(SMALL_WORLD))
    data["catalog"]["db"] = str(tmp_path / "catalog.db")
    scenario = replace(Scenario.from_dict(data, name="small"), synthetic=True)
    ensure_synthetic_catalog(scenario)
    engine = Engine.open(scenario.db, config=scenario.engine, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world))
        click_model = make_click_model(**scenario.click_model)
        values = collect_plan_values(engine, world, click_model, scenario, seed=0, n_sessions=8)
        again = collect_plan_values(engine, world, click_model, scenario, seed=0, n_sessions=8)
    finally:
        engine.shutdown(keep_memory=False)
    assert values.arms == tuple(arm.name for arm in engine.arms)
    assert values.values.shape[0] >= 8 and values.values.shape[1] == len(engine.arms)
    assert np.all(values.values <= 1.0) and np.all(values.values >= -1.0)
    assert np.array_equal(values.values, again.values)  # seeded: the same stream gives the same values
    assert values.query_classes == tuple(inputs.query_class for inputs in values.inputs)
    report = headroom(values)
    assert all(report["policies"][name]["regret_per_search"] >= 0.0 for name in report["policies"])
