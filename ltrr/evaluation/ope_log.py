"""Logged bandit rounds from the engine's feedback log, for the estimators in `ltrr.evaluation.ope`.

    extraction = logged_bandit_from_log(log, make_policy("uniform", arms=arms), arms, RewardModel())
    print(snips(extraction.data), dr(cross_fit(extraction.data)))

Each impression becomes one round: the logged arm and propensity of its decision, the reward that
`RewardModel.reward` gives its clicks, and the target policy's pmf on the `PolicyInput` the impression logged
(so the target sees the features the logging policy saw, including the per-generator reward stats of the time).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ..feedback.log import FeedbackLog
from ..feedback.records import Impression
from ..feedback.rewards import RewardModel
from ..policy.base import Policy
from ..policy.features import PolicyInput
from ..types import Arm
from .ope import LoggedBandit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogExtraction:
    """The rounds read from a feedback log, and the impressions left out and why.

    request_ids: the request of each round of `data`, in log order. n_read: impressions read.
    n_skipped_no_input: impressions that logged no policy input (nothing to show the target policy).
    n_skipped_other_arms: impressions of another arm catalogue (their pmf or policy input has another number
    of arms, or the logged arm's name differs from `arms[arm_index]`). n_skipped_unreadable: impressions whose
    policy input `PolicyInput.from_json` cannot rebuild (e.g. a feature stored as null).
    """

    data: LoggedBandit
    request_ids: tuple[str, ...]
    n_read: int
    n_skipped_no_input: int = 0
    n_skipped_other_arms: int = 0
    n_skipped_unreadable: int = 0

    @property
    def n_skipped(self) -> int:
        return self.n_skipped_no_input + self.n_skipped_other_arms + self.n_skipped_unreadable


def logged_bandit_from_log(log: FeedbackLog, target_policy: Policy, arms: Sequence[Arm], reward_model: RewardModel,
                           since: datetime | None = None) -> LogExtraction:
    """One round per impression created at or after `since` (naive UTC) that fits the catalogue `arms`.

    Calls `target_policy.select` once per round and keeps only its pmf (a stochastic policy's generator
    advances). Skipped impressions are counted in the result and logged as a warning.

    Raises:
        ValueError: no impression could be used.
    """
    arms = tuple(arms)
    rounds: list[tuple[str, int, float, float, tuple[float, ...], str]] = []
    skipped = {"no_input": 0, "other_arms": 0, "unreadable": 0}
    n_read = 0
    for impression, clicks in log.iter_feedback(since=since):
        n_read += 1
        inputs, reason = _policy_input(impression, arms)
        if inputs is None:
            skipped[reason] += 1
            continue
        pmf = target_policy.select(inputs, arms).pmf
        decision = impression.decision
        rounds.append((impression.request_id, decision.arm_index, decision.propensity,
                       reward_model.reward(impression, clicks), pmf, impression.query_class))
    if any(skipped.values()):
        logger.warning("off-policy data: skipped %d of %d impressions (%d without policy input, %d of another arm "
                       "catalogue, %d with an unreadable policy input)", sum(skipped.values()), n_read,
                       skipped["no_input"], skipped["other_arms"], skipped["unreadable"])
    if not rounds:
        raise ValueError(f"no usable impression in the feedback log since {since}: read {n_read}, skipped {skipped}; "
                         f"log searches with this catalogue of {len(arms)} arms first, or pass an earlier since")
    request_ids, actions, propensities, rewards, pmfs, classes = zip(*rounds)
    data = LoggedBandit(np.array(actions, dtype=np.int64), np.array(propensities), np.array(rewards),
                        np.array(pmfs), query_classes=np.array(classes, dtype=object))
    return LogExtraction(data, tuple(request_ids), n_read, skipped["no_input"], skipped["other_arms"],
                         skipped["unreadable"])


def _policy_input(impression: Impression, arms: tuple[Arm, ...]) -> tuple[PolicyInput | None, str]:
    """The impression's PolicyInput, or None and the skip reason ("no_input", "other_arms", "unreadable")."""
    if not impression.policy_input:
        return None, "no_input"
    decision = impression.decision
    if (len(decision.pmf) != len(arms) or not 0 <= decision.arm_index < len(arms)
            or decision.arm.name != arms[decision.arm_index].name):
        return None, "other_arms"
    try:
        inputs = PolicyInput.from_json(impression.policy_input)
    except ValueError:
        return None, "unreadable"
    if len(inputs.actions) != len(arms):
        return None, "other_arms"
    return inputs, ""
