"""Click models: outcomes worked by hand, simulated click rates against each model's equations (written out here
from the true parameters, not taken from the code), parameter recovery by `fit_pbm` / `fit_cascade` on randomized
placements, DBN behaviour, seeding, parameter round-trips and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltrr.errors import ConfigError
from ltrr.simulation.click_models import (
    CascadeModel,
    ClickLog,
    ClickModel,
    ClickOutcome,
    DBNModel,
    PositionBasedModel,
    fit_cascade,
    fit_pbm,
    make_click_model,
)

KINDS = ("cascade", "pbm", "dbn")
LEVELS = np.array([0.0, 1 / 3, 2 / 3, 1.0])  # a few relevance levels, shown in random order for identifiability
PAGE = np.array([1.0, 0.5, 0.25, 0.0, 0.75])


def linear(relevance: np.ndarray, low: float, high: float) -> np.ndarray:
    return low + (high - low) * relevance


def expected_click_rates(kind: str, relevance: np.ndarray, low: float, high: float, scale: float,
                         eta: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """P(C_k = 1) from each model's definition: cascade a_k prod(1 - a_j); PBM theta_k a_k; DBN e_k a_k."""
    a, s = linear(relevance, low, high), scale * relevance
    if kind == "pbm":
        return a / (np.arange(len(a)) + 1.0) ** eta
    examined, rates = 1.0, []
    for k in range(len(a)):
        rates.append(examined * a[k])
        examined *= (1.0 - a[k]) if kind == "cascade" else gamma * (1.0 - a[k] * s[k])
    return np.array(rates)


def simulate_log(model: ClickModel, n_sessions: int, n_positions: int, seed: int) -> list[tuple[list[int], np.ndarray]]:
    """Sessions of random relevance levels (keys: level index) with the model's clicks."""
    placement, rng = np.random.default_rng(seed + 1000), np.random.default_rng(seed)
    sessions = []
    for _ in range(n_sessions):
        levels = placement.integers(len(LEVELS), size=n_positions)
        outcome = model.simulate(LEVELS[levels], rng)
        sessions.append((levels.tolist(), outcome.click_indicator(n_positions)))
    return sessions


def outcomes(model: ClickModel, relevance: np.ndarray, n: int, seed: int) -> list[ClickOutcome]:
    rng = np.random.default_rng(seed)
    return [model.simulate(relevance, rng) for _ in range(n)]


def test_click_outcome_derives_its_flags():
    assert ClickOutcome.build((), 4, None) == ClickOutcome((), 4, False, None, True)
    assert ClickOutcome.build([2], 3, 2) == ClickOutcome((2,), 3, True, 2, False)
    assert ClickOutcome.build((0, 3), 4, None).click_indicator(5).tolist() == [1, 0, 0, 1, 0]


@pytest.mark.parametrize("kind", KINDS)
def test_relevance_maps_to_attractiveness_and_satisfaction_linearly(kind):
    model = make_click_model(kind, min_attractiveness=0.2, max_attractiveness=0.6, satisfaction_scale=0.5)
    assert isinstance(model, ClickModel)
    assert model.attractiveness([0.0, 0.5, 1.0]) == pytest.approx([0.2, 0.4, 0.6])
    assert model.satisfaction([0.0, 0.5, 1.0]) == pytest.approx([0.0, 0.25, 0.5])


@pytest.mark.parametrize("kind, extra", [("cascade", {}), ("pbm", {"eta": 0.7}), ("dbn", {"gamma": 0.8})])
def test_click_rates_follow_the_model_equations(kind, extra):
    model = make_click_model(kind, min_attractiveness=0.1, max_attractiveness=0.8, satisfaction_scale=0.9, **extra)
    expected = expected_click_rates(kind, PAGE, 0.1, 0.8, 0.9, **extra)
    assert model.click_probabilities(PAGE) == pytest.approx(expected)
    simulated = np.mean([o.click_indicator(len(PAGE)) for o in outcomes(model, PAGE, 4000, seed=3)], axis=0)
    assert np.abs(simulated - expected).max() < 0.03  # about 4 standard errors at 4,000 sessions


