"""LambdaMART ranker on LightGBM (`objective="lambdarank"`), with position-bias correction from logged positions.

LambdaMART: Burges, "From RankNet to LambdaRank to LambdaMART", MSR-TR-2010-82.

Position bias. Clicks say "relevant" and "seen": a result shown first gets clicks a better one shown fifth
does not. With `position_bias="lightgbm"` the ranker trains LightGBM's unbiased LambdaMART, which models
each logged position's click propensity as a learned additive bias factor fitted jointly with the trees
(a GAM-style treatment of position, LightGBM >= 4.1, PR #5929; cf. Unbiased LambdaMART, Hu et al., WWW
2019). The factors are used only while training: at prediction time no position exists and none is needed.
This was chosen over inverse-propensity weights because it needs no separately estimated propensities (no
result randomization experiment) and over a position *feature* because that would have to be set to a
constant at prediction time, a value never seen with the others in training.

How positions are encoded: `RankingData.positions` (0-based shown position) goes to
`lgb.Dataset(..., position=...)` as int32. LightGBM maps each distinct value to its own factor, so any
integers work; our -1 ("unknown") thus becomes one more factor shared by every row of unknown position.
When no row has a known position, training falls back to plain LambdaMART (with a warning).
`position_bias_regularization` (LightGBM's `lambdarank_position_bias_regularization`, >= 0) shrinks the
factors; 0 leaves them free. The default is 1. Free factors (0) cost quality when the logs come from a
deterministic ranker. In such logs, position and relevance are confounded: the best results were always shown
first, and free factors soak up part of the relevance signal as "position". This was measured with
`scripts/eval_real.py` on the real catalog (300 held-out playlist-name queries, 1,500 warm-up sessions, two
seeds; 0 -> 1). Head nDCG@10 went from 0.071 to 0.089 and from 0.076 to 0.112. MRR went from 0.156 to 0.178
and from 0.165 to 0.203. Spearfishing recall@10 went from 0.820 to 0.837 and from 0.747 to 0.763. Tail nDCG@10
moved +0.011 and -0.005. A value of 10 and no correction at all measured within 0.006 of 1 on each of these.

    ranker = LambdaMartRanker(n_estimators=200).fit(train, valid)
    scores = ranker.score(matrix, feature_set.names)
    ranker.save("models/2025-w14"); LambdaMartRanker.load("models/2025-w14")
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from ..errors import FeatureMismatchError, NotFittedError
from .dataset import RankingData
from .default import DefaultScorer, check_matrix

logger = logging.getLogger(__name__)

MODEL_FILE = "ranker.txt"
META_FILE = "ranker.json"
FORMAT_VERSION = 1
POSITION_BIAS_MODES = ("lightgbm", "none")
MAX_LABEL = 30  # LightGBM's default label_gain (2^i - 1) covers labels 0..30
NDCG_K = 10


def mean_ndcg_at(scores: np.ndarray, labels: np.ndarray, group: np.ndarray, k: int = NDCG_K) -> float:
    """Mean nDCG@k over the groups that have a positive label (gain 2^label - 1, discount 1 / log2(rank + 1),
    ties kept in row order); NaN when no group has one. Groups without a click carry no ranking signal."""
    values = []
    for start, size in zip(np.cumsum(group) - group, group):
        rels = labels[start:start + size].astype(np.float64)
        if not (rels > 0).any():
            continue
        discounts = 1.0 / np.log2(np.arange(2, min(k, size) + 2))
        order = np.argsort(-scores[start:start + size], kind="stable")[:k]
        ideal = np.sort(rels)[::-1][:k]
        values.append(((2.0 ** rels[order] - 1.0) @ discounts) / ((2.0 ** ideal - 1.0) @ discounts))
    return float(np.mean(values)) if values else math.nan


def check_feature_names(trained: Sequence[str], given: Sequence[str], version: int) -> None:
    """Raise FeatureMismatchError unless `given` is exactly `trained`, in order."""
    if tuple(given) == tuple(trained):
        return
    missing = [name for name in trained if name not in given]
    extra = [name for name in given if name not in trained]
    what = f"missing {missing}, extra {extra}" if missing or extra else "the same names in another order"
    raise FeatureMismatchError(
        f"the ranker (version {version}) was trained on {len(trained)} features that differ from the "
        f"{len(given)} given: {what}. Retrain it on the current features with engine.fit_ranker() or "
        f"`ltrr train-ranker`, or pin [features].set to the model's feature names")


class LambdaMartRanker:
    """Gradient-boosted trees trained with LambdaRank gradients on grouped click data.

    Fitted state: `booster_` (lightgbm.Booster), `feature_names_`, `version_` (>= 1; 0 is the default
    scorer), `validation_ndcg_` (nDCG@10 on `valid`, NaN without one).
    """

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, num_leaves: int = 31,
                 min_data_in_leaf: int = 20, position_bias: str = "lightgbm",
                 position_bias_regularization: float = 1.0, num_threads: int = 0, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.position_bias = position_bias
        self.position_bias_regularization = position_bias_regularization
        self.num_threads = num_threads  # 0: LightGBM's default (OpenMP's thread count)
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, as saved in ranker.json."""
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf,
                "position_bias": self.position_bias,
                "position_bias_regularization": self.position_bias_regularization,
                "num_threads": self.num_threads, "seed": self.seed}

    def __repr__(self) -> str:
        return "LambdaMartRanker(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"

    def _lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "lambdarank", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_data_in_leaf, "seed": self.seed, "deterministic": True,
                "force_row_wise": True, "num_threads": self.num_threads, "verbosity": -1, "metric": "None",
                "lambdarank_position_bias_regularization": self.position_bias_regularization}

    def _positions(self, data: RankingData) -> np.ndarray | None:
        if self.position_bias == "none":
            return None
        if (data.positions < 0).all():
            logger.warning("position_bias='lightgbm' but no training row has a logged position; "
                           "training without position-bias correction")
            return None
        return data.positions.astype(np.int32)

    def _check_fit_input(self, data: RankingData, valid: RankingData | None, version: int | None) -> None:
        if self.position_bias not in POSITION_BIAS_MODES:
            raise ValueError(f"position_bias must be one of {POSITION_BIAS_MODES}, got {self.position_bias!r}")
        if data.n_groups == 0:
            raise ValueError("cannot fit a ranker on empty RankingData (0 groups); log some searches first")
        if data.labels.min() < 0 or data.labels.max() > MAX_LABEL:
            raise ValueError(f"labels must be integers in [0, {MAX_LABEL}], got range "
                             f"[{data.labels.min()}, {data.labels.max()}]")
        if valid is not None:
            check_feature_names(data.feature_names, valid.feature_names, version or 0)
        if version is not None and version < 1:
            raise ValueError(f"version must be >= 1 (0 is the default scorer), got {version}")

    def fit(self, data: RankingData, valid: RankingData | None = None, *, version: int | None = None) -> Self:
        """Train `n_estimators` trees on `data`; score `valid` (nDCG@10) when given.

        version: the model version to record; default: the previous version + 1 (1 for a first fit).
        """
        self._check_fit_input(data, valid, version)
        train = lgb.Dataset(data.features, label=data.labels, group=data.group, position=self._positions(data),
                            feature_name=list(data.feature_names), free_raw_data=True)
        self.booster_ = lgb.train(self._lightgbm_params(), train, num_boost_round=self.n_estimators)
        self.feature_names_ = tuple(data.feature_names)
        self.version_ = version if version is not None else getattr(self, "version_", 0) + 1
        self.validation_ndcg_ = math.nan
        if valid is not None and valid.n_groups > 0:
            scores = self.booster_.predict(valid.features, raw_score=True)
            self.validation_ndcg_ = mean_ndcg_at(scores, valid.labels, valid.group, k=NDCG_K)
        logger.info("trained ranker version %d: %d rows, %d groups, %d features, validation nDCG@10 %.4f",
                    self.version_, len(data.labels), data.n_groups, len(self.feature_names_),
                    self.validation_ndcg_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this LambdaMartRanker is not fitted; call fit(data) or LambdaMartRanker.load()")

    @property
    def version(self) -> int:
        self._check_fitted()
        return self.version_

    @property
    def feature_names(self) -> tuple[str, ...]:
        self._check_fitted()
        return self.feature_names_

    def _checked(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        check_matrix(matrix, feature_names)
        check_feature_names(self.feature_names_, feature_names, self.version_)
        return np.asarray(matrix, dtype=np.float64)

    def score(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """(n,) raw scores (higher first); only their order within a request means anything."""
        matrix = self._checked(matrix, feature_names)
        if matrix.shape[0] == 0:
            return np.zeros(0)
        return self.booster_.predict(matrix, raw_score=True)

    def contributions(self, matrix: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
        """(n, n_features + 1) SHAP values (LightGBM's pred_contrib), bias last; rows sum to `score`."""
        matrix = self._checked(matrix, feature_names)
        if matrix.shape[0] == 0:
            return np.zeros((0, matrix.shape[1] + 1))
        return np.asarray(self.booster_.predict(matrix, pred_contrib=True))

    def feature_importance(self, kind: str = "gain") -> dict[str, float]:
        """Feature name -> total gain of its splits (`kind="gain"`) or number of splits (`"split"`)."""
        self._check_fitted()
        values = self.booster_.feature_importance(importance_type=kind)
        return dict(zip(self.feature_names_, (float(v) for v in values)))

    def save(self, directory: str | Path) -> Path:
        """Write ranker.txt (LightGBM text model), then ranker.json (version, features, params, validation)."""
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path / MODEL_FILE))
        ndcg = None if math.isnan(self.validation_ndcg_) else self.validation_ndcg_
        meta = {"format_version": FORMAT_VERSION, "version": self.version_,
                "feature_names": list(self.feature_names_), "params": self.get_params(),
                "validation_ndcg_at_10": ndcg, "lightgbm_version": lgb.__version__}
        (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LambdaMartRanker:
        """Read a ranker written by `save`."""
        path = Path(directory)
        missing = [name for name in (META_FILE, MODEL_FILE) if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(f"no saved ranker in {path}: missing {missing}; train one with "
                                    f"engine.fit_ranker() or `ltrr train-ranker`")
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path / META_FILE} has format_version {meta.get('format_version')!r}, this ltrr "
                             f"reads {FORMAT_VERSION}; retrain the ranker with this version")
        ranker = cls(**meta["params"])
        ranker.booster_ = lgb.Booster(model_file=str(path / MODEL_FILE))
        ranker.feature_names_ = tuple(meta["feature_names"])
        if tuple(ranker.booster_.feature_name()) != ranker.feature_names_:
            raise ValueError(f"{path}: {MODEL_FILE} and {META_FILE} name different features; the files come "
                             f"from different saves, save the ranker again")
        ranker.version_ = int(meta["version"])
        ndcg = meta.get("validation_ndcg_at_10")
        ranker.validation_ndcg_ = math.nan if ndcg is None else float(ndcg)
        return ranker


def load_scorer(directory: str | Path, default: DefaultScorer | None = None) -> LambdaMartRanker | DefaultScorer:
    """The ranker saved in `directory`, or `default` (a fresh `DefaultScorer` if None) when none was saved."""
    if not (Path(directory) / META_FILE).is_file():
        logger.info("no ranker saved in %s; using the default scorer", directory)
        return default if default is not None else DefaultScorer()
    return LambdaMartRanker.load(directory)
