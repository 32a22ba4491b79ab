"""A user's own catalog, one entity per row, from CSV or JSONL (`ltrr ingest csv|jsonl PATH`).

Each row is a track, artist, album or playlist (its `kind`). Columns are mapped to the canonical fields of
`FIELDS` (`--map name=track_title,...` or a JSON file); an unmapped field reads the column of its own name,
and columns that map to no field are ignored. Artists and albums named in rows become entities of their own.
Only the fields the file carries are written, so a file without a `year` column never erases a year that
another ingest set. See catalog/FIELDS.md for every field, the id scheme and an example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import IngestError
from ..ids import entity_id
from ..progress import StageFactory, no_progress
from ..store import CatalogStore, CatalogWriter, WriteCounts
from ..store.writer import ENTITY_COLUMNS, POPULARITY_COLUMNS
from ..types import ENTITY_KINDS, Entity, EntityKind, Popularity
from .fields import (
    COUNT_FIELDS,
    FIELDS,
    canonical_mapping,
    field_value,
    parse_tags,
    track_refs,
    user_id_of,
)
from .report import IngestReport, settle_problems
from .rows import Problems, RowError, read_delimited, read_jsonl, text_field

ALBUM_KEY_SEPARATOR = " — "
# Canonical field -> the entity column it writes; other fields (id, kind, tags, tracks) are not columns.
_COLUMN_OF = {"name": "name", "artist": "artist_id", "album": "album_id", "year": "year",
              "duration_ms": "duration_ms", "added_at": "added_at", "description": "description",
              "popularity": "source_popularity", **{name: name for name in COUNT_FIELDS}}
# Which link fields a kind keeps: an artist row has no artist, a playlist neither artist nor album.
_LINKS = {"track": ("artist", "album"), "album": ("artist",), "artist": (), "playlist": ()}


@dataclass(frozen=True, slots=True)
class _Row:
    """One valid input row, before artist and album names and playlist tracks are resolved to entity ids."""

    line: int
    kind: EntityKind
    user_id: str
    name: str
    values: Mapping[str, Any]          # entity column -> value, for the plain columns this row writes
    links: tuple[str, ...]             # which of "artist_id", "album_id" this row writes
    artist: str | None                 # artist name as given (None: blank or no such field)
    album: str | None
    tags: tuple[tuple[str, float], ...] | None   # None: the row has no tags field
    track_refs: tuple[str, ...] | None           # playlists: user ids of track rows, in order
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one ingest writes, once every row is valid and every name resolved.

    `entities`: per target ("artists", ...), each entity with the columns it writes, in write order.
    """

    entities: Mapping[str, list[tuple[Entity, tuple[str, ...]]]]
    tags: Mapping[str, list[tuple[str, float]]]
    lists: Mapping[str, list[str]]


def ingest_table(store: CatalogStore, path: Path, *, fmt: Literal["csv", "jsonl"],
                 mapping: Mapping[str, str] | None = None, source: str = "csv", default_kind: str = "track",
                 delimiter: str = ",", skip_bad: bool = False, rejects_path: Path | None = None,
                 progress: StageFactory = no_progress) -> IngestReport:
    """Validate every row of a CSV or JSONL catalog file, then write it all in one transaction.

    Bad rows stop the ingest before anything is written, unless `skip_bad` (then they go to `rejects_path`).
    """
    path = Path(path)
    _check_arguments(fmt, default_kind, delimiter, source)
    mapped = canonical_mapping(mapping or {})
    columns = {**{name: name for name in FIELDS}, **mapped}
    problems = Problems()
    report = IngestReport(fmt)
    rows = _read_rows(path, fmt, columns, mapped, default_kind, delimiter, problems, progress)
    report.read = {"rows": len(rows) + len(problems)}
    plan = _plan(rows, source, columns["tracks"], path, problems)
    problems.items.sort(key=lambda problem: problem.line)
    settle_problems(problems, report, skip_bad, rejects_path)
    with store.writer() as writer:
        for target, items in plan.entities.items():  # artists and albums before what refers to them
            report.add(target, _upsert(writer, items, target, progress))
        stage = progress("write tags", len(plan.tags))
        report.add("tags", writer.replace_tags(source, plan.tags, progress=stage.update))
        stage.close()
        stage = progress("write playlist tracks", len(plan.lists))
        report.add("playlist lists", writer.replace_playlist_tracks(plan.lists, progress=stage.update))
        stage.close()
    return report


