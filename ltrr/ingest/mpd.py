"""Spotify Million Playlist Dataset (the `mpd_popular_playlists` folder) -> tracks, artists, playlists.

Ids: a track is its Spotify URI (`spotify:track:ID`); a playlist is `mpd:playlist:PID`; an artist, known
only by its exact name, is `mpd:artist:~HASH` (see `ltrr.ids`). Exact artist names are kept apart, so the
catalog has one artist per distinct `artist_name` (42,743 in the shared copy); matching by normalized
name happens in the enrichment ingesters, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..ids import entity_id
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from ..types import Entity, Popularity
from .report import IngestReport, settle_problems
from .rows import Problems, RowError, Seen, find_input, int_field, read_delimited, read_jsonl, text_field

TRACK_COLUMNS = ("track_uri", "track_name", "artist_name", "n_playlists", "followers_sum")
SPOTIFY_TRACK_PREFIX = "spotify:track:"


@dataclass(frozen=True, slots=True)
class _Playlist:
    pid: int
    name: str
    description: str | None
    followers: int
    track_uris: tuple[str, ...]


def track_id(uri: str) -> str:
    """The entity id of a track URI: Spotify URIs are used as they are."""
    if uri.startswith(SPOTIFY_TRACK_PREFIX):
        return entity_id("spotify", "track", uri[len(SPOTIFY_TRACK_PREFIX):])
    return entity_id("mpd", "track", uri)


def artist_id(name: str) -> str:
    return entity_id("mpd", "artist", name)


def playlist_id(pid: int) -> str:
    return entity_id("mpd", "playlist", str(pid))


def ingest_mpd(store: CatalogStore, path: Path, *, skip_bad: bool = False, rejects_path: Path | None = None,
               progress: StageFactory = no_progress) -> IngestReport:
    """Ingest `tracks.csv[.gz]` and `playlists.jsonl[.gz]` from the folder `path`, all or nothing."""
    path = Path(path)
    tracks_file, playlists_file = find_input(path, "tracks.csv"), find_input(path, "playlists.jsonl")
    problems = Problems()
    report = IngestReport("mpd")
    tracks = _read_tracks(tracks_file, problems, progress)
    playlists = _read_playlists(playlists_file, set(tracks), problems, progress)
    report.read = {"tracks": len(tracks) + problems.count_in(tracks_file),
                   "playlists": len(playlists) + problems.count_in(playlists_file)}
    settle_problems(problems, report, skip_bad, rejects_path)

    artists = _artists(tracks, playlists)
    playlist_entities = [Entity(playlist_id(p.pid), "playlist", p.name, "mpd", str(p.pid), description=p.description,
                                popularity=Popularity(follower_sum=p.followers)) for p in playlists]
    memberships = {playlist_id(p.pid): [track_id(uri) for uri in p.track_uris] for p in playlists}
    with store.writer() as writer:
        report.add("artists", _write(writer, artists, ("name", "playlist_count", "follower_sum"), progress))
        report.add("tracks", _write(writer, list(tracks.values()),
                                    ("name", "artist_id", "playlist_count", "follower_sum"), progress))
        report.add("playlists", _write(writer, playlist_entities, ("name", "description", "follower_sum"), progress))
        stage = progress("write playlist tracks", len(memberships))
        report.add("playlist lists", writer.replace_playlist_tracks(memberships, progress=stage.update))
        stage.close()
    return report


def _write(writer, batch: list[Entity], fields: tuple[str, ...], progress: StageFactory):
    stage = progress(f"write {batch[0].kind}s" if batch else "write", len(batch))
    counts = writer.upsert_entities(batch, fields, progress=stage.update)
    stage.close()
    return counts


def _read_tracks(file: Path, problems: Problems, progress: StageFactory) -> dict[str, Entity]:
    """Valid track rows keyed by URI."""
    tracks: dict[str, Entity] = {}
    seen = Seen()
    stage = progress("read tracks", None)
    for line, row in read_delimited(file, TRACK_COLUMNS, problems):
        try:
            uri = text_field(row, "track_uri")
            seen.check(uri, line, "track_uri")
            name = text_field(row, "track_name")
            artist = text_field(row, "artist_name", strip=False)  # exact: " X" and "X" are two MPD artists
            popularity = Popularity(playlist_count=int_field(row, "n_playlists"),
                                    follower_sum=int_field(row, "followers_sum"))
        except RowError as exc:
            problems.add(file, line, str(exc), row)
            continue
        tracks[uri] = Entity(track_id(uri), "track", name, "spotify" if uri.startswith(SPOTIFY_TRACK_PREFIX)
                             else "mpd", uri, artist_id=artist_id(artist), artist_name=artist, popularity=popularity)
        stage.update(1)
    stage.close()
    return tracks


def _read_playlists(file: Path, known_uris: set[str], problems: Problems, progress: StageFactory) -> list[_Playlist]:
    playlists: list[_Playlist] = []
    seen = Seen()
    stage = progress("read playlists", None)
    for line, row in read_jsonl(file, problems):
        try:
            pid = int_field(row, "pid")
            seen.check(str(pid), line, "pid")
            name = text_field(row, "name")
            description = text_field(row, "description", required=False)
            followers = int_field(row, "num_followers")
            uris = row.get("tracks")
            if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
                raise RowError(f"tracks: expected a list of track URIs, got {uris!r:.80}")
            unknown = [uri for uri in uris if uri not in known_uris]
            if unknown:
                raise RowError(f"tracks: {len(unknown)} URIs are not valid rows of tracks.csv, e.g. {unknown[0]!r}")
        except RowError as exc:
            problems.add(file, line, str(exc), row)
            continue
        playlists.append(_Playlist(pid, name, description, followers, tuple(uris)))
        stage.update(1)
    stage.close()
    return playlists


def _artists(tracks: dict[str, Entity], playlists: list[_Playlist]) -> list[Entity]:
    """One artist per exact name; popularity = distinct playlists holding any of its tracks, their followers."""
    names = {track.artist_id: track.artist_name for track in tracks.values()}
    playlist_count = dict.fromkeys(names, 0)
    follower_sum = dict.fromkeys(names, 0)
    for playlist in playlists:
        for artist in {tracks[uri].artist_id for uri in playlist.track_uris}:
            playlist_count[artist] += 1
            follower_sum[artist] += playlist.followers
    return [Entity(artist, "artist", name.strip(), "mpd", name,
                   popularity=Popularity(playlist_count=playlist_count[artist], follower_sum=follower_sum[artist]))
            for artist, name in names.items()]
