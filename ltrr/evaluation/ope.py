"""Off-policy evaluation (OPE) of plan-choosing policies from logged bandit rounds.

Round i of a log holds the arm a_i that the logging policy mu chose on context x_i, its propensity
p_i = mu(a_i | x_i) and the reward r_i. A target policy pi gives pi(a | x_i) for every arm a. Each
estimator says what mean reward pi would have earned on the logged contexts, without running pi:

    w_i    = pi(a_i | x_i) / p_i, or min(w_i, clip) when clip is given        (importance weight)
    ips    = 1/n sum_i w_i r_i                                    Horvitz & Thompson, JASA 1952
    snips  = sum_i w_i r_i / sum_i w_i                            Swaminathan & Joachims, NeurIPS 2015
    dm     = 1/n sum_i sum_a pi(a | x_i) r_hat(x_i, a)
    dr     = dm + 1/n sum_i w_i (r_i - r_hat(x_i, a_i))           Dudik, Langford & Li, ICML 2011
    replay = mean of r_i over the rounds where pi's action is a_i  Li, Chu, Langford & Wang, WSDM 2011

    >>> data = LoggedBandit(actions=[0, 1], propensities=[0.5, 0.5], rewards=[1.0, 0.0],
    ...                     target_pmf=[[1.0, 0.0], [1.0, 0.0]])
    >>> ips(data).value  # (1.0 / 0.5 * 1.0 + 0.0 / 0.5 * 0.0) / 2
    1.0

`MeanRewardModel` and `cross_fit` supply r_hat for dm and dr; `ltrr.evaluation.ope_log` builds a
`LoggedBandit` from the engine's feedback log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import NotFittedError

logger = logging.getLogger(__name__)

Z_95 = 1.959963984540054  # standard normal quantile at 0.975
PMF_TOLERANCE = 1e-6  # how far a target_pmf row sum may be from 1 (float pmfs from VW are rounded)
PROPENSITY_TOLERANCE = 1e-9  # a propensity may exceed 1 by rounding only


@dataclass(frozen=True)
class Estimate:
    """One estimator's value of the target policy, with a normal-approximation 95% interval.

    std_error: sample standard deviation (ddof=1) of the estimator's per-round terms / sqrt(number of
    terms); NaN with fewer than two terms. ci95 = value -+ 1.96 * std_error. The interval ignores the
    reward model's own error (dm, dr) and the bias that clipping adds. n: logged rounds read.
    effective_sample_size: Kish's (sum w)^2 / sum w^2 for ips, snips and dr, the kept rounds for replay,
    None for dm. n_kept: the rounds replay kept (None for the other estimators).
    """

    estimator: str
    value: float
    std_error: float
    ci95: tuple[float, float]
    n: int
    effective_sample_size: float | None = None
    n_kept: int | None = None


@dataclass(frozen=True)
class LoggedBandit:
    """n logged rounds over A arms, as read-only numpy arrays (any array-like is copied in and checked).

    actions: (n,) int, the logged arm index in [0, A). propensities: (n,) the logging policy's probability
    of that arm, in (0, 1]. rewards: (n,) finite floats. target_pmf: (n, A) the target policy's probability
    of every arm on the round's context; each row sums to 1. reward_hat: (n, A) a reward model's prediction
    for every arm, or None. query_classes: (n,) strings for per-class models and breakdowns, or None.

    Raises:
        ValueError: a shape, range or row sum is wrong; the message names the field, the value and the fix.
    """

    actions: np.ndarray
    propensities: np.ndarray
    rewards: np.ndarray
    target_pmf: np.ndarray
    reward_hat: np.ndarray | None = None
    query_classes: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Frozen, so the checked copies are stored through object.__setattr__; read-only so no one edits them later.
        for name, value in _checked_fields(self).items():
            if value is not None:
                value.flags.writeable = False
            object.__setattr__(self, name, value)

    @property
    def n_rounds(self) -> int:
        return len(self.actions)

    @property
    def n_arms(self) -> int:
        return self.target_pmf.shape[1]

    def with_reward_hat(self, reward_hat: np.ndarray) -> LoggedBandit:
        """A copy with `reward_hat` (n x A) set."""
        return replace(self, reward_hat=reward_hat)

    def take(self, rows: np.ndarray) -> LoggedBandit:
        """The rounds selected by `rows` (a boolean mask or integer indices), in that order."""
        def pick(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[rows]

        return LoggedBandit(self.actions[rows], self.propensities[rows], self.rewards[rows], self.target_pmf[rows],
                            pick(self.reward_hat), pick(self.query_classes))


def ips(data: LoggedBandit, clip: float | None = None) -> Estimate:
    """Inverse propensity scoring: V = 1/n sum_i w_i r_i, with w_i = pi(a_i | x_i) / p_i (min(w_i, clip) if clip).

    Unbiased when every arm pi can choose has p > 0 and clip is None. Per-round terms: w_i r_i.
    """
    weights = _weights(data, clip)
    return _from_terms("ips", weights * data.rewards, n=data.n_rounds, ess=_kish(weights))


def snips(data: LoggedBandit) -> Estimate:
    """Self-normalized IPS: V = sum_i w_i r_i / sum_i w_i, with w_i = pi(a_i | x_i) / p_i.

    Slightly biased, never outside the range of the logged rewards, and usually far less variable than ips.
    Its standard error uses the delta method's per-round terms w_i (r_i - V) / mean(w).

    Raises:
        ValueError: sum_i w_i is 0 (pi gives probability 0 to every logged action).
    """
    weights = _weights(data, None)
    total = float(weights.sum())
    if total <= 0.0:
        raise ValueError(f"snips is undefined: the target policy gives probability 0 to all {data.n_rounds} logged "
                         "actions (sum of weights is 0); log with more exploration or use dm")
    value = float((weights * data.rewards).sum() / total)
    terms = weights * (data.rewards - value) / weights.mean()
    return _from_terms("snips", terms, n=data.n_rounds, ess=_kish(weights), value=value)


def dm(data: LoggedBandit) -> Estimate:
    """Direct method: V = 1/n sum_i sum_a pi(a | x_i) r_hat(x_i, a). Per-round terms: the inner sums.

    As good as r_hat: biased wherever the reward model is, with no variance from the weights.

    Raises:
        ValueError: data.reward_hat is None.
    """
    return _from_terms("dm", _dm_terms(data, "dm"), n=data.n_rounds)


def dr(data: LoggedBandit, clip: float | None = None) -> Estimate:
    """Doubly robust: V = 1/n sum_i [sum_a pi(a | x_i) r_hat(x_i, a) + w_i (r_i - r_hat(x_i, a_i))].

    w_i = pi(a_i | x_i) / p_i, or min(w_i, clip) when clip is given. Unbiased when either the propensities
    or r_hat are right (and clip is None). Per-round terms: the bracket.

    Raises:
        ValueError: data.reward_hat is None.
    """
    direct = _dm_terms(data, "dr")
    weights = _weights(data, clip)
    logged_hat = data.reward_hat[np.arange(data.n_rounds), data.actions]
    terms = direct + weights * (data.rewards - logged_hat)
    return _from_terms("dr", terms, n=data.n_rounds, ess=_kish(weights))


def replay(data: LoggedBandit, rng: np.random.Generator | None = None) -> Estimate:
    """Rejection-sampling replay (Li et al., WSDM 2011): V = mean of r_i over the rounds where b_i == a_i.

    b_i is the target's action: the arm with probability 1 when every target_pmf row is one-hot (deterministic
    target); otherwise one draw per round, in round order, by inverse CDF: b_i = the number of arms whose
    cumulative probability is <= u_i * sum_a pi(a | x_i), with u_i = rng.random(). Unbiased when the logging
    policy was uniform over the arms (p_i = 1/A), which is logged as a warning when not so. Per-round terms: the
    kept rewards. The target is evaluated as a fixed policy (Li et al.'s sequential version also updates it).

    Raises:
        ValueError: the target is stochastic and rng is None, or no round was kept.
    """
    chosen = _target_actions(data, rng)
    kept = chosen == data.actions
    n_kept = int(kept.sum())
    if n_kept == 0:
        raise ValueError(f"replay kept none of the {data.n_rounds} logged rounds: the target policy's action never "
                         "equals the logged one; log more rounds with more exploration, or use snips or dr")
    if not np.allclose(data.propensities, 1.0 / data.n_arms):
        logger.warning("replay is unbiased only for logs of a uniform policy (propensity 1/%d); these propensities "
                       "differ, so the value is biased toward the logging policy's choices; prefer snips or dr",
                       data.n_arms)
    return _from_terms("replay", data.rewards[kept], n=data.n_rounds, ess=float(n_kept), n_kept=n_kept)


class MeanRewardModel:
    """r_hat(x, a): arm a's mean reward in x's query class, shrunk toward the arm's mean, which is shrunk toward
    the global mean. Fitted on the logged arms only, so r_hat(x, a) of an unlogged arm is a guess from its parents:

        r_bar     = 1/n sum_i r_i
        r_hat(a)  = (S_a + m r_bar) / (N_a + m)
        r_hat(c, a) = (S_ca + m r_hat(a)) / (N_ca + m)

    S and N are the sum and count of rewards of the rounds that logged arm a (in class c); m = shrinkage, the
    pseudo-rounds of its parent mean each mean starts with (0 gives raw means; an empty cell then takes its
    parent). Without query_classes all rounds share one class; a class unseen in fit gets r_hat(a).

        >>> data = LoggedBandit([0, 0, 1], [0.5, 0.5, 0.5], [1.0, 0.0, 1.0], [[0.5, 0.5]] * 3)
        >>> # r_bar = 2/3; r_hat(0) = (1 + 2/3) / 3 = 5/9; r_hat(c, 0) = (1 + 5/9) / 3 = 14/27
        >>> MeanRewardModel(shrinkage=1.0).fit(data).predict(data)[0].round(4).tolist()
        [0.5185, 0.9167]
    """

    def __init__(self, shrinkage: float = 5.0) -> None:
        self.shrinkage = shrinkage

    def fit(self, data: LoggedBandit) -> MeanRewardModel:
        """Learn global_mean_, arm_means_ (A,) and class_means_ (class -> (A,)) from data's logged rounds."""
        if not (math.isfinite(self.shrinkage) and self.shrinkage >= 0):
            raise ValueError(f"shrinkage must be a finite number >= 0, got {self.shrinkage!r}; use e.g. 5.0")
        self.global_mean_ = float(data.rewards.mean())
        self.arm_means_ = self._shrunk(data.actions, data.rewards, data.n_arms, self.global_mean_)
        classes = _classes(data)
        self.class_means_ = {str(name): self._shrunk(data.actions[classes == name], data.rewards[classes == name],
                                                     data.n_arms, self.arm_means_) for name in np.unique(classes)}
        return self

    def predict(self, data: LoggedBandit) -> np.ndarray:
        """r_hat (n x A) for data's rounds, by their query class."""
        if not hasattr(self, "arm_means_"):
            raise NotFittedError("MeanRewardModel is not fitted; call fit(data) first")
        if data.n_arms != len(self.arm_means_):
            raise ValueError(f"data has {data.n_arms} arms, the model was fitted on {len(self.arm_means_)}; "
                             "fit it on rounds of the same arm catalogue")
        classes = _classes(data)
        predicted = np.empty((data.n_rounds, data.n_arms))
        for name in np.unique(classes):
            predicted[classes == name] = self.class_means_.get(str(name), self.arm_means_)
        return predicted

    def _shrunk(self, actions: np.ndarray, rewards: np.ndarray, n_arms: int,
                parent: float | np.ndarray) -> np.ndarray:
        sums = np.bincount(actions, weights=rewards, minlength=n_arms)
        counts = np.bincount(actions, minlength=n_arms).astype(np.float64)
        parent = np.broadcast_to(np.asarray(parent, dtype=np.float64), (n_arms,))
        denominator = counts + self.shrinkage
        safe = np.where(denominator > 0, denominator, 1.0)
        return np.where(denominator > 0, (sums + self.shrinkage * parent) / safe, parent)


def cross_fit(data: LoggedBandit, n_folds: int = 2, seed: int = 0, shrinkage: float = 5.0) -> LoggedBandit:
    """`data` with reward_hat filled out of fold: each round's r_hat comes from a MeanRewardModel fitted on the
    other folds, so a round's own reward never predicts it (cross-fitting; Chernozhukov et al., Econometrics J. 2018).

    Rounds go to folds by np.random.default_rng(seed).permutation(n) % n_folds (sizes differ by at most one).

    Raises:
        ValueError: n_folds is not an integer in [2, n].
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or not 2 <= n_folds <= data.n_rounds:
        raise ValueError(f"n_folds must be an integer in [2, {data.n_rounds}] (the number of rounds), got "
                         f"{n_folds!r}; use 2, or log more rounds")
    folds = np.random.default_rng(seed).permutation(data.n_rounds) % n_folds
    reward_hat = np.empty((data.n_rounds, data.n_arms))
    for fold in range(n_folds):
        held_out = folds == fold
        model = MeanRewardModel(shrinkage).fit(data.take(~held_out))
        reward_hat[held_out] = model.predict(data.take(held_out))
    return data.with_reward_hat(reward_hat)


def _weights(data: LoggedBandit, clip: float | None) -> np.ndarray:
    if clip is not None and (isinstance(clip, bool) or not (math.isfinite(clip) and clip > 0)):
        raise ValueError(f"clip must be a positive finite weight or None, got {clip!r}; use e.g. 10.0")
    weights = data.target_pmf[np.arange(data.n_rounds), data.actions] / data.propensities
    return weights if clip is None else np.minimum(weights, clip)


def _dm_terms(data: LoggedBandit, estimator: str) -> np.ndarray:
    if data.reward_hat is None:
        raise ValueError(f"{estimator} needs data.reward_hat (n x A predictions), got None; fill it with "
                         "cross_fit(data) or data.with_reward_hat(MeanRewardModel().fit(data).predict(data))")
    return (data.target_pmf * data.reward_hat).sum(axis=1)


def _kish(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2; 0.0 when every weight is 0."""
    squares = float((weights * weights).sum())
    return float(weights.sum()) ** 2 / squares if squares > 0 else 0.0


def _from_terms(name: str, terms: np.ndarray, *, n: int, ess: float | None = None, value: float | None = None,
                n_kept: int | None = None) -> Estimate:
    value = float(terms.mean()) if value is None else value
    std_error = float(terms.std(ddof=1) / math.sqrt(len(terms))) if len(terms) > 1 else math.nan
    return Estimate(name, value, std_error, (value - Z_95 * std_error, value + Z_95 * std_error), n, ess, n_kept)


def _target_actions(data: LoggedBandit, rng: np.random.Generator | None) -> np.ndarray:
    pmf = data.target_pmf
    if np.all(pmf.max(axis=1) >= 1.0 - PMF_TOLERANCE):
        return pmf.argmax(axis=1)
    if rng is None:
        raise ValueError("the target policy is stochastic (a target_pmf row has no arm with probability 1), so "
                         "replay samples its actions; pass rng=np.random.default_rng(seed)")
    cumulative = np.cumsum(pmf, axis=1)
    draws = rng.random(data.n_rounds) * cumulative[:, -1]
    return np.minimum((cumulative <= draws[:, None]).sum(axis=1), data.n_arms - 1)


def _classes(data: LoggedBandit) -> np.ndarray:
    if data.query_classes is None:
        return np.full(data.n_rounds, "", dtype=object)
    return data.query_classes


def _checked_fields(data: LoggedBandit) -> dict[str, np.ndarray | None]:
    """Every field as a checked float/int/str copy; ValueError names the first problem and its fix."""
    actions = np.array(data.actions)
    if actions.ndim != 1 or actions.size == 0 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"actions must be a non-empty 1-D array of integer arm indices, got dtype {actions.dtype} "
                         f"and shape {actions.shape}; pass one logged arm index per round")
    n = len(actions)
    pmf = _float_array("target_pmf", data.target_pmf, None)
    if pmf.ndim != 2 or pmf.shape[0] != n or pmf.shape[1] == 0:
        raise ValueError(f"target_pmf must have shape (n_rounds, n_arms) = ({n}, A >= 1), got {pmf.shape}; pass "
                         "the target policy's probability of every arm, one row per logged round")
    n_arms = pmf.shape[1]
    _check_pmf(pmf)
    bad = np.flatnonzero((actions < 0) | (actions >= n_arms))
    if bad.size:
        raise ValueError(f"actions[{bad[0]}] = {actions[bad[0]]} is not an arm index in [0, {n_arms}) (target_pmf "
                         "has that many columns); use the arm's position in the catalogue")
    propensities = _float_array("propensities", data.propensities, (n,))
    bad = np.flatnonzero(~((propensities > 0) & (propensities <= 1 + PROPENSITY_TOLERANCE)))
    if bad.size:
        raise ValueError(f"propensities[{bad[0]}] = {float(propensities[bad[0]])!r} is not in (0, 1]; log the logging "
                         "policy's probability of the chosen arm, which must be > 0 for off-policy evaluation")
    rewards = _float_array("rewards", data.rewards, (n,))
    reward_hat = None if data.reward_hat is None else _float_array("reward_hat", data.reward_hat, (n, n_arms))
    classes = None
    if data.query_classes is not None:
        if np.shape(data.query_classes) != (n,):
            raise ValueError(f"query_classes must have shape ({n},), one class per round, got "
                             f"{np.shape(data.query_classes)}; pass None to use no classes")
        classes = np.array([str(name) for name in data.query_classes], dtype=object)
    return {"actions": actions.astype(np.int64), "propensities": propensities, "rewards": rewards,
            "target_pmf": pmf, "reward_hat": reward_hat, "query_classes": classes}


def _float_array(name: str, values: object, shape: tuple[int, ...] | None) -> np.ndarray:
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers, got {values!r:.80}; pass a numpy array") from error
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape} to match actions (n_rounds) and "
                         "target_pmf (n_arms); pass one value per logged round (and arm)")
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name}{list(where)} = {float(array[where])!r} is not finite; drop or repair that round")
    return array


def _check_pmf(pmf: np.ndarray) -> None:
    bad = np.argwhere(pmf < 0)
    if bad.size:
        row, arm = (int(i) for i in bad[0])
        raise ValueError(f"target_pmf[{row}, {arm}] = {float(pmf[row, arm])!r} is negative; probabilities must be >= 0")
    sums = pmf.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PMF_TOLERANCE)
    if bad.size:
        raise ValueError(f"target_pmf row {bad[0]} sums to {float(sums[bad[0]]):.6g}, not 1; each row must be the "
                         "target policy's full pmf over the arms (normalize with pmf / pmf.sum(axis=1, keepdims=True))")
