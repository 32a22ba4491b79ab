"""What every click model shares: the `ClickOutcome` of one result page, the `ClickModel` protocol, and the
mapping from graded relevance to click and satisfaction probabilities.

A model sees one page as `relevance`, a 1-D array of graded relevance r_k in [0, 1] per shown position
(position 0 first); the simulator maps its own ground-truth grades into [0, 1] before calling. Every model
here turns relevance into two probabilities with the same documented, configurable maps:

    attractiveness  a(r) = min_attractiveness + (max_attractiveness - min_attractiveness) * r
    satisfaction    s(r) = satisfaction_scale * r          (P(satisfied | clicked), per click)

so a(r) rises linearly from `min_attractiveness` (an irrelevant result still draws some clicks: noise) to
`max_attractiveness`, and s(0) = 0: clicking an irrelevant result never satisfies. What a model does with
a(r), s(r) and the position (when the user stops, whether clicks are independent) is its own module's story.
All randomness comes from the `rng` passed to `simulate`, so a seeded generator replays the same outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ...errors import ConfigError


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    """What one simulated user did on one page.

    clicks: 0-based positions clicked, in the order clicked (top-down for every model here).
    examined: how many positions were examined: the last examined index + 1 (0 when none was).
    satisfied: whether some click satisfied the user's need; `satisfied_position` is that click (None if not).
    abandoned: no click at all (the page may still have been examined).

        >>> ClickOutcome.build(clicks=(1, 3), examined=4, satisfied_position=3)
        ClickOutcome(clicks=(1, 3), examined=4, satisfied=True, satisfied_position=3, abandoned=False)
    """

    clicks: tuple[int, ...]
    examined: int
    satisfied: bool
    satisfied_position: int | None
    abandoned: bool

    @classmethod
    def build(cls, clicks: Sequence[int], examined: int, satisfied_position: int | None) -> ClickOutcome:
        """An outcome whose `satisfied` and `abandoned` flags are derived from the clicks, so they always agree."""
        clicks = tuple(int(k) for k in clicks)
        position = None if satisfied_position is None else int(satisfied_position)
        return cls(clicks, int(examined), position is not None, position, not clicks)

    def click_indicator(self, n_positions: int) -> np.ndarray:
        """0/1 per position for a page of `n_positions` (the layout `estimate.fit_*` reads).

        >>> ClickOutcome.build((0, 2), 3, None).click_indicator(4).tolist()
        [1, 0, 1, 0]
        """
        indicator = np.zeros(n_positions, dtype=np.int8)
        indicator[list(self.clicks)] = 1
        return indicator


@runtime_checkable
class ClickModel(Protocol):
    """The part of a click model the simulator calls."""

    kind: ClassVar[str]

    def simulate(self, relevance: np.ndarray, rng: np.random.Generator) -> ClickOutcome: ...

    def click_probabilities(self, relevance: np.ndarray) -> np.ndarray: ...

    def parameters(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RelevanceClickModel:
    """Base of the models here: holds and checks the relevance -> attractiveness / satisfaction maps.

    Subclasses are frozen dataclasses too; `__post_init__` checks every value once, when the model is built
    (the config boundary), so `simulate` only checks the per-page `relevance`.
    """

    kind: ClassVar[str] = ""

    min_attractiveness: float = 0.05
    max_attractiveness: float = 0.95
    satisfaction_scale: float = 1.0

    def __post_init__(self) -> None:
        check_probability(self, "min_attractiveness", self.min_attractiveness)
        check_probability(self, "max_attractiveness", self.max_attractiveness)
        check_probability(self, "satisfaction_scale", self.satisfaction_scale)
        if self.min_attractiveness > self.max_attractiveness:
            raise ConfigError(f"click_model.{self.kind}.min_attractiveness ({self.min_attractiveness!r}) must be <= "
                              f"max_attractiveness ({self.max_attractiveness!r}); swap them or raise the maximum")

    def attractiveness(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """a(r) per position: P(click | examined)."""
        r = check_relevance(relevance)
        return self.min_attractiveness + (self.max_attractiveness - self.min_attractiveness) * r

    def satisfaction(self, relevance: np.ndarray | Sequence[float]) -> np.ndarray:
        """s(r) per position: P(satisfied | clicked)."""
        return self.satisfaction_scale * check_relevance(relevance)

    def parameters(self) -> dict[str, Any]:
        """The true parameters as JSON-able values; `make_click_model(**model.parameters())` rebuilds the model."""
        values = {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}
        return {"kind": self.kind, **values}


def check_probability(model: RelevanceClickModel, name: str, value: object) -> None:
    """Raise ConfigError unless `value` is a real number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"click_model.{model.kind}.{name} must be a probability in [0, 1], got {value!r}; "
                          "give a number between 0 and 1")


def check_relevance(relevance: np.ndarray | Sequence[float]) -> np.ndarray:
    """`relevance` as a 1-D float array, or ValueError naming the bad value and the fix."""
    try:
        r = np.asarray(relevance, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"relevance must be a 1-D array of numbers in [0, 1], got {relevance!r}") from None
    if r.ndim != 1:
        raise ValueError(f"relevance must be a 1-D array (one grade per shown position), got shape {r.shape}; "
                         "simulate one page per call")
    bad = ~np.isfinite(r) | (r < 0.0) | (r > 1.0)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"relevance must lie in [0, 1], got {float(r[k])!r} at position {k}; "
                         "map graded relevance into [0, 1] first (e.g. grade / max_grade)")
    return r
