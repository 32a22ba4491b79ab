"""RewardModel: worked examples by hand and invalid parameters."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from ltrr.feedback import Click, Impression, RequestContext, RewardModel, ShownItem
from ltrr.types import Arm, Decision

DECISION = Decision(Arm("bm25_only", (("bm25", 100),)), 0, 1.0, (1.0,), "fixed")


def search(n_candidates: int = 100, latency_ms: float = 20.0) -> Impression:
    items = tuple(ShownItem(p, f"t{p}", "track", 1.0) for p in range(5))
    return Impression("r1", datetime(2025, 1, 1), None, "q", "q", "topical", RequestContext(), DECISION, 0,
                      items=items, n_candidates=n_candidates, latency_ms=latency_ms)


def click(entity_id: str, dwell_s: float | None = None) -> Click:
    return Click("r1", entity_id, dwell_s=dwell_s)


def test_no_click_pays_only_the_cost():
    # 0 - 0.0005 * 100 candidates
    assert RewardModel().reward(search(), []) == pytest.approx(-0.05)


def test_click_at_top_is_worth_the_click_value():
    assert RewardModel(cost_per_candidate=0.0).reward(search(), [click("t0")]) == pytest.approx(1.0)


def test_best_discounted_click_wins():
    # positions 1 and 3: 1/log2(3) = 0.631 beats 1/log2(5) = 0.431; minus 0.0005 * 100
    got = RewardModel().reward(search(), [click("t3"), click("t1")])
    assert got == pytest.approx(1 / math.log2(3) - 0.05)


def test_stream_value_and_no_discount():
    model = RewardModel(click_value=0.5, stream_value=1.0, cost_per_candidate=0.0)
    # stream at position 2: 1.0 / log2(4) = 0.5; click at position 1: 0.5 / log2(3) = 0.315
    assert model.reward(search(), [click("t2", dwell_s=30.0), click("t1", dwell_s=29.9)]) == pytest.approx(0.5)
    flat = RewardModel(click_value=0.5, stream_value=0.8, rank_discount=False, cost_per_candidate=0.0)
    assert flat.reward(search(), [click("t4", dwell_s=31.0), click("t0")]) == pytest.approx(0.8)


def test_costs_per_candidate_and_ms():
    # 1/log2(2) - 0.001 * 300 - 0.002 * 150 = 1 - 0.3 - 0.3
    model = RewardModel(cost_per_candidate=0.001, cost_per_ms=0.002)
    assert model.reward(search(300, 150.0), [click("t0")]) == pytest.approx(0.4)


def test_clipped_to_minus_one_and_unshown_clicks_ignored():
    model = RewardModel(no_click=-0.5, cost_per_candidate=0.01)
    # -0.5 - 0.01 * 500 = -5.5 -> -1; the click on "t9" was not shown, so it earns nothing
    assert model.reward(search(500), [click("t9")]) == -1.0
    assert RewardModel(click_value=3.0, cost_per_candidate=0.0).reward(search(), [click("t0")]) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"click_value": -0.1}, "click_value must be a finite number >= 0, got -0.1"),
    ({"stream_value": math.nan}, "stream_value must be a finite number >= 0, got nan"),
    ({"cost_per_candidate": -1e-3}, "cost_per_candidate must be a finite number >= 0"),
    ({"cost_per_ms": math.inf}, "cost_per_ms must be a finite number >= 0, got inf"),
    ({"stream_seconds": 0.0}, "stream_seconds must be > 0, got 0.0"),
    ({"no_click": -2.0}, r"no_click must be in \[-1, 1\], got -2.0"),
])
def test_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RewardModel(**kwargs)
