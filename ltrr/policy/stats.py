"""Running, exponentially decayed mean reward of each generator, and of each plan, per query class (bandit
features).

For one (query_class, generator) key, each `record` first multiplies the key's weight and weighted reward
sums by `decay`, then adds the new observation, so an observation recorded n updates ago counts decay**n
(0.99: half weight after about 69 updates of that key). Credit: the reward of a plan is shared among its
generators in proportion to their k, since the plan's result is the union of their candidates and the bigger
contributor is likelier to have supplied the clicked entity (a simple attribution, not a causal one).

Each plan's own mean reward per query class is kept the same way (full credit, weight 1 per search): with it
the bandit has an empirical estimate per (class, plan) to lean on while its weights are still young.

Prior: before any data the mean is 0.0, the neutral reward, and the prior keeps `prior_count`
pseudo-observations of 0.0 so a single lucky click does not read as a mean of 1.0:
mean = weighted_reward_sum / (weight_sum + prior_count).

Traits: `record_traits` keeps, the same way (decayed, with the same prior of 0.0), what share of each
generator's candidates were newly added, popular, or matched the user's taste (see TRAITS), so the bandit
can tell what kind of entities a generator brings for a kind of query, not only how it was rewarded.

    >>> stats = GeneratorStats(decay=1.0, prior_count=1.0)
    >>> stats.record("topical", Arm("bm25", (("bm25", 300),)), 1.0)
    >>> stats.mean("topical", "bm25"), stats.mean("topical", "dense")
    (0.5, 0.0)
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from ..errors import ConfigError
from ..types import Arm
from .base import check_reward

logger = logging.getLogger(__name__)
TRAITS = ("new", "popular", "personalized")


class GeneratorStats:
    """Decayed mean reward per (query_class, generator); rewards in [-1, 1], so means are too.

    Safe to share between threads: `record` and `mean` hold a lock.
    """

    def __init__(self, decay: float = 0.99, prior_count: float = 1.0) -> None:
        if not isinstance(decay, (int, float)) or not 0.0 < decay <= 1.0:
            raise ConfigError(f"decay must be in (0, 1], got {decay!r}; 1.0 keeps every observation at full weight")
        if not isinstance(prior_count, (int, float)) or not 0.0 < prior_count < math.inf:
            raise ConfigError(f"prior_count must be a finite number > 0, got {prior_count!r}")
        self.decay = float(decay)
        self.prior_count = float(prior_count)
        # (query_class, generator) -> [weight sum, weighted reward sum]
        self._sums: dict[tuple[str, str], list[float]] = {}
        # (query_class, arm name) -> [weight sum, weighted reward sum]: the plan's own record, uncredited
        self._arms: dict[tuple[str, str], list[float]] = {}
        # (query_class, generator, trait) -> [weight sum, weighted share sum]
        self._traits: dict[tuple[str, str, str], list[float]] = {}
        self._lock = threading.Lock()

    def record(self, query_class: str, arm: Arm, reward: float) -> None:
        """Add one observed reward of `arm` for a query of `query_class`, credited to its generators by k share."""
        check_reward(reward)
        budget = arm.budget
        with self._lock:
            for generator, k in arm.plan:
                sums = self._sums.setdefault((query_class, generator), [0.0, 0.0])
                weight = k / budget
                sums[0] = sums[0] * self.decay + weight
                sums[1] = sums[1] * self.decay + weight * reward
            sums = self._arms.setdefault((query_class, arm.name), [0.0, 0.0])
            sums[0] = sums[0] * self.decay + 1.0
            sums[1] = sums[1] * self.decay + reward

    def record_traits(self, query_class: str, generator: str, shares: dict[str, float]) -> None:
        """Add one search's shares (each in [0, 1]) of the generator's candidates having each trait of TRAITS."""
        unknown = sorted(set(shares) - set(TRAITS))
        if unknown:
            raise ValueError(f"unknown traits {unknown}; the traits are {list(TRAITS)}")
        with self._lock:
            for trait, share in shares.items():
                sums = self._traits.setdefault((query_class, generator, trait), [0.0, 0.0])
                sums[0] = sums[0] * self.decay + 1.0
                sums[1] = sums[1] * self.decay + min(max(float(share), 0.0), 1.0)

    def trait(self, query_class: str, generator: str, trait: str) -> float:
        """Decayed mean share in [0, 1] of the generator's candidates with `trait`; 0.0 before any data."""
        with self._lock:
            weight, total = self._traits.get((query_class, generator, trait), (0.0, 0.0))
        return total / (weight + self.prior_count)

    def mean(self, query_class: str, generator: str) -> float:
        """Decayed mean reward in [-1, 1]; 0.0 (the prior) before any data for that key."""
        with self._lock:
            weight, total = self._sums.get((query_class, generator), (0.0, 0.0))
        return total / (weight + self.prior_count)

    def arm_mean(self, query_class: str, arm_name: str) -> float:
        """The plan's own decayed mean reward for the query class (same prior); 0.0 before any data."""
        with self._lock:
            weight, total = self._arms.get((query_class, arm_name), (0.0, 0.0))
        return total / (weight + self.prior_count)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: parameters and the sums as {query_class: {generator: [weight, weighted_sum]}}."""
        sums: dict[str, dict[str, list[float]]] = {}
        with self._lock:
            for (query_class, generator), values in sorted(self._sums.items()):
                sums.setdefault(query_class, {})[generator] = list(values)
            traits = [[*key, *values] for key, values in sorted(self._traits.items())]
            arms = [[*key, *values] for key, values in sorted(self._arms.items())]
        return {"decay": self.decay, "prior_count": self.prior_count, "sums": sums, "traits": traits, "arms": arms}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorStats:
        """Rebuild what `to_dict` wrote.

        Raises:
            ValueError: the dict is not shaped like `to_dict`'s output.
        """
        try:
            stats = cls(decay=data["decay"], prior_count=data.get("prior_count", 1.0))
            for query_class, per_generator in data["sums"].items():
                for generator, (weight, total) in per_generator.items():
                    stats._sums[(str(query_class), str(generator))] = [float(weight), float(total)]
            for query_class, generator, trait, weight, total in data.get("traits", []):
                stats._traits[(str(query_class), str(generator), str(trait))] = [float(weight), float(total)]
            for query_class, arm_name, weight, total in data.get("arms", []):
                stats._arms[(str(query_class), str(arm_name))] = [float(weight), float(total)]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, ConfigError):
                raise
            raise ValueError(f"not a GeneratorStats dict ({error!r}); pass what GeneratorStats.to_dict() "
                             f"returned") from error
        return stats

