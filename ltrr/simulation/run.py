"""`simulate(scenario, out_dir)`: build or open the catalog, run the replay over every seed, write the reports.

    from ltrr.simulation.run import simulate
    from ltrr.simulation.scenario import Scenario
    summary = simulate(Scenario.from_toml("sim/demo.toml"), "sim/out/demo")

Outputs in out_dir: trace.jsonl.gz (one row per search), summary.json, summary.md, attribution.md,
regret.png and reward.png, scenario.json (the scenario as run).

`jobs` > 1 runs seeds in that many worker processes (spawned: each opens the engine and builds the world
itself, so each holds its own copy of the indexes in memory). Seeds are independent (`replay`), so the
results and the trace equal a one-process run's; the trace's rows come seed by seed either way. A worker ends
itself when the process that started it is gone (`exit_with_parent`), so a run stopped by a signal the pool
never sees (`kill PID` of `ltrr simulate`) leaves no worker replaying on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..engine_index import index_is_current, make_encoder, open_index
from ..engine_state import default_index_dir
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from .click_models import make_click_model
from .replay import Replay, SeedResult, TraceWriter
from .report import summarize, write_reports
from .scenario import Scenario
from .world import World, WorldConfig


def simulate(scenario: Scenario, out_dir: str | Path, *, progress: StageFactory = no_progress,
             jobs: int = 1) -> dict[str, Any]:
    """Run `scenario`, write its outputs to `out_dir`, return the summary (summary.json's object). `jobs`:
    worker processes for the seeds (1: every seed in this process)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}; use 1, or up to the number of cores")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if scenario.synthetic:
        ensure_synthetic_catalog(scenario, progress)
    seeds = list(range(scenario.run.seeds))
    if jobs > 1 and len(seeds) > 1:
        ensure_indexes(scenario, progress)
        results, n_rows = _run_parallel(scenario, seeds, out / "trace.jsonl.gz", min(jobs, len(seeds)), progress)
    else:
        results, n_rows = _run_seeds(scenario, seeds, out / "trace.jsonl.gz", progress)
    summary = summarize(results, scenario.run.searches)
    summary["scenario"] = scenario.name
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    summary["n_trace_rows"] = n_rows
    (out / "scenario.json").write_text(json.dumps(_scenario_dict(scenario), indent=1), encoding="utf-8")
    write_reports(out, summary, results, scenario=scenario.name, claim=scenario.claim,
                  moving_average=scenario.run.moving_average)
    return summary


def _run_seeds(scenario: Scenario, seeds: list[int], trace_path: Path,
               progress: StageFactory) -> tuple[list[SeedResult], int]:
    """Run `seeds` in this process, writing their trace rows to `trace_path`; (results, rows written)."""
    click_model = make_click_model(**scenario.click_model)
    engine = Engine.open(scenario.db, config=scenario.engine, progress=progress, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world), progress=progress)
        trace = TraceWriter(trace_path)
        try:
            replay = Replay(engine, world, click_model, scenario, trace=trace, progress=progress)
            results = [replay.run_seed(seed) for seed in seeds]
        finally:
            trace.close()
    finally:
        engine.shutdown(keep_memory=False)
    return results, trace.n_rows


def _run_parallel(scenario: Scenario, seeds: list[int], trace_path: Path, jobs: int,
                  progress: StageFactory) -> tuple[list[SeedResult], int]:
    """Each seed in a worker process with a trace file of its own, then the traces joined in seed order (gzip
    members concatenate into one valid file). Workers report finished sessions through a queue: one bar."""
    context = multiprocessing.get_context("spawn")  # forking a process that loaded torch can deadlock
    parts = Path(tempfile.mkdtemp(prefix="trace-parts-", dir=trace_path.parent))
    with context.Manager() as manager:
        queue = manager.Queue()
        bar = progress(f"{len(seeds)} seeds in {jobs} processes: sessions (pilots included)", None)
        listener = threading.Thread(target=_count_sessions, args=(queue, bar), daemon=True)
        listener.start()
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = [pool.submit(_seed_worker, scenario, seed, parts / f"seed-{seed}.jsonl.gz", queue,
                                       os.getpid()) for seed in seeds]
                done = [future.result() for future in futures]
        finally:
            queue.put(None)
            listener.join()
            bar.close()
    try:
        with open(trace_path, "wb") as joined:
            for seed in seeds:
                with open(parts / f"seed-{seed}.jsonl.gz", "rb") as part:
                    shutil.copyfileobj(part, joined)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return [result for result, _ in done], sum(rows for _, rows in done)


