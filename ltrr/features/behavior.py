"""Features from who is asking and what users did before: taste affinity, click memory and request context.

Affinity features are NaN for an anonymous request (no profile): "unknown taste" differs from "a taste that
does not include this artist", and LightGBM routes NaN as missing.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from ..types import UserProfile
from .lexical import name_terms
from .registry import FeatureInput, feature
from .slots import tag_key, tag_matrix

DEVICES = ("phone", "desktop", "speaker", "car")  # each has a column; any other named device is "other"
_DEVICE_ALIASES = {"mobile": "phone"}


def _artist_weights(profile: UserProfile) -> dict[str, float]:
    """Profile artist key -> weight, keyed both as given (catalog artist ids) and by `name_key`, so a profile
    keyed on artist names matches too."""
    weights: dict[str, float] = {}
    for affinity in profile.artists:
        for key in (affinity.key, name_terms(affinity.key)[0]):  # memoized: a profile recurs across requests
            weights[key] = max(weights.get(key, 0.0), affinity.weight)
    return weights


def _artist_affinity(artist_id: str | None, name: str | None, weights: dict[str, float]) -> float:
    if artist_id is not None and artist_id in weights:
        return weights[artist_id]
    return weights.get(name_terms(name)[0], 0.0) if name else 0.0


@feature("user.artist_affinity")
def artist_affinity(batch: FeatureInput) -> np.ndarray:
    """The user's weight (in [0, 1]) for the entity's artist, matched by artist id then by name key; 0 for an
    artist the profile lacks; NaN without a profile."""
    if batch.profile is None:
        return np.full(batch.size, np.nan)
    weights = _artist_weights(batch.profile)
    columns = batch.columns
    return np.fromiter((_artist_affinity(artist_id, name, weights) for artist_id, name
                        in zip(columns.own_artist_ids, columns.own_artist_names)), np.float64, batch.size)


@feature("user.tag_affinity")
def tag_affinity(batch: FeatureInput) -> np.ndarray:
    """The user's tag affinities dotted with the entity's tag weights, over the entity's total tag weight: the
    liked share of its tags, in [0, 1]. NaN without a profile, with a profile without tags, or for an
    untagged entity."""
    if batch.profile is None or not batch.profile.tags:
        return np.full(batch.size, np.nan)
    tags = tag_matrix(batch)
    liked = np.zeros(len(tags.columns))
    for affinity in batch.profile.tags:
        j = tags.columns.get(tag_key(affinity.key))
        if j is not None:
            liked[j] = max(liked[j], affinity.weight)
    total = tags.weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # an untagged entity says nothing about taste: NaN
        return np.where(total > 0, (tags.weights @ liked) / total, np.nan)


@feature("memory.ctr", learned=True)
def memory_ctr(batch: FeatureInput) -> np.ndarray:
    """The memory index's posterior click-through estimate for (query, entity), in [0, 1]; NaN where it has
    none (or the engine passed no memory scores)."""
    if batch.memory_ctr is None:
        return np.full(batch.size, np.nan)
    return np.asarray(batch.memory_ctr, dtype=np.float64).copy()


@feature("memory.impressions", learned=True)
def memory_impressions(batch: FeatureInput) -> np.ndarray:
    """log1p of how often (query, entity) was shown: how much evidence `memory.ctr` rests on; NaN when unknown."""
    if batch.memory_impressions is None:
        return np.full(batch.size, np.nan)
    return np.log1p(np.maximum(np.asarray(batch.memory_impressions, dtype=np.float64), 0.0))


def _device(batch: FeatureInput) -> str | None:
    """The request's device among DEVICES, "other" for another named one, None when unknown."""
    device = batch.context.device
    if device is None:
        return None
    device = _DEVICE_ALIASES.get(device.lower(), device.lower())
    return device if device in DEVICES else "other"


def _device_feature(device: str) -> None:
    @feature(f"context.device_{device}")
    def device_is(batch: FeatureInput) -> np.ndarray:
        return np.full(batch.size, float(_device(batch) == device))
    device_is.__doc__ = f"1.0 when the request came from a {device} device, else 0.0 (all 0 when unknown)."


for _device_name in (*DEVICES, "other"):  # one-hot device: context.device_phone, ..., context.device_other
    _device_feature(_device_name)


def _hour_angle(batch: FeatureInput) -> float:
    """The request's UTC time of day as an angle in radians (0 at midnight); `now` when it has no timestamp."""
    moment: datetime = batch.context.timestamp or batch.now
    return 2.0 * math.pi * (moment.hour + moment.minute / 60.0) / 24.0


@feature("context.hour_sin")
def hour_sin(batch: FeatureInput) -> np.ndarray:
    """sin of the UTC hour-of-day angle: with `hour_cos`, 23:00 and 01:00 are neighbours."""
    return np.full(batch.size, math.sin(_hour_angle(batch)))


@feature("context.hour_cos")
def hour_cos(batch: FeatureInput) -> np.ndarray:
    """cos of the UTC hour-of-day angle (1.0 at midnight, -1.0 at noon)."""
    return np.full(batch.size, math.cos(_hour_angle(batch)))