def _check_arguments(fmt: str, default_kind: str, delimiter: str, source: str) -> None:
    if fmt not in ("csv", "jsonl"):
        raise IngestError(f"fmt must be 'csv' or 'jsonl', got {fmt!r}")
    if default_kind not in ENTITY_KINDS:
        raise IngestError(f"default kind must be one of {', '.join(ENTITY_KINDS)}, got {default_kind!r}")
    if len(delimiter) != 1:
        raise IngestError(f"the delimiter must be one character, got {delimiter!r}; e.g. ',', ';' or a tab")
    if not source or ":" in source:
        raise IngestError(f"source must be a non-empty label without ':', got {source!r}; e.g. 'mylabel'")


def _read_rows(path: Path, fmt: str, columns: Mapping[str, str], mapped: Mapping[str, str], default_kind: str,
               delimiter: str, problems: Problems, progress: StageFactory) -> list[_Row]:
    """Parse every record; bad ones (and duplicate (kind, id) pairs) go to `problems`."""
    if fmt == "csv":
        records = read_delimited(path, [columns["id"], columns["name"]], problems, delimiter)
    else:
        records = read_jsonl(path, problems)
    rows: list[_Row] = []
    first_line: dict[tuple[str, str], int] = {}
    header_checked = fmt != "csv"
    stage = progress("read rows", None)
    for line, raw in records:
        if not header_checked:
            _check_header(path, raw, mapped)  # every CSV record has the header's keys
            header_checked = True
        try:
            kind, user_id = _identity(raw, columns, default_kind)
            first = first_line.setdefault((kind, user_id), line)
            if first != line:
                raise RowError(f"{columns['id']}: duplicate {kind} id {user_id!r} (first seen on line {first})")
            rows.append(_parse_row(line, kind, user_id, raw, columns))
        except RowError as exc:
            problems.add(path, line, str(exc), raw)
        stage.update(1)
    stage.close()
    return rows


def _check_header(path: Path, header: Mapping[str, str], mapping: Mapping[str, str]) -> None:
    """A mapped column the CSV lacks is a typo, not a field to skip silently."""
    missing = {name: column for name, column in mapping.items() if column not in header}
    if missing:
        raise IngestError(f"{path}:1: the mapping names columns the header lacks ({missing}); the header has "
                          f"{list(header)}; fix the column names or drop those fields from the mapping")


def _identity(raw: Mapping[str, Any], columns: Mapping[str, str], default_kind: str) -> tuple[EntityKind, str]:
    kind_value = raw.get(columns["kind"])
    kind = default_kind
    if kind_value is not None and not (isinstance(kind_value, str) and not kind_value.strip()):
        kind = str(kind_value).strip().lower()
        if kind not in ENTITY_KINDS:
            raise RowError(f"{columns['kind']}: expected one of {', '.join(ENTITY_KINDS)}, got {kind_value!r}")
    return kind, user_id_of(raw.get(columns["id"]), columns["id"])


def _parse_row(line: int, kind: EntityKind, user_id: str, raw: Mapping[str, Any],
               columns: Mapping[str, str]) -> _Row:
    present = {name for name, column in columns.items() if column in raw}
    name = text_field(raw, columns["name"])
    plain = [field for field in _COLUMN_OF if field in present and field not in ("name", "artist", "album")]
    # A blank added_at is None, which the writer reads as "keep the stored date" (now, on insert).
    values = {_COLUMN_OF[field]: field_value(field, raw, columns[field]) for field in plain}
    links = [field for field in _LINKS[kind] if field in present]
    names = {field: field_value(field, raw, columns[field]) for field in links}
    tags = parse_tags(raw.get(columns["tags"]), columns["tags"]) if "tags" in present else None
    refs = track_refs(raw.get(columns["tracks"]), columns["tracks"]) if "tracks" in present else None
    if refs and kind != "playlist":
        raise RowError(f"{columns['tracks']}: only playlist rows list tracks; this row is a {kind}, "
                       f"got {raw.get(columns['tracks'])!r:.80}")
    return _Row(line, kind, user_id, name, values, tuple(_COLUMN_OF[field] for field in links),
                names.get("artist"), names.get("album"), tags, refs if kind == "playlist" else None, raw)


def _plan(rows: list[_Row], source: str, tracks_column: str, path: Path, problems: Problems) -> _Plan:
    """Resolve names and references to entity ids; playlists naming unknown tracks become problems."""
    track_ids = {row.user_id: entity_id(source, "track", row.user_id) for row in rows if row.kind == "track"}
    valid = [row for row in rows if _playlist_ok(row, track_ids, tracks_column, path, problems)]
    linker = _Linker(source, valid)
    artists = [linker.own(row, {}) for row in valid if row.kind == "artist"]
    albums = [linker.own(row, {"artist_id": linker.artist(row)[0]}) for row in valid if row.kind == "album"]
    linker.index_albums(albums)
    tracks = [linker.own(row, linker.track_links(row)) for row in valid if row.kind == "track"]
    playlists = [linker.own(row, {}) for row in valid if row.kind == "playlist"]
    tags = {linker.entity_id(row): list(row.tags) for row in valid if row.tags is not None}
    lists = {linker.entity_id(row): [track_ids[ref] for ref in row.track_refs]
             for row in valid if row.track_refs is not None}
    return _Plan({"artists": artists + linker.new_artists, "albums": albums + linker.new_albums, "tracks": tracks,
                  "playlists": playlists}, tags, lists)


