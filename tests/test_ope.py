"""Off-policy estimators worked by hand on tiny logs, their identities, a seeded synthetic bandit, the log adapter."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from ltrr.errors import NotFittedError
from ltrr.evaluation.ope import Z_95, LoggedBandit, MeanRewardModel, cross_fit, dm, dr, ips, replay, snips
from ltrr.evaluation.ope_log import logged_bandit_from_log
from ltrr.feedback import Click, FeedbackLog, Impression, RequestContext, RewardModel, ShownItem
from ltrr.policy import FixedPlan, PolicyInput
from ltrr.types import Arm, Decision


def hand_log(**overrides) -> LoggedBandit:
    """3 rounds, 2 arms. Weights w = pi(a_i | x_i) / p_i = 0.6 / 0.5, 0.5 / 0.25, 1.0 / 0.8 = 1.2, 2.0, 1.25."""
    fields = {"actions": [0, 1, 0], "propensities": [0.5, 0.25, 0.8], "rewards": [1.0, 0.5, 0.0],
              "target_pmf": [[0.6, 0.4], [0.5, 0.5], [1.0, 0.0]],
              "reward_hat": [[0.8, 0.2], [0.4, 0.6], [0.1, 0.9]]}
    return LoggedBandit(**{**fields, **overrides})


def sample_std_error(terms: list[float]) -> float:
    mean = sum(terms) / len(terms)
    return math.sqrt(sum((t - mean) ** 2 for t in terms) / (len(terms) - 1)) / math.sqrt(len(terms))


def test_ips_by_hand():
    # terms w_i r_i = 1.2 * 1.0, 2.0 * 0.5, 1.25 * 0.0 = 1.2, 1.0, 0.0 -> mean 2.2 / 3
    got = ips(hand_log())
    assert got.value == pytest.approx(2.2 / 3)
    se = sample_std_error([1.2, 1.0, 0.0])
    assert got.std_error == pytest.approx(se)
    assert got.ci95 == pytest.approx((2.2 / 3 - 1.96 * se, 2.2 / 3 + 1.96 * se), abs=1e-4)
    # Kish: (1.2 + 2.0 + 1.25)^2 / (1.44 + 4.0 + 1.5625) = 4.45^2 / 7.0025
    assert got.effective_sample_size == pytest.approx(4.45**2 / 7.0025)
    assert (got.estimator, got.n, got.n_kept) == ("ips", 3, None)


def test_clipped_ips_by_hand():
    # clip 1.5 caps w_1 = 2.0: terms 1.2 * 1.0, 1.5 * 0.5, 1.25 * 0.0 -> (1.2 + 0.75) / 3
    assert ips(hand_log(), clip=1.5).value == pytest.approx(1.95 / 3)


def test_snips_by_hand():
    # sum w r / sum w = (1.2 + 1.0 + 0.0) / (1.2 + 2.0 + 1.25) = 2.2 / 4.45
    got = snips(hand_log())
    value = 2.2 / 4.45
    assert got.value == pytest.approx(value)
    # delta-method terms w_i (r_i - V) / mean(w), mean(w) = 4.45 / 3
    terms = [w * (r - value) / (4.45 / 3) for w, r in [(1.2, 1.0), (2.0, 0.5), (1.25, 0.0)]]
    assert got.std_error == pytest.approx(sample_std_error(terms))


def test_dm_and_dr_by_hand():
    # dm terms sum_a pi(a|x) r_hat(x, a): 0.6*0.8 + 0.4*0.2 = 0.56; 0.5*0.4 + 0.5*0.6 = 0.5; 1.0*0.1 + 0.0*0.9 = 0.1
    assert dm(hand_log()).value == pytest.approx((0.56 + 0.5 + 0.1) / 3)
    assert dm(hand_log()).effective_sample_size is None
    # residuals on the logged arm r_i - r_hat(x_i, a_i): 1.0 - 0.8 = 0.2; 0.5 - 0.6 = -0.1; 0.0 - 0.1 = -0.1
    # dr terms: 0.56 + 1.2 * 0.2 = 0.80; 0.5 + 2.0 * -0.1 = 0.30; 0.1 + 1.25 * -0.1 = -0.025
    got = dr(hand_log())
    assert got.value == pytest.approx((0.80 + 0.30 - 0.025) / 3)
    assert got.std_error == pytest.approx(sample_std_error([0.80, 0.30, -0.025]))
    # clip 1.5: the second term becomes 0.5 + 1.5 * -0.1 = 0.35
    assert dr(hand_log(), clip=1.5).value == pytest.approx((0.80 + 0.35 - 0.025) / 3)


def test_dr_equals_dm_when_the_model_is_exact_on_logged_actions():
    data = hand_log()
    exact = np.array(data.reward_hat)
    exact[np.arange(3), data.actions] = data.rewards  # residuals r_i - r_hat(x_i, a_i) are all 0
    data = data.with_reward_hat(exact)
    assert dr(data).value == pytest.approx(dm(data).value)
    assert dr(data).value != pytest.approx(ips(data).value)


@pytest.mark.parametrize("clip", [None, 1.5])
def test_dr_equals_ips_when_the_model_predicts_zero(clip):
    data = hand_log(reward_hat=np.zeros((3, 2)))
    assert dr(data, clip=clip).value == pytest.approx(ips(data, clip=clip).value)
    assert dr(data, clip=clip).std_error == pytest.approx(ips(data, clip=clip).std_error)


def test_snips_of_the_logging_policy_is_the_mean_reward():
    rng = np.random.default_rng(3)
    logging_pmf = rng.dirichlet(np.ones(4), size=50)
    actions = np.array([rng.choice(4, p=row) for row in logging_pmf])
    rewards = rng.random(50)
    data = LoggedBandit(actions, logging_pmf[np.arange(50), actions], rewards, logging_pmf)  # every w_i = 1
    assert snips(data).value == pytest.approx(rewards.mean())
    assert snips(data).effective_sample_size == pytest.approx(50.0)


def test_replay_with_a_deterministic_target_by_hand():
    # uniform logging over 2 arms; the target picks arms 0, 0, 1, 1, so rounds 0 (arm 0) and 2 (arm 1) are kept
    data = LoggedBandit([0, 1, 1, 0], [0.5] * 4, [1.0, 0.0, 0.5, 0.25], [[1, 0], [1, 0], [0, 1], [0, 1]])
    got = replay(data)
    assert got.value == pytest.approx((1.0 + 0.5) / 2)
    assert (got.n, got.n_kept, got.effective_sample_size) == (4, 2, 2.0)
    assert got.std_error == pytest.approx(sample_std_error([1.0, 0.5]))


def test_replay_with_a_stochastic_target_draws_one_uniform_per_round():
    actions, rewards = [0, 1, 1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    data = LoggedBandit(actions, [0.5] * 6, rewards, [[0.25, 0.75]] * 6)
    # inverse CDF: the target takes arm 1 when u >= 0.25 (the cumulative probability of arm 0)
    uniforms = np.random.default_rng(11).random(6)
    kept = [r for a, r, u in zip(actions, rewards, uniforms) if a == (1 if u >= 0.25 else 0)]
    got = replay(data, rng=np.random.default_rng(11))
    assert got.n_kept == len(kept) and got.value == pytest.approx(sum(kept) / len(kept))
    with pytest.raises(ValueError, match="target policy is stochastic.*pass rng="):
        replay(data)


def test_replay_that_keeps_nothing_raises():
    data = LoggedBandit([0, 0], [0.5, 0.5], [1.0, 1.0], [[0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="replay kept none of the 2 logged rounds"):
        replay(data)


def test_replay_warns_when_the_logs_are_not_uniform(caplog):
    data = LoggedBandit([0, 1], [0.9, 0.1], [1.0, 0.0], [[1.0, 0.0], [1.0, 0.0]])
    replay(data)
    assert "unbiased only for logs of a uniform policy" in caplog.text


def test_snips_dm_and_clip_refuse_what_they_cannot_use():
    with pytest.raises(ValueError, match="probability 0 to all 2 logged actions"):
        snips(LoggedBandit([0, 0], [0.5, 0.5], [1.0, 0.0], [[0.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"dm needs data.reward_hat.*cross_fit"):
        dm(hand_log(reward_hat=None))
    with pytest.raises(ValueError, match="clip must be a positive finite weight or None, got 0"):
        ips(hand_log(), clip=0)


VALID = {"actions": [0, 1], "propensities": [0.5, 0.5], "rewards": [1.0, 0.0], "target_pmf": [[0.5, 0.5], [1.0, 0.0]]}


@pytest.mark.parametrize("overrides, message", [
    ({"propensities": [0.0, 0.5]}, r"propensities\[0\] = 0\.0 is not in \(0, 1\]; log the logging policy"),
    ({"propensities": [0.5, 1.5]}, r"propensities\[1\] = 1\.5 is not in \(0, 1\]"),
    ({"target_pmf": [[0.5, 0.5], [0.6, 0.3]]}, r"target_pmf row 1 sums to 0\.9.*not 1; .*normalize"),
    ({"target_pmf": [[1.5, -0.5], [1.0, 0.0]]}, r"target_pmf\[0, 1\] = -0\.5 is negative"),
    ({"target_pmf": [[0.5, 0.5]]}, r"target_pmf must have shape \(n_rounds, n_arms\) = \(2, A >= 1\), got \(1, 2\)"),
    ({"rewards": [1.0]}, r"rewards has shape \(1,\), expected \(2,\)"),
    ({"rewards": [1.0, math.nan]}, r"rewards\[1\] = nan is not finite"),
    ({"actions": [0, 2]}, r"actions\[1\] = 2 is not an arm index in \[0, 2\)"),
    ({"actions": [0.0, 1.0]}, "integer arm indices, got dtype float64"),
    ({"actions": []}, "non-empty 1-D array"),
    ({"reward_hat": [[0.1, 0.2]]}, r"reward_hat has shape \(1, 2\), expected \(2, 2\)"),
    ({"query_classes": ["topical"]}, r"query_classes must have shape \(2,\), one class per round, got \(1,\)"),
], ids=["propensity_0", "propensity_above_1", "pmf_sum", "pmf_negative", "pmf_rows", "rewards_shape", "reward_nan",
        "action_range", "action_float", "empty", "reward_hat_shape", "classes_length"])
def test_logged_bandit_rejects_bad_input(overrides, message):
    with pytest.raises(ValueError, match=message):
        LoggedBandit(**{**VALID, **overrides})


def test_logged_bandit_holds_read_only_copies():
    rewards = np.array([1.0, 0.0])
    data = LoggedBandit(**{**VALID, "rewards": rewards})
    rewards[0] = 9.0
    assert data.rewards[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        data.rewards[0] = 9.0


def classes_log() -> LoggedBandit:
    """4 rounds of 3 arms (arm 2 never logged): classes a, a, a, b; actions 0, 0, 1, 0; rewards 1, 0, 1, 1."""
    return LoggedBandit([0, 0, 1, 0], [0.5] * 4, [1.0, 0.0, 1.0, 1.0], [[0.2, 0.3, 0.5]] * 4,
                        query_classes=["a", "a", "a", "b"])


def test_mean_reward_model_by_hand():
    model = MeanRewardModel(shrinkage=1.0).fit(classes_log())
    # r_bar = 3/4; arms: (2 + 0.75) / (3 + 1) = 0.6875, (1 + 0.75) / (1 + 1) = 0.875, (0 + 0.75) / (0 + 1) = 0.75
    arm_means = [0.6875, 0.875, 0.75]
    assert model.global_mean_ == pytest.approx(0.75) and model.arm_means_ == pytest.approx(arm_means)
    # class a: (1 + 0.6875) / 3 = 0.5625, (1 + 0.875) / 2 = 0.9375, 0.75; class b: (1 + 0.6875) / 2 = 0.84375
    query = LoggedBandit([0, 0, 0], [0.5] * 3, [0.0] * 3, [[0.2, 0.3, 0.5]] * 3, query_classes=["a", "b", "unseen"])
    predicted = model.predict(query)
    assert predicted[0] == pytest.approx([0.5625, 0.9375, 0.75])
    assert predicted[1] == pytest.approx([0.84375, 0.875, 0.75])
    assert predicted[2] == pytest.approx(arm_means)  # an unseen class falls back to the arm means


def test_mean_reward_model_without_shrinkage_gives_raw_means_and_falls_back_when_empty():
    predicted = MeanRewardModel(shrinkage=0.0).fit(classes_log()).predict(classes_log())
    # class a: arm 0 rewards 1, 0 -> 0.5; arm 1 reward 1 -> 1.0; arm 2 empty -> its arm mean, empty -> r_bar 0.75
    assert predicted[0] == pytest.approx([0.5, 1.0, 0.75])
    # class b: arm 0 reward 1 -> 1.0; arm 1 empty -> arm 1's raw mean 1.0; arm 2 -> 0.75
    assert predicted[3] == pytest.approx([1.0, 1.0, 0.75])


def test_mean_reward_model_refuses_misuse():
    with pytest.raises(NotFittedError, match="call fit"):
        MeanRewardModel().predict(classes_log())
    with pytest.raises(ValueError, match="shrinkage must be a finite number >= 0, got -1"):
        MeanRewardModel(shrinkage=-1).fit(classes_log())
    with pytest.raises(ValueError, match="data has 2 arms, the model was fitted on 3"):
        MeanRewardModel().fit(classes_log()).predict(hand_log())


def test_cross_fit_predicts_each_round_without_its_own_reward():
    rng = np.random.default_rng(5)
    base = {"actions": rng.integers(0, 2, 20), "propensities": [0.5] * 20, "target_pmf": [[0.5, 0.5]] * 20,
            "query_classes": ["x", "y"] * 10}
    rewards = rng.random(20)
    changed = rewards.copy()
    changed[0] += 10.0
    before = cross_fit(LoggedBandit(rewards=rewards, **base), n_folds=2, seed=1).reward_hat
    after = cross_fit(LoggedBandit(rewards=changed, **base), n_folds=2, seed=1).reward_hat
    assert after[0] == pytest.approx(before[0])  # round 0's own reward did not move its prediction
    assert not np.allclose(after, before)  # ...but it moved the other fold's predictions
    with pytest.raises(ValueError, match=r"n_folds must be an integer in \[2, 20\].*got 1"):
        cross_fit(LoggedBandit(rewards=rewards, **base), n_folds=1)


def test_snips_and_dr_recover_the_true_value_of_a_synthetic_bandit():
    # 3 query classes with P(c) = 0.5, 0.3, 0.2; 3 arms; Bernoulli rewards with P(click | c, a) below
    class_probability = np.array([0.5, 0.3, 0.2])
    logging = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]])
    target = np.array([[0.1, 0.2, 0.7], [0.7, 0.2, 0.1], [0.2, 0.6, 0.2]])
    click = np.array([[0.2, 0.5, 0.7], [0.6, 0.3, 0.1], [0.4, 0.8, 0.3]])
    # truth = sum_c P(c) sum_a pi(a|c) P(click|c,a)
    #       = 0.5 * (0.02 + 0.10 + 0.49) + 0.3 * (0.42 + 0.06 + 0.01) + 0.2 * (0.08 + 0.48 + 0.06) = 0.576
    truth = 0.5 * 0.61 + 0.3 * 0.49 + 0.2 * 0.62
    assert float(class_probability @ (target * click).sum(axis=1)) == pytest.approx(truth)
    n, rng = 20_000, np.random.default_rng(0)
    classes = rng.choice(3, size=n, p=class_probability)
    cumulative = logging[classes].cumsum(axis=1)
    actions = (cumulative <= rng.random(n)[:, None]).sum(axis=1)
    rewards = (rng.random(n) < click[classes, actions]).astype(float)
    data = LoggedBandit(actions, logging[classes, actions], rewards, target[classes],
                        query_classes=np.array(["c0", "c1", "c2"])[classes])
    for estimate in (snips(data), dr(cross_fit(data, n_folds=2, seed=0)), ips(data)):
        assert abs(estimate.value - truth) <= 0.05 * truth, estimate
        assert abs(estimate.value - truth) <= 4 * estimate.std_error, estimate
    assert dr(cross_fit(data)).std_error < ips(data).std_error  # a good reward model removes variance
    assert rewards.mean() != pytest.approx(truth, abs=0.05 * truth)  # the logging policy's value is another


ARMS = (Arm("bm25_only", (("bm25", 100),)), Arm("dense_only", (("dense", 100),)))
INPUT = PolicyInput({"S": {"tokens": 2.0}}, ({"A": {"arm_bm25_only": 1.0}}, {"A": {"arm_dense_only": 1.0}}),
                    "topical").to_json()
T0 = datetime(2025, 4, 7, 21, 30)


def logged_search(log: FeedbackLog, number: int, arm_index: int, policy_input: dict,
                  arms: tuple[Arm, ...] = ARMS) -> None:
    pmf = tuple(1.0 / len(arms) for _ in arms)
    decision = Decision(arms[arm_index], arm_index, pmf[arm_index], pmf, "uniform")
    items = (ShownItem(0, "t:track:1", "track", 2.0), ShownItem(1, "t:track:2", "track", 1.0))
    log.record_impression(Impression(f"r{number}", T0 + timedelta(seconds=number), None, "night drive",
                                     "night drive", "topical", RequestContext(), decision, 0, policy_input,
                                     items=items, n_candidates=100))


def test_logged_bandit_from_a_real_feedback_log():
    log = FeedbackLog.open("sqlite://")
    logged_search(log, 1, 0, INPUT)
    logged_search(log, 2, 1, INPUT)
    logged_search(log, 3, 0, INPUT)
    logged_search(log, 4, 1, {})  # no policy input: skipped
    logged_search(log, 5, 2, INPUT, ARMS + (Arm("equal", (("bm25", 50), ("dense", 50))),))  # 3 arms: skipped
    log.record_click(Click("r1", "t:track:2"))  # position 1: reward 1 / log2(3)
    log.record_click(Click("r2", "t:track:1"))  # position 0: reward 1 / log2(2) = 1; r3 has no click: 0
    got = logged_bandit_from_log(log, FixedPlan("dense_only"), ARMS, RewardModel(cost_per_candidate=0.0))
    assert got.request_ids == ("r1", "r2", "r3")
    assert (got.n_read, got.n_skipped_no_input, got.n_skipped_other_arms, got.n_skipped) == (5, 1, 1, 2)
    data = got.data
    assert data.actions.tolist() == [0, 1, 0] and data.propensities.tolist() == [0.5, 0.5, 0.5]
    assert data.rewards == pytest.approx([1 / math.log2(3), 1.0, 0.0])
    assert data.target_pmf.tolist() == [[0.0, 1.0]] * 3 and data.query_classes.tolist() == ["topical"] * 3
    # only round 2 logged the target's arm: ips = (0 + 1.0 / 0.5 * 1.0 + 0) / 3
    assert ips(data).value == pytest.approx(2.0 / 3)
    later = logged_bandit_from_log(log, FixedPlan("dense_only"), ARMS, RewardModel(), since=T0 + timedelta(seconds=3))
    assert later.request_ids == ("r3",) and later.n_read == 3
    with pytest.raises(ValueError, match="no usable impression in the feedback log"):
        logged_bandit_from_log(log, FixedPlan("dense_only"), ARMS, RewardModel(), since=T0 + timedelta(seconds=4))
    log.dispose()


def test_z_95_is_the_normal_quantile():
    # Phi(1.959964) = 0.975: erf(z / sqrt 2) = 0.95
    assert math.erf(Z_95 / math.sqrt(2)) == pytest.approx(0.95, abs=1e-12)
