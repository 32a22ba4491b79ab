"""Properties of the store's change detection, checked with Hypothesis on an in-memory SQLite store."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ltrr.store import CatalogStore, WriteCounts
from ltrr.text import fold, name_key
from ltrr.types import Entity, Popularity

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
artists = st.lists(st.tuples(st.integers(0, 30), names, st.none() | st.integers(0, 10**6)), max_size=25)


def as_entities(rows) -> list[Entity]:
    latest = {key: (name, count) for key, name, count in rows}  # one row per id, the last one wins
    return [Entity(f"p:artist:{key}", "artist", name, "p", str(key), popularity=Popularity(play_count=count))
            for key, (name, count) in latest.items()]


@settings(max_examples=40, deadline=None)
@given(first=artists, second=artists)
def test_upsert_counts_add_up_and_a_repeat_changes_nothing(first, second):
    store = CatalogStore.open("sqlite://")
    with store.writer() as w:
        w.upsert_entities(as_entities(first))
    batch = as_entities(second)
    with store.writer() as w:
        counts = w.upsert_entities(batch)
        repeat = w.upsert_entities(batch)
    old_ids = {e.entity_id for e in as_entities(first)}
    assert counts.inserted == sum(e.entity_id not in old_ids for e in batch)
    assert counts.inserted + counts.updated + counts.unchanged == len(batch)
    assert repeat == WriteCounts(unchanged=len(batch))
    stored = {e.entity_id: (e.name, e.popularity.play_count) for e in store.iter_entities()}
    assert all(stored[e.entity_id] == (e.name, e.popularity.play_count) for e in batch)
    assert len(stored) == len(old_ids | {e.entity_id for e in batch})
    store.close()


@given(names)
def test_keys_are_folded_and_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)
    key = name_key(text)
    assert key == key.strip() and "  " not in key and key == fold(key)
