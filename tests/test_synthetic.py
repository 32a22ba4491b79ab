"""The seeded demo catalog: determinism, sizes, references, realism the later steps rely on, idempotent writes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ltrr.config import SyntheticCatalogConfig
from ltrr.synthetic import SyntheticCatalog, generate_catalog, write_catalog
from ltrr.synthetic.vocabulary import GENRE_NAMES, MOODS
from ltrr.text import title_key

SMALL = SyntheticCatalogConfig(n_artists=30, n_playlists=12, n_users=10)


@pytest.fixture(scope="module")
def default_catalog() -> SyntheticCatalog:
    return generate_catalog(SyntheticCatalogConfig())


@pytest.fixture(scope="module")
def small_catalog() -> SyntheticCatalog:
    return generate_catalog(SMALL)


def check_structure(catalog: SyntheticCatalog, config: SyntheticCatalogConfig) -> None:
    """Counts obey the config and every reference resolves."""
    artists = {a.entity_id: a for a in catalog.artists}
    albums = {a.entity_id: a for a in catalog.albums}
    tracks = {t.entity_id: t for t in catalog.tracks}
    assert len(artists) == len(catalog.artists) == config.n_artists
    assert len(catalog.playlists) == config.n_playlists and len(catalog.users) == config.n_users
    assert all(album.artist_id in artists for album in catalog.albums)
    assert all(t.artist_id in artists and albums[t.album_id].artist_id == t.artist_id for t in catalog.tracks)
    low, high = config.albums_per_artist
    per_artist = Counter(album.artist_id for album in catalog.albums)
    assert all(per_artist[a] == 1 or low <= per_artist[a] <= high for a in artists)  # new artists debut with one
    low, high = config.tracks_per_album
    assert all(low <= n <= high for n in Counter(t.album_id for t in catalog.tracks).values())
    assert set(catalog.playlist_tracks) == {p.entity_id for p in catalog.playlists}
    low, high = config.playlist_length
    for track_ids in catalog.playlist_tracks.values():
        assert min(low, len(tracks)) <= len(track_ids) <= high and set(track_ids) <= set(tracks)
    assert all(a.key in artists for user in catalog.users for a in user.artists)
    assert all(config.year_range[0] <= e.year <= config.year_range[1] for e in catalog.albums + catalog.tracks)
    reference = datetime.fromisoformat(config.reference_date)
    assert all(e.added_at < reference for e in catalog.entities)


def test_same_seed_gives_an_equal_catalog(small_catalog):
    assert generate_catalog(SMALL) == small_catalog


def test_another_seed_gives_another_catalog(small_catalog):
    other = generate_catalog(SyntheticCatalogConfig(seed=8, n_artists=30, n_playlists=12, n_users=10))
    assert [a.name for a in other.artists] != [a.name for a in small_catalog.artists]
    assert [t.name for t in other.tracks[:20]] != [t.name for t in small_catalog.tracks[:20]]


def test_default_sizes_make_a_few_thousand_tracks(default_catalog):
    check_structure(default_catalog, SyntheticCatalogConfig())
    assert 3000 <= len(default_catalog.tracks) <= 5000
    assert 600 <= len(default_catalog.albums) <= 1000


def test_ids_sources_and_keys(small_catalog):
    assert small_catalog.tracks[0].entity_id == "demo:track:t000001"
    assert small_catalog.artists[0].entity_id == "demo:artist:a0001"
    assert small_catalog.albums[0].entity_id == "demo:album:al00001"
    assert small_catalog.playlists[0].entity_id == "demo:playlist:p0001"
    assert small_catalog.users[0].user_id == "demo:user:u0001"
    assert {e.source for e in small_catalog.entities} == {"demo"}
    assert all(tag.source == "demo" for e in small_catalog.entities for tag in e.tags)


def test_tags_are_weighted_not_binary(default_catalog):
    weights = [tag.weight for e in default_catalog.entities for tag in e.tags]
    assert all(0.0 <= w <= 1.0 for w in weights) and len(set(weights)) > 20
    assert {tag.tag for e in default_catalog.entities for tag in e.tags} <= set(GENRE_NAMES) | set(MOODS)
    for artist in default_catalog.artists:
        genre = artist.tags[0]  # the primary genre comes first, near 1
        assert genre.tag in GENRE_NAMES and genre.weight >= 0.8
        assert any(tag.tag in MOODS for tag in artist.tags)
    tagged = sum(1 for t in default_catalog.tracks if t.tags) / len(default_catalog.tracks)
    assert 0.2 < tagged < 0.8


def test_genres_follow_their_eras(default_catalog):
    genre_of = {a.entity_id: a.tags[0].tag for a in default_catalog.artists}
    years = {genre: [t.year for t in default_catalog.tracks if genre_of[t.artist_id] == genre]
             for genre in ("trip hop", "disco", "lo-fi")}
    assert 1990 <= np.median(years["trip hop"]) <= 2005
    assert 1972 <= np.median(years["disco"]) <= 1988
    assert np.median(years["lo-fi"]) >= 2015


def test_a_few_percent_are_new_and_unpopular(default_catalog):
    config = SyntheticCatalogConfig()
    since = datetime.fromisoformat(config.reference_date) - timedelta(days=config.new_window_days)
    new = [t for t in default_catalog.tracks if t.added_at >= since]
    assert 0.03 <= len(new) / len(default_catalog.tracks) <= 0.08
    assert any(a.added_at >= since for a in default_catalog.artists)  # some whole artists are new
    plays = np.array([t.popularity.play_count for t in default_catalog.tracks])
    assert np.median([t.popularity.play_count for t in new]) < np.median(plays) / 5


def test_popularity_has_a_heavy_tail_and_agrees_with_playlists(default_catalog):
    plays = np.sort([a.popularity.play_count for a in default_catalog.artists])[::-1]
    assert plays[: len(plays) // 10].sum() > 0.5 * plays.sum()
    in_playlists = Counter(t for ids in default_catalog.playlist_tracks.values() for t in set(ids))
    assert all(t.popularity.playlist_count == in_playlists[t.entity_id] for t in default_catalog.tracks)
    assert all(0 <= e.popularity.source_popularity <= 100 for e in default_catalog.artists + default_catalog.tracks)


def test_titles_overlap_across_artists_but_not_within_one(default_catalog):
    by_title = Counter(title_key(t.name) for t in default_catalog.tracks)
    shared = [key for key, n in by_title.items() if n > 1]
    assert 0 < len(shared) < 0.2 * len(by_title)  # ties for popularity to break, but mostly distinct
    per_artist = Counter((t.artist_id, title_key(t.name)) for t in default_catalog.tracks)
    assert max(per_artist.values()) == 1
    assert len({a.name for a in default_catalog.artists}) == len(default_catalog.artists)


def test_playlists_have_user_style_names_and_themes(default_catalog):
    names = [p.name for p in default_catalog.playlists]
    assert sum(name == name.lower() for name in names) > len(names) / 2
    assert any(p.description for p in default_catalog.playlists)
    assert any(p.tags for p in default_catalog.playlists)


def test_write_is_one_idempotent_transaction(store, small_catalog):
    first = write_catalog(store, small_catalog)
    assert first.kind == "demo" and first.written["tracks"].inserted == len(small_catalog.tracks)
    second = write_catalog(store, small_catalog)
    assert second.changed == 0
    assert all(c.inserted == c.updated == 0 for c in second.written.values())
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    counts = store.counts()
    assert (counts.artists, counts.albums, counts.tracks, counts.playlists, counts.users) == (
        len(small_catalog.artists), len(small_catalog.albums), len(small_catalog.tracks),
        len(small_catalog.playlists), len(small_catalog.users))
    assert counts.playlist_tracks == sum(len(ids) for ids in small_catalog.playlist_tracks.values())
    assert counts.entity_tags == sum(len(e.tags) for e in small_catalog.entities)


def test_written_entities_read_back(store, small_catalog):
    write_catalog(store, small_catalog)
    track = small_catalog.tracks[0]
    [stored] = store.get_entities([track.entity_id])
    artist = next(a for a in small_catalog.artists if a.entity_id == track.artist_id)
    assert (stored.name, stored.artist_name, stored.added_at, stored.popularity) == (
        track.name, artist.name, track.added_at, track.popularity)
    assert {t.tag for t in stored.tags} >= {t.tag for t in artist.tags}  # inherits the artist's tags
    user = small_catalog.users[0]
    assert store.get_user(user.user_id).artists == tuple(sorted(user.artists, key=lambda a: (-a.weight, a.key)))


def test_write_reports_progress_per_stage(store, small_catalog):
    done: Counter[str] = Counter()
    totals = {}

    class Stage:
        def __init__(self, description):
            self.description = description

        def update(self, n=1):
            done[self.description] += n

        def close(self):
            pass

    def factory(description, total):
        totals[description] = total
        return Stage(description)

    write_catalog(store, small_catalog, progress=factory)
    assert totals["write tracks"] == done["write tracks"] == len(small_catalog.tracks)
    assert set(totals) == set(done)


@settings(max_examples=15, deadline=None)
@given(n_artists=st.integers(1, 8), albums=st.tuples(st.integers(1, 3), st.integers(0, 2)),
       n_playlists=st.integers(0, 4), n_users=st.integers(0, 4), new_share=st.sampled_from([0.0, 0.05, 0.5]),
       genres=st.lists(st.sampled_from(GENRE_NAMES), min_size=1, max_size=3, unique=True),
       first_year=st.integers(1960, 2025), seed=st.integers(0, 2**32 - 1))
def test_tiny_configs_always_build(n_artists, albums, n_playlists, n_users, new_share, genres, first_year, seed):
    config = SyntheticCatalogConfig(seed=seed, n_artists=n_artists, albums_per_artist=(albums[0], sum(albums)),
                                    n_playlists=n_playlists, n_users=n_users, new_share=new_share,
                                    genres=tuple(genres), year_range=(first_year, 2025), playlist_length=(1, 30))
    check_structure(generate_catalog(config), config)