def test_cascade_stops_at_the_first_attractive_result():
    model = CascadeModel(min_attractiveness=0.0, max_attractiveness=1.0, satisfaction_scale=1.0)
    for outcome in outcomes(model, np.array([0.0, 0.0, 1.0, 1.0]), 20, seed=0):
        assert outcome == ClickOutcome((2,), 3, True, 2, False)
    unsatisfied = CascadeModel(min_attractiveness=0.0, max_attractiveness=1.0, satisfaction_scale=0.0)
    assert unsatisfied.simulate(np.array([1.0]), np.random.default_rng(0)) == ClickOutcome((0,), 1, False, None, False)
    assert model.simulate(np.zeros(4), np.random.default_rng(0)) == ClickOutcome((), 4, False, None, True)


def test_cascade_clicks_at_most_once_and_examines_down_to_the_click():
    for outcome in outcomes(CascadeModel(), PAGE, 500, seed=1):
        assert len(outcome.clicks) <= 1
        assert outcome.examined == (outcome.clicks[0] + 1 if outcome.clicks else len(PAGE))


def test_pbm_clicks_are_independent_of_stopping():
    everything = PositionBasedModel(min_attractiveness=1.0, max_attractiveness=1.0, eta=0.0, satisfaction_scale=1.0)
    outcome = everything.simulate(np.array([0.0, 1.0, 1.0]), np.random.default_rng(0))
    assert outcome == ClickOutcome((0, 1, 2), 3, True, 1, False)  # clicks go on below the satisfying one
    top_only = PositionBasedModel(min_attractiveness=1.0, max_attractiveness=1.0, examination=(1.0, 0.0, 0.0))
    assert {o.clicks for o in outcomes(top_only, np.ones(3), 50, seed=2)} == {(0,)}
    with pytest.raises(ValueError, match="page shows 4 positions but click_model.pbm.examination gives only 3"):
        top_only.simulate(np.ones(4), np.random.default_rng(0))


def test_fit_pbm_recovers_examination_ratios_from_randomized_placements():
    model = PositionBasedModel(eta=1.0, min_attractiveness=0.1, max_attractiveness=0.9)
    fit = fit_pbm(simulate_log(model, 20_000, 10, seed=11), n_positions=10)
    true_ratio = 1.0 / (np.arange(10) + 1.0)  # theta_k / theta_0 with theta_k = 1 / (k + 1) ** eta
    assert fit.converged
    assert np.abs(fit.examination_ratio - true_ratio).max() < 0.05
    for level, rate in fit.click_rate_at_top.items():  # theta_0 = 1, so the top click rate is a(level)
        assert rate == pytest.approx(linear(LEVELS[level], 0.1, 0.9), abs=0.05)


def test_fit_cascade_recovers_attractiveness_per_level():
    model = CascadeModel(min_attractiveness=0.05, max_attractiveness=0.95)
    fit = fit_cascade(simulate_log(model, 5_000, 10, seed=12), n_positions=10)
    assert sorted(fit.attractiveness) == list(range(len(LEVELS)))
    for level, estimate in fit.attractiveness.items():
        assert estimate == pytest.approx(linear(LEVELS[level], 0.05, 0.95), abs=0.05)


def test_fit_cascade_counts_positions_down_to_the_first_click_by_hand():
    # session 1 examines a, b (click on b; the click on c below is ignored); session 2 examines a, b, c, no click
    fit = fit_cascade([(("a", "b", "c"), (0, 1, 1)), (("b", "a", "c"), (0, 0, 0))], n_positions=3)
    assert fit.n_examined == {"a": 2, "b": 2, "c": 1}
    assert fit.attractiveness == {"a": 0.0, "b": 0.5, "c": 0.0}


def test_fit_pbm_marks_positions_never_shown():
    sessions = [(("a", "b"), (1, 0)), (("b", "a"), (1, 1)), (("a", "b"), (0, 1))]
    fit = fit_pbm(sessions, n_positions=3)
    assert fit.examination_ratio[0] == 1.0 and np.isnan(fit.examination_ratio[2])


def test_dbn_never_clicks_below_a_satisfying_click():
    model = DBNModel(gamma=1.0, min_attractiveness=0.3, max_attractiveness=0.9, satisfaction_scale=0.6)
    seen = outcomes(model, np.full(8, 0.8), 2000, seed=4)
    satisfied = [o for o in seen if o.satisfied]
    assert satisfied and any(o.satisfied_position > 0 for o in satisfied)
    for outcome in satisfied:
        assert outcome.clicks[-1] == outcome.satisfied_position and outcome.examined == outcome.satisfied_position + 1


def test_dbn_with_gamma_zero_examines_position_zero_only():
    seen = outcomes(DBNModel(gamma=0.0, satisfaction_scale=0.0), np.full(6, 0.5), 500, seed=5)
    assert {o.examined for o in seen} == {1}
    assert {o.clicks for o in seen} == {(), (0,)}


