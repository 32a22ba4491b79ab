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
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

from .errors import ConfigError
from .synthetic.vocabulary import GENRE_NAMES

C = TypeVar("C")


@dataclass(frozen=True)
class StoreConfig:
    """Where the catalog lives: a SQLite file path or any SQLAlchemy URL."""

    section: ClassVar[str] = "store"
    url: str = "ltrr_data/ltrr.db"

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
            _at_least(self, name, 1)
        for name in ("n_playlists", "n_users"):
            _at_least(self, name, 0)
        for name in ("albums_per_artist", "tracks_per_album", "playlist_length"):
            _range(self, name, 1, 1000)
        _range(self, "year_range", 1900, self.reference.year)
        _between(self, "new_share", 0.0, 0.5)
        _between(self, "track_tag_share", 0.0, 1.0)
        _between(self, "popularity_exponent", 0.0, 4.0)
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
        return _plain(self)


def build(cls: type[C], data: Mapping[str, Any], section: str = "") -> C:
    """Build the dataclass `cls` from `data`, recursing into sub-sections; unknown keys raise ConfigError."""
    where = f"[{section}]" if section else "the top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{section} must be a table, got {data!r}")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise ConfigError(f"unknown config key {key!r}; known keys at {where} are: {', '.join(known)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        if is_dataclass(hints[name]):
            kwargs[name] = build(hints[name], value, f"{section}.{name}" if section else name)
        else:
            kwargs[name] = _freeze(value)
    return cls(**kwargs)


def check_types(section: Any) -> None:
    """Raise ConfigError naming the dotted key when a field's value does not have its declared type."""
    hints = get_type_hints(type(section))
    for f in fields(section):
        key = f"{section.section}.{f.name}" if section.section else f.name
        value = getattr(section, f.name)
        if not _has_type(value, hints[f.name]):
            raise ConfigError(f"{key} must be {_describe(hints[f.name])}, got {value!r} ({type(value).__name__})")


def _has_type(value: Any, hint: Any) -> bool:
    origin, args = get_origin(hint), get_args(hint)
    if origin is types.UnionType:
        return any(_has_type(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(item, args[0]) for item in value)
        return len(value) == len(args) and all(_has_type(item, arg) for item, arg in zip(value, args))
    if hint is float:  # TOML writes 1 for 1.0; bool is an int subclass but never a number here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_PLURALS.get(args[0], _describe(args[0]))}"
        return f"a list of {len(args)} ({', '.join(_describe(arg) for arg in args)})"
    if origin is types.UnionType:
        return " or ".join(_describe(arg) for arg in args)
    if is_dataclass(hint):
        return "a table"
    return {int: "an int", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


_PLURALS = {int: "ints", float: "numbers", str: "strings", bool: "booleans"}


def _freeze(value: Any) -> Any:
    """Lists (TOML arrays) become tuples, so configs stay hashable and compare equal to the defaults."""
    return tuple(_freeze(item) for item in value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _at_least(section: Any, name: str, low: int) -> None:
    value = getattr(section, name)
    if value < low:
        raise ConfigError(f"{section.section}.{name} must be >= {low}, got {value!r}")


def _between(section: Any, name: str, low: float, high: float) -> None:
    value = getattr(section, name)
    if not low <= value <= high:
        raise ConfigError(f"{section.section}.{name} must be in [{low}, {high}], got {value!r}")


def _range(section: Any, name: str, low: int, high: int) -> None:
    first, last = getattr(section, name)
    if not low <= first <= last <= high:
        raise ConfigError(f"{section.section}.{name} must be [low, high] with {low} <= low <= high <= {high}, "
                          f"got {[first, last]!r}")
