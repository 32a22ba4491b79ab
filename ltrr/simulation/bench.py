"""Measure the replay: simulated searches per second with learning on, and memory growth over a long run.

`bench_simulate(scenario, ...)` runs the scenario's replay for one seed with the given policies (default: the
learned `vw_squarecb` alone) and no trace, sampling the process's current RSS after 10% of the sessions and
at the end: `rss_growth_mb` is their difference (what a long run keeps adding: logs, memory index, caches).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..bench import current_rss_mb
from ..engine import Engine
from ..progress import StageFactory, no_progress
from .click_models import make_click_model
from .replay import Replay
from .run import ensure_synthetic_catalog
from .scenario import Scenario
from .world import World, WorldConfig


def bench_simulate(scenario: Scenario, *, n_sessions: int, policies: Sequence[str] = ("vw_squarecb",),
                   seed: int = 0, progress: StageFactory = no_progress) -> dict[str, Any]:
    """Searches per second and RSS growth of one seed's replay (see the module docstring)."""
    scenario = replace(scenario, run=replace(scenario.run, policies=tuple(policies), searches=n_sessions,
                                             best_fixed_pilot=0))
    if scenario.synthetic:
        ensure_synthetic_catalog(scenario, progress)
    start = time.perf_counter()
    engine = Engine.open(scenario.db, config=scenario.engine, progress=progress, restore_state=False)
    opened = time.perf_counter() - start
    try:
        world_start = time.perf_counter()
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world), progress=progress)
        world_s = time.perf_counter() - world_start
        replay = Replay(engine, world, make_click_model(**scenario.click_model), scenario, progress=progress)
        samples: dict[str, float] = {}
        mark = max(1, n_sessions // 10)

        def sample(index: int) -> None:
            if index + 1 == mark:
                samples["rss_at_10pct_mb"] = current_rss_mb()
                samples["t_at_10pct"] = time.perf_counter()

        replay.on_session = sample
        run_start = time.perf_counter()
        result = replay.run_seed(seed, n_sessions)
        elapsed = time.perf_counter() - run_start
        rss_end = current_rss_mb()
    finally:
        engine.shutdown(keep_memory=False)
    n_searches = sum(t.searches for run in result.runs.values() for t in run.tallies.values())
    return {"db": scenario.db, "policies": list(replay.policy_names), "n_sessions": n_sessions,
            "n_searches": n_searches, "seconds": round(elapsed, 2),
            "searches_per_s": n_searches / elapsed if elapsed > 0 else 0.0,
            "sessions_per_s": n_sessions / elapsed if elapsed > 0 else 0.0,
            "rss_at_10pct_mb": round(samples.get("rss_at_10pct_mb", rss_end), 1), "rss_end_mb": round(rss_end, 1),
            "rss_growth_mb": round(rss_end - samples.get("rss_at_10pct_mb", rss_end), 1),
            "engine_open_s": round(opened, 1), "world_build_s": round(world_s, 1)}
