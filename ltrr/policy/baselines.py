"""Baseline policies behind the same protocol, and `make_policy`, which builds any policy by kind.

- `FixedPlan(arm_name)`: always that arm, propensity 1.0 (deterministic: its logs cannot be used for IPS).
- `SingleGenerator(generator)`: always the arm that calls only that generator at the largest k in the
  catalogue (the full budget in `arm_catalogue`), propensity 1.0.
- `UniformRandom(seed)`: every arm with probability 1 / n_arms; its logs are the textbook IPS logging policy.
- greedy: `VWPolicy(exploration="greedy")`, built by `make_policy("greedy", ...)`.

Baselines do not learn: `update` checks its input and changes nothing, and `version` stays 0.

    >>> from ltrr.policy import arm_catalogue
    >>> arms = arm_catalogue(["bm25", "dense"])
    >>> make_policy("single", arms=arms, seed=0, generator="dense").name
    'single_dense'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..types import Arm, Decision
from .arms import arm_index
from .base import (
    Policy,
    check_actions,
    check_decision,
    check_reward,
    make_decision,
    read_policy_json,
    sample_index,
    write_policy_json,
)
from .features import PolicyInput
from .vw import VWPolicy

logger = logging.getLogger(__name__)

_VW_OPTIONS = frozenset({"epsilon", "gamma_scale", "bag_size", "cover_size", "min_propensity", "floor_decay",
                         "learning_rate", "interactions"})
POLICY_OPTIONS: dict[str, frozenset[str]] = {"vw": _VW_OPTIONS | {"exploration"}, "greedy": _VW_OPTIONS,
                                             "fixed": frozenset({"arm_name"}), "single": frozenset({"generator"}),
                                             "uniform": frozenset()}
"""Options each kind of `make_policy` accepts (besides arms and seed)."""


class _NonLearning:
    """update/save shared by the baselines: they keep no learned state."""

    kind = ""
    name = ""
    version = 0
    reads_inputs = False  # their choice ignores the features (see `Policy`); the VW policies read them

    def update(self, inputs: PolicyInput, decision: Decision, reward: float) -> None:
        """Check the feedback and ignore it: a baseline does not learn."""
        check_reward(reward)
        check_decision(decision, inputs)

    def save(self, directory: str | Path) -> None:
        """Write policy.json with the constructor arguments (and any rng state)."""
        write_policy_json(directory, self.kind, {"args": self.options(), "version": self.version, **self._state()})

    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        return {}


class FixedPlan(_NonLearning):
    """Always the arm named `arm_name`."""

    kind = "fixed"

    def __init__(self, arm_name: str) -> None:
        self.arm_name = arm_name
        self.name = f"fixed_{arm_name}"

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        check_actions(inputs, arms)
        return _certain(arms, arm_index(arms, self.arm_name), self.name)

    def options(self) -> dict[str, Any]:
        return {"arm_name": self.arm_name}

    @classmethod
    def load(cls, directory: str | Path) -> FixedPlan:
        return cls(**read_policy_json(directory, cls.kind)["args"])


class SingleGenerator(_NonLearning):
    """Always the arm calling only `generator`, at the largest k the catalogue offers for it alone."""

    kind = "single"

    def __init__(self, generator: str) -> None:
        self.generator = generator
        self.name = f"single_{generator}"

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        check_actions(inputs, arms)
        return _certain(arms, single_generator_index(arms, self.generator), self.name)

    def options(self) -> dict[str, Any]:
        return {"generator": self.generator}

    @classmethod
    def load(cls, directory: str | Path) -> SingleGenerator:
        return cls(**read_policy_json(directory, cls.kind)["args"])


class UniformRandom(_NonLearning):
    """Every arm with probability 1 / n_arms, drawn with a held, seeded generator (select holds a lock)."""

    kind = "uniform"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.name = "uniform"
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        check_actions(inputs, arms)
        pmf = np.full(len(arms), 1.0 / len(arms))
        with self._lock:
            index = sample_index(pmf, self._rng)
        return make_decision(arms, pmf, index, self.name, self.version)

    def options(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def _state(self) -> dict[str, Any]:
        with self._lock:
            return {"rng_state": self._rng.bit_generator.state}

    @classmethod
    def load(cls, directory: str | Path) -> UniformRandom:
        state = read_policy_json(directory, cls.kind)
        policy = cls(**state["args"])
        policy._rng.bit_generator.state = state["rng_state"]
        return policy


def single_generator_index(arms: Sequence[Arm], generator: str) -> int:
    """Position of the arm that calls only `generator`, the one with the largest k if several do.

    Raises:
        ConfigError: no arm calls `generator` alone.
    """
    alone = [(arm.budget, -index, index) for index, arm in enumerate(arms)
             if len(arm.plan) == 1 and arm.plan[0][0] == generator]
    if not alone:
        generators = sorted({name for arm in arms for name, _ in arm.plan})
        raise ConfigError(f"no arm calls generator {generator!r} alone; the catalogue's generators are "
                          f"{generators}; name one of them or add its single-generator arm")
    return max(alone)[2]


def make_policy(kind: str, *, arms: Sequence[Arm], seed: int = 0, **options: Any) -> Policy:
    """Build a policy of `kind` ("vw", "greedy", "fixed", "single", "uniform") for the catalogue `arms`.

    Options per kind are listed in `POLICY_OPTIONS`: "vw" takes `exploration` (default "squarecb") and the
    other VWPolicy options; "fixed" needs `arm_name`; "single" needs `generator`. The options are checked
    against `arms` here, so a bad configuration fails when the engine is built, not at the first search.

    Raises:
        ConfigError: unknown kind or option, a missing option, or an option that does not fit `arms`.
    """
    if kind not in POLICY_OPTIONS:
        raise ConfigError(f"unknown policy kind {kind!r}; pick one of {', '.join(POLICY_OPTIONS)}")
    unknown = sorted(set(options) - POLICY_OPTIONS[kind])
    if unknown:
        allowed = ", ".join(sorted(POLICY_OPTIONS[kind])) or "none"
        raise ConfigError(f"unknown option(s) {unknown} for policy kind {kind!r}; its options are: {allowed}")
    arms = tuple(arms)
    if not arms:
        raise ConfigError("arms is empty; build the catalogue with arm_catalogue(generators)")
    if kind in ("vw", "greedy"):
        return _make_vw(kind, arms, seed, options)
    if kind == "uniform":
        return UniformRandom(seed)
    required = "arm_name" if kind == "fixed" else "generator"
    if required not in options:
        raise ConfigError(f"policy kind {kind!r} needs the option {required!r}")
    if kind == "fixed":
        arm_index(arms, options["arm_name"])
        return FixedPlan(options["arm_name"])
    single_generator_index(arms, options["generator"])
    return SingleGenerator(options["generator"])


def _make_vw(kind: str, arms: Sequence[Arm], seed: int, options: dict[str, Any]) -> VWPolicy:
    floor = options.get("min_propensity", 0.01)
    if isinstance(floor, (int, float)) and floor * len(arms) > 1.0:
        raise ConfigError(f"min_propensity {floor!r} is too high for {len(arms)} arms (the floors would sum to "
                          f"{floor * len(arms):.3g} > 1); use at most {1.0 / len(arms):.4g}")
    exploration = "greedy" if kind == "greedy" else options.get("exploration", "squarecb")
    rest = {name: value for name, value in options.items() if name != "exploration"}
    return VWPolicy(exploration, seed=seed, **rest)


def _certain(arms: Sequence[Arm], index: int, name: str) -> Decision:
    """A deterministic choice: pmf one-hot, propensity 1.0."""
    pmf = np.zeros(len(arms))
    pmf[index] = 1.0
    return make_decision(arms, pmf, index, name, 0)
