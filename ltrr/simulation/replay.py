"""Offline replay: several retrieval policies, each in its own engine, on identical simulated user streams.

For each seed the replay forks the base engine once per policy (`Engine.fork`: shared indexes, own bandit,
memory clicks, ranker and log) and walks sessions 0..n-1 of `World.session(seed, i)`. Every policy serves
session i before any serves i+1, and the click model's random draws for a session come from
`default_rng([seed, i, 7])` whatever the policy: common random numbers, so differences between policies are
the policies' doing. A session is its first query and, while the user is not satisfied, up to its pre-drawn
reformulations (each taken with probability `reformulation_rate`), all logged under one session number.

A search's reward is the engine's own (`RewardModel`, settled by `Engine.record_feedback`); a session's value
is sum over its searches of reward * reformulation_discount ** attempt. Regret of a policy at session i is
oracle value - policy value; its cumulative sum is the regret curve (`report.py`).

`best_fixed` is the fixed plan with the best mean session value over the first `best_fixed_pilot` sessions
of the same stream (every arm of the catalogue is tried there): hindsight on a prefix, then held fixed.

Seeds are independent, and so are policies: the (shared, non-learning) exploration generator draws each list
from `default_rng([EXPLORATION_STREAM, seed, hash of the query and context])` (`shared.SharedGenerator`), so
a policy's results on seed s do not depend on the seeds run before it, in this process or another
(`run.simulate(..., jobs=N)` runs seeds in parallel), nor on the other policies run beside it.

The forks also share the feature values of a search that none of them learned (`features.SharedRows`:
lexical, entity, slot, user and context columns of an entity for a query), so the second policy to rank an
entity for a search reads what the first computed; cleared between sessions, like the shared lists.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Engine
from ..engine_support import policy_from_config
from ..evaluation.metrics import ndcg_at
from ..features import SharedRows
from ..feedback.recent import RecentFeedbackLog
from ..policy.base import Policy
from ..progress import StageFactory, no_progress
from ..result import SearchResult
from .oracle import OraclePolicy
from .scenario import Scenario, expand_policies
from .shared import SharedGenerator, deepest_k, share_generators

CLICK_STREAM = 7  # the third entry of a session's click-model seed
EXPLORATION_STREAM = 11  # the first entry of a seed's exploration-generator seed
REFORMULATION_RATE = 0.7
KEPT_QUERIES = 1024
"""Queries whose shared BM25, dense and structured lists outlive their session (`shared.SharedGenerator`):
on mpd.toml's stream about a third of the searches repeat one of the last 1,024 queries."""


@dataclass
class ClassTally:
    """Running sums of one policy's searches of one intent kind."""

    searches: int = 0
    clicked: int = 0
    satisfied: int = 0
    in_union: int = 0
    ndcg: float = 0.0
    candidates: int = 0
    latency_ms: float = 0.0
    reward: float = 0.0
    retrieved_by: dict[str, int] = field(default_factory=dict)
    uniquely_by: dict[str, int] = field(default_factory=dict)

    def add(self, clicked: bool, satisfied: bool, in_union: bool, ndcg: float, candidates: int, latency_ms: float,
            reward: float, retrieved_by: Sequence[str]) -> None:
        self.searches += 1
        self.clicked += clicked
        self.satisfied += satisfied
        self.in_union += in_union
        self.ndcg += ndcg
        self.candidates += candidates
        self.latency_ms += latency_ms
        self.reward += reward
        for name in retrieved_by:
            self.retrieved_by[name] = self.retrieved_by.get(name, 0) + 1
        if len(retrieved_by) == 1:
            self.uniquely_by[retrieved_by[0]] = self.uniquely_by.get(retrieved_by[0], 0) + 1

    @classmethod
    def combined(cls, tallies: Sequence[ClassTally]) -> ClassTally:
        """One tally of the searches of all of `tallies` (e.g. every intent kind)."""
        total = cls()
        for tally in tallies:
            for name in ("searches", "clicked", "satisfied", "in_union", "ndcg", "candidates", "latency_ms", "reward"):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
            for mine, theirs in ((total.retrieved_by, tally.retrieved_by), (total.uniquely_by, tally.uniquely_by)):
                for key, count in theirs.items():
                    mine[key] = mine.get(key, 0) + count
        return total

    def means(self) -> dict[str, Any]:
        n = max(self.searches, 1)
        return {"searches": self.searches, "ctr": self.clicked / n, "satisfied": self.satisfied / n,
                "recall_ceiling": self.in_union / n, "ndcg10": self.ndcg / n, "candidates_scored": self.candidates / n,
                "latency_ms": self.latency_ms / n, "reward": self.reward / n,
                "retrieved_by": {k: v / n for k, v in sorted(self.retrieved_by.items())},
                "uniquely_by": {k: v / n for k, v in sorted(self.uniquely_by.items())}}