def _playlist_ok(row: _Row, track_ids: Mapping[str, str], column: str, path: Path, problems: Problems) -> bool:
    unknown = [ref for ref in row.track_refs or () if ref not in track_ids]
    if unknown:
        problems.add(path, row.line, f"{column}: {len(unknown)} ids are not valid track rows of this file, "
                                     f"e.g. {unknown[0]!r}", row.raw)
    return not unknown


class _Linker:
    """Turns artist and album names into entity ids, reusing rows of the file and creating the others.

    An artist name matches the first artist row of that exact name; an album matches the first album row of
    that name by the same artist. Other names become entities of their own, keyed by the exact name
    (albums by "ARTIST — ALBUM"), unless that key is itself the id of a row of the file.
    """

    def __init__(self, source: str, rows: Sequence[_Row]) -> None:
        self.source = source
        self.rows = {self.entity_id(row): row for row in rows}
        self.artist_rows: dict[str, str] = {}
        for row in rows:
            if row.kind == "artist":
                self.artist_rows.setdefault(row.name, self.entity_id(row))
        self.album_rows: dict[tuple[str | None, str], str] = {}
        self.new_artists: list[tuple[Entity, tuple[str, ...]]] = []
        self.new_albums: list[tuple[Entity, tuple[str, ...]]] = []
        self._created: set[str] = set()

    def entity_id(self, row: _Row) -> str:
        return entity_id(self.source, row.kind, row.user_id)

    def own(self, row: _Row, links: Mapping[str, str | None]) -> tuple[Entity, tuple[str, ...]]:
        """The row's entity and the columns it writes (`links` holds its resolved artist and album ids)."""
        values = {**row.values, **{column: links.get(column) for column in row.links}}
        entity = Entity(self.entity_id(row), row.kind, row.name, self.source, row.user_id,
                        artist_id=values.get("artist_id"), album_id=values.get("album_id"),
                        description=values.get("description"), year=values.get("year"),
                        duration_ms=values.get("duration_ms"), added_at=values.get("added_at"),
                        popularity=Popularity(**{name: values.get(name) for name in POPULARITY_COLUMNS}))
        return entity, tuple(column for column in ENTITY_COLUMNS if column == "name" or column in values)

    def artist(self, row: _Row) -> tuple[str | None, str]:
        """(artist entity id, artist name) of a row; (None, "") without an artist."""
        name = row.artist
        if name is None:
            return None, ""
        if name in self.artist_rows:
            return self.artist_rows[name], name
        artist_id = entity_id(self.source, "artist", name)
        if artist_id in self.rows:
            return artist_id, self.rows[artist_id].name
        if artist_id not in self._created:
            self._created.add(artist_id)
            self.new_artists.append((Entity(artist_id, "artist", name, self.source, name), ("name",)))
        return artist_id, name

    def index_albums(self, albums: Sequence[tuple[Entity, tuple[str, ...]]]) -> None:
        for album, _ in albums:
            self.album_rows.setdefault((album.artist_id, album.name), album.entity_id)

    def track_links(self, row: _Row) -> dict[str, str | None]:
        artist_id, artist_name = self.artist(row)
        if row.album is None:
            return {"artist_id": artist_id, "album_id": None}
        album_id = self.album_rows.get((artist_id, row.album))
        if album_id is None:
            key = f"{artist_name}{ALBUM_KEY_SEPARATOR}{row.album}"
            album_id = entity_id(self.source, "album", key)
            if album_id not in self.rows and album_id not in self._created:
                self._created.add(album_id)
                self.new_albums.append((Entity(album_id, "album", row.album, self.source, key,
                                               artist_id=artist_id), ("name", "artist_id")))
        return {"artist_id": artist_id, "album_id": album_id}


def _upsert(writer: CatalogWriter, items: list[tuple[Entity, tuple[str, ...]]], target: str,
            progress: StageFactory) -> WriteCounts:
    """Upsert entities, grouped by the columns each writes (JSONL rows may carry different keys)."""
    groups: dict[tuple[str, ...], list[Entity]] = {}
    for entity, fields in items:
        groups.setdefault(fields, []).append(entity)
    stage = progress(f"write {target}", len(items))
    total = WriteCounts()
    for fields, batch in groups.items():
        total += writer.upsert_entities(batch, fields, progress=stage.update)
    stage.close()
    return total
