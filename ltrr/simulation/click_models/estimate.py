"""Estimating click-model parameters from logged sessions, to grade estimators against the simulator's truth.

A session is one shown page: the item key per position (a document id, a (query, doc) pair, or a relevance
level: any hashable) and the click indicator (0/1) per position. Pages may be shorter than `n_positions`.

`fit_pbm`: EM for the position-based model (Chuklin, Markov & de Rijke, "Click Models for Web Search", 2015,
ch. 4; Wang et al., WSDM 2018). With theta_k = P(E_k = 1) and alpha_d = P(click | examined, item d):

    E-step, for an unclicked impression of d at k:
        P(E = 1 | C = 0) = theta_k (1 - alpha_d) / (1 - theta_k alpha_d)
        P(R = 1 | C = 0) = (1 - theta_k) alpha_d / (1 - theta_k alpha_d)     (a click implies E = R = 1)
    M-step: theta_k = mean over impressions at k of P(E = 1 | C); alpha_d = mean over impressions of d of
        P(R = 1 | C).
The posteriors depend only on (position, item, click), so EM runs on a positions x items table of counts.

Identifiability caveats:
- The likelihood depends on theta_k * alpha_d only, so (c theta, alpha / c) fits equally well: the scale of
  theta is not identifiable. `PBMFit` reports ratios theta_k / theta_0 and theta_0 * alpha_d (the click rate
  of d at the top), which are; the raw `examination` and `attractiveness` have an arbitrary scale.
- Ratios are identified only when items move between positions (randomized or swapped placements, Joachims
  et al., WSDM 2017). A deterministic ranker that always shows d at the same position confounds the two.
- EM finds a local optimum; with sparse counts per (position, item) expect noisy, slowly converging ratios.

`fit_cascade`: the cascade-model MLE (Craswell et al., WSDM 2008): under the cascade assumption every position
down to the first click is examined (all shown positions when there is no click), and alpha_d = clicks on d /
examinations of d over those positions. Clicks below the first are ignored. If real users leave pages unclicked
without reading them to the bottom (DBN with gamma < 1), the estimates are biased low.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_EPS = 1e-9  # keeps 1 - theta * alpha away from 0 in the E-step


@dataclass(frozen=True, eq=False)
class ClickLog:
    """Logged sessions as aligned arrays: `items[i, k]` indexes `keys` (-1: nothing shown), `clicks[i, k]` 0/1."""

    keys: tuple[Hashable, ...]
    items: np.ndarray
    clicks: np.ndarray

    @classmethod
    def from_sessions(cls, sessions: Iterable[tuple[Sequence[Hashable], Sequence[int | bool]]],
                      n_positions: int) -> ClickLog:
        """Pack (item keys per position, click indicator per position) pairs; keys are numbered by first sight."""
        if isinstance(n_positions, bool) or not isinstance(n_positions, (int, np.integer)) or n_positions < 1:
            raise ValueError(f"n_positions must be an int >= 1, got {n_positions!r}")
        index: dict[Hashable, int] = {}
        rows, flags = [], []
        for i, (keys, clicks) in enumerate(sessions):
            if len(keys) != len(clicks) or len(keys) > n_positions:
                raise ValueError(f"session {i} has {len(keys)} items and {len(clicks)} click flags; give one flag "
                                 f"per shown item and at most n_positions ({n_positions}) of each")
            rows.append([index.setdefault(key, len(index)) for key in keys] + [-1] * (n_positions - len(keys)))
            flags.append(list(clicks) + [0] * (n_positions - len(keys)))
        if not rows:
            raise ValueError("sessions is empty; give at least one (item keys, click flags) pair")
        clicks = np.asarray(flags)
        if not np.isin(clicks, (0, 1)).all():
            bad = sorted(set(np.unique(clicks).tolist()) - {0, 1})
            raise ValueError(f"click flags must be 0 or 1 (or bools), got values {bad}; "
                             "use ClickOutcome.click_indicator(n_positions)")
        return cls(tuple(index), np.asarray(rows, dtype=np.int64), clicks.astype(bool))

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(impressions, clicks), each a (n_positions, n_keys) table."""
        n_positions, n_keys = self.items.shape[1], len(self.keys)
        shown = self.items >= 0
        cell = (np.arange(n_positions)[None, :] * n_keys + self.items)[shown]
        impressions = np.bincount(cell, minlength=n_positions * n_keys).reshape(n_positions, n_keys)
        clicked = np.bincount(cell, weights=self.clicks[shown], minlength=n_positions * n_keys)
        return impressions.astype(float), clicked.reshape(n_positions, n_keys)


