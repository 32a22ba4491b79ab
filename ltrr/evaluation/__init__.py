"""Evaluation: ranking metrics (trec_eval conventions) and retrieval recall over query sets."""

from .metrics import mrr, ndcg_at, recall_at

__all__ = ["mrr", "ndcg_at", "recall_at"]
