"""Check the off-policy estimators against the simulator: estimate fixed plans from an exploring policy's log.

A replay trace (`ltrr simulate`) holds, per search, the plan a policy chose, its propensity and the reward.
The rows of the exploring `logging` policy form a `LoggedBandit`; a fixed target plan's pmf is one-hot on its
arm. Its estimated value (IPS, SNIPS, DR with a cross-fitted `MeanRewardModel` by intent kind) is compared
with its on-policy value: the mean reward of the target policy's own rows in the same trace, on the same
sessions. The two differ a little even with a perfect estimator, for two reasons the estimators do not model:
the engines learn (memory, bandit statistics) from their own clicks, so the logging engine's state is not the
target's; and an unsatisfied user reformulates, so which searches a session holds after its first depends on
the policy (the logging policy's reformulations are not the target's). `first_only=True` keeps only each
session's first search (trace `attempt` 0), whose query and context every policy shares, which removes the
second difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..types import Arm
from .ope import LoggedBandit, cross_fit, dr, ips, snips


def first_searches(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of each session's first search (`attempt` 0).

    Raises:
        ValueError: a row has no `attempt` (a trace written before attempts were logged).
    """
    missing = next((i for i, row in enumerate(rows) if "attempt" not in row), None)
    if missing is not None:
        raise ValueError(f"trace row {missing} has no 'attempt'; rerun the replay to write a trace with attempts")
    return [row for row in rows if row["attempt"] == 0]


def logged_rows(rows: Sequence[Mapping[str, Any]], arms: Sequence[Arm], policy: str) -> LoggedBandit:
    """The `policy` rows of a trace as bandit rounds over `arms` (target_pmf left uniform: set it per target)."""
    index = {arm.name: i for i, arm in enumerate(arms)}
    mine = [row for row in rows if row["policy"] == policy]
    if not mine:
        raise ValueError(f"the trace has no rows of policy {policy!r}; run the replay with it in [run] policies")
    n, n_arms = len(mine), len(arms)
    return LoggedBandit(actions=[index[row["arm"]] for row in mine], propensities=[row["propensity"] for row in mine],
                        rewards=[row["reward"] for row in mine], target_pmf=np.full((n, n_arms), 1.0 / n_arms),
                        query_classes=[row["intent"] for row in mine])


def check_fixed_targets(rows: Sequence[Mapping[str, Any]], arms: Sequence[Arm], logging: str,
                        targets: Mapping[str, str], seed: int = 0, first_only: bool = False) -> dict[str, Any]:
    """For each target policy name -> its fixed arm name: on-policy value and the IPS / SNIPS / DR estimates
    from the `logging` policy's rows, with the relative error of each. `first_only`: both sides from each
    session's first search only (see the module docstring)."""
    if first_only:
        rows = first_searches(rows)
    data = logged_rows(rows, arms, logging)
    names = [arm.name for arm in arms]
    out: dict[str, Any] = {"logging": logging, "n_logged": data.n_rounds, "first_only": first_only, "targets": {}}
    for target, arm_name in targets.items():
        own = [row["reward"] for row in rows if row["policy"] == target]
        if not own:
            raise ValueError(f"the trace has no rows of target policy {target!r}")
        pmf = np.zeros((data.n_rounds, len(arms)))
        pmf[:, names.index(arm_name)] = 1.0
        aimed = cross_fit(LoggedBandit(data.actions, data.propensities, data.rewards, pmf,
                                       query_classes=data.query_classes), n_folds=2, seed=seed)
        truth = float(np.mean(own))
        estimates = {"ips": ips(aimed), "snips": snips(aimed), "dr": dr(aimed)}
        out["targets"][target] = {
            "arm": arm_name, "on_policy": truth, "n_on_policy": len(own),
            **{name: {"value": e.value, "ci95": list(e.ci95), "relative_error": abs(e.value - truth) / abs(truth)
                      if truth else float("nan"), "effective_sample_size": e.effective_sample_size}
               for name, e in estimates.items()}}
    return out
