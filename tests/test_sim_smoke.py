"""End-to-end replays: a short run of sim/demo.toml writes every output; identical seeds give identical traces."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ltrr.cli import main
from ltrr.config import EngineConfig
from ltrr.engine_index import index_is_current, make_encoder
from ltrr.simulation.bench import bench_simulate_parallel
from ltrr.simulation.replay import read_trace
from ltrr.simulation.run import ensure_indexes, ensure_synthetic_catalog, simulate
from ltrr.simulation.scenario import Scenario
from ltrr.store import CatalogStore

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("trace.jsonl.gz", "summary.json", "summary.md", "attribution.md", "regret.png", "reward.png",
           "scenario.json")


def test_demo_scenario_smoke_run_writes_every_output(tmp_path, capsys):
    """The real demo scenario (real encoder, hnswlib, VW, LightGBM-free default ranker) for 50 sessions."""
    scenario_file = tmp_path / "demo.toml"
    text = (ROOT / "sim" / "demo.toml").read_text(encoding="utf-8")
    scenario_file.write_text(text.replace('db = "sim/out/demo/catalog.db"', f'db = "{tmp_path / "catalog.db"}"'),
                             encoding="utf-8")
    out = tmp_path / "out"
    code = main(["simulate", str(scenario_file), "--out", str(out), "--seeds", "1", "--searches", "50", "--quiet",
                 "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == printed
    policies = summary["policies"]
    expected = {"oracle", "best_fixed", "static_union", "uniform", "greedy", "vw_squarecb", "vw_epsilon",
                *(f"single_{g}" for g in EngineConfig().retrieval.generators)}
    assert set(policies) == expected
    assert summary["n_searches"] == 50 and summary["seeds"] == [0]
    assert policies["oracle"]["cumulative_regret"]["mean"] == 0.0
    for entry in policies.values():
        assert set(entry["cumulative_regret"]) == {"mean", "ci95"}
        assert 0.0 <= entry["recall_ceiling"]["mean"] <= 1.0 and 0.0 <= entry["ctr"]["mean"] <= 1.0
        assert entry["by_class"] and entry["attribution"]
    rows = read_trace(out / "trace.jsonl.gz")
    assert {row["policy"] for row in rows} == expected
    assert sum(1 for row in rows if row["policy"] == "oracle" and row["attempt"] == 0) == 50
    assert all(0.0 < row["propensity"] <= 1.0 for row in rows)
    assert (out / "regret.png").read_bytes()[:4] == b"\x89PNG"


SMALL_WORLD = {"catalog": {"db": "PLACEHOLDER"},
               "run": {"seeds": 2, "searches": 12, "policies": ["oracle", "static_union", "vw_squarecb", "greedy"],
                       "best_fixed_pilot": 0, "log_window": 100},
               "world": {"typo_rate": 0.3},
               "click_model": {"kind": "pbm", "eta": 1.0},
               "engine": {"retrieval": {"encoder": "hashing", "dense": {"exact": True}},
                          "catalog": {"synthetic": {"n_artists": 25, "n_playlists": 20, "n_users": 10}}}}


def _small_scenario(db: str) -> Scenario:
    data = json.loads(json.dumps(SMALL_WORLD))
    data["catalog"]["db"] = db
    return replace(Scenario.from_dict(data, name="small"), synthetic=True)


def _comparable(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "latency_ms"} for row in rows]


@pytest.mark.parametrize("policies", [("oracle", "static_union", "vw_squarecb", "greedy")])
def test_identical_seeds_give_identical_traces(tmp_path, policies):
    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    first = simulate(scenario, tmp_path / "a")
    second = simulate(scenario, tmp_path / "b")
    trace_a, trace_b = read_trace(tmp_path / "a" / "trace.jsonl.gz"), read_trace(tmp_path / "b" / "trace.jsonl.gz")
    assert len(trace_a) >= 2 * 12 * len(policies)
    assert _comparable(trace_a) == _comparable(trace_b)
    for name in policies:
        assert first["policies"][name]["cumulative_regret"] == second["policies"][name]["cumulative_regret"]
    # every policy saw the same sessions: the first query of each (seed, step) is the same text for all
    first_queries = {}
    for row in trace_a:
        if row["attempt"] == 0:
            first_queries.setdefault((row["seed"], row["step"]), set()).add(row["query"])
    assert all(len(texts) == 1 for texts in first_queries.values())
    # and different seeds are different streams
    by_seed = [[row["query"] for row in trace_a if row["seed"] == s and row["policy"] == "oracle"] for s in (0, 1)]
    assert by_seed[0] != by_seed[1]


def test_a_policy_gives_the_same_trace_whichever_policies_run_beside_it(tmp_path):
    """Common random numbers across policies: the sampling exploration generator is shared by every policy's
    engine, and uniform calls it on its own schedule; greedy's searches must not notice. Beside another policy
    greedy's engine also shares feature rows (alone it does not), under a LambdaMART ranker retrained every
    5 clicks, so the shared columns decide the order."""
    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    run = replace(scenario.run, seeds=1, searches=40, retrain_every=5)
    alone = replace(scenario, run=replace(run, policies=("greedy",)))
    beside = replace(scenario, run=replace(run, policies=("uniform", "greedy")))
    simulate(alone, tmp_path / "alone")
    simulate(beside, tmp_path / "beside")
    rows = {name: [row for row in read_trace(tmp_path / name / "trace.jsonl.gz") if row["policy"] == "greedy"]
            for name in ("alone", "beside")}
    assert len(rows["alone"]) >= 40
    assert any("exploration" in row["plan"] for row in rows["alone"])
    assert _comparable(rows["alone"]) == _comparable(rows["beside"])


def test_seeds_in_parallel_processes_give_the_one_process_results(tmp_path):
    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    alone = simulate(scenario, tmp_path / "one")
    parallel = simulate(scenario, tmp_path / "two", jobs=2)
    trace_one, trace_two = (read_trace(tmp_path / name / "trace.jsonl.gz") for name in ("one", "two"))
    assert _comparable(trace_one) == _comparable(trace_two) and [row["seed"] for row in trace_two][-1] == 1
    assert parallel["n_trace_rows"] == alone["n_trace_rows"] == len(trace_two)
    for name, entry in alone["policies"].items():
        assert parallel["policies"][name]["cumulative_regret"] == entry["cumulative_regret"]
    assert not any(path.name.startswith("trace-parts-") for path in (tmp_path / "two").iterdir())
    with pytest.raises(ValueError, match="jobs must be an integer >= 1, got 0"):
        simulate(scenario, tmp_path / "three", jobs=0)


def test_replay_retrains_each_policy_ranker_in_memory(tmp_path):
    from ltrr.engine import Engine
    from ltrr.simulation.click_models import make_click_model
    from ltrr.simulation.replay import Replay
    from ltrr.simulation.run import ensure_synthetic_catalog
    from ltrr.simulation.world import World, WorldConfig

    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    scenario = replace(scenario, run=replace(scenario.run, retrain_every=3, searches=30,
                                             policies=("static_union", "oracle")))
    ensure_synthetic_catalog(scenario)
    engine = Engine.open(scenario.db, config=scenario.engine, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world))
        replay = Replay(engine, world, make_click_model(**scenario.click_model), scenario)
        result = replay.run_seed(0)
    finally:
        engine.shutdown(keep_memory=False)
    union = result.runs["static_union"]
    rows = union.engine.feature_rows
    assert rows is not None and rows is result.runs["oracle"].engine.feature_rows  # the forks share feature rows
    assert engine.feature_rows is None
    clicks = sum(t.clicked for t in union.tallies.values())
    assert clicks >= 3
    assert union.engine.scorer.version >= 1  # LambdaMART replaced the default scorer during the run
    assert engine.scorer.version == 0  # the base engine learned nothing
    assert not (engine.index_dir / "state" / "ranker").exists()  # forks retrain in memory, never saving


def test_a_single_generator_baseline_pools_its_generator_alone(tmp_path):
    """Even where the engine pools the probe's lists into every plan (`[policy] pool_probe`)."""
    from ltrr.engine import Engine
    from ltrr.simulation.click_models import make_click_model
    from ltrr.simulation.replay import Replay
    from ltrr.simulation.run import ensure_synthetic_catalog
    from ltrr.simulation.world import World, WorldConfig

    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    every_class = replace(scenario.engine.policy, pool_probe=("spearfishing", "topical", "ambiguous"))
    scenario = replace(scenario, run=replace(scenario.run, searches=25, policies=("single_dense", "greedy")),
                       engine=replace(scenario.engine, policy=every_class))
    ensure_synthetic_catalog(scenario)
    engine = Engine.open(scenario.db, config=scenario.engine, restore_state=False)
    try:
        world = World.build(engine.store, WorldConfig.from_dict(scenario.world))
        result = Replay(engine, world, make_click_model(**scenario.click_model), scenario).run_seed(0)
    finally:
        engine.shutdown(keep_memory=False)
    single, greedy = result.runs["single_dense"], result.runs["greedy"]
    found = {run.name: set().union(*(t.retrieved_by for t in run.tallies.values())) for run in (single, greedy)}
    assert found["single_dense"] <= {"dense"} and found["greedy"] - {"dense"}  # the probe's lists pooled
    assert not single.engine.config.policy.pool_probe and greedy.engine.config.policy.pool_probe


