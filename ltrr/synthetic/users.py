"""User profiles: each user's taste is a mixture of one to three genres, which gives tag and artist affinities.

The mixture is hidden; what the store keeps is what a listening history would show: weighted genres and
moods (top weight 1), and 5-25 artists of those genres, more often popular ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ids import entity_id
from ..types import Affinity, UserProfile
from .releases import SOURCE, Releases
from .vocabulary import GENRES_BY_NAME

if TYPE_CHECKING:
    from ..config import SyntheticCatalogConfig

N_MOODS = 3


def draft_users(rng: np.random.Generator, config: SyntheticCatalogConfig,
                releases: Releases) -> tuple[UserProfile, ...]:
    genres = config.genres
    primary = np.array([genres.index(artist.genre.name) for artist in releases.artists])
    popularity = np.array([artist.weight for artist in releases.artists])
    mass = np.bincount(primary, weights=popularity, minlength=len(genres))
    genre_p = np.sqrt(mass) + 1e-9
    genre_p /= genre_p.sum()
    users = []
    for i in range(config.n_users):
        k = min(len(genres), int(rng.integers(1, 4)))
        chosen = rng.choice(len(genres), size=k, replace=False, p=genre_p)
        mix = np.zeros(len(genres))
        mix[chosen] = rng.dirichlet(np.full(k, 1.5))
        tags = _tag_affinities(rng, genres, mix)
        artists = _artist_affinities(rng, releases, mix[primary] * np.sqrt(popularity))
        users.append(UserProfile(f"{SOURCE}:user:u{i + 1:04d}", SOURCE, artists, tags))
    return tuple(users)


def _tag_affinities(rng: np.random.Generator, genres: tuple[str, ...], mix: np.ndarray) -> tuple[Affinity, ...]:
    """Genres by their share of the mixture (top one 1.0), then the moods those genres lean to."""
    top = mix.max()
    affinities = [Affinity(genres[j], round(float(mix[j] / top), 3), int(mix[j] * 1000))
                  for j in np.argsort(-mix, kind="stable") if mix[j] > 0]
    moods: dict[str, float] = {}
    for j in np.flatnonzero(mix):
        for mood, strength in GENRES_BY_NAME[genres[j]].moods:
            moods[mood] = moods.get(mood, 0.0) + float(mix[j]) * strength
    best = sorted(moods.items(), key=lambda item: (-item[1], item[0]))[:N_MOODS]
    scale = float(rng.uniform(0.6, 0.95)) / best[0][1]
    affinities += [Affinity(mood, round(score * scale, 3), int(score * 500)) for mood, score in best]
    return tuple(affinities)


def _artist_affinities(rng: np.random.Generator, releases: Releases, scores: np.ndarray) -> tuple[Affinity, ...]:
    """5-25 artists drawn by taste times popularity; weight relative to the favourite, count ~ plays."""
    candidates = np.flatnonzero(scores > 0)
    size = min(len(candidates), int(rng.integers(5, 26)))
    if size == 0:
        return ()
    p = scores[candidates] / scores[candidates].sum()
    picked = candidates[rng.choice(len(candidates), size=size, replace=False, p=p)]
    noisy = scores[picked] * rng.lognormal(0.0, 0.5, size=size)
    weights = np.sqrt(noisy / noisy.max())  # square root: a second favourite is not 100 times less liked
    order = np.argsort(-weights, kind="stable")
    return tuple(Affinity(entity_id(SOURCE, "artist", releases.artists[picked[j]].key), round(float(weights[j]), 3),
                          max(1, int(weights[j] * rng.integers(100, 1000)))) for j in order)
