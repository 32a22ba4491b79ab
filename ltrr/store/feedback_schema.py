"""Tables of the feedback log (`ltrr.feedback.log`), on the catalog store's `Base`.

The log is append-only: a search writes one `impressions` row and one `impression_items` row per shown
entity; each click writes one `clicks` row. Rows are never deleted; the only later change is `close`,
which fills `closed_at` (and `reward`) of an impression once. `entity_id` has no foreign key to
`entities`: the log outlives re-ingests of the catalog. Timestamps are naive UTC. JSON columns hold no
NaN or infinity (PostgreSQL's json type rejects them): missing floats are stored as null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base


class ImpressionRow(Base):
    """One search as it was served: who (pseudonymized), what was asked, the plan chosen and its probability.

    context: {"device", "locale", "hour" (0-23, UTC), "weekday" (0 = Monday)}. plan: [[generator, k], ...].
    pmf: the probability of every arm, in catalogue order. policy_input: the policy's own input, opaque.
    feature_names: the ranker's feature columns, one per entry of each item's `features`.
    latency_ms: wall time of the search in milliseconds. closed_at/reward: set once by `close`.
    """

    __tablename__ = "impressions"
    __table_args__ = (
        CheckConstraint("propensity > 0", name="ck_impressions_propensity"),
        CheckConstraint("n_candidates >= 0 AND n_shown >= 0", name="ck_impressions_counts"),
        Index("ix_impressions_created_at_request_id", "created_at", "request_id"),  # keyset reads by time
    )

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    user_key: Mapped[str | None] = mapped_column(String(64))
    query_text: Mapped[str] = mapped_column(Text)
    query_normalized: Mapped[str] = mapped_column(Text)
    query_class: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    arm_name: Mapped[str] = mapped_column(String(64))
    plan: Mapped[list[Any]] = mapped_column(JSON)
    arm_index: Mapped[int] = mapped_column(Integer)
    propensity: Mapped[float] = mapped_column(Float)
    pmf: Mapped[list[Any]] = mapped_column(JSON)
    policy: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    ranker_version: Mapped[int] = mapped_column(Integer)
    policy_input: Mapped[dict[str, Any]] = mapped_column(JSON)
    feature_names: Mapped[list[Any]] = mapped_column(JSON)
    n_candidates: Mapped[int] = mapped_column(Integer)
    n_shown: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reward: Mapped[float | None] = mapped_column(Float)


class ImpressionItemRow(Base):
    """One entity shown by a search, at its 0-based final position.

    score: the ranker's score (null when NaN). sources: [[generator, rank, score], ...], every generator
    that retrieved it. features: the ranker's input row, aligned with the impression's feature_names,
    null where missing.
    """

    __tablename__ = "impression_items"

    request_id: Mapped[str] = mapped_column(ForeignKey("impressions.request_id", ondelete="CASCADE"),
                                            primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[list[Any]] = mapped_column(JSON)
    features: Mapped[list[Any]] = mapped_column(JSON)


class ClickRow(Base):
    """A click on a shown entity; the primary key makes the same (request, entity) click count once.

    position: where the entity was shown. dwell_s: seconds the user stayed (listened), null if unknown.
    stream: dwell_s reached the log's stream threshold when the click was recorded.
    """

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_created_at", "created_at"),)

    request_id: Mapped[str] = mapped_column(ForeignKey("impressions.request_id", ondelete="CASCADE"),
                                            primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    dwell_s: Mapped[float | None] = mapped_column(Float)
    stream: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)


impressions = ImpressionRow.__table__
impression_items = ImpressionItemRow.__table__
clicks = ClickRow.__table__
FEEDBACK_TABLES = (impressions, impression_items, clicks)
