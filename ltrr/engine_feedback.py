"""Searches waiting for their reward, and how a search is settled.

A search is *settled* once, when its plan's reward is known: at its first click (the reward of that click),
or with the no-click reward when `Engine.close(request_id)` is called or `[feedback] close_after_s` passes
without a click (checked at each later search and click). Settling updates the bandit and the per-class
generator statistics. Later clicks on a settled search still reach the log and the memory index, but not
the bandit: a contextual bandit takes one reward per decision.

Pending searches live in memory (bounded: the oldest are settled first when `max_pending` is reached), so a
process that stops loses only the bandit updates of searches still pending; the log keeps every event.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .feedback import Click, Impression
from .policy import PolicyInput
from .types import Query


@dataclass
class Pending:
    """One search awaiting its reward: what the bandit saw and chose, and what the user was shown."""

    impression: Impression
    inputs: PolicyInput
    query: Query
    at: datetime | None = None  # the search's Context.timestamp: when the memory index records its events
    started: float = field(default_factory=time.monotonic)
    clicks: list[Click] = field(default_factory=list)


class PendingSearches:
    """Thread-safe map of request id -> Pending, oldest first.

    settle: called (outside the map's lock) with each search leaving the map and its clicks so far.
    """

    def __init__(self, settle: Callable[[Pending], None], close_after_s: float, max_pending: int = 100_000) -> None:
        self._settle = settle
        self.close_after_s = close_after_s
        self.max_pending = max_pending
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, pending: Pending) -> None:
        with self._lock:
            self._items[pending.impression.request_id] = pending
            overflow = [self._items.popitem(last=False)[1] for _ in range(len(self._items) - self.max_pending)]
        for item in overflow:
            self._settle(item)

    def peek(self, request_id: str) -> Pending | None:
        """The pending search, left in place (None when it is not pending)."""
        with self._lock:
            return self._items.get(request_id)

    def take(self, request_id: str) -> Pending | None:
        """Remove and return the pending search (None when it is settled already or was never pending)."""
        with self._lock:
            return self._items.pop(request_id, None)

    def expire(self, now: float | None = None) -> int:
        """Settle every search older than close_after_s with what it has (no click); returns how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            expired = []
            while self._items:
                oldest = next(iter(self._items.values()))
                if now - oldest.started < self.close_after_s:
                    break
                expired.append(self._items.popitem(last=False)[1])
        for item in expired:
            self._settle(item)
        return len(expired)

    def drain(self) -> int:
        """Settle everything pending (at shutdown); returns how many."""
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
        for item in items:
            self._settle(item)
        return len(items)
