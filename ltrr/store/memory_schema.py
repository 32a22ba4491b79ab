"""Tables of the query-to-entity memory (`ltrr.retrieval.memory`), on the catalog store's `Base`.

Only observed statistics are stored: predicted queries are derived from the catalog when the memory is
fitted. `entity_id` has no foreign key to `entities`, so a memory can be saved beside a catalog it was not
fitted from; rows naming entities the memory does not know are skipped on load.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base


class MemoryStatRow(Base):
    """Decayed impressions and clicks of one (query key, entity) pair of one memory generator, as of updated_at.

    `source` is the generator's name, so several memories can share a store. Counts are floats: they are
    position-discounted and time-decayed (see `ltrr.retrieval.memory_stats`).
    """

    __tablename__ = "memory_stats"
    __table_args__ = (CheckConstraint("clicks >= 0 AND impressions >= 0", name="ck_memory_stats_counts"),)

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    query_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    impressions: Mapped[float] = mapped_column(Float)
    clicks: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


memory_stats = MemoryStatRow.__table__
