"""VWPolicy: a Vowpal Wabbit contextual bandit (`cb_explore_adf`) over the plan catalogue.

Why action-dependent features over a catalogue of whole plans, and not one decision per generator slot
(CCB or slates): plans interact, since a plan's value is that of the union of its candidate lists, which
is not the sum of per-generator values (two generators that find the same entities add little); the
catalogue is small (tens of plans), so scoring every plan is cheap; and each logged propensity is the
exact probability of the whole plan, which offline IPS needs. CCB and slates are deliberately not used.

Each search is one multiline ADF example: a `shared` line with the context namespaces and one line per
arm with its plan, preview and reward namespaces (see `features`); the label `0:cost:probability` goes on
the chosen arm's line, with cost = -reward. Exploration kinds:

- "epsilon": the best arm gets 1 - epsilon, the rest share epsilon.
- "squarecb": SquareCB, inverse-gap weighting of regression scores (Foster & Rakhlin, ICML 2020).
- "bag": the pmf is the share of `bag_size` online-bootstrapped policies voting for each arm, plus epsilon
  (online bagging: Oza & Russell, AISTATS 2001; as a bandit: Bietti, Agarwal & Langford, JMLR 2021).
- "cover": `cover_size` policies trained to disagree, plus epsilon (online cover: Agarwal et al., ICML 2014).
- "greedy": no exploration (epsilon 0): VW gives the best arm probability 1.0 (tied best arms share it).
  The policy then mixes in the `min_propensity` floor like every kind, so it logs 1 - (n_arms - 1) *
  min_propensity for the best arm and min_propensity for the others; with min_propensity=0.0 it logs 1.0,
  and such logs cannot be used for IPS.

The floor (`base.floor_pmf`) and the sampling (a held `np.random.Generator`) are ours, not VW's, so the
logged propensity is exactly the probability of the draw. With `floor_decay` = n > 0 the floor is
min_propensity for the first n updates, then min_propensity * sqrt(n / updates): exploration that fades as
the model learns (SquareCB's own fades with gamma ~ sqrt(t); a constant floor of 0.002 over 27 plans keeps
5.2% of every search's mass on plans drawn uniformly for ever). VW workspaces are not thread-safe: `select`,
`update` and `save` hold a lock.

    arms = arm_catalogue(["bm25", "dense", "structured"])
    policy = VWPolicy("squarecb", seed=7)
    inputs = policy_input(query, context, arms, previews)
    decision = policy.select(inputs, arms)
    policy.update(inputs, decision, reward=1.0)        # later, when the search's reward is known
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from vowpalwabbit import Workspace

from ..errors import ConfigError
from ..types import Arm, Decision
from .base import (
    check_actions,
    check_decision,
    check_reward,
    floor_pmf,
    make_decision,
    read_policy_json,
    sample_index,
    write_policy_json,
)
from .features import PLAN_NAMESPACE, PolicyInput, features_text, namespace_group, vw_name

logger = logging.getLogger(__name__)

EXPLORATIONS = ("epsilon", "squarecb", "bag", "cover", "greedy")
DEFAULT_INTERACTIONS = ("SA", "UA", "SP", "LA")
"""Query x plan and user x plan let each context learn its own plan values; query x preview lets the meaning
of a generator's preview depend on the query (a BM25 hit count says more for a spearfishing query); probe
lists x plan lets each plan's value depend on what the probed generators found and how far they agree."""
GAMMA_SCALE = 1000.0
"""SquareCB gives a plan whose predicted cost exceeds the best's by `gap` the probability ~1 / (K + gamma * gap),
with gamma = gamma_scale * sqrt(t) after t updates. Plans' rewards differ by 0.01-0.1 on the [-1, 1] scale (a
click is worth 1, a candidate costs 0.0005), so VW's default scale of 10 keeps a 27-plan catalogue close to
uniform for thousands of searches; at 1000 exploration concentrates on plausible plans within a few hundred
(measured on sim/demo.toml: cumulative regret after 400 sessions 69 at scale 10, 62 at 100, 35 at 1000)."""
MODEL_FILE = "model.vw"
_NEEDS_SANITIZING = re.compile(r"[\s|:]")
_NAMESPACE = re.compile(r"[A-Za-z]\w*")
_CHECKED_NAMESPACES: set[str] = set()
_SAFE_NAMES: dict[str, str] = {}
_MAX_SAFE_NAMES = 100_000