PARENT_POLL_S = 1.0
_watching: set[int] = set()  # the parent pids this process already watches


def exit_with_parent(parent: int, poll_s: float = PARENT_POLL_S) -> None:
    """End this process (exit status 1) within `poll_s` seconds of its parent `parent` going away: a worker
    whose parent was killed is re-parented and would otherwise replay on, unseen, for the rest of its seed.
    One watching thread per process and parent."""
    if parent in _watching:
        return
    _watching.add(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)  # no cleanup to run: the parent that would read the results is gone

    threading.Thread(target=watch, name="ltrr-parent-watch", daemon=True).start()


def _seed_worker(scenario: Scenario, seed: int, trace_path: Path, queue: Any,
                 parent: int | None = None) -> tuple[SeedResult, int]:
    """One seed in a worker process; the engines are dropped from the result (they stay in the worker)."""
    if parent is not None:
        exit_with_parent(parent)
    (results, n_rows) = _run_seeds(scenario, [seed], trace_path, _queue_progress(queue))
    result = results[0]
    result.runs = {name: replace(run, engine=None, oracle=None) for name, run in result.runs.items()}
    return result, n_rows


class _QueueStage:
    """A progress stage that forwards session counts to the parent's bar (only the replay's session stages)."""

    def __init__(self, queue: Any, forward: bool) -> None:
        self.queue, self.forward, self.pending = queue, forward, 0

    def update(self, n: int = 1) -> None:
        if self.forward:
            self.pending += n
            if self.pending >= 25:
                self.queue.put(self.pending)
                self.pending = 0

    def close(self) -> None:
        if self.forward and self.pending:
            self.queue.put(self.pending)
            self.pending = 0


def _queue_progress(queue: Any) -> StageFactory:
    return lambda description, total: _QueueStage(queue, description.startswith("seed "))


def _count_sessions(queue: Any, bar: Any) -> None:
    while (n := queue.get()) is not None:
        bar.update(n)


def ensure_synthetic_catalog(scenario: Scenario, progress: StageFactory = no_progress) -> None:
    """Generate the demo catalog (seed `[catalog] seed`) at the scenario's db unless a catalog is there."""
    from ..synthetic import generate_catalog, write_catalog

    path = Path(scenario.db.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    store = CatalogStore.open(scenario.db)
    try:
        if store.counts().tracks == 0:
            settings = replace(scenario.engine.catalog.synthetic, seed=scenario.catalog_seed)
            write_catalog(store, generate_catalog(settings), progress=progress)
    finally:
        store.close()


def ensure_indexes(scenario: Scenario, progress: StageFactory = no_progress) -> None:
    """Build (or refresh) the scenario catalog's indexes in this process, once, unless they are current: worker
    processes that each opened an engine on a catalog without indexes would all build them into one index
    directory at the same time."""
    retrieval = scenario.engine.retrieval
    index_dir = scenario.engine.store.index_dir or default_index_dir(scenario.db)
    store = CatalogStore.open(scenario.db)
    try:
        encoder = make_encoder(retrieval)
        if not index_is_current(store, index_dir, retrieval, encoder):
            open_index(store, index_dir, retrieval, encoder, progress=progress)
    finally:
        store.close()


def _scenario_dict(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "claim": scenario.claim, "db": scenario.db, "synthetic": scenario.synthetic,
            "catalog_seed": scenario.catalog_seed, "run": asdict(scenario.run), "world": dict(scenario.world),
            "click_model": dict(scenario.click_model), "engine": scenario.engine.to_dict()}
