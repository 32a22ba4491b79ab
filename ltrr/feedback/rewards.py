"""The reward one search earned, from its impression and clicks: what the bandit policy learns from."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError
from .records import Click, Impression


@dataclass(frozen=True)
class RewardModel:
    """Turns a search's clicks into one reward in [-1, 1]; the costs charge the plan for its work.

    The reward of a search with impression `i` and clicks `C`::

        reward = clip(best - cost_per_candidate * n_candidates - cost_per_ms * latency_ms, -1, 1)
        best   = max over clicks c in C on an entity i showed of value(c) * discount(c);  no_click if there is none
        value(c)    = stream_value if c.dwell_s >= stream_seconds (a stream) else click_value
        discount(c) = 1 / log2(position(c) + 2) if rank_discount else 1
        position(c) = the 0-based final position at which i showed the clicked entity

    n_candidates is the size of the retrieved pool and latency_ms the search's wall time in milliseconds,
    both as logged. Clicks on entities the search did not show are ignored.

        >>> model = RewardModel(cost_per_candidate=0.001)
        >>> # a click at position 2 of a search that ranked 100 candidates: 1/log2(4) - 0.001 * 100
        >>> round(model.value(position=2, dwell_s=None) - model.cost(n_candidates=100, latency_ms=0.0), 6)
        0.4
    """

    click_value: float = 1.0
    stream_value: float = 1.0
    stream_seconds: float = 30.0
    rank_discount: bool = True
    cost_per_candidate: float = 0.0005
    cost_per_ms: float = 0.0
    no_click: float = 0.0

    def __post_init__(self) -> None:
        for name in ("click_value", "stream_value", "cost_per_candidate", "cost_per_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"reward {name} must be a finite number >= 0, got {value!r}; "
                                  f"use 0 to turn it off")
        if not (math.isfinite(self.stream_seconds) and self.stream_seconds > 0):
            raise ConfigError(f"reward stream_seconds must be > 0, got {self.stream_seconds!r}; "
                              "give the listening time that makes a click a stream, e.g. 30.0")
        if not (math.isfinite(self.no_click) and -1.0 <= self.no_click <= 1.0):
            raise ConfigError(f"reward no_click must be in [-1, 1], got {self.no_click!r}; "
                              "use 0.0 for no reward or a small negative number to penalize unanswered searches")

    def value(self, position: int, dwell_s: float | None) -> float:
        """value * discount of one click on the entity shown at 0-based `position`."""
        stream = dwell_s is not None and dwell_s >= self.stream_seconds
        value = self.stream_value if stream else self.click_value
        return value / math.log2(position + 2) if self.rank_discount else value

    def cost(self, n_candidates: int, latency_ms: float) -> float:
        """What the search's plan is charged for the candidates it retrieved and the time it took."""
        return self.cost_per_candidate * n_candidates + self.cost_per_ms * latency_ms

    def reward(self, impression: Impression, clicks: Iterable[Click]) -> float:
        """The search's reward by the formula of the class docstring."""
        positions = {}
        for item in impression.items:
            positions.setdefault(item.entity_id, item.position)
        values = [self.value(positions[click.entity_id], click.dwell_s)
                  for click in clicks if click.entity_id in positions]
        best = max(values) if values else self.no_click
        return min(1.0, max(-1.0, best - self.cost(impression.n_candidates, impression.latency_ms)))
