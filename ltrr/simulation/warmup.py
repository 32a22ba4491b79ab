"""A short self-play warm-up: seeded simulated searches with known targets, clicked by a position-biased user.

Each search is either *spearfishing* (a track drawn by popularity, queried by title, "artist title" or a
partial title, with typos at `typo_rate`: the target is that track) or *topical* (a playlist's name: the
targets are its tracks). The user examines position p with probability 1 / (p + 1) ** position_decay (a
position-based click model) and clicks the first examined target; otherwise the search is closed unclicked.
This is enough for the bandit, the memory index and the ranker to learn something in a demo; the full
simulator with user taste, sessions and reformulations lives beside it in `ltrr.simulation`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from ..engine import Engine
from ..progress import StageFactory, no_progress
from ..types import Context
from .noise import QueryNoise

DEVICES = ("phone", "desktop", "speaker", "car", "tablet")
FORMS = {"title": 0.45, "artist_title": 0.35, "partial_title": 0.2}


@dataclass
class WarmUpReport:
    """Counts of a warm-up: searches, clicks, searches showing a target in the top 10, plans chosen, rewards."""

    n_searches: int = 0
    n_clicks: int = 0
    n_target_shown: int = 0
    arms: Counter = field(default_factory=Counter)
    rewards: list[float] = field(default_factory=list)

    def ctr(self) -> float:
        return self.n_clicks / max(self.n_searches, 1)

    def mean_reward(self, part: slice = slice(None)) -> float:
        values = self.rewards[part]
        return float(np.mean(values)) if values else 0.0


def warm_up(engine: Engine, n_searches: int = 300, *, seed: int = 0, topical_share: float = 0.4,
            typo_rate: float = 0.3, position_decay: float = 1.0, start: datetime = datetime(2026, 1, 5, 8),
            progress: StageFactory = no_progress) -> WarmUpReport:
    """Run `n_searches` seeded simulated searches through `engine`, clicking and closing them."""
    rng = np.random.default_rng(seed)
    noise = QueryNoise(seed=seed, typo_rate=typo_rate)
    tracks = list(engine.store.iter_entities(kind="track"))
    weights = np.array([(t.popularity.playlist_count or 0) + 1.0 for t in tracks])
    memberships = {pid: ids for pid, ids in engine.store.playlist_memberships().items() if ids}
    names = {p.entity_id: p.name for p in engine.store.iter_entities(kind="playlist") if p.entity_id in memberships}
    playlists = sorted(names)
    users = [user.user_id for user in engine.store.iter_users()]
    report, stage = WarmUpReport(), progress("warm-up searches", n_searches)
    for step in range(n_searches):
        if playlists and rng.random() < topical_share:
            playlist = playlists[int(rng.integers(len(playlists)))]
            text, targets = names[playlist], set(memberships[playlist])
        else:
            track = tracks[int(rng.choice(len(tracks), p=weights / weights.sum()))]
            text = noise.spearfish_queries([track], 1, FORMS, typo=rng.random() < typo_rate)[0].text
            targets = {track.entity_id}
        context = Context(user_id=users[int(rng.integers(len(users)))] if users and rng.random() < 0.7 else None,
                          device=DEVICES[int(rng.integers(len(DEVICES)))],
                          timestamp=start + timedelta(minutes=7 * step))
        _one_search(engine, text, targets, context, rng, position_decay, report)
        stage.update(1)
    stage.close()
    return report


def _one_search(engine: Engine, text: str, targets: set[str], context: Context, rng: np.random.Generator,
                position_decay: float, report: WarmUpReport) -> None:
    result = engine.search(text, context, limit=10)
    report.n_searches += 1
    report.arms[result.decision.arm.name] += 1
    report.n_target_shown += any(item.entity_id in targets for item in result.items)
    for item in result.items:
        if rng.random() < 1.0 / (item.position + 1) ** position_decay and item.entity_id in targets:
            engine.record_click(result.request_id, item.entity_id, position=item.position,
                                dwell_s=float(rng.uniform(5, 200)))
            report.n_clicks += 1
            report.rewards.append(_reward(engine, result.request_id))
            return
    report.rewards.append(engine.close(result.request_id) or 0.0)


def _reward(engine: Engine, request_id: str) -> float:
    impression = engine.log.get_impression(request_id)
    return engine.rewards.reward(impression, engine.log.clicks_for(request_id))
