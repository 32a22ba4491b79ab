"""WorldConfig: the knobs of the simulated world, checked when built (from code or a [world] TOML table).

    >>> WorldConfig.from_dict({"typo_rate": 0.3, "max_reformulations": 1}).typo_rate
    0.3
    >>> WorldConfig.from_dict({"typo_rat": 0.3})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ltrr.errors.ConfigError: unknown config key 'world.typo_rat'; known keys at [world] are: intent_mix, ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from ..errors import ConfigError
from .intents import INTENT_KINDS
from .noise import FORMS
from .users import USER_SOURCES, FrozenMapping

DEVICES = ("phone", "desktop", "speaker", "car", "tablet", "tv", "web")


def _intent_mix() -> FrozenMapping:
    return FrozenMapping({"spearfish": 0.5, "topical": 0.35, "ambiguous": 0.15})


def _device_mix() -> FrozenMapping:
    return FrozenMapping({"phone": 0.55, "desktop": 0.2, "speaker": 0.1, "car": 0.08, "tablet": 0.07})


def _device_intent_bias() -> FrozenMapping:
    # hands-free listeners ask for a mood or a theme far more often than for one exact track
    return FrozenMapping({"speaker": FrozenMapping({"spearfish": 0.6, "topical": 2.0, "ambiguous": 1.2}),
                          "car": FrozenMapping({"spearfish": 0.7, "topical": 1.8})})


def _spearfish_forms() -> FrozenMapping:
    return FrozenMapping({"title": 0.45, "artist_title": 0.35, "partial_title": 0.2})


@dataclass(frozen=True)
class WorldConfig:
    """The simulated world's knobs; every field has a working default.

    intent_mix: relative weights of INTENT_KINDS. device_mix: relative weights of devices (DEVICES).
    device_intent_bias: device -> intent kind -> multiplier on intent_mix (missing: 1). evening_topical_boost:
    topical weight x (1 + boost) in the evening (18:00-02:00) and at weekends. typo_rate: chance a typed first
    query is misspelt. voice_rate: chance the recognizer swaps a word that has a homophone (`QueryNoise.voice`).
    spearfish_forms: weights of `QueryNoise` forms. max_reformulations: reformulations drawn per session.
    anonymous_share: chance a profile user's Context carries no user id. start, minutes_between_sessions: session
    `index` happens at start + (index + U[0, 1)) x minutes_between_sessions. taste_share: the share of
    spearfish and topical draws led by the user's taste. profile_share: chance a session's user is a profile
    user when the pool holds both kinds (None: uniform over users). user_sources, max_playlist_users: see
    `UserPool.from_store`. voice_devices: devices whose queries are spoken. ambiguous_words: the ambiguous
    vocabulary (empty: derive the n_ambiguous_words best from the catalog). max_ambiguous_relevant: relevant
    entities kept per ambiguous intent. min_topical_tracks: smallest ground truth of a topical intent.
    locale: Context.locale of every session.
    """

    section: ClassVar[str] = "world"
    intent_mix: Mapping[str, float] = field(default_factory=_intent_mix)
    device_mix: Mapping[str, float] = field(default_factory=_device_mix)
    device_intent_bias: Mapping[str, Mapping[str, float]] = field(default_factory=_device_intent_bias)
    evening_topical_boost: float = 0.3
    typo_rate: float = 0.15
    voice_rate: float = 0.5
    spearfish_forms: Mapping[str, float] = field(default_factory=_spearfish_forms)
    max_reformulations: int = 2
    anonymous_share: float = 0.2
    start: datetime = datetime(2026, 1, 5, 8, 0)
    minutes_between_sessions: float = 3.0
    taste_share: float = 0.5
    profile_share: float | None = 0.5
    user_sources: tuple[str, ...] = USER_SOURCES
    max_playlist_users: int = 5000
    voice_devices: tuple[str, ...] = ("speaker", "car")
    ambiguous_words: tuple[str, ...] = ()
    n_ambiguous_words: int = 40
    max_ambiguous_relevant: int = 200
    min_topical_tracks: int = 5
    locale: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalize once, here
        set_(self, "intent_mix", _weights("intent_mix", self.intent_mix, INTENT_KINDS))
        set_(self, "device_mix", _weights("device_mix", self.device_mix, DEVICES))
        set_(self, "spearfish_forms", _weights("spearfish_forms", self.spearfish_forms, FORMS))
        set_(self, "device_intent_bias", _bias(self.device_intent_bias))
        for name in ("typo_rate", "voice_rate", "anonymous_share", "taste_share"):
            _number(name, getattr(self, name), 0.0, 1.0)
        if self.profile_share is not None:
            _number("profile_share", self.profile_share, 0.0, 1.0)
        _number("evening_topical_boost", self.evening_topical_boost, 0.0, 100.0)
        _number("minutes_between_sessions", self.minutes_between_sessions, 1e-6, 1e6)
        _integer("max_reformulations", self.max_reformulations, 0, 10)
        for name in ("max_playlist_users", "n_ambiguous_words", "min_topical_tracks"):
            _integer(name, getattr(self, name), 0, 10**9)
        _integer("max_ambiguous_relevant", self.max_ambiguous_relevant, 1, 10**9)
        set_(self, "start", _start(self.start))
        set_(self, "user_sources", _names("user_sources", self.user_sources, USER_SOURCES, non_empty=True))
        set_(self, "voice_devices", _names("voice_devices", self.voice_devices, DEVICES))
        set_(self, "ambiguous_words", _words(self.ambiguous_words))
        if self.locale is not None and not isinstance(self.locale, str):
            raise ConfigError(f"world.locale must be a string or absent, got {self.locale!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorldConfig:
        """Build from a [world] table (TOML arrays as lists, `start` as a TOML datetime or ISO string)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"[world] must be a table, got {data!r}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown config key 'world.{unknown[0]}'; known keys at [world] are: "
                              f"{', '.join(known)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (mappings as dicts, tuples as lists, `start` as ISO text): from_dict's inverse."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                value = {k: dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, datetime):
                value = value.isoformat()
            out[f.name] = value
        return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(name: str, value: Any, low: float, high: float) -> None:
    if not _is_number(value) or not low <= value <= high:
        raise ConfigError(f"world.{name} must be a number in [{low:g}, {high:g}], got {value!r}")


