"""What the feedback log records: a served search (`Impression`) with its shown items, and clicks on them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import NoTrainingDataError, UnknownRequestError  # noqa: F401  re-exported
from ..types import Context, Decision, EntityKind, QueryClass


def new_request_id() -> str:
    """A fresh random request id (32 hex characters)."""
    return uuid.uuid4().hex


def utc_naive(moment: datetime) -> datetime:
    """`moment` as naive UTC, the form the store keeps; a naive input is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The parts of a `Context` the log keeps: no user id (that becomes `Impression.user_key`).

    hour: 0-23 and weekday: 0 (Monday) - 6, in UTC, of the request's time.
    """

    device: str | None = None
    locale: str | None = None
    hour: int | None = None
    weekday: int | None = None

    @classmethod
    def from_context(cls, context: Context, at: datetime) -> RequestContext:
        """Keep device and locale; hour and weekday come from `context.timestamp`, else from `at`."""
        moment = utc_naive(context.timestamp or at)
        return cls(context.device, context.locale, moment.hour, moment.weekday())


@dataclass(frozen=True, slots=True)
class ShownItem:
    """One entity a search showed, at its 0-based final `position`.

    score: the ranker's score (NaN when unknown). sources: (generator, rank, score) for every generator that
    retrieved it. features: the ranker's input row, aligned with `Impression.feature_names`; NaN = missing.
    """

    position: int
    entity_id: str
    kind: EntityKind
    score: float
    sources: tuple[tuple[str, int, float], ...] = ()
    features: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Impression:
    """A search as it was served, written once to the feedback log.

    user_key: `FeedbackLog.pseudonymize(user_id)` (None for anonymous searches), never a raw user id.
    created_at: naive UTC. decision: the policy's plan and its propensity. ranker_version: the version of the
    ranker that ordered `items` (0 when none). policy_input: the policy's input for this search (opaque,
    JSON-serializable; non-finite floats are stored as null). items: the shown entities in position order.
    n_candidates: size of the retrieved pool the ranker saw. latency_ms: the search's wall time in ms.
    """

    request_id: str
    created_at: datetime
    user_key: str | None
    query_text: str
    query_normalized: str
    query_class: QueryClass
    context: RequestContext
    decision: Decision
    ranker_version: int
    policy_input: dict[str, Any] = field(default_factory=dict)
    feature_names: tuple[str, ...] = ()
    items: tuple[ShownItem, ...] = ()
    n_candidates: int = 0
    latency_ms: float = 0.0

    def item_for(self, entity_id: str) -> ShownItem | None:
        """The shown item with `entity_id`, or None when the search did not show it."""
        return next((item for item in self.items if item.entity_id == entity_id), None)


@dataclass(frozen=True, slots=True)
class Click:
    """A click on an entity a search showed.

    position: the 0-based position it was shown at; the log fills it from the impression when None.
    dwell_s: seconds the user stayed with the entity (listened), None when unknown. created_at: naive UTC;
    the log uses the time of recording when None.
    """

    request_id: str
    entity_id: str
    position: int | None = None
    dwell_s: float | None = None
    created_at: datetime | None = None

    def is_stream(self, stream_seconds: float) -> bool:
        """True when the user stayed at least `stream_seconds` (a stream, not just a click)."""
        return self.dwell_s is not None and self.dwell_s >= stream_seconds