@dataclass
class PolicyRun:
    """One policy's engine in one seed, and what it earned."""

    name: str
    engine: Engine
    oracle: OraclePolicy | None = None
    values: list[float] = field(default_factory=list)  # per session
    tallies: dict[str, ClassTally] = field(default_factory=dict)
    arms: dict[str, int] = field(default_factory=dict)

    def tally(self, kind: str) -> ClassTally:
        return self.tallies.setdefault(kind, ClassTally())


@dataclass
class SeedResult:
    seed: int
    runs: dict[str, PolicyRun]
    best_fixed_arm: str | None
    pilot: dict[str, float]


class Replay:
    """Runs a scenario's policies on `world`'s streams through forks of `base` (see the module docstring)."""

    def __init__(self, base: Engine, world, click_model, scenario: Scenario, *,
                 trace: TraceWriter | None = None, progress: StageFactory = no_progress) -> None:
        self.base = base
        self.world = world
        self.click_model = click_model
        self.scenario = scenario
        self.spec = scenario.run
        self.trace = trace
        self.progress = progress
        self.on_session: Callable[[int], None] | None = None  # called after each main-run session (benchmarks)
        self.oracle_factory: Callable[[], OraclePolicy] = OraclePolicy  # the oracle run's policy (headroom: recording)
        generators = tuple(base.config.retrieval.generators)
        self.depth = deepest_k(base.arms)  # per generator, the deepest list the oracle inspects
        self._rows = SharedRows()  # the forks' feature rows of the session in progress
        self.policy_names = expand_policies(self.spec.policies, generators, [arm.name for arm in base.arms])
        exploration = base.generators.get("exploration")
        self._exploration = exploration if hasattr(exploration, "restore_sampling_state") else None
        self._exploration_start = self._exploration.sampling_state() if self._exploration is not None else None

    def run_seed(self, seed: int, n_sessions: int | None = None, *, keep_logs: bool = False) -> SeedResult:
        """Every policy over sessions 0..n-1 of `seed`. The forks' in-memory logs are emptied at the end unless
        keep_logs (e.g. to fit a fork's ranker afterwards: the logs then keep the shown items' feature rows)."""
        n_sessions = self.spec.searches if n_sessions is None else n_sessions
        self._start_exploration(seed)
        shared = share_generators(self.base.generators, self.base.arms, stream=(EXPLORATION_STREAM, seed),
                                  keep=KEPT_QUERIES)
        self._rows.clear()
        best_arm, pilot = None, {}
        if "best_fixed" in self.policy_names:
            best_arm, pilot = self._pilot(seed, shared, min(self.spec.best_fixed_pilot, n_sessions))
        runs = {name: self._fork(name, seed, shared, best_arm, len(self.policy_names) > 1, keep_features=keep_logs)
                for name in self.policy_names}
        stage = self.progress(f"seed {seed}: sessions x {len(runs)} policies", n_sessions)
        for index in range(n_sessions):
            session = self.world.session(seed, index)
            for run in runs.values():
                self._session(run, session, seed)
            self._clear(shared)
            stage.update(1)
            if self.on_session is not None:
                self.on_session(index)
        stage.close()
        if not keep_logs:
            for run in runs.values():
                run.engine.log.dispose()
        return SeedResult(seed, runs, best_arm, pilot)

    def _start_exploration(self, seed: int) -> None:
        if self._exploration is not None and self._exploration_start is not None:
            rng = np.random.default_rng([EXPLORATION_STREAM, seed])
            self._exploration.restore_sampling_state({**self._exploration_start, "rng": rng.bit_generator.state})

    # -- policies -----------------------------------------------------------------------------------------------

    def _clear(self, shared: Mapping[str, SharedGenerator]) -> None:
        """Between sessions: the shared generators' lists and feature rows are of searches that are over."""
        for generator in shared.values():
            generator.clear()
        self._rows.clear()

    def _fork(self, name: str, seed: int, shared: Mapping[str, SharedGenerator], best_arm: str | None,
              share_rows: bool = True, *, keep_features: bool = False) -> PolicyRun:
        """share_rows: share feature rows with the other forks (pointless for a fork that runs alone).
        keep_features: the fork's log keeps the shown items' feature rows even when its ranker is never
        retrained (to fit one afterwards); without them the fork builds only the columns its scorer reads."""
        oracle = self.oracle_factory() if name == "oracle" else None
        policy = oracle or self._policy(name, seed, best_arm)
        config = self.base.config
        log = RecentFeedbackLog(self.spec.log_window, stream_seconds=config.feedback.stream_seconds,
                                keep_policy_input=False, keep_features=keep_features or self.spec.retrain_every > 0)
        rows = self._rows if share_rows else None
        engine = self.base.fork(policy=policy, log=log, generators=shared, feature_rows=rows)
        # a single generator's baseline pools that generator alone, not the probe's lists besides
        policy = replace(config.policy, pool_probe=()) if name.startswith("single_") else config.policy
        engine.config = replace(config, ranker=replace(config.ranker, retrain_every=self.spec.retrain_every),
                                policy=policy)
        return PolicyRun(name, engine, oracle)

    def _policy(self, name: str, seed: int, best_arm: str | None) -> Policy:
        """The named policy, built from the scenario's `[engine.policy]` like an engine's own (seeded per seed)."""
        options = replace(self.base.config.policy, seed=seed)
        if name.startswith("vw_"):
            options = replace(options, kind="vw", exploration=name[len("vw_"):])
        elif name == "greedy":  # no exploration at all, not even the propensity floor
            options = replace(options, kind="greedy", min_propensity=0.0)
        elif name == "uniform":
            options = replace(options, kind="uniform")
        elif name.startswith("single_"):
            options = replace(options, kind="single", single_generator=name[len("single_"):])
        else:
            arm = {"static_union": "equal", "best_fixed": best_arm}.get(name) or name[len("fixed_"):]
            options = replace(options, kind="fixed", fixed_arm=arm)
        return policy_from_config(replace(self.base.config, policy=options), self.base.arms)

    def _pilot(self, seed: int, shared: Mapping[str, SharedGenerator], n_sessions: int) -> tuple[str, dict]:
        """Every arm as a fixed plan over the first sessions of this seed's stream; the best mean value wins."""
        runs = {arm.name: self._fork(f"fixed_{arm.name}", seed, shared, None) for arm in self.base.arms}
        stage = self.progress(f"seed {seed}: best fixed plan pilot ({len(runs)} plans)", n_sessions)
        for index in range(n_sessions):
            session = self.world.session(seed, index)
            for run in runs.values():
                self._session(run, session, seed, trace=False)
            self._clear(shared)
            stage.update(1)
        stage.close()
        means = {name: float(np.mean(run.values)) if run.values else 0.0 for name, run in runs.items()}
        for run in runs.values():
            run.engine.log.dispose()
        return max(means, key=lambda name: (means[name], name == "equal")), means

    # -- one session --------------------------------------------------------------------------------------------

    def _session(self, run: PolicyRun, session, seed: int, *,
                 trace: bool = True) -> None:
        engine, intent = run.engine, session.intent
        rng = np.random.default_rng([seed, session.index, CLICK_STREAM])
        top = max(intent.max_grade(), 1)
        value = 0.0
        for attempt, text in enumerate(session.queries):
            context = replace(session.context, timestamp=session.context.timestamp + timedelta(seconds=40 * attempt))
            if run.oracle is not None:
                query = engine.parser.parse(text)
                deepest = {name: engine.generators[name].generate(query, context, k) for name, k in self.depth.items()}
                run.oracle.prepare(deepest, intent.relevance, self._expected_reward(engine, query, context, intent),
                                   partial(engine.pool_plan, query=query))
            result = engine.search(text, context, limit=self.spec.limit)
            retrieved_by, in_union = _attribution(result, intent.relevance)
            grades = np.array([intent.grade(item.entity_id) for item in result.items], dtype=np.float64)
            outcome = self.click_model.simulate(grades / top, rng)
            clicks = [(result.items[p].entity_id, p, _dwell(rng, p == outcome.satisfied_position))
                      for p in outcome.clicks]
            reward = engine.record_feedback(result.request_id, clicks)
            value += reward * self.spec.reformulation_discount ** attempt
            ranked = [item.entity_id for item in result.items]
            ndcg = ndcg_at(ranked, intent.relevance, 10) if intent.relevance else 0.0
            run.arms[result.decision.arm.name] = run.arms.get(result.decision.arm.name, 0) + 1
            run.tally(intent.kind).add(bool(clicks), outcome.satisfied, in_union, ndcg, result.n_candidates,
                                      result.timings_ms.get("total", 0.0), reward, retrieved_by)
            if trace and self.trace is not None:
                self.trace.write({
                    "seed": seed, "step": session.index, "attempt": attempt, "policy": run.name,
                    "intent": intent.kind, "query_class": result.query.query_class, "query": text,
                    "arm": result.decision.arm.name, "plan": dict(result.decision.arm.plan),
                    "propensity": round(result.decision.propensity, 6), "shown": ranked, "clicks": list(outcome.clicks),
                    "satisfied": outcome.satisfied, "reward": round(reward, 6), "target_in_union": in_union,
                    "retrieved_by": retrieved_by, "ndcg10": round(ndcg, 6), "candidates": result.n_candidates,
                    "latency_ms": round(result.timings_ms.get("total", 0.0), 3)})
            if outcome.satisfied or attempt + 1 == len(session.queries) or rng.random() > REFORMULATION_RATE:
                break
        run.values.append(value)


    def _expected_reward(self, engine: Engine, query, context, intent) -> Callable:
        """arms -> the reward the engine's list for each arm is expected to earn from this user (for the
        oracle): the arms' pools ranked in one `rank_plans` call."""
        top = max(intent.max_grade(), 1)
        rewards = engine.rewards

        def evaluate(arms) -> list[float]:
            values = []
            for ranked, n_pool in engine.rank_plans(query, context, [arm.plan for arm in arms], self.spec.limit):
                if not ranked:
                    values.append(rewards.no_click - rewards.cost(n_pool, 0.0))
                    continue
                grades = np.array([intent.grade(entity_id) for entity_id in ranked], dtype=np.float64)
                values.append(expected_reward(self.click_model.click_probabilities(grades / top), rewards, n_pool))
            return values

        return evaluate