class VWPolicy:
    """A contextual bandit over the arm catalogue, learning online from rewards in [-1, 1]."""

    def __init__(self, exploration: str = "squarecb", *, epsilon: float = 0.05, gamma_scale: float = GAMMA_SCALE,
                 bag_size: int = 5, cover_size: int = 3, min_propensity: float = 0.01, learning_rate: float = 0.5,
                 interactions: Sequence[str] = DEFAULT_INTERACTIONS, seed: int = 0, floor_decay: int = 0) -> None:
        _check_options(exploration, epsilon, gamma_scale, bag_size, cover_size, min_propensity, learning_rate,
                       interactions, seed, floor_decay)
        self.exploration = exploration
        self.epsilon = float(epsilon)
        self.gamma_scale = float(gamma_scale)
        self.bag_size = bag_size
        self.cover_size = cover_size
        self.min_propensity = float(min_propensity)
        self.learning_rate = float(learning_rate)
        self.interactions = tuple(interactions)
        self.seed = seed
        self.floor_decay = floor_decay
        self.name = f"vw_{exploration}"
        self.version = 0
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._workspace = Workspace(arg_list=self.vw_args())

    def vw_args(self, *, with_seed: bool = True) -> list[str]:
        """VW's command line for this policy (the seed is left out when a saved model supplies its own)."""
        args = ["--cb_explore_adf", "--cb_type", "mtr", "--quiet", "--learning_rate", repr(self.learning_rate)]
        if with_seed:
            args += ["--random_seed", str(self.seed)]
        for pair in self.interactions:
            args += ["--interactions", pair]
        return args + self._exploration_args()

    def _exploration_args(self) -> list[str]:
        epsilon = ["--epsilon", repr(self.epsilon)]
        return {"epsilon": epsilon,
                "squarecb": ["--squarecb", "--gamma_scale", repr(self.gamma_scale)],
                "bag": ["--bag", str(self.bag_size), *epsilon],
                "cover": ["--cover", str(self.cover_size), *epsilon],
                "greedy": ["--epsilon", "0"]}[self.exploration]

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        """Score every arm with VW, floor the pmf at min_propensity, draw one arm with the held generator."""
        check_actions(inputs, arms)
        for index, arm in enumerate(arms):
            _check_built_for(inputs, index, arm)
        lines = example_lines(inputs)
        with self._lock:
            pmf = floor_pmf(self._predict(lines), self.floor())
            index = sample_index(pmf, self._rng)
            return make_decision(arms, pmf, index, self.name, self.version)

    def floor(self) -> float:
        """The propensity floor of the next `select`: min_propensity, shrinking as sqrt(floor_decay / updates)
        once the updates exceed floor_decay (> 0)."""
        if self.floor_decay <= 0 or self.version <= self.floor_decay:
            return self.min_propensity
        return self.min_propensity * math.sqrt(self.floor_decay / self.version)

    def update(self, inputs: PolicyInput, decision: Decision, reward: float) -> None:
        """Learn cost = -reward for the chosen arm, weighted by the logged propensity; bumps `version`."""
        check_reward(reward)
        check_decision(decision, inputs)
        _check_built_for(inputs, decision.arm_index, decision.arm)
        lines = example_lines(inputs, label=(decision.arm_index, -float(reward), decision.propensity))
        with self._lock:
            _run_multi(self._workspace, lines, learn=True)
            self.version += 1

    def _predict(self, lines: list[str]) -> list[float]:
        pmf = _run_multi(self._workspace, lines, learn=False)
        if len(pmf) != len(lines) - 1:
            raise RuntimeError(f"VW returned {len(pmf)} probabilities for {len(lines) - 1} arms")
        return pmf

    def save(self, directory: str | Path) -> None:
        """Write model.vw (VW's model, with its learning state) and policy.json (options, version, rng state).

        VW leaves some learning state out of the model file (with cover, part of the normalized-update
        state), so after writing, this policy reopens its workspace from the file: it and any copy loaded
        from `directory` then continue identically.
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._workspace.save(str(path / MODEL_FILE))
            state = {"args": self.options(), "version": self.version, "rng_state": self._rng.bit_generator.state,
                     "model_file": MODEL_FILE, "vw_args": self.vw_args()}
            write_policy_json(path, "vw", state)
            self._reopen(path / MODEL_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> VWPolicy:
        """The policy `save` wrote: same model, version and rng state, so the same inputs give the same decisions."""
        state = read_policy_json(directory, "vw")
        model = Path(directory) / state.get("model_file", MODEL_FILE)
        if not model.is_file():
            raise FileNotFoundError(f"{model} is missing; save the policy again with policy.save(directory)")
        args = dict(state["args"])
        args["interactions"] = tuple(args.get("interactions", DEFAULT_INTERACTIONS))
        policy = cls(**args)
        policy._reopen(model)
        policy.version = int(state["version"])
        policy._rng.bit_generator.state = state["rng_state"]
        return policy

    def _reopen(self, model: Path) -> None:
        """Replace the workspace by one read from `model`."""
        self._workspace.finish()
        # The model file carries VW's own random state (bagging draws from it) as its seed, so ours is left out
        # (repeating it would disagree); without preserve_performance_counters VW zeroes its example counts.
        self._workspace = Workspace(arg_list=self.vw_args(with_seed=False) + [
            "--preserve_performance_counters", "--initial_regressor", str(model)])

    def options(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able."""
        return {"exploration": self.exploration, "epsilon": self.epsilon, "gamma_scale": self.gamma_scale,
                "bag_size": self.bag_size, "cover_size": self.cover_size, "min_propensity": self.min_propensity,
                "learning_rate": self.learning_rate, "interactions": list(self.interactions), "seed": self.seed,
                "floor_decay": self.floor_decay}


