"""Shared fixtures: catalog stores on SQLite (a temp file) and PostgreSQL (a schema of its own per test).

PostgreSQL tests run when LTRR_TEST_PG_URL names a server (`.ci/run` sets it to the local one);
without it they are skipped with that reason.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ltrr.store import CatalogStore
from ltrr.store.db import resolve_url

PG_ENV = "LTRR_TEST_PG_URL"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"set {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run PostgreSQL tests")
    base = resolve_url(base)
    schema = f"ltrr_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Both databases: every test using it runs once per backend."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(sqlite_url: str):
    catalog = CatalogStore.open(sqlite_url)
    yield catalog
    catalog.close()


@pytest.fixture
def any_store(db_url: str):
    catalog = CatalogStore.open(db_url)
    yield catalog
    catalog.close()
