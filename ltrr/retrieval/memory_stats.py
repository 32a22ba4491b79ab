"""Observed (query key, entity) statistics: time-decayed, position-discounted impressions and clicks.

Decay: every count halves each `half_life_days`. A pair stores its counts as of its last update (`day`,
days since 1970-01-01 UTC) and decay is applied lazily, on read and on update:
count(t) = count(day) * 2 ** (-(t - day) / half_life_days). Reading at a time before `day` never inflates.

Position: an unclicked impression at 0-based position p counts examination_weight(p) = 1 / log2(p + 2)
impressions (the DCG discount as the chance the user looked that far down: 1 at the top, 0.5 at position 2),
so a low unclicked slot hardly punishes an entity. A clicked impression counts one full impression and one
click, whatever its position: the click proves the entity was examined, and clicks <= impressions holds.

Blend: `posterior_ctr` is the mean of a Beta prior centered on the predicted CTR p with `strength`
pseudo-impressions, updated by the observed counts: (clicks + strength * p) / (impressions + strength).
With no observations it is p; after many impressions it tends to clicks / impressions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1)


def to_day(timestamp: datetime) -> float:
    """Days since 1970-01-01 (naive timestamps are UTC; aware ones are converted to UTC)."""
    if timestamp.tzinfo is not None:
        timestamp = timestamp.astimezone(UTC).replace(tzinfo=None)
    return (timestamp - _EPOCH) / timedelta(days=1)


def from_day(day: float) -> datetime:
    """The naive UTC timestamp of `to_day`'s day number."""
    return _EPOCH + timedelta(days=day)


def examination_weight(position: int | None) -> float:
    """1 / log2(position + 2) for a 0-based position; 1.0 when the position is unknown."""
    if position is None:
        return 1.0
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise ValueError(f"position must be a 0-based int >= 0 or None, got {position!r}")
    return 1.0 / math.log2(position + 2)


def posterior_ctr(clicks: float, impressions: float, predicted: float, strength: float) -> float:
    """(clicks + strength * predicted) / (impressions + strength); `predicted` when both are zero."""
    total = impressions + strength
    return predicted if total <= 0.0 else (clicks + strength * predicted) / total


class PairStat:
    """Decayed impressions and clicks of one (query key, entity) pair as of `day`."""

    __slots__ = ("impressions", "clicks", "day")

    def __init__(self, impressions: float, clicks: float, day: float) -> None:
        self.impressions = impressions
        self.clicks = clicks
        self.day = day


class ObservedStats:
    """query key -> entity position -> PairStat, with the latest event day seen as the clock."""

    def __init__(self, half_life_days: float) -> None:
        self.half_life_days = half_life_days
        self.pairs: dict[str, dict[int, PairStat]] = {}
        self.clock: float | None = None
        self.n_pairs = 0

    def decay(self, elapsed_days: float) -> float:
        """The factor a count keeps after `elapsed_days` (1.0 for elapsed <= 0)."""
        return 1.0 if elapsed_days <= 0.0 else 0.5 ** (elapsed_days / self.half_life_days)

    def record(self, key: str, position: int, impressions: float, clicks: float, day: float) -> None:
        """Add one event's (impressions, clicks) at `day`; an event older than the pair's update is decayed."""
        entities = self.pairs.setdefault(key, {})
        stat = entities.get(position)
        if stat is None:
            entities[position] = PairStat(impressions, clicks, day)
            self.n_pairs += 1
        elif day >= stat.day:
            keep = self.decay(day - stat.day)
            stat.impressions = stat.impressions * keep + impressions
            stat.clicks = stat.clicks * keep + clicks
            stat.day = day
        else:  # out-of-order event: weigh it as it would have decayed by the pair's last update
            late = self.decay(stat.day - day)
            stat.impressions += impressions * late
            stat.clicks += clicks * late
        self.clock = day if self.clock is None else max(self.clock, day)

    def set(self, key: str, position: int, impressions: float, clicks: float, day: float) -> None:
        """Overwrite a pair's state (loading from a store)."""
        entities = self.pairs.setdefault(key, {})
        self.n_pairs += position not in entities
        entities[position] = PairStat(impressions, clicks, day)
        self.clock = day if self.clock is None else max(self.clock, day)

    def counts_at(self, stat: PairStat, day: float | None) -> tuple[float, float]:
        """(impressions, clicks) of `stat` decayed to `day` (as stored when `day` is None)."""
        keep = 1.0 if day is None else self.decay(day - stat.day)
        return stat.impressions * keep, stat.clicks * keep

    def entities(self, key: str) -> dict[int, PairStat]:
        return self.pairs.get(key, {})

    def rows(self) -> Iterator[tuple[str, int, PairStat]]:
        """Every (key, entity position, stat), keys in insertion order."""
        for key, entities in self.pairs.items():
            for position, stat in entities.items():
                yield key, position, stat
