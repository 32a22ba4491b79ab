"""What `Engine.search` returns: the ranked items with their sources, the plan decision, stage timings, and
(on request) one explanation per item.

    result = engine.search("80s synthwave", limit=5, explain=True)
    for item in result.items:
        print(item.position, item.title, item.artist, [(s.generator, s.rank) for s in item.sources])
    print(result.decision.arm.name, result.decision.propensity, result.timings_ms["total"])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .types import Decision, EntityKind, Query


@dataclass(frozen=True, slots=True)
class SourceHit:
    """One generator that retrieved an item: its 0-based rank and score in that generator's own list."""

    generator: str
    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an item is where it is.

    contributions: (feature name, contribution) for every feature with a non-zero contribution, largest
    magnitude first; `bias + sum(contributions) == score` (LightGBM's pred_contrib, or the default scorer's
    own additive terms before a model exists). scorer: "lambdamart v<N>" or "default".
    """

    score: float
    bias: float
    contributions: tuple[tuple[str, float], ...]
    scorer: str
    plan: tuple[tuple[str, int], ...]
    arm: str
    propensity: float

    def top(self, n: int = 5) -> tuple[tuple[str, float], ...]:
        return self.contributions[:n]


@dataclass(frozen=True, slots=True)
class ResultItem:
    """One ranked result. position: 0-based; score: the ranker's final score (higher is better)."""

    position: int
    entity_id: str
    kind: EntityKind
    title: str
    artist: str | None
    score: float
    sources: tuple[SourceHit, ...]
    explanation: Explanation | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One search: the request id to report clicks with, the items, the plan decision and stage timings (ms).

    n_candidates: entities in the pool the ranker scored (the union of the pooled lists). retrieved: each
    pooled generator's list, as entity ids best first (what it contributed to the pool, shown or not): for
    recall and attribution analysis without retrieving again. The pooled lists are the decision's plan's, and
    with `[policy] pool_probe` the probe's too (`Engine.pool_plan`).
    """

    request_id: str
    query: Query
    items: tuple[ResultItem, ...]
    decision: Decision
    timings_ms: dict[str, float]
    n_candidates: int
    retrieved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `ltrr search --json`."""
        return {
            "request_id": self.request_id,
            "query": {"text": self.query.text, "normalized": self.query.normalized,
                      "query_class": self.query.query_class,
                      "slots": [{"name": s.name, "value": s.value, "confidence": round(s.confidence, 4)}
                                for s in self.query.slots]},
            "items": [_item_dict(item) for item in self.items],
            "decision": {"plan": dict(self.decision.arm.plan), "arm": self.decision.arm.name,
                         "propensity": self.decision.propensity, "policy": self.decision.policy,
                         "policy_version": self.decision.policy_version},
            "n_candidates": self.n_candidates,
            "timings_ms": {stage: round(ms, 3) for stage, ms in self.timings_ms.items()},
        }


def _item_dict(item: ResultItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "position": item.position, "entity_id": item.entity_id, "kind": item.kind, "title": item.title,
        "artist": item.artist, "score": _finite(item.score),
        "sources": [{"generator": s.generator, "rank": s.rank, "score": _finite(s.score)} for s in item.sources],
    }
    if item.explanation is not None:
        explanation = item.explanation
        out["explanation"] = {"scorer": explanation.scorer, "bias": explanation.bias,
                              "contributions": [[name, value] for name, value in explanation.contributions],
                              "arm": explanation.arm, "plan": dict(explanation.plan),
                              "propensity": explanation.propensity}
    return out


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)
