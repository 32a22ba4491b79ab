"""RecentFeedbackLog: the feedback log's interface over the latest searches only, in process memory.

For replays that run many engines side by side over tens of thousands of simulated searches: each engine
needs a log (to settle rewards and to retrain its ranker) but not a durable one, and keeping every shown
item's feature row of every search would grow without bound. This log keeps the newest `max_searches`
impressions with their clicks and forgets older ones (a click on a forgotten search raises
UnknownRequestError, as for an id never logged). It validates like `FeedbackLog` and is not persistent:
use `FeedbackLog` for anything that must survive the process. Memory: about 16 KB a search for the shown
items' feature rows unless keep_features is False, plus ~100 KB for the bandit's inputs unless
keep_policy_input is False. A log that keeps no feature rows cannot train a ranker (`RankingData.from_log`
finds no search logged with the engine's feature names); an engine that logs to it builds only the feature
columns its scorer reads.

    >>> log = RecentFeedbackLog(max_searches=2)
    >>> log.counts()["impressions"]
    0
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from ..errors import StoreError, UnknownEntityError
from .queries import unknown_request
from .records import Click, Impression, utc_naive, utc_now
from .rows import check_impression


class RecentFeedbackLog:
    """The newest `max_searches` impressions and their clicks (see the module docstring)."""

    def __init__(self, max_searches: int = 20_000, *, stream_seconds: float = 30.0,
                 keep_policy_input: bool = True, keep_features: bool = True) -> None:
        if not isinstance(max_searches, int) or max_searches < 1:
            raise ValueError(f"max_searches must be an int >= 1, got {max_searches!r}")
        if not (math.isfinite(stream_seconds) and stream_seconds > 0):
            raise ValueError(f"stream_seconds must be a positive number of seconds, got {stream_seconds!r}")
        self.max_searches = max_searches
        # The bandit's features of 27 plans take ~100 KB a search; a replay that needs no off-policy replay of
        # its logs drops them (the impression keeps everything else, which is what ranker training reads).
        self.keep_policy_input = keep_policy_input
        self.keep_features = keep_features  # the shown items' feature rows (what ranker training reads)
        self.stream_seconds = stream_seconds
        self._salt = secrets.token_bytes(32)
        self._impressions: OrderedDict[str, Impression] = OrderedDict()
        self._clicks: dict[str, list[Click]] = {}
        self._rewards: dict[str, float | None] = {}
        self._lock = threading.Lock()
        self.n_forgotten = 0

    def pseudonymize(self, user_id: str | None) -> str | None:
        """HMAC-SHA256 of `user_id` under this log's own random key; None stays None."""
        if user_id is None:
            return None
        return hmac.new(self._salt, user_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def record_impression(self, impression: Impression) -> None:
        check_impression(impression)
        with self._lock:
            if impression.request_id in self._impressions:
                raise StoreError(f"request id {impression.request_id!r} is already in the feedback log; give each "
                                 "search a new id (ltrr.feedback.new_request_id())")
            if not self.keep_policy_input and impression.policy_input:
                impression = replace(impression, policy_input={})
            if not self.keep_features and impression.feature_names:
                impression = replace(impression, feature_names=(),
                                     items=tuple(replace(item, features=()) for item in impression.items))
            self._impressions[impression.request_id] = impression
            self._clicks[impression.request_id] = []
            while len(self._impressions) > self.max_searches:
                old, _ = self._impressions.popitem(last=False)
                self._clicks.pop(old, None)
                self._rewards.pop(old, None)
                self.n_forgotten += 1

    def record_click(self, click: Click) -> bool:
        """Like `FeedbackLog.record_click`: False for a repeat; errors for an unknown request or entity."""
        if click.dwell_s is not None and not (math.isfinite(click.dwell_s) and click.dwell_s >= 0):
            raise ValueError(f"dwell_s must be >= 0 seconds or None, got {click.dwell_s!r}")
        with self._lock:
            impression = self._impression(click.request_id)
            shown = impression.item_for(click.entity_id)
            if shown is None:
                raise UnknownEntityError(f"entity {click.entity_id!r} was not shown by search {click.request_id!r}; "
                                         "record clicks only on entities the search returned")
            found = self._clicks[click.request_id]
            if any(previous.entity_id == click.entity_id for previous in found):
                return False
            found.append(replace(click, position=shown.position,
                                 created_at=utc_naive(click.created_at or utc_now())))
            return True

    def close(self, request_id: str, reward: float | None = None) -> bool:
        if reward is not None and not math.isfinite(reward):
            raise ValueError(f"reward must be a finite number or None, got {reward!r}")
        with self._lock:
            self._impression(request_id)
            if request_id in self._rewards:
                return False
            self._rewards[request_id] = reward
            return True

    def get_impression(self, request_id: str) -> Impression:
        with self._lock:
            return self._impression(request_id)

    def clicks_for(self, request_id: str) -> list[Click]:
        with self._lock:
            self._impression(request_id)
            return list(self._clicks[request_id])

    def iter_impressions(self, since: datetime | None = None, batch_size: int = 1000) -> Iterator[Impression]:
        for impression, _ in self.iter_feedback(since, batch_size):
            yield impression

    def iter_feedback(self, since: datetime | None = None, batch_size: int = 1000,
                      min_clicks: int = 0) -> Iterator[tuple[Impression, tuple[Click, ...]]]:
        """(impression, its clicks) in (created_at, request_id) order, like `FeedbackLog.iter_feedback`."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        with self._lock:
            rows = [(impression, tuple(self._clicks[request_id]))
                    for request_id, impression in self._impressions.items()
                    if (since is None or impression.created_at >= since)
                    and len(self._clicks[request_id]) >= min_clicks]
        rows.sort(key=lambda row: (row[0].created_at, row[0].request_id))
        yield from rows

    def latest_feature_names(self) -> tuple[str, ...] | None:
        with self._lock:
            if not self._impressions:
                return None
            return max(self._impressions.values(), key=lambda i: (i.created_at, i.request_id)).feature_names

    def counts(self) -> dict[str, int]:
        """Rows held now: impressions, closed, items (shown), clicks, streams."""
        with self._lock:
            every_click = [click for found in self._clicks.values() for click in found]
            return {"impressions": len(self._impressions), "closed": len(self._rewards),
                    "items": sum(len(i.items) for i in self._impressions.values()), "clicks": len(every_click),
                    "streams": sum(click.is_stream(self.stream_seconds) for click in every_click)}

    def flush(self) -> int:
        """Nothing is queued in memory: 0 (for the interface of `FeedbackLog.flush`)."""
        return 0

    def dispose(self) -> None:
        """Forget everything (nothing to release otherwise)."""
        with self._lock:
            self._impressions.clear()
            self._clicks.clear()
            self._rewards.clear()

    def _impression(self, request_id: str) -> Impression:
        impression = self._impressions.get(request_id)
        if impression is None:
            raise unknown_request(request_id)
        return impression