def test_parallel_replay_benchmark_adds_up_its_processes(tmp_path):
    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    result = bench_simulate_parallel(scenario, n_sessions=6, policies=("vw_squarecb",), jobs=2)
    processes = result["per_process"]
    assert [p["seed"] for p in processes] == [0, 1] and result["jobs"] == 2
    assert result["n_searches"] == sum(p["n_searches"] for p in processes) >= 12
    span = max(p["run_ended_at"] for p in processes) - min(p["run_started_at"] for p in processes)
    assert result["searches_per_s"] == pytest.approx(result["n_searches"] / span)
    assert result["rss_growth_mb"] == max(p["rss_growth_mb"] for p in processes)
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        bench_simulate_parallel(scenario, n_sessions=6, jobs=0)


def test_indexes_are_built_once_before_worker_processes_open_the_catalog(tmp_path):
    scenario = _small_scenario(str(tmp_path / "catalog.db"))
    ensure_synthetic_catalog(scenario)
    store = CatalogStore.open(scenario.db)
    retrieval, index_dir = scenario.engine.retrieval, tmp_path / "catalog.db.ltrr"
    try:
        assert not index_is_current(store, index_dir, retrieval, make_encoder(retrieval))
        ensure_indexes(scenario)
        assert index_is_current(store, index_dir, retrieval, make_encoder(retrieval))
        built = sorted(path.name for path in index_dir.iterdir())
        ensure_indexes(scenario)  # current: nothing rebuilt
        assert sorted(path.name for path in index_dir.iterdir()) == built
    finally:
        store.close()


def _gone(pid: int) -> bool:
    """Whether process `pid` has exited (reaped, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_worker_ends_itself_when_its_parent_is_killed(tmp_path):
    ready = tmp_path / "worker.pid"
    worker = ("import os, sys, time; from ltrr.simulation.run import exit_with_parent; "
              "exit_with_parent(os.getppid(), poll_s=0.05); "
              f"open({str(ready)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys, time; "
                               f"subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)"])
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(ready.read_text())
        assert not _gone(pid)  # watching, alive while its parent is
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid)  # without the watch it would sleep on for a minute
    finally:
        parent.kill()
