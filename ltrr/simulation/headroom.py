"""Headroom: how much any plan-choosing policy could gain over the best fixed plan, from full-information plan values.

A replay's regret compares a learning policy with an oracle that knows the simulated user's target. Part of
that gap is the bandit's (exploration, partial feedback, estimation); the rest no policy can close, because
the features a policy sees do not tell which plan will surface the target. This module separates the two.
It runs the oracle alone over a seed's stream and has it evaluate **every** plan of the catalogue for every
search (the engine ranks each plan's pool, the click model gives the expected reward: `Replay`'s own
evaluation), so each search has the value of all plans, not only of the one chosen. On those values:

- `best_fixed`: the plan with the best mean value on the training share, scored on the rest;
- `per_class`: the best plan per query class (the engine's class guess) on the training share;
- `per_class_hindsight`: the same, chosen on the scored share itself (no policy that sees only the class does
  better);
- `full_information`: a LightGBM regression of a plan's value on the bandit's own features (the context and
  the plan's action features: `PolicyInput`), trained on the training share with every plan's value (far
  more than a bandit ever observes), choosing the plan with the best predicted value.

Regret per search is the oracle's value minus the policy's, on the scored share. `full_information`'s is an
optimistic bound for a learning policy over these features and plans (a better model could lower it); when it
is close to `best_fixed`'s, the features leave little to learn, whatever the exploration.

    values = collect_plan_values(engine, world, click_model, scenario, seed=0, n_sessions=3000)
    report = headroom(values)
    report["policies"]["full_information"]["regret_per_search"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse

from ..engine import Engine
from ..policy.features import PolicyInput
from ..progress import StageFactory, no_progress
from .oracle import OraclePolicy
from .replay import Replay
from .scenario import Scenario

LEARNER_PARAMS = {"objective": "regression", "num_leaves": 31, "learning_rate": 0.05, "min_data_in_leaf": 50,
                  "verbosity": -1, "num_threads": 0, "deterministic": True, "force_row_wise": True}
LEARNER_ROUNDS = 300


@dataclass(frozen=True)
class PlanValues:
    """Every plan's expected reward for each search of a stream (first queries and reformulations, in order).

    values: (n_searches, n_arms); inputs: the policy input of each search (the bandit's features)."""

    arms: tuple[str, ...]
    values: np.ndarray
    query_classes: tuple[str, ...]
    inputs: tuple[PolicyInput, ...]

    def __post_init__(self) -> None:
        n = len(self.inputs)
        if self.values.shape != (n, len(self.arms)) or len(self.query_classes) != n:
            raise ValueError(f"values {self.values.shape}, {len(self.query_classes)} classes and {n} inputs do not "
                             f"describe the same searches over {len(self.arms)} arms")


def collect_plan_values(engine: Engine, world, click_model, scenario: Scenario, *, seed: int, n_sessions: int,
                        progress: StageFactory = no_progress) -> PlanValues:
    """Replay `n_sessions` of `seed` with the oracle alone, recording every plan's expected reward per search.

    Costs one ranking of every plan's pool per search (27 plans: ~25x a search)."""
    recorded_inputs: list[PolicyInput] = []
    recorded_values: list[list[float]] = []

    def record(inputs: PolicyInput, values: list[float]) -> None:
        recorded_inputs.append(inputs)
        recorded_values.append(values)

    scenario = replace(scenario, run=replace(scenario.run, policies=("oracle",), best_fixed_pilot=0))
    replay = Replay(engine, world, click_model, scenario, progress=progress)
    replay.oracle_factory = lambda: OraclePolicy(record=record)
    replay.run_seed(seed, n_sessions)
    arms = tuple(arm.name for arm in engine.arms)
    values = np.asarray(recorded_values, dtype=np.float64).reshape(len(recorded_values), len(arms))
    return PlanValues(arms, values, tuple(inputs.query_class for inputs in recorded_inputs), tuple(recorded_inputs))


def headroom(plan_values: PlanValues, *, train_share: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """Regret per search of the best fixed plan, the best plan per class and a full-information learner on the
    searches after the first `train_share` (see the module docstring).

    Raises:
        ValueError: train_share outside (0, 1), or too few searches to leave both shares non-empty.
    """
    if not 0.0 < train_share < 1.0:
        raise ValueError(f"train_share must be in (0, 1), got {train_share!r}")
    values, arms, classes = plan_values.values, plan_values.arms, np.asarray(plan_values.query_classes)
    n = values.shape[0]
    n_train = int(round(n * train_share))
    if n_train < 1 or n_train >= n:
        raise ValueError(f"{n} searches cannot be split {train_share:.0%} / {1 - train_share:.0%}; collect more")
    train, test = np.arange(n_train), np.arange(n_train, n)
    best = values.max(axis=1)

    def regret(choice: np.ndarray) -> float:
        return float(np.mean(best[test] - values[test, choice[test]]))

    fixed = int(np.argmax(values[train].mean(axis=0)))
    per_class = _best_per_class(values, classes, train, fixed)
    hindsight = _best_per_class(values, classes, test, fixed)
    learned = _learned_choice(plan_values, train, test, seed)
    policies = {
        "best_fixed": {"arm": arms[fixed], "regret_per_search": regret(np.full(n, fixed))},
        "per_class": {"arms": {c: arms[a] for c, a in per_class.items()},
                      "regret_per_search": regret(np.array([per_class.get(c, fixed) for c in classes]))},
        "per_class_hindsight": {"arms": {c: arms[a] for c, a in hindsight.items()},
                                "regret_per_search": regret(np.array([hindsight.get(c, fixed) for c in classes]))},
        "full_information": {"model": f"LightGBM regression, {LEARNER_ROUNDS} trees, on the bandit's features",
                             "regret_per_search": regret(learned)},
    }
    by_class = {}
    for name in sorted(set(classes[test].tolist())):
        rows = test[classes[test] == name]
        by_class[name] = {"n": int(rows.size), "oracle_value": float(best[rows].mean()),
                          "best_fixed_value": float(values[rows, fixed].mean()),
                          "full_information_value": float(values[rows, learned[rows]].mean())}
    fixed_regret = policies["best_fixed"]["regret_per_search"]
    return {"n_searches": n, "n_train": int(train.size), "n_test": int(test.size), "arms": list(arms),
            "oracle_value": float(best[test].mean()), "policies": policies, "by_class": by_class,
            "full_information_over_best_fixed": (policies["full_information"]["regret_per_search"] / fixed_regret
                                                 if fixed_regret > 0 else None)}


def _best_per_class(values: np.ndarray, classes: np.ndarray, rows: np.ndarray, fallback: int) -> dict[str, int]:
    chosen = {}
    for name in sorted(set(classes[rows].tolist())):
        members = rows[classes[rows] == name]
        chosen[name] = int(np.argmax(values[members].mean(axis=0))) if members.size else fallback
    return chosen


def _learned_choice(plan_values: PlanValues, train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    """Per search, the arm with the best predicted value (test searches; train searches keep arm 0)."""
    n, n_arms = plan_values.values.shape
    matrix, _ = feature_matrix(plan_values.inputs)

    def rows(searches: np.ndarray) -> np.ndarray:  # the matrix rows of these searches' arms
        return (searches[:, None] * n_arms + np.arange(n_arms)).reshape(-1)

    model = lgb.train({**LEARNER_PARAMS, "seed": seed}, lgb.Dataset(matrix[rows(train)],
                                                                    plan_values.values[train].reshape(-1)),
                      num_boost_round=LEARNER_ROUNDS)
    predicted = np.asarray(model.predict(matrix[rows(test)])).reshape(test.size, n_arms)
    choice = np.zeros(n, dtype=int)
    choice[test] = predicted.argmax(axis=1)
    return choice


def feature_matrix(inputs: Sequence[PolicyInput]) -> tuple[sparse.csr_matrix, list[str]]:
    """One sparse row per (search, arm), searches in order and arms in catalogue order: the shared namespaces
    and the arm's own, each feature named `namespace:name`. Returns the matrix and the column names."""
    columns: dict[str, int] = {}
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for search in inputs:
        shared = [(f"{namespace}:{name}", value) for namespace, features in search.shared.items()
                  for name, value in features.items()]
        for action in search.actions:
            for key, value in shared + [(f"{namespace}:{name}", value) for namespace, features in action.items()
                                        for name, value in features.items()]:
                indices.append(columns.setdefault(key, len(columns)))
                data.append(value)
            indptr.append(len(indices))
    matrix = sparse.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
                               shape=(len(indptr) - 1, max(len(columns), 1)))
    return matrix, list(columns)
