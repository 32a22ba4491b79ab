"""What the Engine facade leans on but is not its flow: stage timing, input checks, the policy and reward
settings read from the config, and the ranker's train/validation split."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import fields
from datetime import datetime

import numpy as np

from .cache import RecentCache
from .config import EngineConfig
from .feedback import RewardModel
from .feedback.records import utc_naive, utc_now
from .policy import Policy, make_policy
from .ranking import RankingData
from .retrieval.base import CandidateGenerator
from .types import Context, Preview, Query


class Timer:
    """Runs each stage and keeps its wall time in ms."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.start = time.perf_counter()

    def run(self, stage: str, function, *args):
        start = time.perf_counter()
        value = function(*args)
        self.timings[stage] = (time.perf_counter() - start) * 1000.0
        return value

    def total_ms(self) -> float:
        self.timings["total"] = (time.perf_counter() - self.start) * 1000.0
        return self.timings["total"]


class PreviewCache:
    """The latest `maxsize` previews of the generators in `names`, by parsed query: for generators whose preview
    depends on the query and their built index only (BM25, structured), never on the context or on what is
    learned. An engine's indexes do not change while it is open, so entries never go stale; a repeated (head)
    query skips their index scans. Thread-safe (an engine's forks share it)."""

    def __init__(self, names: Collection[str], maxsize: int = 8192) -> None:
        self.names = frozenset(names)
        self._entries: RecentCache[tuple[str, Query], Preview] = RecentCache(maxsize)

    def preview(self, name: str, generator: CandidateGenerator, query: Query, context: Context) -> Preview:
        if name not in self.names:
            return generator.preview(query, context)
        key = (name, query)
        found = self._entries.get(key)
        if found is None:
            found = generator.preview(query, context)
            self._entries.put(key, found)
        return found


def check_search(text: str, limit: int) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"query text is empty ({text!r}); give at least one word")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit!r}")


def request_time(context: Context) -> datetime:
    return utc_naive(context.timestamp) if context.timestamp is not None else utc_now()


def policy_from_config(config: EngineConfig, arms: Sequence) -> Policy:
    """The policy `[policy]` describes, over `arms`."""
    options = config.policy
    if options.kind == "vw":
        return make_policy("vw", arms=arms, seed=options.seed, exploration=options.exploration,
                           epsilon=options.epsilon, gamma_scale=options.gamma_scale, bag_size=options.bag_size,
                           cover_size=options.cover_size, min_propensity=options.min_propensity,
                           floor_decay=options.floor_decay, learning_rate=options.learning_rate)
    if options.kind == "greedy":
        return make_policy("greedy", arms=arms, seed=options.seed, learning_rate=options.learning_rate,
                           min_propensity=options.min_propensity)
    if options.kind == "fixed":
        return make_policy("fixed", arms=arms, seed=options.seed, arm_name=options.fixed_arm)
    if options.kind == "single":
        return make_policy("single", arms=arms, seed=options.seed, generator=options.single_generator)
    return make_policy("uniform", arms=arms, seed=options.seed)


def reward_options(config: EngineConfig) -> dict:
    """`[feedback]` values for every RewardModel parameter (the section also holds close_after_s)."""
    return {field.name: getattr(config.feedback, field.name) for field in fields(RewardModel)}


def split_groups(data: RankingData, valid_share: float) -> tuple[RankingData, RankingData | None]:
    """The last `valid_share` of searches (in log order) for validation, when there are at least 10 searches."""
    n_valid = int(data.n_groups * valid_share) if data.n_groups >= 10 else 0
    if n_valid == 0:
        return data, None
    cut = int(data.group[:-n_valid].sum())

    def part(rows: slice, group: np.ndarray) -> RankingData:
        return RankingData(data.features[rows], data.labels[rows], group, data.positions[rows], data.feature_names)

    return part(slice(None, cut), data.group[:-n_valid]), part(slice(cut, None), data.group[-n_valid:])
