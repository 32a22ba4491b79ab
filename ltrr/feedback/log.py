"""FeedbackLog: the append-only log of served searches (impressions) and clicks, in the store's database.

    >>> from ltrr.feedback import Click, FeedbackLog, Impression, RequestContext, ShownItem
    >>> from ltrr.feedback.records import utc_now
    >>> from ltrr.types import Arm, Decision
    >>> log = FeedbackLog.open("sqlite://")
    >>> decision = Decision(Arm("bm25_only", (("bm25", 100),)), 0, 1.0, (1.0,), "fixed")
    >>> log.record_impression(Impression(
    ...     "r1", utc_now(), log.pseudonymize("u42"), "night drive", "night drive", "topical", RequestContext(),
    ...     decision, 0, items=(ShownItem(0, "t:track:t1", "track", 2.5),), n_candidates=40, latency_ms=12.0))
    >>> log.record_click(Click("r1", "t:track:t1", dwell_s=95.0)), log.record_click(Click("r1", "t:track:t1"))
    (True, False)
    >>> log.counts()["clicks"]
    1

Every write is one transaction. Write-behind (`write_behind_s` > 0, the engine's default): `record_impression`
only queues the rows, and the queue is written in one transaction `write_behind_s` after its first entry (by
a timer thread), when it holds `max_buffered` searches, before any read or click of this log, on `flush()`,
`dispose()` and at interpreter exit. `close` of a queued search updates its queued row. A search is therefore
off the database's critical path; a process that dies loses at most the last `write_behind_s` of unclicked
searches, and the store stays consistent (each batch is one transaction). A request id that is already in the
store is caught only when its batch is written: that row is skipped and logged as an error (ids from
`new_request_id` never collide). With `write_behind_s` = 0 every call writes before it returns.

Concurrency: PostgreSQL needs nothing more. On SQLite (WAL, one writer at
a time) the writes of one `FeedbackLog` take a process-local lock, so threads queue in Python rather than
spin on the database lock; other processes wait through SQLite's busy timeout (30 s, set by
`ltrr.store.db`), and a write that still finds the database locked is retried with backoff. An in-memory
SQLite database is one shared connection, so its reads take the lock too.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import StoreError, UnknownEntityError
from ..store.db import open_engine
from ..store.feedback_schema import FEEDBACK_TABLES, clicks, impression_items, impressions
from ..store.schema import Base, meta
from .queries import (
    insert_once,
    load_clicks,
    load_impressions,
    page_query,
    request_exists,
    require_request,
    unknown_request,
)
from .records import Click, Impression, utc_naive, utc_now
from .rows import check_impression, impression_row, item_rows

logger = logging.getLogger(__name__)
SALT_KEY = "feedback.user_salt"
LOCKED_RETRIES = 6
DEFAULT_MAX_BUFFERED = 256
T = TypeVar("T")


class FeedbackLog:
    """Append-only impressions and clicks; `pseudonymize` turns user ids into keyed hashes before storage.

    Args:
        engine: an engine whose database holds the feedback tables (`open`/`from_engine` create them).
        user_salt: the HMAC key of `pseudonymize`; `open`/`from_engine` keep one per store in `ltrr_meta`.
        stream_seconds: a click with dwell_s >= this many seconds is stored as a stream.
        write_behind_s: queue searches and write them in batches this many seconds later (0: write at once).
        max_buffered: a queue of this many searches is written at once.
    """

    def __init__(self, engine: Engine, user_salt: bytes, *, stream_seconds: float = 30.0,
                 write_behind_s: float = 0.0, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        if not (math.isfinite(stream_seconds) and stream_seconds > 0):
            raise ValueError(f"stream_seconds must be a positive number of seconds, got {stream_seconds!r}; "
                             "use e.g. 30.0")
        if not (math.isfinite(write_behind_s) and 0.0 <= write_behind_s <= 60.0):
            raise ValueError(f"write_behind_s must be between 0 and 60 seconds, got {write_behind_s!r}; use 0 to "
                             "write every search at once or e.g. 0.25")
        if isinstance(max_buffered, bool) or not isinstance(max_buffered, int) or max_buffered < 1:
            raise ValueError(f"max_buffered must be an integer >= 1, got {max_buffered!r}")
        self.write_behind_s = write_behind_s
        self.max_buffered = max_buffered
        self._queue: dict[str, _Queued] = {}
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        if write_behind_s > 0:
            atexit.register(_flush_at_exit, weakref.ref(self))
        self.engine = engine
        self.stream_seconds = stream_seconds
        self._salt = user_salt
        self._owns_engine = False
        sqlite = engine.dialect.name == "sqlite"
        in_memory = sqlite and engine.url.database in (None, "", ":memory:")
        lock = threading.RLock()
        self._write_lock: AbstractContextManager[Any] = lock if sqlite else nullcontext()
        self._read_lock: AbstractContextManager[Any] = lock if in_memory else nullcontext()

    @classmethod
    def open(cls, db: str | Path, *, stream_seconds: float = 30.0, write_behind_s: float = 0.0,
             max_buffered: int = DEFAULT_MAX_BUFFERED) -> FeedbackLog:
        """Open (and create if needed) the log in the store at a file path or SQLAlchemy URL."""
        log = cls.from_engine(open_engine(db), stream_seconds=stream_seconds, write_behind_s=write_behind_s,
                              max_buffered=max_buffered)
        log._owns_engine = True
        return log

    @classmethod
    def from_engine(cls, engine: Engine, *, stream_seconds: float = 30.0, write_behind_s: float = 0.0,
                    max_buffered: int = DEFAULT_MAX_BUFFERED) -> FeedbackLog:
        """The log in an open store's database (e.g. `CatalogStore.engine`); creates its tables if missing."""
        Base.metadata.create_all(engine, tables=list(FEEDBACK_TABLES))
        return cls(engine, _store_salt(engine), stream_seconds=stream_seconds, write_behind_s=write_behind_s,
                   max_buffered=max_buffered)

    def dispose(self) -> None:
        """Write what is queued, and release the database connections when `open` created the engine."""
        self.flush()
        if self._owns_engine:
            self.engine.dispose()

    def pseudonymize(self, user_id: str | None) -> str | None:
        """HMAC-SHA256 of `user_id` keyed by this store's secret (64 hex characters); None stays None.

        Stable within one store, unrelated across stores; the raw id cannot be recovered from the log.
        """
        if user_id is None:
            return None
        return hmac.new(self._salt, user_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def record_impression(self, impression: Impression) -> None:
        """Write a served search and its shown items in one transaction (or queue them: write-behind).

        Raises StoreError when the request id is already logged (with write-behind: already queued; one
        already in the store is caught when the batch is written), ValueError when `user_key` is not a
        pseudonym or an item's features do not align with `feature_names`.
        """
        check_impression(impression)
        if self.write_behind_s > 0:
            self._enqueue(impression)  # its rows are built when the batch is written, off the search's path
            return
        row, items = impression_row(impression), item_rows(impression)

        try:
            self._write(lambda conn: _insert(conn, row, items))
        except IntegrityError as exc:
            if self._exists(impression.request_id):
                raise _duplicate(impression.request_id) from exc
            raise

    def flush(self) -> int:
        """Write every queued search now, in one transaction; returns how many. Waits for a batch being
        written by another thread, so that after `flush` the store holds every search recorded before it."""
        with self._flush_lock:
            with self._queue_lock:
                batch, self._queue = self._queue, {}
                timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            if batch:
                self._write_batch(batch)
            return len(batch)

    def _enqueue(self, impression: Impression) -> None:
        with self._queue_lock:
            if impression.request_id in self._queue:
                raise _duplicate(impression.request_id)
            self._queue[impression.request_id] = _Queued(impression)
            full = len(self._queue) >= self.max_buffered
            if not full and self._timer is None:
                self._timer = threading.Timer(self.write_behind_s, self._flush_quietly)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def _flush_quietly(self) -> None:
        """The timer's flush: an error is logged (the timer thread has no caller to raise to)."""
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - a background thread must not die silently
            logger.exception("writing queued searches to the feedback log failed")

    def _write_batch(self, batch: Mapping[str, _Queued]) -> None:
        built = {request_id: queued.rows() for request_id, queued in batch.items()}
        rows = [row for row, _ in built.values()]
        items = [item for _, shown in built.values() for item in shown]
        try:
            self._write(lambda conn: _insert(conn, rows, items))
        except IntegrityError:  # a request id already stored: write the others one by one, skip it
            for request_id, (row, shown) in built.items():
                try:
                    self._write(lambda conn, row=row, shown=shown: _insert(conn, row, shown))
                except IntegrityError:
                    logger.error("search %r was not logged: %s", request_id, _duplicate(request_id))

    def record_click(self, click: Click) -> bool:
        """Record a click on a shown entity; False when this (request, entity) click was already recorded.

        The first click wins: a repeat (even with another dwell) changes nothing. A click is accepted after
        `close` too (it is still an event for ranker training; the stored reward stays as closed).
        Raises UnknownRequestError for a request id not in the log, UnknownEntityError for an entity the
        search did not show.
        """
        if click.dwell_s is not None and not (math.isfinite(click.dwell_s) and click.dwell_s >= 0):
            raise ValueError(f"dwell_s must be >= 0 seconds or None, got {click.dwell_s!r}")
        self.flush()

        def work(conn: Connection) -> bool:
            position = self._shown_position(conn, click)
            values = {"request_id": click.request_id, "entity_id": click.entity_id, "position": position,
                      "dwell_s": click.dwell_s, "stream": click.is_stream(self.stream_seconds),
                      "created_at": utc_naive(click.created_at or utc_now())}
            return insert_once(conn, clicks, values)

        return self._write(work)

    def close(self, request_id: str, reward: float | None = None) -> bool:
        """Mark a request settled (its reward handed to the policy), storing `reward`; False if already closed."""
        if reward is not None and not math.isfinite(reward):
            raise ValueError(f"reward must be a finite number or None, got {reward!r}")
        with self._queue_lock:
            queued = self._queue.get(request_id)
            if queued is not None:
                if queued.closed_at is not None:
                    return False
                queued.closed_at, queued.reward = utc_naive(utc_now()), reward
                return True
        self.flush()

        def work(conn: Connection) -> bool:
            query = (update(impressions)
                     .where(impressions.c.request_id == request_id, impressions.c.closed_at.is_(None))
                     .values(closed_at=utc_now(), reward=reward))
            if conn.execute(query).rowcount == 1:
                return True
            require_request(conn, request_id)
            return False

        return self._write(work)

    def get_impression(self, request_id: str) -> Impression:
        """The logged search `request_id`; raises UnknownRequestError when it is not in the log."""
        with self._reading() as conn:
            row = conn.execute(select(impressions).where(impressions.c.request_id == request_id)).mappings().first()
            if row is None:
                raise unknown_request(request_id)
            return load_impressions(conn, [row])[0]

    def clicks_for(self, request_id: str) -> list[Click]:
        """The clicks of one search, oldest first; raises UnknownRequestError for an id not in the log."""
        with self._reading() as conn:
            found = load_clicks(conn, [request_id]).get(request_id)
            if found is None:
                require_request(conn, request_id)
        return list(found or ())

    def iter_impressions(self, since: datetime | None = None, batch_size: int = 1000) -> Iterator[Impression]:
        """Impressions created at or after `since` (naive UTC), ordered by (created_at, request_id), paged."""
        for impression, _ in self._pages(since, batch_size, min_clicks=0, with_clicks=False):
            yield impression

    def iter_feedback(self, since: datetime | None = None, batch_size: int = 1000,
                      min_clicks: int = 0) -> Iterator[tuple[Impression, tuple[Click, ...]]]:
        """(impression, its clicks) in `iter_impressions` order, only for impressions with >= min_clicks clicks."""
        yield from self._pages(since, batch_size, min_clicks=min_clicks, with_clicks=True)

    def latest_feature_names(self) -> tuple[str, ...] | None:
        """The feature names of the most recent impression; None when the log is empty."""
        query = (select(impressions.c.feature_names)
                 .order_by(impressions.c.created_at.desc(), impressions.c.request_id.desc()).limit(1))
        with self._reading() as conn:
            names = conn.execute(query).scalar()
        return None if names is None else tuple(names)

    def counts(self) -> dict[str, int]:
        """Rows in the log: impressions, closed (impressions), items (shown), clicks, streams."""
        def count(table, *where) -> Any:
            return select(func.count()).select_from(table).where(*where).scalar_subquery()

        query = select(count(impressions).label("impressions"),
                       count(impressions, impressions.c.closed_at.is_not(None)).label("closed"),
                       count(impression_items).label("items"), count(clicks).label("clicks"),
                       count(clicks, clicks.c.stream.is_(True)).label("streams"))
        with self._reading() as conn:
            return {name: int(value) for name, value in conn.execute(query).mappings().one().items()}

    def _pages(self, since: datetime | None, batch_size: int, *, min_clicks: int,
               with_clicks: bool) -> Iterator[tuple[Impression, tuple[Click, ...]]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        after: tuple[datetime, str] | None = None
        while True:
            query = page_query(since, after, batch_size, min_clicks)
            with self._reading() as conn:  # one short read per page: no transaction held while the caller works
                rows = conn.execute(query).mappings().all()
                records = load_impressions(conn, rows)
                found = load_clicks(conn, [r.request_id for r in records]) if with_clicks else {}
            if not rows:
                return
            after = (rows[-1]["created_at"], rows[-1]["request_id"])
            for record in records:
                yield record, tuple(found.get(record.request_id, ()))

    def _shown_position(self, conn: Connection, click: Click) -> int:
        query = select(func.min(impression_items.c.position)).where(
            impression_items.c.request_id == click.request_id, impression_items.c.entity_id == click.entity_id)
        position = conn.execute(query).scalar()
        if position is None:
            require_request(conn, click.request_id)
            raise UnknownEntityError(f"entity {click.entity_id!r} was not shown by request {click.request_id!r}; "
                                     "record clicks only on the entities of that search's result")
        if click.position is not None and click.position != position:
            logger.warning("click on %r in request %r gives position %d, the log shows it at %d; keeping %d",
                           click.entity_id, click.request_id, click.position, position, position)
        return int(position)

    def _exists(self, request_id: str) -> bool:
        with self._reading() as conn:
            return request_exists(conn, request_id)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        self.flush()
        with self._read_lock, self.engine.connect() as conn:
            yield conn

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction; retry while SQLite reports the database locked (nothing was written)."""
        for attempt in range(LOCKED_RETRIES):
            try:
                with self._write_lock, self.engine.begin() as conn:
                    return work(conn)
            except OperationalError as exc:
                if not _is_locked(exc):
                    raise
                logger.warning("feedback log write found the database locked (try %d of %d): %s",
                               attempt + 1, LOCKED_RETRIES, exc.orig)
                time.sleep(0.05 * 2**attempt)
        raise StoreError(f"the feedback log at {self.engine.url.render_as_string(hide_password=True)!r} stayed "
                         f"locked through {LOCKED_RETRIES} tries; find the process holding a long write "
                         "transaction on it, or use PostgreSQL for many writing processes")


def _store_salt(engine: Engine) -> bytes:
    """This store's pseudonymization key: created once (race-free) in `ltrr_meta`, read after."""
    with engine.begin() as conn:
        insert_once(conn, meta, {"key": SALT_KEY, "value": secrets.token_hex(32)})
        value = conn.execute(select(meta.c.value).where(meta.c.key == SALT_KEY)).scalar_one()
    return bytes.fromhex(value)


class _Queued:
    """A search waiting to be written, and its settlement when `close` came first."""

    __slots__ = ("impression", "closed_at", "reward")

    def __init__(self, impression: Impression) -> None:
        self.impression = impression
        self.closed_at: datetime | None = None
        self.reward: float | None = None

    def rows(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        row = impression_row(self.impression)
        row.update(closed_at=self.closed_at, reward=self.reward)
        return row, item_rows(self.impression)


def _insert(conn: Connection, rows: dict[str, Any] | list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
    """Impression row(s) and their item rows (a list of rows is one executemany)."""
    conn.execute(impressions.insert(), rows)
    if items:
        conn.execute(impression_items.insert(), items)


def _duplicate(request_id: str) -> StoreError:
    return StoreError(f"request id {request_id!r} is already in the feedback log; give each search a new id "
                      "(ltrr.feedback.new_request_id())")


def _flush_at_exit(ref: weakref.ReferenceType[FeedbackLog]) -> None:
    log = ref()
    if log is not None:
        try:
            log.flush()
        except Exception:  # noqa: BLE001 - at exit there is nobody to raise to
            logger.exception("writing queued searches to the feedback log at exit failed")


def _is_locked(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message
