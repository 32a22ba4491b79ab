"""Persistence of the MemoryGenerator: its fitted state as files, its observed statistics in the store.

Files (`save_memory`/`load_memory`): memory.json (parameters, entities added after fit, the overlay, the
observed statistics, names for resolving later additions) and npy arrays (entity ids and kinds, the
predicted CSR with its packed keys, the typo index's trigram arrays; keys known only from the overlay or
observations re-enter the typo index on load).

Store (`save_stats`/`load_stats`): table `memory_stats` (`ltrr.store.memory_schema`), one row per observed
(generator name, query key, entity id), upserted in one transaction. Predicted queries are not stored:
`fit` derives them from the catalog again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, inspect, select

from ..store.memory_schema import memory_stats
from ..store.writer import chunks
from .memory_index import EntityTable, PredictedIndex
from .memory_stats import ObservedStats, from_day, to_day
from .memory_typo import TypoIndex
from .string_table import StringTable

if TYPE_CHECKING:
    from ..store import CatalogStore
    from .memory import MemoryGenerator

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
PARAMS = ("half_life_days", "prior_strength", "max_per_key", "n_tags", "typo_discount", "name")


def save_memory(memory: MemoryGenerator, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    memory.entities_.base.save(directory, "entity_ids")
    np.save(directory / "entity_kinds.npy", memory.entities_.kinds, allow_pickle=False)
    index = memory.index_
    index.keys.save(directory, "keys")
    for name in ("indptr", "entities", "scores"):
        np.save(directory / f"predicted_{name}.npy", getattr(index, name), allow_pickle=False)
    memory.typo_.save(directory)
    state = {
        "format_version": FORMAT_VERSION,
        "params": {name: getattr(memory, name) for name in PARAMS},
        "added_ids": memory.entities_.added,
        "overlay": [[key, [[position, score] for position, score in pairs.items()]]
                    for key, pairs in index.overlay.items()],
        "observed": [[key, position, stat.impressions, stat.clicks, stat.day]
                     for key, position, stat in memory.observed_.rows()],
        "names": memory.names_,
        "artist_tags": memory.artist_tags_,
    }
    (directory / "memory.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def load_memory(cls: type[MemoryGenerator], directory: Path) -> MemoryGenerator:
    path = directory / "memory.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; save a MemoryGenerator to {directory} first")
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {state.get('format_version')!r}, this ltrr reads "
                         f"{FORMAT_VERSION}; fit and save the memory again")
    memory = cls(**state["params"])
    kinds = np.load(directory / "entity_kinds.npy", allow_pickle=False)
    memory.entities_ = EntityTable(StringTable.load(directory, "entity_ids"), kinds, state["added_ids"])
    arrays = {name: np.load(directory / f"predicted_{name}.npy", allow_pickle=False)
              for name in ("indptr", "entities", "scores")}
    memory.index_ = PredictedIndex(StringTable.load(directory, "keys"), max_per_key=memory.max_per_key, **arrays)
    for key, pairs in state["overlay"]:
        memory.index_.add([key] * len(pairs), [p for p, _ in pairs], [s for _, s in pairs])
    memory.observed_ = ObservedStats(memory.half_life_days)
    for key, position, impressions, clicks, day in state["observed"]:
        memory.observed_.set(key, position, impressions, clicks, day)
    memory.names_ = state["names"]
    memory.artist_tags_ = {key: [tuple(pair) for pair in value] for key, value in state["artist_tags"].items()}
    memory.typo_ = TypoIndex.load(directory, memory.index_.keys)
    extra = dict.fromkeys(list(memory.index_.overlay) + list(memory.observed_.pairs))
    memory.typo_.add(key for key in extra if memory.index_.keys.find(key) < 0)
    return memory


def save_stats(memory: MemoryGenerator, store: CatalogStore) -> int:
    """Upsert every observed pair of `memory` into `memory_stats`, in one transaction; returns rows written."""
    rows = [{"source": memory.name, "query_key": key, "entity_id": memory.entities_.entity_id(position),
             "impressions": stat.impressions, "clicks": stat.clicks, "updated_at": from_day(stat.day)}
            for key, position, stat in memory.observed_.rows()]
    memory_stats.create(store.engine, checkfirst=True)  # until the store creates it with the catalog tables
    with store.engine.begin() as conn:
        for chunk in chunks(rows):
            _upsert(conn, chunk)
    return len(rows)


def observed_rows(memory: MemoryGenerator) -> list[list]:
    """Every observed pair as [query key, entity id, decayed impressions, decayed clicks, day] (JSON-able)."""
    return [[key, memory.entities_.entity_id(position), stat.impressions, stat.clicks, stat.day]
            for key, position, stat in memory.observed_.rows()]


def restore_observed(memory: MemoryGenerator, rows: list[list]) -> int:
    """Replace `memory`'s observed pairs with `rows` (as `observed_rows` writes them); rows naming entities the
    memory does not know are skipped (logged). Returns pairs restored."""
    observed = ObservedStats(memory.half_life_days)
    skipped = 0
    for key, entity_id, impressions, clicks, day in rows:
        position = memory.entities_.position(entity_id)
        if position < 0:
            skipped += 1
            continue
        observed.set(key, position, impressions, clicks, day)
    if skipped:
        logger.warning("skipped %d memory rows of %r naming entities not in the memory", skipped, memory.name)
    memory.observed_ = observed
    memory.typo_.add(key for key in observed.pairs
                     if key not in memory.index_.overlay and memory.index_.keys.find(key) < 0)
    return observed.n_pairs


def load_stats(memory: MemoryGenerator, store: CatalogStore) -> int:
    """Replace `memory`'s observed pairs with its rows in the store; returns rows loaded.

    Rows naming entities the memory does not know are skipped (logged): the catalog may have changed.
    """
    rows = []
    if inspect(store.engine).has_table(memory_stats.name):  # never create tables on a read
        query = (select(memory_stats.c.query_key, memory_stats.c.entity_id, memory_stats.c.impressions,
                        memory_stats.c.clicks, memory_stats.c.updated_at)
                 .where(memory_stats.c.source == memory.name)
                 .order_by(memory_stats.c.query_key, memory_stats.c.entity_id))
        with store.engine.connect() as conn:
            rows = [[key, entity_id, impressions, clicks, to_day(updated_at)]
                    for key, entity_id, impressions, clicks, updated_at in conn.execute(query)]
    return restore_observed(memory, rows)


def _upsert(conn: Connection, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL; update-then-insert elsewhere."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(memory_stats)
        statement = statement.on_conflict_do_update(
            index_elements=["source", "query_key", "entity_id"],
            set_={name: statement.excluded[name] for name in ("impressions", "clicks", "updated_at")})
        conn.execute(statement, rows)
        return
    table = memory_stats
    for row in rows:
        found = conn.execute(table.update().where(
            table.c.source == row["source"], table.c.query_key == row["query_key"],
            table.c.entity_id == row["entity_id"]).values(
            impressions=row["impressions"], clicks=row["clicks"], updated_at=row["updated_at"]))
        if found.rowcount == 0:
            conn.execute(table.insert().values(**row))
