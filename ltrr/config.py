"""The EngineConfig tree: one frozen dataclass per section, validated once when it is built.

    >>> config = EngineConfig.from_dict({"catalog": {"synthetic": {"n_artists": 50}}})
    >>> config.catalog.synthetic.n_artists, config.store.url
    (50, 'ltrr_data/ltrr.db')
    >>> EngineConfig.from_dict({"catalog": {"synthetic": {"n_artists": 0}}})
    Traceback (most recent call last):
    ...
    ltrr.errors.ConfigError: catalog.synthetic.n_artists must be >= 1, got 0

Every field has a working default, so `EngineConfig()` runs as is. A section is a dataclass field
whose type is another dataclass; `from_dict`, `to_dict` and the type checks walk the tree, so adding
a section is adding one field to its parent.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from .config_checks import at_least, between, build, check_types, int_range, plain
from .config_sections import FeedbackConfig, PolicyConfig, RankerConfig, RetrievalConfig
from .errors import ConfigError
from .synthetic.vocabulary import GENRE_NAMES


@dataclass(frozen=True)
class StoreConfig:
    """Where the catalog lives: a SQLite file path or any SQLAlchemy URL; and where the engine keeps its indexes
    and learned state (`index_dir`; "" means `<file>.ltrr/` next to a SQLite file; a server URL needs one)."""

    section: ClassVar[str] = "store"
    url: str = "ltrr_data/ltrr.db"
    index_dir: str = ""

    def __post_init__(self) -> None:
        check_types(self)
        if not self.url.strip():
            raise ConfigError("store.url must be a file path or SQLAlchemy URL, got an empty string")


@dataclass(frozen=True)
class SyntheticCatalogConfig:
    """The seeded demo catalog (`ltrr demo`); the defaults give ~4,000 tracks built in about a second.

    Ranges are inclusive `(low, high)` pairs. Dates derive from `reference_date`, never from the clock,
    so the same config always yields the same catalog and a rewrite changes nothing.
    """

    section: ClassVar[str] = "catalog.synthetic"
    seed: int = 7  # an int, not None: the demo catalog must be reproducible
    n_artists: int = 300
    albums_per_artist: tuple[int, int] = (1, 4)
    tracks_per_album: tuple[int, int] = (3, 8)
    n_playlists: int = 150
    playlist_length: tuple[int, int] = (12, 50)
    n_users: int = 200
    genres: tuple[str, ...] = GENRE_NAMES
    year_range: tuple[int, int] = (1960, 2025)
    reference_date: str = "2026-01-01"
    new_share: float = 0.05
    new_window_days: int = 30
    popularity_exponent: float = 1.0
    track_tag_share: float = 0.4

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("n_artists", "new_window_days"):
            at_least(self, name, 1)
        for name in ("n_playlists", "n_users"):
            at_least(self, name, 0)
        for name in ("albums_per_artist", "tracks_per_album", "playlist_length"):
            int_range(self, name, 1, 1000)
        int_range(self, "year_range", 1900, self.reference.year)
        between(self, "new_share", 0.0, 0.5)
        between(self, "track_tag_share", 0.0, 1.0)
        between(self, "popularity_exponent", 0.0, 4.0)
        unknown = [genre for genre in self.genres if genre not in GENRE_NAMES]
        if unknown or not self.genres or len(set(self.genres)) != len(self.genres):
            raise ConfigError(f"catalog.synthetic.genres must be distinct names from {list(GENRE_NAMES)}, "
                              f"got {list(self.genres)!r}")

    @property
    def reference(self) -> date:
        """`reference_date` parsed: the "today" of the synthetic catalog."""
        try:
            return date.fromisoformat(self.reference_date)
        except ValueError:
            raise ConfigError(f"catalog.synthetic.reference_date must be an ISO date like 2026-01-01, "
                              f"got {self.reference_date!r}") from None


@dataclass(frozen=True)
class CatalogConfig:
    section: ClassVar[str] = "catalog"
    synthetic: SyntheticCatalogConfig = field(default_factory=SyntheticCatalogConfig)

    def __post_init__(self) -> None:
        check_types(self)


@dataclass(frozen=True)
class EngineConfig:
    """The whole tree. Each component gets its own section, never this object."""

    section: ClassVar[str] = ""
    store: StoreConfig = field(default_factory=StoreConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ranker: RankerConfig = field(default_factory=RankerConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)

    def __post_init__(self) -> None:
        check_types(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngineConfig:
        """Build from nested mappings (a parsed TOML file); missing keys keep their defaults."""
        return build(cls, data)

    @classmethod
    def from_toml(cls, path: str | Path) -> EngineConfig:
        path = Path(path)
        try:
            with path.open("rb") as file:
                data = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(f"config file {str(path)!r} does not exist; give the path of an ltrr TOML file") \
                from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts (tuples become lists): what `from_dict` reads and `config.json` holds."""
        return plain(self)


