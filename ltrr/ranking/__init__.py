"""Ranking a pool: the transparent `DefaultScorer` before any model, then `LambdaMartRanker` (LightGBM).

Both follow `Scorer`: `score(matrix, feature_names)`, `contributions(...)`, `version`, `feature_names`.

    scorer = load_scorer("models/current")      # the saved ranker, or DefaultScorer() when none was saved
    scores = scorer.score(matrix, feature_set.names)
"""

from .dataset import RankingData
from .default import DefaultScorer, Scorer
from .lambdamart import LambdaMartRanker, load_scorer, mean_ndcg_at

__all__ = ["DefaultScorer", "LambdaMartRanker", "RankingData", "Scorer", "load_scorer", "mean_ndcg_at"]
