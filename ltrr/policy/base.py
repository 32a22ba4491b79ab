"""The `Policy` protocol every plan-choosing policy follows, and the helpers they share.

A policy sees one search's `PolicyInput` (features of the context and of every arm), returns a `Decision`
(the chosen arm, the probability of every arm and of the choice) and later learns from the reward of that
decision. Saved policies are a directory with `policy.json` (whose "kind" says which class reads it)
plus whatever model files the kind needs:

    policy.save("models/policy")
    policy = load_policy("models/policy")
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError
from ..types import Arm, Decision

if TYPE_CHECKING:
    from .features import PolicyInput

logger = logging.getLogger(__name__)

POLICY_FILE = "policy.json"
FORMAT_VERSION = 1


@runtime_checkable
class Policy(Protocol):
    """Chooses a retrieval plan per search and learns from rewards.

    name: what `Decision.policy` records, e.g. "vw_squarecb". version: the version of the decision
    function, recorded as `Decision.policy_version`; learning policies bump it on each update. A policy whose
    choice and updates ignore the inputs' features may say so with a class attribute `reads_inputs = False`:
    an engine whose log does not keep the inputs either then skips building them (`Engine._select_plan`).
    """

    name: str
    version: int

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        """Pick one of `arms` (the catalogue `inputs` was built for) and say with which probability."""
        ...

    def update(self, inputs: PolicyInput, decision: Decision, reward: float) -> None:
        """Learn from `reward` in [-1, 1] of `decision`, taken on `inputs` (cost = -reward)."""
        ...

    def save(self, directory: str | Path) -> None:
        """Write the policy to `directory` (created if missing) so `load_policy` restores it exactly."""
        ...


def load_policy(directory: str | Path) -> Policy:
    """The policy saved in `directory`, of the class its policy.json "kind" names.

    Raises:
        FileNotFoundError: nothing was saved there.
        ConfigError: the kind is unknown or the file is from another format version.
    """
    # Imported here: the policy modules import this one for the protocol and helpers.
    from .baselines import FixedPlan, SingleGenerator, UniformRandom
    from .vw import VWPolicy

    loaders = {"vw": VWPolicy.load, "fixed": FixedPlan.load, "single": SingleGenerator.load,
               "uniform": UniformRandom.load}
    kind = read_policy_json(directory).get("kind")
    if kind not in loaders:
        raise ConfigError(f"{Path(directory) / POLICY_FILE} has unknown kind {kind!r}; "
                          f"known kinds: {sorted(loaders)}")
    return loaders[kind](directory)


def write_policy_json(directory: str | Path, kind: str, state: dict[str, Any]) -> Path:
    """Write `state` with its kind and format version to `directory`/policy.json; returns the directory."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    payload = {"kind": kind, "format_version": FORMAT_VERSION, **state}
    (path / POLICY_FILE).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    return path


def read_policy_json(directory: str | Path, kind: str | None = None) -> dict[str, Any]:
    """The dict `write_policy_json` wrote, checked for format version and (when given) kind."""
    path = Path(directory) / POLICY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no saved policy in {str(directory)!r} ({POLICY_FILE} is missing); "
                                f"save one there with policy.save(directory)")
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path} has format_version {state.get('format_version')!r}, this ltrr reads "
                          f"{FORMAT_VERSION}; save the policy again with this version")
    if kind is not None and state.get("kind") != kind:
        raise ConfigError(f"{path} holds a {state.get('kind')!r} policy, not {kind!r}; use load_policy(directory)")
    return state


def floor_pmf(pmf: Sequence[float], min_propensity: float) -> np.ndarray:
    """`pmf` normalized, then mixed with the uniform pmf just enough that every arm gets >= `min_propensity`.

    The mix (1 - w) * pmf + w / n keeps the ranking of arms and lets IPS weights stay below 1 / min_propensity.

    Raises:
        ConfigError: min_propensity * n_arms > 1 (no pmf can give every arm that much) or min_propensity < 0.
    """
    values = np.asarray(pmf, dtype=np.float64)
    n_arms = len(values)
    if not 0.0 <= min_propensity or min_propensity * n_arms > 1.0 + 1e-12:
        raise ConfigError(f"min_propensity must be in [0, 1 / n_arms] = [0, {1.0 / max(n_arms, 1):.4g}] for "
                          f"{n_arms} arms, got {min_propensity!r}; lower it or use fewer arms")
    total = values.sum()
    if n_arms == 0 or not math.isfinite(total) or total <= 0.0 or np.any(values < 0.0):
        raise ValueError(f"pmf must be non-negative with a positive finite sum, got {list(values)!r}")
    values = values / total
    lowest = float(values.min())
    if lowest >= min_propensity:
        return values
    gap = 1.0 / n_arms - lowest
    if gap <= 0.0:  # only at min_propensity == 1 / n_arms up to rounding: the uniform pmf is the one answer
        return np.full(n_arms, 1.0 / n_arms)
    weight = min(1.0, (min_propensity - lowest) / gap)
    mixed = (1.0 - weight) * values + weight / n_arms
    return mixed / mixed.sum()


def sample_index(pmf: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an index with probability pmf[i], using (and advancing) the caller's held generator by one draw."""
    cumulative = np.cumsum(pmf)
    draw = rng.random() * cumulative[-1]
    return min(int(np.searchsorted(cumulative, draw, side="right")), len(pmf) - 1)


def make_decision(arms: Sequence[Arm], pmf: np.ndarray, index: int, policy: str, version: int) -> Decision:
    """The Decision for choosing arms[index] from `pmf`; its propensity is exactly pmf[index]."""
    probabilities = tuple(float(p) for p in pmf)
    return Decision(arms[index], index, probabilities[index], probabilities, policy, version)


def check_actions(inputs: PolicyInput, arms: Sequence[Arm]) -> None:
    """The inputs must describe exactly the arms the policy chooses among."""
    if len(inputs.actions) != len(arms) or not arms:
        raise ValueError(f"inputs describe {len(inputs.actions)} arms but {len(arms)} arms were given; build the "
                         f"inputs with policy_input(..., arms) for this same, non-empty catalogue")


def check_decision(decision: Decision, inputs: PolicyInput) -> None:
    """An update's decision must come from a select on a catalogue of the inputs' size."""
    if not 0 <= decision.arm_index < len(inputs.actions) or not 0.0 < decision.propensity <= 1.0:
        raise ValueError(f"decision (arm_index {decision.arm_index}, propensity {decision.propensity!r}) does not "
                         f"fit inputs with {len(inputs.actions)} arms; pass the decision select() returned for them")


def check_reward(reward: float) -> None:
    """Rewards are finite numbers in [-1, 1] (a policy's cost is -reward)."""
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not -1.0 <= reward <= 1.0:
        raise ValueError(f"reward must be a number in [-1, 1], got {reward!r}; scale the reward into that range "
                         f"before updating")
