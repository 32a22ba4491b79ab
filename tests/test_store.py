"""CatalogStore on both databases: upsert change detection, reads, tags, playlists, users, transactions."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ltrr.errors import StoreError, UnknownEntityError
from ltrr.store import CatalogStore, WriteCounts, resolve_url
from ltrr.store.db import json_dumps
from ltrr.types import Affinity, Entity, Popularity, TagWeight, UserProfile


def artist(key: str, name: str, **kw) -> Entity:
    return Entity(f"t:artist:{key}", "artist", name, "t", key, **kw)


def track(key: str, name: str, artist_key: str, **kw) -> Entity:
    return Entity(f"t:track:{key}", "track", name, "t", key, artist_id=f"t:artist:{artist_key}", **kw)


@pytest.fixture
def filled(any_store: CatalogStore) -> CatalogStore:
    with any_store.writer() as w:
        w.upsert_entities([artist("a1", "Vela Moss"), artist("a2", "Okra Lane")])
        w.upsert_entities([track("t1", "Night Drive", "a1", year=1986, popularity=Popularity(playlist_count=5)),
                           track("t2", "Glass Harbour", "a1", year=1994),
                           track("t3", "Night Market", "a2", year=1997)])
    return any_store


def test_upsert_counts_insert_update_unchanged(filled: CatalogStore):
    with filled.writer() as w:
        counts = w.upsert_entities([track("t1", "Night Drive", "a1", year=1986, popularity=Popularity(playlist_count=5)),
                                    track("t2", "Glass Harbour (Remix)", "a1", year=1994),
                                    track("t4", "Slow Tide", "a2")])
    assert counts == WriteCounts(inserted=1, updated=1, unchanged=1)
    assert filled.get_entities(["t:track:t2"])[0].name == "Glass Harbour (Remix)"
    assert filled.counts().tracks == 4


def test_upsert_writes_only_owned_fields(filled: CatalogStore):
    # a source that owns only the name must not erase the year another source wrote
    with filled.writer() as w:
        counts = w.upsert_entities([track("t1", "Night Drive", "a1")], fields=("name",))
    assert counts == WriteCounts(unchanged=1)
    got = filled.get_entities(["t:track:t1"])[0]
    assert got.year == 1986 and got.popularity.playlist_count == 5


def test_added_at_is_set_once(filled: CatalogStore):
    first = filled.get_entities(["t:track:t1"])[0].added_at
    with filled.writer() as w:
        w.upsert_entities([track("t1", "Night Drive Again", "a1")], fields=("name",))
    assert isinstance(first, datetime)
    assert filled.get_entities(["t:track:t1"])[0].added_at == first


def test_get_entities_keeps_order_and_joins_names(filled: CatalogStore):
    got = filled.get_entities(["t:track:t3", "t:track:t1", "t:artist:a2"])
    assert [e.entity_id for e in got] == ["t:track:t3", "t:track:t1", "t:artist:a2"]
    assert got[0].artist_name == "Okra Lane" and got[0].title == "Night Market"
    assert got[2].kind == "artist"


def test_get_entities_unknown_id_raises_naming_it(filled: CatalogStore):
    with pytest.raises(UnknownEntityError, match="t:track:nope"):
        filled.get_entities(["t:track:t1", "t:track:nope"])


def test_iter_entities_streams_everything_in_id_order(filled: CatalogStore):
    ids = [e.entity_id for e in filled.iter_entities(batch_size=2)]
    assert ids == sorted(ids) and len(ids) == 5
    assert [e.entity_id for e in filled.iter_entities(kind="track", batch_size=1)] == \
        ["t:track:t1", "t:track:t2", "t:track:t3"]


def test_tags_are_weighted_replaced_per_source_and_inherited(filled: CatalogStore):
    with filled.writer() as w:
        w.replace_tags("genres", {"t:artist:a1": [("Synthwave", 0.9), ("ambient", 0.4)]})
        w.replace_tags("moods", {"t:track:t1": [("night", 1.0), ("ambient", 0.2)]})
    t1 = filled.get_entities(["t:track:t1"])[0]
    assert t1.tags == (TagWeight("night", 1.0, "moods"), TagWeight("ambient", 0.2, "moods"),
                       TagWeight("synthwave", 0.9, "artist:genres"))
    with filled.writer() as w:
        again = w.replace_tags("genres", {"t:artist:a1": [("synthwave", 0.9), ("ambient", 0.4)]})
        changed = w.replace_tags("genres", {"t:artist:a1": [("synthwave", 0.7)]})
    assert again == WriteCounts(unchanged=1) and changed == WriteCounts(updated=1)
    assert filled.get_entities(["t:artist:a1"])[0].tags == (TagWeight("synthwave", 0.7, "genres"),)
    assert filled.get_entities(["t:track:t1"])[0].tags[0] == TagWeight("night", 1.0, "moods")


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan")])
def test_tag_weight_outside_unit_interval_is_refused(filled: CatalogStore, weight: float):
    with pytest.raises(ValueError, match="weights must be in \\[0, 1\\]"), filled.writer() as w:
        w.replace_tags("genres", {"t:artist:a1": [("rock", weight)]})
    assert filled.counts().entity_tags == 0


def test_database_check_constraint_guards_weights(filled: CatalogStore):
    with pytest.raises(IntegrityError), filled.engine.begin() as conn:
        conn.execute(text("INSERT INTO tags (name) VALUES ('x')"))
        conn.execute(text("INSERT INTO entity_tags (entity_id, tag_id, source, weight) "
                          "SELECT 't:artist:a1', id, 's', 2.0 FROM tags WHERE name = 'x'"))


def test_playlist_tracks_keep_order_and_repeats(filled: CatalogStore):
    with filled.writer() as w:
        w.upsert_entities([Entity("t:playlist:p1", "playlist", "night drive", "t", "p1")])
        first = w.replace_playlist_tracks({"t:playlist:p1": ["t:track:t3", "t:track:t1", "t:track:t3"]})
        second = w.replace_playlist_tracks({"t:playlist:p1": ["t:track:t3", "t:track:t1", "t:track:t3"]})
    assert first == WriteCounts(inserted=1) and second == WriteCounts(unchanged=1)
    assert filled.playlist_track_ids("t:playlist:p1") == ["t:track:t3", "t:track:t1", "t:track:t3"]
    assert filled.playlist_memberships() == {"t:playlist:p1": ["t:track:t3", "t:track:t1", "t:track:t3"]}
    assert filled.counts().playlist_tracks == 3


def test_users_round_trip(filled: CatalogStore):
    profile = UserProfile("u1", "test", artists=(Affinity("t:artist:a1", 1.0, 120), Affinity("t:artist:a2", 0.25, 3)),
                          tags=(Affinity("synthwave", 0.5, 2),))
    with filled.writer() as w:
        assert w.upsert_users([profile]) == WriteCounts(inserted=1)
        assert w.upsert_users([profile]) == WriteCounts(unchanged=1)
    assert filled.get_user("u1") == profile
    assert filled.counts().users == 1
    with pytest.raises(UnknownEntityError, match="user 'u2'"):
        filled.get_user("u2")


def test_failed_transaction_writes_nothing(filled: CatalogStore):
    before = filled.counts()
    with pytest.raises(RuntimeError, match="boom"), filled.writer() as w:
        w.upsert_entities([track("t9", "Lost", "a1")])
        raise RuntimeError("boom")
    assert filled.counts() == before


def test_kind_conflict_is_refused(filled: CatalogStore):
    with pytest.raises(ValueError, match="is a track in the store, not a artist"), filled.writer() as w:
        w.upsert_entities([Entity("t:track:t1", "artist", "Night Drive", "t", "t1x")])


def test_set_columns_updates_and_rejects_unknown_ids(filled: CatalogStore):
    with filled.writer() as w:
        assert w.set_columns("chart_points", {"t:track:t1": 300, "t:track:t2": None}) == \
            WriteCounts(updated=1, unchanged=1)
    assert filled.get_entities(["t:track:t1"])[0].popularity.chart_points == 300
    with pytest.raises(UnknownEntityError, match="t:track:zz"), filled.writer() as w:
        w.set_columns("year", {"t:track:zz": 2000})


def test_foreign_keys_are_enforced(any_store: CatalogStore):
    with pytest.raises(IntegrityError), any_store.writer() as w:
        w.upsert_entities([track("t1", "Orphan", "missing-artist")])


def test_reopening_keeps_data_and_schema(db_url: str):
    first = CatalogStore.open(db_url)
    with first.writer() as w:
        w.upsert_entities([artist("a1", "Vela Moss")])
    first.close()
    again = CatalogStore.open(db_url)
    assert again.counts().artists == 1
    again.close()


def test_newer_schema_version_is_refused(sqlite_url: str):
    store = CatalogStore.open(sqlite_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE ltrr_meta SET value = '99' WHERE key = 'schema_version'"))
    store.close()
    with pytest.raises(StoreError, match="schema version 99"):
        CatalogStore.open(sqlite_url)


def test_sqlite_store_uses_wal(sqlite_url: str):
    store = CatalogStore.open(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_resolve_url(tmp_path):
    assert resolve_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite://") == "sqlite://"


def test_revision_rises_only_with_a_committed_change(any_store):
    assert any_store.revision() == 0
    track = Entity("t1", "track", "Night Drive", "demo", "t1")
    with any_store.writer() as writer:
        writer.upsert_entities([track])
    assert any_store.revision() == 1
    with any_store.writer() as writer:  # the same row again: nothing changed
        writer.upsert_entities([track])
    assert any_store.revision() == 1
    with pytest.raises(RuntimeError), any_store.writer() as writer:
        writer.upsert_entities([dataclasses.replace(track, name="Renamed")])
        raise RuntimeError("crash before commit")
    assert any_store.revision() == 1 and any_store.get_entities(["t1"])[0].name == "Night Drive"
    with any_store.writer() as writer:
        writer.upsert_entities([dataclasses.replace(track, name="Renamed")])
    assert any_store.revision() == 2


def test_json_columns_write_non_finite_floats_as_null_and_numpy_as_numbers():
    values = {"scores": [1.5, math.nan, math.inf], "counts": np.arange(3), "weight": np.float32(0.25),
              "strided": np.array([1.0, 2.0, 3.0, 4.0])[::2], 7: ("a", "b")}
    assert json.loads(json_dumps(values)) == {"scores": [1.5, None, None], "counts": [0, 1, 2], "weight": 0.25,
                                              "strided": [1.0, 3.0], "7": ["a", "b"]}
    with pytest.raises(TypeError, match="cannot hold object value"):
        json_dumps({"x": object()})
