"""Frozen dataclasses every module passes around: the catalog's nouns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

EntityKind = Literal["track", "artist", "album", "playlist"]
ENTITY_KINDS: tuple[EntityKind, ...] = ("track", "artist", "album", "playlist")


@dataclass(frozen=True, slots=True)
class Popularity:
    """Raw popularity signals; each is None where the sources say nothing.

    playlist_count: playlists containing the entity (for an artist: containing one of its tracks).
    follower_sum: sum of followers of those playlists (for a playlist: its own followers).
    chart_points: Billboard Hot 100 points, sum of (101 - rank) over charted weeks.
    chart_best_rank: best Hot 100 position reached (1 is best).
    play_count: listening count summed over known users (Last.fm).
    source_popularity: a source's own 0-100 score (Spotify's artist popularity).
    """

    playlist_count: int | None = None
    follower_sum: int | None = None
    chart_points: int | None = None
    chart_best_rank: int | None = None
    play_count: int | None = None
    source_popularity: float | None = None


@dataclass(frozen=True, slots=True)
class TagWeight:
    """One entity-tag assignment: weight in [0, 1], `source` says who assigned it.

    A track inherits its artist's tags with source "artist:<source>" unless it has its own tag of that name.
    """

    tag: str
    weight: float
    source: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A catalog entity of any kind: track, artist, album or playlist.

    `entity_id` is unique across kinds and stable across re-ingests: it is derived from
    (source, kind, source_id), see `ltrr.ids.entity_id`. `name` is the title of a track or album,
    the name of an artist or playlist. `artist_name`/`album_name` are filled when read from the store.
    """

    entity_id: str
    kind: EntityKind
    name: str
    source: str
    source_id: str
    artist_id: str | None = None
    album_id: str | None = None
    description: str | None = None
    year: int | None = None
    duration_ms: int | None = None
    added_at: datetime | None = None
    popularity: Popularity = field(default_factory=Popularity)
    tags: tuple[TagWeight, ...] = ()
    artist_name: str | None = None
    album_name: str | None = None

    @property
    def title(self) -> str:
        """The display title (same as `name`)."""
        return self.name


@dataclass(frozen=True, slots=True)
class Affinity:
    """A user's affinity for one artist (entity id) or tag, weight in [0, 1]."""

    key: str
    weight: float
    count: int = 0


@dataclass(frozen=True, slots=True)
class UserProfile:
    """A user's taste for simulation: weighted artists (catalog entity ids) and tags."""

    user_id: str
    source: str
    artists: tuple[Affinity, ...] = ()
    tags: tuple[Affinity, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogCounts:
    """Row counts of a catalog store, as `ltrr stats` prints them."""

    tracks: int
    artists: int
    albums: int
    playlists: int
    tags: int
    entity_tags: int
    playlist_tracks: int
    users: int

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


QueryClass = Literal["spearfishing", "topical", "ambiguous"]
SlotName = Literal["artist", "genre", "mood", "years", "kind"]


@dataclass(frozen=True, slots=True)
class Context:
    """Who asks, from where and when; every field optional.

    device: "phone", "desktop", "tablet", "speaker", "car", "tv", "web" or None; timestamp: naive UTC.
    """

    user_id: str | None = None
    device: str | None = None
    timestamp: datetime | None = None
    locale: str | None = None

    @classmethod
    def anonymous(cls) -> Context:
        return cls()


@dataclass(frozen=True, slots=True)
class Slot:
    """One structured constraint read from the query.

    name: "artist" (value: the artist's name key), "genre" or "mood" (value: a tag name), "years" (value:
    "LOW-HIGH", e.g. "1980-1989" for "80s"), "kind" (value: an entity kind, from "playlist", "songs by"...).
    confidence in [0, 1]: 1 for an exact match, lower for typo-tolerant or ambiguous matches.
    matched: the query text the slot was read from; span: its [start, end) token positions in `Query.tokens`.
    """

    name: SlotName
    value: str
    confidence: float
    matched: str
    span: tuple[int, int] = (0, 0)

    def year_range(self) -> tuple[int, int]:
        """(low, high) of a "years" slot."""
        low, _, high = self.value.partition("-")
        return int(low), int(high or low)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the raw text, its folded form and tokens, slots, the residual text and a class guess.

    `residual` is the normalized text left once the slots' words are removed ("" when slots explain it all).
    """

    text: str
    normalized: str
    tokens: tuple[str, ...]
    slots: tuple[Slot, ...] = ()
    residual: str = ""
    query_class: QueryClass = "ambiguous"

    def slots_named(self, name: SlotName) -> tuple[Slot, ...]:
        return tuple(slot for slot in self.slots if slot.name == name)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One entity retrieved by one generator. `score` is comparable only within one source; `rank` is 0-based."""

    entity_id: str
    kind: EntityKind
    source: str
    score: float
    rank: int


@dataclass(frozen=True, slots=True)
class Preview:
    """What a generator can say about a query cheaply, before retrieving (features for the bandit).

    n_hits: entities that match at all (an estimate where exact counting is costly); top_score: the best
    score the generator found (0.0 when it found nothing; a similarity search always finds a nearest
    neighbour, so dense reports its score even when n_hits, counted above a threshold, is 0); score_gap:
    best minus second best (0.0 with fewer than two results).
    """

    source: str
    n_hits: int
    top_score: float
    score_gap: float


@dataclass(frozen=True, slots=True)
class Arm:
    """A retrieval plan: which generators to call and how many candidates each contributes.

    `plan` holds (generator name, k) pairs with k >= 1, in the engine's generator order; a generator
    absent from the plan is not called.

        >>> Arm("bm25_dense", (("bm25", 150), ("dense", 150))).budget
        300
    """

    name: str
    plan: tuple[tuple[str, int], ...]

    @property
    def budget(self) -> int:
        """Total candidates the plan asks for."""
        return sum(k for _, k in self.plan)

    def k(self, generator: str) -> int:
        """Candidates asked of `generator` (0 when the plan does not call it)."""
        return dict(self.plan).get(generator, 0)


@dataclass(frozen=True, slots=True)
class Decision:
    """The plan a policy chose for one search, with the probability of that choice.

    pmf: the probability of every arm of the catalogue, in catalogue order (sums to 1); arm_index: the
    chosen arm's position in it; propensity == pmf[arm_index]. A deterministic policy logs 1.0.
    """

    arm: Arm
    arm_index: int
    propensity: float
    pmf: tuple[float, ...]
    policy: str
    policy_version: int = 0