def _run_multi(workspace: Workspace, lines: list[str], *, learn: bool) -> list[float] | None:
    """Predict on (learn=False: returns the pmf) or learn from one multiline example.

    Calls the native bindings on the parsed examples instead of `Workspace.predict` / `learn`, which wrap every
    line in a Python `Example` object first: for a 27-arm example that wrapping is ~80% of the call's time
    (same pmfs, checked by tests/test_policy_vw.py). The examples go back to VW (finished) either way. A
    vowpalwabbit without these bindings takes the public path."""
    if _NATIVE is None:
        if learn:
            workspace.learn(lines)
            return None
        return workspace.predict(lines)
    examples = workspace._parse("\n".join(lines))
    try:
        if learn:
            _NATIVE.learn_multi(workspace, examples)
            return None
        _NATIVE.predict_multi(workspace, examples)
        return examples[0].get_action_scores()
    finally:
        _NATIVE._finish_example_multi_ex(workspace, examples)


def _native_bindings():
    """vowpalwabbit's compiled module when it has the calls `_run_multi` uses, else None."""
    try:
        import pylibvw  # vowpalwabbit's extension module, installed beside it
    except ImportError:
        return None
    needed = ("predict_multi", "learn_multi", "_finish_example_multi_ex")
    if not all(hasattr(pylibvw.vw, name) for name in needed) or not hasattr(Workspace, "_parse") \
            or not hasattr(pylibvw.example, "get_action_scores"):
        return None
    return pylibvw.vw


