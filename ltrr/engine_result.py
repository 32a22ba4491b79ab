"""Turning a scored pool into a `SearchResult`, its explanations, and the `Impression` the log keeps."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .feedback import Impression, RequestContext, ShownItem
from .feedback.records import utc_now
from .policy import PolicyInput
from .result import Explanation, ResultItem, SearchResult, SourceHit
from .retrieval.base import Pool
from .types import Candidate, Context, Decision, Entity, Query


def ranked_rows(scores: np.ndarray, limit: int) -> np.ndarray:
    """Pool rows of the top `limit` scores, best first; ties keep pool order, NaN ranks last."""
    keys = np.where(np.isnan(scores), -np.inf, scores)
    return np.argsort(-keys, kind="stable")[:limit]


def build_result(request_id: str, query: Query, pool: Pool, lookup: Callable[[Sequence[str]], Sequence[Entity]],
                 scores: np.ndarray, matrix: np.ndarray, decision: Decision, scorer, feature_names: Sequence[str],
                 limit: int, explain: bool, lists: Sequence[Sequence[Candidate]],
                 plan: Sequence[tuple[str, int]]) -> tuple[SearchResult, np.ndarray]:
    """The result, and the pool rows of its items (in result order). `lookup`: entity ids -> their entities
    (called for the shown items only); `lists`: the candidate lists of the pooled `plan` (`Engine.pool_plan`
    of the decision's), in plan order (for `SearchResult.retrieved`)."""
    rows = ranked_rows(np.asarray(scores, dtype=np.float64), limit)
    explanations = _explanations(matrix[rows], scorer, feature_names, decision) if explain else [None] * len(rows)
    shown = lookup([pool.items[row].entity_id for row in rows.tolist()])
    items = []
    for position, (row, entity, explanation) in enumerate(zip(rows.tolist(), shown, explanations)):
        pooled = pool.items[row]
        sources = tuple(SourceHit(c.source, c.rank, c.score) for c in pooled.sources)
        artist = entity.artist_name if entity.kind in ("track", "album") else None
        items.append(ResultItem(position, entity.entity_id, entity.kind, entity.name, artist, float(scores[row]),
                                sources, explanation))
    retrieved = {name: tuple(candidate.entity_id for candidate in candidates)
                 for (name, _), candidates in zip(plan, lists)}
    return SearchResult(request_id, query, tuple(items), decision, {}, len(pool), retrieved), rows


def _explanations(rows: np.ndarray, scorer, feature_names: Sequence[str], decision: Decision) -> list[Explanation]:
    """Per row: every feature's contribution (largest magnitude first) and the bias; they sum to the score."""
    if len(rows) == 0:
        return []
    contributions = scorer.contributions(rows, feature_names)
    scorer_name = "default" if scorer.version == 0 else f"lambdamart v{scorer.version}"
    out = []
    for values in contributions:
        terms = [(name, float(value)) for name, value in zip(feature_names, values[:-1]) if value != 0.0]
        terms.sort(key=lambda term: -abs(term[1]))
        out.append(Explanation(float(values.sum()), float(values[-1]), tuple(terms), scorer_name,
                               decision.arm.plan, decision.arm.name, decision.propensity))
    return out


def impression_of(result: SearchResult, rows: np.ndarray, context: Context, user_key: str | None,
                  inputs: PolicyInput, matrix: np.ndarray, scorer, feature_names: Sequence[str],
                  latency_ms: float) -> Impression:
    """The log's record of a served search: the shown items with their feature rows, the plan and its inputs."""
    now = utc_now()
    shown = tuple(ShownItem(item.position, item.entity_id, item.kind, item.score,
                            tuple((s.generator, s.rank, s.score) for s in item.sources),
                            tuple(matrix[row].tolist()))
                  for item, row in zip(result.items, rows.tolist()))
    return Impression(result.request_id, now, user_key, result.query.text, result.query.normalized,
                      result.query.query_class, RequestContext.from_context(context, now), result.decision,
                      scorer.version, inputs.to_json(), tuple(feature_names), shown, result.n_candidates,
                      latency_ms)
