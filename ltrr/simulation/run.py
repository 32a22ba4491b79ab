"""`simulate(scenario, out_dir)`: build or open the catalog, run the replay over every seed, write the reports.

    from ltrr.simulation.run import simulate
    from ltrr.simulation.scenario import Scenario
    summary = simulate(Scenario.from_toml("sim/demo.toml"), "sim/out/demo")

Outputs in out_dir: trace.jsonl.gz (one row per search), summary.json, summary.md, attribution.md,
regret.png and reward.png, scenario.json (the scenario as run).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..progress import StageFactory, no_progress
from ..store import CatalogStore
from .click_models import make_click_model
from .replay import Replay, TraceWriter
from .report import summarize, write_reports
from .scenario import Scenario
from .world import World, WorldConfig


def simulate(scenario: Scenario, out_dir: str | Path, *, progress: StageFactory = no_progress) -> dict[str, Any]:
    """Run `scenario`, write its outputs to `out_dir`, return the summary (summary.json's object)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if scenario.synthetic:
        ensure_synthetic_catalog(scenario, progress)
    click_model = make_click_model(**scenario.click_model)
    engine = Engine.open(scenario.db, config=scenario.engine, progress=progress, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world), progress=progress)
        trace = TraceWriter(out / "trace.jsonl.gz")
        try:
            replay = Replay(engine, world, click_model, scenario, trace=trace, progress=progress)
            results = [replay.run_seed(seed) for seed in range(scenario.run.seeds)]
        finally:
            trace.close()
    finally:
        engine.shutdown(keep_memory=False)
    summary = summarize(results, scenario.run.searches)
    summary["scenario"] = scenario.name
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    summary["n_trace_rows"] = trace.n_rows
    (out / "scenario.json").write_text(json.dumps(_scenario_dict(scenario), indent=1), encoding="utf-8")
    write_reports(out, summary, results, scenario=scenario.name, claim=scenario.claim,
                  moving_average=scenario.run.moving_average)
    return summary


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


def _scenario_dict(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "claim": scenario.claim, "db": scenario.db, "synthetic": scenario.synthetic,
            "catalog_seed": scenario.catalog_seed, "run": asdict(scenario.run), "world": dict(scenario.world),
            "click_model": dict(scenario.click_model), "engine": scenario.engine.to_dict()}