def expected_reward(click_probabilities: np.ndarray, rewards, n_candidates: int) -> float:
    """E[reward] of a list whose position k is clicked with probability p_k, taking the first click as the one
    rewarded: sum_k p_k prod_{j<k} (1 - p_j) value(k) + P(no click) no_click - cost. Exact for the cascade
    model; for PBM and DBN, whose clicks are not the cascade's, a close approximation."""
    p = np.clip(np.asarray(click_probabilities, dtype=np.float64), 0.0, 1.0)
    before = np.concatenate([[1.0], np.cumprod(1.0 - p)[:-1]])
    first = p * before
    values = np.array([rewards.value(position=k, dwell_s=None) for k in range(len(p))])
    none = float(np.prod(1.0 - p))
    return float(first @ values + none * rewards.no_click - rewards.cost(n_candidates, 0.0))


def _attribution(result: SearchResult, relevance: Mapping[str, int]) -> tuple[list[str], bool]:
    """Which planned generators retrieved a relevant entity, and whether the pool held one."""
    found = [name for name, ids in result.retrieved.items() if any(relevance.get(i, 0) > 0 for i in ids)]
    return found, bool(found)


def _dwell(rng: np.random.Generator, satisfied: bool) -> float:
    """Seconds listened: a satisfied click streams (60-300 s), another is a short look (2-20 s)."""
    return float(rng.uniform(60.0, 300.0) if satisfied else rng.uniform(2.0, 20.0))


class TraceWriter:
    """One JSON object per search, gzip-compressed (`trace.jsonl.gz`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = gzip.open(self.path, "wt", encoding="utf-8", compresslevel=3)
        self.n_rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self._file.write(json.dumps(row, separators=(",", ":")) + "\n")
        self.n_rows += 1

    def close(self) -> None:
        self._file.close()


def read_trace(path: str | Path, keep: Callable[[dict], bool] | None = None) -> list[dict[str, Any]]:
    """The rows of a trace file (those `keep` accepts)."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        rows = (json.loads(line) for line in file)
        return [row for row in rows if keep is None or keep(row)]
