"""The simulated world: who searches, when, from which device, for what, and what they type.

Generative model of session `index` under stream `seed` (all draws from `np.random.default_rng([seed, index])`,
so a session depends on (seed, index) alone: every policy compared sees the same users and queries, in any
order, as common random numbers):

1. user ~ UserPool (profile users and playlists-as-users, `ltrr.simulation.users`);
2. time = start + (index + U[0, 1)) x minutes_between_sessions; device ~ device_mix;
   the Context carries the user's id unless the user has none (playlist users) or with chance anonymous_share;
3. intent kind ~ intent_mix x device_intent_bias[device], topical x (1 + evening_topical_boost) in the
   evening and at weekends, over the kinds the catalog supports;
4. intent and its graded ground truth (`ltrr.simulation.intents`, `ltrr.simulation.ambiguous`), led by taste;
5. the first query and up to max_reformulations reformulations (`ltrr.simulation.queries`), pre-drawn: the
   replay harness decides whether the user gets to use them.

`World.build` reads the catalog once (`CatalogSnapshot`) and precomputes every sampling table, so `session()`
touches no store and does no O(catalog) work. No user taste reaches the engine but through Context.user_id.

    world = World.build(store, WorldConfig(), seed=0)
    session = world.session(seed=3, index=0)      # the same SimSession for every policy
    session.queries[0], session.intent.grade(entity_id)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ..progress import StageFactory, no_progress
from ..types import Context
from .ambiguous import AmbiguousIntents, ambiguous_words
from .intents import INTENT_KINDS, Intent, SpearfishIntents, TopicalIntents, choice
from .noise import QueryNoise
from .queries import Formulation, ambiguous_queries, spearfish_queries, topical_queries
from .snapshot import CatalogSnapshot
from .users import SimUser, Taste, UserPool
from .world_config import WorldConfig

if TYPE_CHECKING:
    from ..store import CatalogStore

__all__ = ["SimSession", "World", "WorldConfig"]


@dataclass(frozen=True, slots=True)
class SimSession:
    """One simulated search session: who, in which context, wanting what, typing which queries.

    queries: the first query, then up to max_reformulations reformulations, each closer to the target;
    query_forms: a label per query ("title", "artist_title+typo", "playlist_name+voice", "word+tag"...).
    """

    seed: int
    index: int
    user: SimUser
    context: Context
    intent: Intent
    queries: tuple[str, ...]
    query_forms: tuple[str, ...]


class World:
    """Draws `SimSession`s over one catalog; see the module docstring for the generative model."""

    def __init__(self, snapshot: CatalogSnapshot, config: WorldConfig, users: UserPool) -> None:
        self.snapshot = snapshot
        self.config = config
        self.users = users
        self.tastes = tuple(Taste.of(user, snapshot) for user in users.users)
        self.spearfish = SpearfishIntents(snapshot)
        self.topical = TopicalIntents(snapshot, config.min_topical_tracks)
        words = _word_list(snapshot, config)
        self.ambiguous = AmbiguousIntents(snapshot, words, config.max_ambiguous_relevant)
        available = {"spearfish": self.spearfish.available, "topical": self.topical.available,
                     "ambiguous": self.ambiguous.available}
        self.kinds = tuple(kind for kind in INTENT_KINDS if available[kind] and config.intent_mix.get(kind, 0) > 0)
        if not self.kinds:
            raise ConfigError(f"world.intent_mix {dict(config.intent_mix)} names no intent kind this catalog "
                              f"supports (spearfish: {available['spearfish']}, topical: {available['topical']}, "
                              f"ambiguous: {available['ambiguous']}); ingest tracks and playlists, or change the mix")
        self.devices = tuple(config.device_mix)
        self._device_p = np.array([config.device_mix[d] for d in self.devices]) / sum(config.device_mix.values())
        self._artist_names = _artist_names(snapshot)
        self._noise = QueryNoise(typo_rate=config.typo_rate, voice_rate=config.voice_rate)

    @classmethod
    def build(cls, store: CatalogStore, config: WorldConfig | None = None, *, seed: int = 0,
              progress: StageFactory = no_progress, users: UserPool | None = None) -> World:
        """Read `store` once and precompute; `seed` draws which playlists become users (unless `users` given)."""
        config = config or WorldConfig()
        snapshot = CatalogSnapshot.from_store(store, with_profiles="profiles" in config.user_sources,
                                              progress=progress)
        return cls.from_snapshot(snapshot, config, seed=seed, progress=progress, users=users)

    @classmethod
    def from_snapshot(cls, snapshot: CatalogSnapshot, config: WorldConfig, *, seed: int = 0,
                      progress: StageFactory = no_progress, users: UserPool | None = None) -> World:
        stage = progress("world: sampling tables", None)
        if users is None:
            users = UserPool.from_snapshot(snapshot, sources=config.user_sources, seed=seed,
                                           max_playlist_users=config.max_playlist_users,
                                           profile_share=config.profile_share)
        world = cls(snapshot, config, users)
        stage.update(1)
        stage.close()
        return world

    def session(self, seed: int, index: int) -> SimSession:
        """Session `index` of stream `seed`: a function of (seed, index) alone."""
        for name, value in (("seed", seed), ("index", index)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        rng = np.random.default_rng([int(seed), int(index)])
        config = self.config
        user_index = self.users.sample_index(rng)
        user, taste = self.users[user_index], self.tastes[user_index]
        timestamp = config.start + timedelta(minutes=(int(index) + rng.random()) * config.minutes_between_sessions)
        device = self.devices[choice(rng, self._device_p)]
        user_id = user.user_id if user.user_id is not None and rng.random() >= config.anonymous_share else None
        kinds, p = self.intent_probabilities(device, timestamp)
        kind = kinds[choice(rng, p)]
        noise = copy.copy(self._noise)  # checked once in __init__; the copy draws from this session's stream
        noise.rng = rng
        intent, (queries, forms) = self._intent(kind, rng, noise, user, taste, device in config.voice_devices)
        return SimSession(int(seed), int(index), user, Context(user_id, device, timestamp, config.locale), intent,
                          queries, forms)

    def sessions(self, seed: int, n: int, start: int = 0) -> Iterator[SimSession]:
        """Sessions start, ..., start + n - 1 of stream `seed`."""
        return (self.session(seed, index) for index in range(start, start + n))

    def intent_probabilities(self, device: str, timestamp: datetime) -> tuple[tuple[str, ...], np.ndarray]:
        """(kinds, probabilities) of the intent kind for a session on `device` at `timestamp`."""
        config = self.config
        bias = config.device_intent_bias.get(device, {})
        weights = np.array([config.intent_mix.get(kind, 0.0) * bias.get(kind, 1.0) for kind in self.kinds])
        if _evening_or_weekend(timestamp) and "topical" in self.kinds:
            weights[self.kinds.index("topical")] *= 1.0 + config.evening_topical_boost
        if weights.sum() <= 0:  # the device's bias silenced every kind the catalog has: fall back to the mix
            weights = np.array([config.intent_mix[kind] for kind in self.kinds])
        return self.kinds, weights / weights.sum()

    def _intent(self, kind: str, rng: np.random.Generator, noise: QueryNoise, user: SimUser, taste: Taste,
                voice: bool) -> tuple[Intent, Formulation]:
        config = self.config
        options = {"typo_rate": config.typo_rate, "voice": voice, "max_reformulations": config.max_reformulations}
        if kind == "spearfish":
            track = self.spearfish.draw(rng, taste, config.taste_share)
            snapshot = self.snapshot
            return self.spearfish.intent(track), spearfish_queries(
                noise, snapshot.track_ids[track], snapshot.track_titles[track], snapshot.track_artist_names[track],
                config.spearfish_forms, **options)
        if kind == "topical":
            playlist = self.topical.draw(rng, taste, config.taste_share)
            group = self.topical.group(playlist)
            return self.topical.intent(playlist), topical_queries(
                noise, self.snapshot.playlist_names[playlist], group.dominant_tag, **options)
        word = self.ambiguous.draw(rng)
        top_artist = self._artist_names[int(taste.artists[0])] if len(taste.artists) else None
        return self.ambiguous.intent(word, taste), ambiguous_queries(
            noise, self.ambiguous.words[word], user.top_tags(5), top_artist, **options)


def _evening_or_weekend(timestamp: datetime) -> bool:
    return timestamp.hour >= 18 or timestamp.hour < 2 or timestamp.weekday() >= 5


def _word_list(snapshot: CatalogSnapshot, config: WorldConfig) -> tuple[tuple[str, float], ...]:
    """The configured ambiguous words (equal weights), or the catalog's best."""
    if config.ambiguous_words:
        return tuple((word, 1.0) for word in config.ambiguous_words)
    return ambiguous_words(snapshot, config.n_ambiguous_words)


def _artist_names(snapshot: CatalogSnapshot) -> tuple[str, ...]:
    """Each artist's name, read from its first track."""
    names = [""] * len(snapshot.artist_ids)
    artists, first = np.unique(snapshot.track_artist, return_index=True)
    for artist, track in zip(artists.tolist(), first.tolist()):
        if artist >= 0:
            names[artist] = snapshot.track_artist_names[track]
    return tuple(names)
