"""SQL of the feedback log: keyset pages, batch loads of items and clicks, insert-once, request checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError

from ..store.feedback_schema import clicks, impression_items, impressions
from .records import Click, Impression, UnknownRequestError, utc_naive
from .rows import click_from_row, impression_from_rows


def page_query(since: datetime | None, after: tuple[datetime, str] | None, batch_size: int,
               min_clicks: int) -> Select[Any]:
    """One keyset page of impressions, ordered by (created_at, request_id)."""
    created, request = impressions.c.created_at, impressions.c.request_id
    query = select(impressions).order_by(created, request).limit(batch_size)
    if since is not None:
        query = query.where(created >= utc_naive(since))
    if after is not None:
        query = query.where(or_(created > after[0], and_(created == after[0], request > after[1])))
    if min_clicks > 0:
        n_clicks = select(func.count()).select_from(clicks).where(clicks.c.request_id == request).scalar_subquery()
        query = query.where(n_clicks >= min_clicks)
    return query


def load_impressions(conn: Connection, rows: Sequence[Any]) -> list[Impression]:
    """Records of `impressions` rows (kept in their order), with their items read in one query."""
    ids = [row["request_id"] for row in rows]
    items: dict[str, list[Any]] = {request_id: [] for request_id in ids}
    if ids:
        query = (select(impression_items).where(impression_items.c.request_id.in_(ids))
                 .order_by(impression_items.c.request_id, impression_items.c.position))
        for item in conn.execute(query).mappings():
            items[item["request_id"]].append(item)
    return [impression_from_rows(row, items[row["request_id"]]) for row in rows]


def load_clicks(conn: Connection, request_ids: Sequence[str]) -> dict[str, list[Click]]:
    """Clicks of the given requests, oldest first; requests without clicks are absent."""
    found: dict[str, list[Click]] = {}
    if request_ids:
        query = (select(clicks).where(clicks.c.request_id.in_(list(request_ids)))
                 .order_by(clicks.c.request_id, clicks.c.created_at, clicks.c.entity_id))
        for row in conn.execute(query).mappings():
            found.setdefault(row["request_id"], []).append(click_from_row(row))
    return found


def request_exists(conn: Connection, request_id: str) -> bool:
    query = select(impressions.c.request_id).where(impressions.c.request_id == request_id)
    return conn.execute(query).first() is not None


def require_request(conn: Connection, request_id: str) -> None:
    if not request_exists(conn, request_id):
        raise unknown_request(request_id)


def unknown_request(request_id: str) -> UnknownRequestError:
    return UnknownRequestError(f"request id {request_id!r} is not in the feedback log; use the request_id of a "
                               "search result this store logged (record_impression first)")


def insert_once(conn: Connection, table: Any, values: dict[str, Any]) -> bool:
    """Insert `values` unless a row with the same primary key exists; True when a row was written."""
    dialect = {"sqlite": sqlite_dialect, "postgresql": postgresql_dialect}.get(conn.dialect.name)
    if dialect is not None:
        # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement
        query = dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        return conn.execute(query, values).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(table.insert(), values)
    except IntegrityError:
        return False
    return True
