"""In-process caches of catalog entities and user profiles, so a search reads the store only for what it has
not seen recently (a pool of 300 candidates read from SQLite costs milliseconds; from the cache, microseconds)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from .engine_entity_table import EntityTable
from .features.columns import PoolColumns
from .store import CatalogStore
from .types import Entity, UserProfile


class EntityCache:
    """LRU caches over the index build's entity table (then `store.get_entities`) and `store.get_users`.

    max_entities: entities kept (about 1 KB each); max_users: profiles kept. An unknown user id is cached as
    None (an anonymous profile), so a stream of unknown ids does not reach the store each time.
    """

    def __init__(self, store: CatalogStore, table: EntityTable | None = None, max_entities: int = 20_000,
                 max_users: int = 10_000) -> None:
        self.store = store
        self.table = table
        self.max_entities = max_entities
        self.max_users = max_users
        self._entities: OrderedDict[str, Entity] = OrderedDict()
        self._users: OrderedDict[str, UserProfile | None] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, entity_ids: Sequence[str]) -> list[Entity]:
        """Entities in the order of `entity_ids`; raises UnknownEntityError for an id the store lacks."""
        with self._lock:
            found = {entity_id: self._entities.get(entity_id) for entity_id in entity_ids}
        missing = [entity_id for entity_id, entity in found.items() if entity is None]
        if missing and self.table is not None:
            for entity_id, entity in zip(missing, self.table.get(missing), strict=True):
                found[entity_id] = entity
            missing = [entity_id for entity_id in missing if found[entity_id] is None]
        if missing:  # written to the store after the index build
            for entity in self.store.get_entities(missing):
                found[entity.entity_id] = entity
        with self._lock:
            for entity_id in entity_ids:
                self._entities[entity_id] = found[entity_id]
                self._entities.move_to_end(entity_id)
            while len(self._entities) > self.max_entities:
                self._entities.popitem(last=False)
        return [found[entity_id] for entity_id in entity_ids]

    def columns(self, entity_ids: Sequence[str]) -> PoolColumns:
        """The entities' feature columns, in the order of `entity_ids`: from the entity table without making
        objects, or (when one is not in the table: written after the index build) from `get_many`."""
        if self.table is not None:
            found = self.table.columns(entity_ids)
            if found is not None:
                return found
        return PoolColumns.from_entities(self.get_many(entity_ids))

    def user(self, user_id: str) -> UserProfile | None:
        """The user's profile, or None when the store has none."""
        with self._lock:
            if user_id in self._users:
                self._users.move_to_end(user_id)
                return self._users[user_id]
        profiles = self.store.get_users([user_id])
        profile = profiles[0] if profiles else None
        with self._lock:
            self._users[user_id] = profile
            while len(self._users) > self.max_users:
                self._users.popitem(last=False)
        return profile

    def clear(self) -> None:
        with self._lock:
            self._entities.clear()
            self._users.clear()