def _integer(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"world.{name} must be an int in [{low}, {high}], got {value!r}")


def _weights(name: str, value: Any, allowed: tuple[str, ...]) -> FrozenMapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"world.{name} must be a table of weights keyed by {list(allowed)}, got {value!r}")
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise ConfigError(f"world.{name} has unknown keys {unknown}; use some of {list(allowed)}")
    bad = {key: weight for key, weight in value.items() if not _is_number(weight) or weight < 0}
    if bad or not sum(value.values()) > 0:
        raise ConfigError(f"world.{name} weights must be finite numbers >= 0, not all 0, got {dict(value)!r}")
    return FrozenMapping((key, float(value[key])) for key in allowed if key in value)


def _bias(value: Any) -> FrozenMapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"world.device_intent_bias must be a table device -> {{kind: multiplier}}, got {value!r}")
    unknown = sorted(str(key) for key in value if key not in DEVICES)
    if unknown:
        raise ConfigError(f"world.device_intent_bias has unknown devices {unknown}; use some of {list(DEVICES)}")
    out = {}
    for device in DEVICES:
        if device not in value:
            continue
        table = value[device]
        if not isinstance(table, Mapping) or any(kind not in INTENT_KINDS for kind in table) or any(
                not _is_number(m) or m < 0 for m in table.values()):
            raise ConfigError(f"world.device_intent_bias.{device} must map some of {list(INTENT_KINDS)} to "
                              f"multipliers >= 0, got {table!r}")
        out[device] = FrozenMapping((kind, float(table[kind])) for kind in INTENT_KINDS if kind in table)
    return FrozenMapping(out)


def _start(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"world.start must be an ISO datetime such as '2026-01-05T08:00', got {value!r}") \
                from None
    if not isinstance(value, datetime):
        raise ConfigError(f"world.start must be a datetime or ISO text such as '2026-01-05T08:00', got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value  # Context wants naive UTC


def _names(name: str, value: Any, allowed: tuple[str, ...], non_empty: bool = False) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or any(item not in allowed for item in items) or (non_empty and not items):
        need = "a non-empty list" if non_empty else "a list"
        raise ConfigError(f"world.{name} must be {need} of some of {list(allowed)}, got {value!r}")
    return tuple(dict.fromkeys(items))


def _words(value: Any) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or any(not isinstance(item, str) or not item.strip() for item in items):
        raise ConfigError(f"world.ambiguous_words must be a list of non-blank words (empty: derive them from the "
                          f"catalog), got {value!r}")
    return tuple(dict.fromkeys(" ".join(item.lower().split()) for item in items))
