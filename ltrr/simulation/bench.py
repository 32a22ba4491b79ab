"""Measure the replay: simulated searches per second with learning on, and memory growth over a long run.

`bench_simulate(scenario, ...)` runs the scenario's replay for one seed with the given policies (default: the
learned `vw_squarecb` alone) and no trace, sampling the process's current RSS after 10% of the sessions and
at the end: `rss_growth_mb` is their difference (what a long run keeps adding: logs, memory index, caches).
`bench_simulate_parallel` runs seeds 0..jobs-1 in that many processes at once (how `ltrr simulate --jobs`
uses the cores) and reports their aggregate rate: all their searches over the span from the first replay's
start to the last one's end.

The rate of one run moves with whatever else the machine is doing (on a shared 2-core machine, back-to-back
runs of the same code were seen 25% apart), so `repeat_runs` repeats a run and reports the median rate with
the slowest and fastest beside it.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from ..bench import current_rss_mb, peak_rss_mb
from ..engine import Engine
from ..progress import StageFactory, no_progress
from .click_models import make_click_model
from .replay import Replay
from .run import ensure_indexes, ensure_synthetic_catalog
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
        run_start, started_at = time.perf_counter(), time.time()
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
            "engine_open_s": round(opened, 1), "world_build_s": round(world_s, 1), "seed": seed,
            "run_started_at": started_at, "run_ended_at": started_at + elapsed, "peak_rss_mb": round(peak_rss_mb(), 1)}


def bench_simulate_parallel(scenario: Scenario, *, n_sessions: int, policies: Sequence[str] = ("vw_squarecb",),
                            jobs: int = 2) -> dict[str, Any]:
    """`bench_simulate` for seeds 0..jobs-1 in `jobs` spawned processes at once; `searches_per_s` is the aggregate
    (every process's searches over the span of their replays), `per_process` each one's own result."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}; use up to the number of cores")
    if scenario.synthetic:
        ensure_synthetic_catalog(scenario)  # once, before the processes would race to generate it
    ensure_indexes(scenario)  # likewise for the indexes
    context = multiprocessing.get_context("spawn")  # forking a process that loaded torch can deadlock
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(bench_simulate, scenario, n_sessions=n_sessions, policies=tuple(policies), seed=seed)
                   for seed in range(jobs)]
        results = [future.result() for future in futures]
    span = max(r["run_ended_at"] for r in results) - min(r["run_started_at"] for r in results)
    n_searches = sum(r["n_searches"] for r in results)
    return {"db": results[0]["db"], "policies": results[0]["policies"], "jobs": jobs, "n_sessions": n_sessions * jobs,
            "n_searches": n_searches, "seconds": round(span, 2),
            "searches_per_s": n_searches / span if span > 0 else 0.0,
            "sessions_per_s": n_sessions * jobs / span if span > 0 else 0.0,
            "rss_at_10pct_mb": max(r["rss_at_10pct_mb"] for r in results),
            "rss_end_mb": max(r["rss_end_mb"] for r in results),
            "rss_growth_mb": max(r["rss_growth_mb"] for r in results),
            "engine_open_s": max(r["engine_open_s"] for r in results),
            "world_build_s": max(r["world_build_s"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "per_process": results}


def repeat_runs(run: Callable[[], dict[str, Any]], repeat: int) -> dict[str, Any]:
    """`run()` `repeat` times: the median run's result (the lower middle one for an even count), with
    `searches_per_s` the median over the runs, `searches_per_s_runs` each run's rate in order,
    `searches_per_s_min` / `_max`, `repeats`, and the memory measures at their worst over the runs
    (`rss_growth_mb`, `rss_end_mb`, `peak_rss_mb`: the largest)."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an integer >= 1, got {repeat!r}")
    results = [run() for _ in range(repeat)]
    rates = [float(result["searches_per_s"]) for result in results]
    middle = sorted(range(repeat), key=lambda i: rates[i])[(repeat - 1) // 2]
    combined = dict(results[middle])
    combined.update(searches_per_s=statistics.median(rates), searches_per_s_runs=rates,
                    searches_per_s_min=min(rates), searches_per_s_max=max(rates), repeats=repeat)
    for key in ("rss_growth_mb", "rss_end_mb", "peak_rss_mb"):
        values = [result[key] for result in results if result.get(key) is not None]
        if values:
            combined[key] = max(values)
    return combined