_NATIVE = _native_bindings()


def example_lines(inputs: PolicyInput, label: tuple[int, float, float] | None = None) -> list[str]:
    """One multiline ADF example: the shared line, then one line per arm; `label` = (arm index, cost, probability).

    The unlabeled lines are rendered once per input and kept on it (an input is read-only once built), so the
    update after a select reuses the select's text and only the chosen arm's line gets its label."""
    lines = inputs.__dict__.get("_vw_lines")
    if lines is None:
        lines = ["shared " + namespaces_text(inputs.shared)] + [namespaces_text(action) for action in inputs.actions]
        object.__setattr__(inputs, "_vw_lines", lines)  # a cache, not a field: equality and to_json ignore it
    if label is None:
        return list(lines)
    labelled = list(lines)
    labelled[label[0] + 1] = f"0:{label[1]!r}:{label[2]!r} {lines[label[0] + 1]}"
    return labelled


def namespaces_text(namespaces: Mapping[str, Mapping[str, float]]) -> str:
    """`|S name:value ...` groups; zero and non-finite values are left out (VW ignores zeros, cannot parse NaN)."""
    groups = []
    for namespace, features in namespaces.items():
        if namespace not in _CHECKED_NAMESPACES:
            if not _NAMESPACE.fullmatch(namespace):
                raise ValueError(f"VW namespace names must start with a letter and hold only letters, digits or _, "
                                 f"got {namespace!r}; build the inputs with policy_input()")
            _CHECKED_NAMESPACES.add(namespace)
        groups.append(namespace_group(namespace, features_text(features, _safe_name)))
    # An action line with nothing on it would read as the end of the multiline example.
    return " ".join(groups) or "|A"


def _safe_name(name: str) -> str:
    return _SAFE_NAMES.get(name) or _safe(name)


def _safe(name: str) -> str:
    """Feature names from policy_input are safe already; names read from elsewhere are made so (remembered: the
    set of names is small)."""
    safe = vw_name(name) if _NEEDS_SANITIZING.search(name) or not name else name
    if len(_SAFE_NAMES) < _MAX_SAFE_NAMES:
        _SAFE_NAMES[name] = safe
    return safe


def _check_built_for(inputs: PolicyInput, index: int, arm: Arm) -> None:
    """The arm's features must be at its position: a changed catalogue would otherwise teach the wrong arm."""
    if f"arm_{vw_name(arm.name)}" not in inputs.actions[index].get(PLAN_NAMESPACE, {}):
        raise ValueError(f"the inputs' arm {index} was not built for arm {arm.name!r}; build the inputs with "
                         f"policy_input(..., arms) for the same catalogue the policy chooses from")


def _check_options(exploration: str, epsilon: float, gamma_scale: float, bag_size: int, cover_size: int,
                   min_propensity: float, learning_rate: float, interactions: Sequence[str], seed: int,
                   floor_decay: int) -> None:
    if exploration not in EXPLORATIONS:
        raise ConfigError(f"unknown exploration {exploration!r}; pick one of {', '.join(EXPLORATIONS)}")
    _check_range("epsilon", epsilon, 0.0, 1.0)
    _check_range("min_propensity", min_propensity, 0.0, 1.0)
    for name, value in (("gamma_scale", gamma_scale), ("learning_rate", learning_rate)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < math.inf:
            raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    for name, value in (("bag_size", bag_size), ("cover_size", cover_size), ("seed", seed),
                        ("floor_decay", floor_decay)):
        low = 0 if name in ("seed", "floor_decay") else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(interactions, str) or not all(isinstance(pair, str) and re.fullmatch(r"[A-Za-z]{2,}", pair)
                                                for pair in interactions):
        raise ConfigError(f"interactions must be a sequence of namespace-letter strings like ('SA', 'UA'), "
                          f"got {interactions!r}")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}")
