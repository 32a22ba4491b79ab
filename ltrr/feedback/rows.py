"""Conversion between feedback records and the rows of `ltrr.store.feedback_schema`.

JSON columns never receive NaN or infinity (PostgreSQL's json type rejects them and SQLite's JSON functions
misread them): the stores' serializer (`ltrr.store.db.json_dumps`) writes them as null, and they are read back
as NaN where a float is expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import Arm, Decision
from .records import Click, Impression, RequestContext, ShownItem, utc_naive

USER_KEY = re.compile(r"[0-9a-f]{64}")


def _float(value: Any) -> float:
    """A stored float: null means NaN."""
    return math.nan if value is None else float(value)


def check_impression(impression: Impression) -> None:
    """Refuse what would corrupt the log: raw user ids, misaligned feature rows, repeated positions."""
    if impression.user_key is not None and not USER_KEY.fullmatch(impression.user_key):
        # the value is not echoed: it may be a raw user id
        raise ValueError(f"user_key of request {impression.request_id!r} is not a key from "
                         "FeedbackLog.pseudonymize(user_id); pass log.pseudonymize(context.user_id) so raw user "
                         "ids are never stored")
    n_features = len(impression.feature_names)
    for item in impression.items:
        if len(item.features) != n_features:
            raise ValueError(f"item {item.entity_id!r} at position {item.position} of request "
                             f"{impression.request_id!r} has {len(item.features)} features, feature_names has "
                             f"{n_features}; build every row with the same FeatureSet")
    positions = [item.position for item in impression.items]
    if len(set(positions)) != len(positions) or any(p < 0 for p in positions):
        raise ValueError(f"positions of request {impression.request_id!r} must be distinct and >= 0, got "
                         f"{positions}; number shown items 0, 1, 2, ...")


def impression_row(impression: Impression) -> dict[str, Any]:
    decision = impression.decision
    context = impression.context
    return {
        "request_id": impression.request_id, "created_at": utc_naive(impression.created_at),
        "user_key": impression.user_key, "query_text": impression.query_text,
        "query_normalized": impression.query_normalized, "query_class": impression.query_class,
        "context": {"device": context.device, "locale": context.locale, "hour": context.hour,
                    "weekday": context.weekday},
        "arm_name": decision.arm.name, "plan": [[name, int(k)] for name, k in decision.arm.plan],
        "arm_index": decision.arm_index, "propensity": float(decision.propensity),
        "pmf": list(decision.pmf), "policy": decision.policy, "policy_version": decision.policy_version,
        "ranker_version": impression.ranker_version, "policy_input": impression.policy_input,
        "feature_names": list(impression.feature_names), "n_candidates": impression.n_candidates,
        "n_shown": len(impression.items), "latency_ms": float(impression.latency_ms),
        "closed_at": None, "reward": None,
    }


def item_rows(impression: Impression) -> list[dict[str, Any]]:
    return [{"request_id": impression.request_id, "position": item.position, "entity_id": item.entity_id,
             "kind": item.kind, "score": item.score if math.isfinite(item.score) else None,
             "sources": [[source, int(rank), score] for source, rank, score in item.sources],
             "features": item.features}
            for item in impression.items]


def impression_from_rows(row: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Impression:
    """The record of an `impressions` row and its `impression_items` rows (in position order)."""
    arm = Arm(row["arm_name"], tuple((name, int(k)) for name, k in row["plan"]))
    decision = Decision(arm, row["arm_index"], row["propensity"], tuple(_float(p) for p in row["pmf"]),
                        row["policy"], row["policy_version"])
    context = RequestContext(**row["context"])
    return Impression(
        request_id=row["request_id"], created_at=row["created_at"], user_key=row["user_key"],
        query_text=row["query_text"], query_normalized=row["query_normalized"], query_class=row["query_class"],
        context=context, decision=decision, ranker_version=row["ranker_version"],
        policy_input=row["policy_input"], feature_names=tuple(row["feature_names"]),
        items=tuple(_shown_item(item) for item in items), n_candidates=row["n_candidates"],
        latency_ms=row["latency_ms"])


def _shown_item(row: Mapping[str, Any]) -> ShownItem:
    return ShownItem(row["position"], row["entity_id"], row["kind"], _float(row["score"]),
                     tuple((source, int(rank), _float(score)) for source, rank, score in row["sources"]),
                     tuple(_float(value) for value in row["features"]))


def click_from_row(row: Mapping[str, Any]) -> Click:
    return Click(row["request_id"], row["entity_id"], row["position"], row["dwell_s"], row["created_at"])