@dataclass(frozen=True, eq=False)
class PBMFit:
    """A fitted PBM. `examination_ratio[k]` = theta_k / theta_0 (NaN where position k was never shown);
    `click_rate_at_top[d]` = theta_0 * alpha_d. `examination` / `attractiveness` are EM's raw values, whose
    common scale is arbitrary (see the module notes)."""

    examination_ratio: np.ndarray
    click_rate_at_top: dict[Hashable, float]
    examination: np.ndarray
    attractiveness: dict[Hashable, float]
    log_likelihood: float
    n_iter: int
    converged: bool


@dataclass(frozen=True, eq=False)
class CascadeFit:
    """A fitted cascade model: `attractiveness[d]` (NaN when d was never examined) and `n_examined[d]`."""

    attractiveness: dict[Hashable, float]
    n_examined: dict[Hashable, int]


def fit_pbm(sessions: Iterable[tuple[Sequence[Hashable], Sequence[int | bool]]], n_positions: int, *,
            n_iter: int = 1000, tol: float = 1e-7) -> PBMFit:
    """EM estimate of PBM examination ratios and per-item attractiveness (module notes: equations, caveats).

    Stops after `n_iter` iterations or once no parameter moves by more than `tol`.
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be an int >= 1, got {n_iter!r}")
    log = ClickLog.from_sessions(sessions, n_positions)
    impressions, clicks = log.counts()
    theta, alpha, n_done, converged = _pbm_em(impressions, clicks, int(n_iter), tol)
    p = np.clip(theta[:, None] * alpha[None, :], _EPS, 1.0 - _EPS)
    log_likelihood = float(np.nansum(clicks * np.log(p) + (impressions - clicks) * np.log1p(-p)))
    top = dict(zip(log.keys, (theta[0] * alpha).tolist()))
    return PBMFit(examination_ratio=theta / theta[0], click_rate_at_top=top, examination=theta,
                  attractiveness=dict(zip(log.keys, alpha.tolist())),
                  log_likelihood=log_likelihood, n_iter=n_done, converged=converged)


def _pbm_em(impressions: np.ndarray, clicks: np.ndarray, n_iter: int,
            tol: float) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """(theta, alpha, iterations run, converged) by EM on the (position, item) count tables."""
    per_position, per_item = impressions.sum(axis=1), impressions.sum(axis=0)
    theta, alpha = np.full(len(per_position), 0.5), np.full(len(per_item), 0.5)
    unclicked = impressions - clicks
    with np.errstate(invalid="ignore", divide="ignore"):  # unseen positions / items become NaN, not warnings
        for step in range(1, n_iter + 1):
            t, a = theta[:, None], alpha[None, :]
            miss = np.maximum(1.0 - t * a, _EPS)
            new_theta = (clicks + unclicked * t * (1.0 - a) / miss).sum(axis=1) / per_position
            new_alpha = (clicks + unclicked * (1.0 - t) * a / miss).sum(axis=0) / per_item
            new_theta = np.where(per_position > 0, np.clip(new_theta, _EPS, 1.0), 0.5)
            new_alpha = np.where(per_item > 0, np.clip(new_alpha, _EPS, 1.0), 0.5)
            change = max(np.abs(new_theta - theta).max(), np.abs(new_alpha - alpha).max())
            theta, alpha = new_theta, new_alpha
            if change < tol:
                break
    theta = np.where(per_position > 0, theta, np.nan)
    return theta, np.where(per_item > 0, alpha, np.nan), step, bool(change < tol)


def fit_cascade(sessions: Iterable[tuple[Sequence[Hashable], Sequence[int | bool]]], n_positions: int) -> CascadeFit:
    """Cascade MLE: attractiveness = clicks / examinations, counting positions down to the first click."""
    log = ClickLog.from_sessions(sessions, n_positions)
    shown, clicks = log.items >= 0, log.clicks
    first = np.where(clicks.any(axis=1), np.argmax(clicks, axis=1), n_positions)
    positions = np.arange(n_positions)[None, :]
    examined = shown & (positions <= first[:, None])
    n_examined = np.bincount(log.items[examined], minlength=len(log.keys))
    n_clicked = np.bincount(log.items[examined & (positions == first[:, None])], minlength=len(log.keys))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n_examined > 0, n_clicked / n_examined, np.nan)
    return CascadeFit(dict(zip(log.keys, rate.tolist())), dict(zip(log.keys, n_examined.tolist())))
