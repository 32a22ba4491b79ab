"""Database URLs and engines: SQLite (WAL) by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from ..errors import StoreError
from . import (
    feedback_schema,  # noqa: F401  registers the feedback tables on Base before create_all
    memory_schema,  # noqa: F401  registers the memory_stats table on Base before create_all
)
from .schema import SCHEMA_VERSION, Base, meta


def resolve_url(db: str | Path) -> str:
    """Turn a plain file path into a SQLite URL; pass SQLAlchemy URLs through.

    A bare `postgresql://` URL gets the psycopg 3 driver, which is the one ltrr installs.
    """
    text = str(db)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the single writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits atomic and durable across crashes
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def json_dumps(value: Any) -> str:
    """How every JSON column is written (the stores' `json_serializer`): orjson, with non-finite floats as
    null (PostgreSQL's json type rejects NaN and infinity; readers take a null float as NaN), numpy scalars and
    arrays as numbers and lists, tuples as lists and dict keys as strings. A search's log rows (a 27-plan
    policy input, ten feature rows) are serialized about ten times faster than with the json module, which
    matters because they are written on a background thread that shares the interpreter with searches.

        >>> json_dumps({"x": [1.5, float("nan")], 2: (1, 2)})
        '{"x":[1.5,null],"2":[1,2]}'
    """
    try:
        return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"a JSON column cannot hold {exc.__cause__ or exc}; store numbers, strings, lists and "
                        "dicts") from exc


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # a numpy value orjson does not take directly (a non-contiguous array)
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r}")


def open_engine(db: str | Path) -> Engine:
    """Create an engine for `db` (path or URL), make the schema, check its version."""
    url = resolve_url(db)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(url, parsed.database)
        else:
            engine = create_engine(url, pool_pre_ping=True, json_serializer=json_dumps)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}; give a file path or a SQLAlchemy URL "
                         "such as postgresql+psycopg://user@127.0.0.1:5432/dbname") from exc
    try:
        Base.metadata.create_all(engine)
        _create_missing_indexes(engine)
        _check_version(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open the catalog store at {url!r}: {exc.orig}") from exc
    return engine


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database in (None, "", ":memory:"):
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False},
                               json_serializer=json_dumps)
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=json_dumps)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_missing_indexes(engine: Engine) -> None:
    """Indexes added to the schema after a store was created are built when it is next opened."""
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def _check_version(engine: Engine) -> None:
    with engine.begin() as conn:
        found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        if found is None:
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(found) != SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {found}, this ltrr reads version {SCHEMA_VERSION}; "
                "re-ingest into a new database"
            )