def test_dbn_click_rate_falls_with_position_on_uniform_relevance():
    model = DBNModel(gamma=0.8, min_attractiveness=0.2, max_attractiveness=0.8, satisfaction_scale=0.5)
    rates = np.mean([o.click_indicator(6) for o in outcomes(model, np.full(6, 0.5), 5000, seed=6)], axis=0)
    assert np.all(np.diff(rates) < 0)
    assert rates == pytest.approx(expected_click_rates("dbn", np.full(6, 0.5), 0.2, 0.8, 0.5, gamma=0.8), abs=0.03)


@pytest.mark.parametrize("kind", KINDS)
def test_the_seed_alone_decides_the_outcomes(kind):
    model = make_click_model(kind)
    assert outcomes(model, PAGE, 200, seed=9) == outcomes(model, PAGE, 200, seed=9)
    assert outcomes(model, PAGE, 200, seed=9) != outcomes(model, PAGE, 200, seed=10)


@pytest.mark.parametrize("kind, extra", [("cascade", {}), ("pbm", {"examination": [1.0, 0.5, 0.25]}),
                                         ("dbn", {"gamma": 0.6})])
def test_parameters_are_json_and_rebuild_the_model(kind, extra):
    model = make_click_model(kind, min_attractiveness=0.1, **extra)
    params = json.loads(json.dumps(model.parameters()))
    assert params["kind"] == kind and params["min_attractiveness"] == 0.1
    assert make_click_model(**params) == model


@pytest.mark.parametrize("kind, params, message", [
    ("ubm", {}, r"click_model.kind must be one of \['cascade', 'dbn', 'pbm'\], got 'ubm'"),
    ("pbm", {"alpha": 0.5}, r"unknown parameter 'alpha' for click_model.pbm; its parameters are: min_attractiveness"),
    ("cascade", {"min_attractiveness": -0.1}, r"min_attractiveness must be a probability in \[0, 1\], got -0.1"),
    ("dbn", {"max_attractiveness": 1.5}, r"max_attractiveness must be a probability in \[0, 1\], got 1.5"),
    ("cascade", {"min_attractiveness": 0.9, "max_attractiveness": 0.2}, r"\(0.9\) must be <= max_attractiveness"),
    ("pbm", {"satisfaction_scale": 2.0}, r"satisfaction_scale must be a probability in \[0, 1\], got 2.0"),
    ("dbn", {"gamma": 1.2}, r"click_model.dbn.gamma must be a probability in \[0, 1\], got 1.2; give a number"),
    ("pbm", {"eta": -1.0}, r"eta must be a finite number >= 0, got -1.0; use 0 for no position bias"),
    ("pbm", {"examination": [0.5, 1.5]}, r"examination must be a probability in \[0, 1\], got 1.5"),
    ("pbm", {"examination": []}, r"examination must be a non-empty list .* or leave it unset to use eta"),
])
def test_bad_parameters_raise_config_errors(kind, params, message):
    with pytest.raises(ConfigError, match=message):
        make_click_model(kind, **params)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("relevance, message", [
    ([0.5, 1.2], r"relevance must lie in \[0, 1\], got 1.2 at position 1; map graded relevance into \[0, 1\]"),
    ([-0.1], r"got -0.1 at position 0"),
    ([float("nan")], r"got nan at position 0"),
    ([[0.5, 0.5]], r"relevance must be a 1-D array .* got shape \(1, 2\); simulate one page per call"),
])
def test_bad_relevance_is_rejected(kind, relevance, message):
    with pytest.raises(ValueError, match=message):
        make_click_model(kind).simulate(relevance, np.random.default_rng(0))


@pytest.mark.parametrize("sessions, n_positions, message", [
    ([(("a", "b"), (1,))], 2, r"session 0 has 2 items and 1 click flags"),
    ([(("a", "b", "c"), (0, 0, 0))], 2, r"at most n_positions \(2\)"),
    ([(("a",), (2,))], 1, r"click flags must be 0 or 1 \(or bools\), got values \[2\]"),
    ([], 3, r"sessions is empty"),
    ([(("a",), (1,))], 0, r"n_positions must be an int >= 1, got 0"),
])
def test_bad_logs_are_rejected(sessions, n_positions, message):
    with pytest.raises(ValueError, match=message):
        ClickLog.from_sessions(sessions, n_positions)
    with pytest.raises(ValueError, match=message):
        fit_pbm(sessions, n_positions)
