"""The oracle of a replay: a policy that knows what the simulated user wants and picks the best plan for it.

Before each search the replay shows the oracle every generator's deepest list for the query and the intent's
graded relevance (`prepare`). For each arm the oracle pools each generator's first k of the plan the engine
pools for the arm (`Engine.pool_plan`: the arm's plan, with `[policy] pool_probe` also the probe's lists)
and ranks the arms by (best relevance grade in the pool, then fewest pooled candidates). With an `evaluate`
function (the replay gives one: the engine ranks each arm's pool as it would, all in one `Engine.rank_plans`
call, and the click model gives the expected reward of each list), the first `shortlist` arms of that order
are evaluated and the best expected reward wins; without one, the first arm of the order. It never explores:
propensity 1 for its choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..policy.base import make_decision
from ..types import Arm, Candidate, Decision

if TYPE_CHECKING:
    from ..policy.features import PolicyInput


def pooled(lists: Mapping[str, Sequence[Candidate]], arm: Arm) -> set[str]:
    """The entity ids of the arm's pool: the union of each planned generator's first k."""
    found: set[str] = set()
    for name, k in arm.plan:
        found.update(candidate.entity_id for candidate in lists.get(name, ())[:k])
    return found


def arm_value(lists: Mapping[str, Sequence[Candidate]], arm: Arm, relevance: Mapping[str, int]) -> tuple[int, int]:
    """(best grade in the arm's pool, pool size): what the oracle maximizes, then minimizes."""
    pool = pooled(lists, arm)
    best = max((relevance.get(entity_id, 0) for entity_id in pool), default=0)
    return best, len(pool)


def arm_values(lists: Mapping[str, Sequence[Candidate]], arms: Sequence[Arm],
               relevance: Mapping[str, int]) -> list[tuple[int, int]]:
    """`arm_value` of every arm, with each listed entity looked up once: entities become integer codes, each
    generator's list a code array with a running maximum of its grades, so an arm's best grade is a max over
    its generators' prefixes and its pool size the count of distinct codes in them."""
    code: dict[str, int] = {}
    codes, best = {}, {}
    for name, candidates in lists.items():
        codes[name] = np.fromiter((code.setdefault(c.entity_id, len(code)) for c in candidates), np.int64,
                                  len(candidates))
        grades = np.fromiter((relevance.get(c.entity_id, 0) for c in candidates), np.int64, len(candidates))
        best[name] = np.maximum.accumulate(grades) if len(grades) else grades
    seen = np.zeros(len(code), dtype=bool)
    values = []
    for arm in arms:
        top, parts = 0, []
        for name, k in arm.plan:
            prefix = codes.get(name, np.zeros(0, np.int64))[:k]
            if len(prefix):
                top = max(top, int(best[name][len(prefix) - 1]))
                parts.append(prefix)
        if parts:
            seen[np.concatenate(parts)] = True
            size = int(seen.sum())
            seen[:] = False
        else:
            size = 0
        values.append((top, size))
    return values


def best_arm(lists: Mapping[str, Sequence[Candidate]], arms: Sequence[Arm], relevance: Mapping[str, int]) -> int:
    """The index of the arm with the best grade in its pool, the smallest pool among those, the first on ties."""
    return shortlist_arms(lists, arms, relevance, 1)[0]


def shortlist_arms(lists: Mapping[str, Sequence[Candidate]], arms: Sequence[Arm], relevance: Mapping[str, int],
                   n: int) -> list[int]:
    """The first `n` arm indices by (best grade in the pool descending, pool size, catalogue order)."""
    values = arm_values(lists, arms, relevance)
    return sorted(range(len(arms)), key=lambda i: (-values[i][0], values[i][1], i))[:n]


class OraclePolicy:
    """Chooses the best arm for what `prepare` last told it (see the module docstring); learns nothing."""

    name = "oracle"
    version = 0

    def __init__(self, shortlist: int = 6, *, record: Callable[[PolicyInput, list[float]], None] | None = None) -> None:
        """record: when given, every arm is evaluated for every search (not only the shortlist) and `record`
        receives the search's policy input and each arm's expected reward, in catalogue order: full-information
        plan values (`simulation.headroom`). The choice is then the best of all arms."""
        if shortlist < 1:
            raise ValueError(f"shortlist must be >= 1, got {shortlist!r}")
        self.shortlist = shortlist
        self.record = record
        self._lists: Mapping[str, Sequence[Candidate]] = {}
        self._relevance: Mapping[str, int] = {}
        self._evaluate: Callable[[Sequence[Arm]], list[float]] | None = None
        self._pooled: Callable[[Sequence[tuple[str, int]]], tuple[tuple[str, int], ...]] | None = None

    def prepare(self, lists: Mapping[str, Sequence[Candidate]], relevance: Mapping[str, int],
                evaluate: Callable[[Sequence[Arm]], list[float]] | None = None,
                pooled_plan: Callable[[Sequence[tuple[str, int]]], tuple[tuple[str, int], ...]] | None = None
                ) -> None:
        """What the next `select` knows: each generator's deepest list for the query, the intent's grades,
        optionally a function giving the expected reward of each of several arms, and the plan the engine
        actually pools for an arm's plan (`Engine.pool_plan`; default: the plan itself)."""
        self._lists, self._relevance, self._evaluate, self._pooled = lists, relevance, evaluate, pooled_plan

    def select(self, inputs: PolicyInput, arms: Sequence[Arm]) -> Decision:
        recording = self.record is not None and self._evaluate is not None
        pools = arms if self._pooled is None else [Arm(arm.name, self._pooled(arm.plan)) for arm in arms]
        candidates = shortlist_arms(self._lists, pools, self._relevance, len(arms) if recording else self.shortlist)
        if recording:
            values = list(self._evaluate(arms))
            self.record(inputs, values)
            index = max(candidates, key=lambda i: values[i])  # the first of equals: the smaller pool
        elif self._evaluate is not None and len(candidates) > 1:
            values = list(self._evaluate([arms[i] for i in candidates]))
            index = candidates[int(np.argmax(values))]  # the first of equals: the smaller pool
        else:
            index = candidates[0]
        pmf = np.zeros(len(arms))
        pmf[index] = 1.0
        return make_decision(arms, pmf, index, self.name, self.version)

    def update(self, inputs: PolicyInput, decision: Decision, reward: float) -> None:
        """The oracle does not learn."""

    def save(self, directory: str | Path) -> None:
        raise NotImplementedError("the oracle exists only inside a replay (it needs the simulated intent); "
                                  "nothing to save")
