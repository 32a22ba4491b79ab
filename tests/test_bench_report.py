"""BENCHMARKS.md rendering (`ltrr.bench_report`, scripts/bench_all.py) from fixture JSON: sections, numbers,
commands, not-run and failed benchmarks, goal checks. No benchmark script runs here; the subprocess plumbing is
checked with a stub interpreter.

The fixtures are trimmed from the scripts' real `--json` output on the synthetic demo catalog (hashing encoder).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from ltrr.bench_report import (
    BENCHMARKS,
    BY_NAME,
    SINGLE_GENERATORS,
    BenchOptions,
    GoalResult,
    Outcome,
    RunRecord,
    command,
    eval_goals,
    load_outcome,
    render,
    render_section,
    run_benchmark,
)

ROOT = Path(__file__).resolve().parents[1]
MACHINE = {"cores": 2, "memory_gib": 23.5, "python": "3.11.7", "commit": "122552c"}


def timing(median: float, p95: float, n: int = 3) -> dict[str, float]:
    return {"n": n, "median_s": median, "p95_s": p95, "min_s": median, "max_s": p95}


def latency(p50: float, p95: float, p99: float | None = None) -> dict[str, float]:
    return {"n": 50, "p50_ms": p50, "p95_ms": p95, **({"p99_ms": p99, "mean_ms": p50} if p99 is not None else {})}


INGEST = {"machine": MACHINE, "db": "sqlite", "peak_rss_mb": 159.2,
          "counts": {"tracks": 201730, "artists": 42743, "playlists": 6014, "users": 1892},
          "matches": {"mpd": {}, "genres": {"artists": {"matched": 14, "total": 299, "rate": 0.0468}}},
          "stages": {"mpd": {"ingest": timing(61.25, 64.5), "rerun_unchanged": timing(20.0, 21.0)},
                     "genres": {"ingest": timing(3.5, 3.75), "rerun_unchanged": timing(2.0, 2.5)},
                     "billboard": {"ingest": timing(4.0, 4.25), "rerun_unchanged": timing(3.0, 3.5)},
                     "lastfm": {"ingest": timing(30.0, 31.5), "rerun_unchanged": timing(25.0, 26.0)},
                     "total": {"ingest": timing(98.75, 103.5), "rerun_unchanged": timing(50.0, 52.0)}}}

GENERATORS = {
    "load_s": 12.5, "n_entities": 250487,
    "build_s": {"lexicon": 4.0, "bm25": 21.5, "dense": 812.0, "structured": 9.0, "memory": 6.0, "exploration": 1.5},
    "generators": {name: {"generate_k100": latency(p50, p95), "preview": latency(p50 / 4, p95 / 4)}
                   for name, p50, p95 in (("bm25", 1.25, 4.5), ("dense", 2.0, 3.0), ("structured", 0.5, 1.5),
                                          ("memory", 0.25, 0.75), ("exploration", 0.125, 0.5))},
    "parse": latency(0.0647, 0.5955),
    "dense": {"encode_one": latency(6.5, 9.25), "ann_search_k100": latency(0.4, 0.9), "ann_recall_at_100": 0.9888},
    "bm25_synthetic": {"n_docs": 1000000, "build_s": 95.0, "generate_k100": latency(7.5, 21.25)},
    "rss_mb": 3510.0, "bm25_p95_ms": 4.5, "ann_recall_at_100": 0.9888, "machine": MACHINE}


def search_run(p50: float, p95: float, p99: float, qps: float, candidates: float) -> dict[str, Any]:
    stages = {"understand": latency(0.34, 4.92, 5.1), "generate": latency(0.73, 4.55, 6.1),
              "total": latency(p50 - 1, p95 - 1, p99 - 1)}
    return {"wall": latency(p50, p95, p99), "stages": stages, "mean_candidates": candidates, "qps": qps}


SEARCH = {"warm_up": {"n_searches": 2000, "ctr": 0.7333, "seconds": 80.0,
                      "ranker": {"version": 1, "n_searches": 1400, "validation_ndcg@10": 0.9539}},
          "n_entities": 201730, "policy": "vw_squarecb", "ranker_version": 1,
          "cold": search_run(8.5, 14.25, 26.35, 112.0, 47.54), "head": search_run(3.75, 5.5, 7.0, 250.0, 51.8),
          "equal_split": search_run(22.66, 33.84, 94.97, 37.85, 140.0), "peak_rss_mb": 2217.0, "machine": MACHINE}

SIMULATE = {"db": "ltrr_data/mpd.db", "policies": ["vw_squarecb"], "n_sessions": 5000, "n_searches": 5500,
            "seconds": 16.5, "searches_per_s": 333.3, "searches_per_s_min": 301.25,
            "searches_per_s_max": 350.0, "repeats": 3, "sessions_per_s": 303.0, "rss_at_10pct_mb": 2206.4,
            "rss_end_mb": 2357.6, "rss_growth_mb": 151.2, "engine_open_s": 40.1, "world_build_s": 23.5,
            "peak_rss_mb": 2400.5, "machine": MACHINE}


def entry(mean: float, low: float, high: float) -> dict[str, Any]:
    return {"mean": mean, "ci95": [low, high]}


def eval_metrics(learned_head: float = 0.40, learned_tail: tuple[float, float, float] = (0.10, 0.06, 0.14),
                 spearfish: float = 0.95) -> dict[str, Any]:
    """Topical head: memory 0.33 is the best single generator, rrf_union 0.30; tail: bm25 0.12, rrf_union 0.09."""
    head = {"bm25": 0.24, "dense": 0.05, "structured": 0.01, "memory": 0.33, "rrf_union": 0.30, "engine_cold": 0.29}
    tail = {"bm25": 0.12, "dense": 0.01, "structured": 0.08, "memory": 0.01, "rrf_union": 0.09, "engine_cold": 0.07}
    by_class = {"head": {s: entry(m, m - 0.1, m + 0.1) for s, m in head.items()},
                "tail": {s: entry(m, m - 0.05, m + 0.05) for s, m in tail.items()}}
    by_class["head"]["engine_learned"] = entry(learned_head, learned_head - 0.1, learned_head + 0.1)
    by_class["tail"]["engine_learned"] = entry(*learned_tail)
    by_class["all"] = {s: entry(0.2, 0.1, 0.3) for s in by_class["head"]}
    spear = {s: entry(0.8, 0.7, 0.9) for s in by_class["head"]}
    spear["engine_learned"] = entry(spearfish, spearfish - 0.03, min(1.0, spearfish + 0.03))
    return {"ndcg@10": by_class, "recall@100": {"all": {s: entry(0.5, 0.4, 0.6) for s in by_class["head"]}},
            "mrr": {"all": {s: entry(0.25, 0.2, 0.3) for s in by_class["head"]}},
            "spearfish_recall@10": {"all": spear}, "spearfish_mrr": {"all": spear}}


EVAL_ABOUT = {"n_queries": {"head": 112, "tail": 188, "all": 300, "spearfish": 300},
              "n_playlists": {"train": 4811, "test": 1203},
              "warm_up": {"sessions": 1500, "searches": 1650, "clicks": 1700, "ranker": {"version": 1}},
              "timings_s": {"build": 60.0, "warm_up": 300.0, "evaluate": 90.0}, "frozen": True, "machine": MACHINE,
              "spearfish_ceiling": {"all": 0.93, "one_word": 0.71, "multi_word": None},
              "spearfish_misses": {"bm25": {"queries": 300.0, "misses": 60.0, "beyond_bayes_top_10": 20.5,
                                            "not_retrieved": 30.0, "retrieved_below_10": 9.5}}}
FIXTURES = {"ingest": INGEST, "generators": GENERATORS, "search": SEARCH, "simulate": SIMULATE,
            "eval_real": eval_metrics()}
OPTIONS = BenchOptions(db="ltrr_data/mpd.db", data="../shared/data")


def record(name: str, returncode: int = 0, quick: bool = False) -> dict[str, Any]:
    argv = command(BY_NAME[name], BenchOptions(db=OPTIONS.db, quick=quick))
    return {"name": name, "command": argv, "returncode": returncode, "seconds": 812.4, "quick": quick,
            "finished_at": "2026-01-02T03:04:05+00:00", "machine": {**MACHINE, "dirty": False}}


def write_out(out: Path, fixtures: dict[str, dict], *, with_records: bool = True) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in fixtures.items():
        (out / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
        lines = ["a warning", json.dumps({"level": "info"}), json.dumps(EVAL_ABOUT), ""]  # the last JSON line counts
        err = "\n".join(lines) if name == "eval_real" else ""
        (out / f"{name}.err").write_text(err, encoding="utf-8")
        if with_records:
            (out / f"{name}.run.json").write_text(json.dumps(record(name)), encoding="utf-8")
    return out


def section(markdown: str, name: str) -> str:
    """The text of one '## name: ...' section."""
    start = markdown.index(f"## {name}: ")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:] if end < 0 else markdown[start:end]


def rendered(out: Path) -> str:
    outcomes = [load_outcome(bench, out, OPTIONS) for bench in BENCHMARKS]
    return render(outcomes, invocation="python scripts/bench_all.py --render-only", generated_at="2026-01-02")


def goals_of(name: str, data: dict[str, Any]) -> dict[str, bool | None]:
    outcome = Outcome(BY_NAME[name], "ok", command(BY_NAME[name], OPTIONS), data=data)
    return {g.goal: g.met for g in render_section(outcome)[1]}


# ---- commands ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, quick, expected", [
    ("ingest", False, "python scripts/bench_ingest.py --data ../shared/data --json"),
    ("ingest", True, "python scripts/bench_ingest.py --data ../shared/data --json"),
    ("generators", False, "python scripts/bench_generators.py --db ltrr_data/mpd.db --json --quiet"),
    ("generators", True, "python scripts/bench_generators.py --db ltrr_data/mpd.db --queries 300 "
                         "--synthetic-docs 100000 --json --quiet"),
    ("search", False, "python scripts/bench_search.py --db ltrr_data/mpd.db --warm-up 2000 --json --quiet"),
    ("search", True, "python scripts/bench_search.py --db ltrr_data/mpd.db --cold 300 --warm-up 300 --json --quiet"),
    ("simulate", False, "python scripts/bench_simulate.py --db ltrr_data/mpd.db --sessions 5000 --jobs 2 "
                        "--repeat 3 --json --quiet"),
    ("simulate", True, "python scripts/bench_simulate.py --db ltrr_data/mpd.db --sessions 1000 --jobs 2 "
                       "--json --quiet"),
    ("eval_real", False, "python scripts/eval_real.py --db ltrr_data/mpd.db --max-queries 300 --warm-up 1500 "
                         "--spearfish 300 --json --quiet"),
    ("eval_real", True, "python scripts/eval_real.py --db ltrr_data/mpd.db --max-queries 150 --warm-up 500 "
                        "--spearfish 150 --json --quiet"),
])
def test_commands_at_full_and_quick_sizes(name, quick, expected):
    options = BenchOptions(db="ltrr_data/mpd.db", data="../shared/data", quick=quick)
    assert " ".join(command(BY_NAME[name], options)) == expected


def test_every_script_exists_and_takes_the_flags_it_is_given():
    for bench in BENCHMARKS:
        source = (ROOT / bench.script).read_text(encoding="utf-8")
        flags = [arg for arg in command(bench, BenchOptions(db="x", quick=True)) + list(bench.full)
                 if arg.startswith("--")]
        assert all(f'"{flag}"' in source for flag in flags), bench.name


def test_single_generators_match_the_evaluation():
    from ltrr.evaluation.real_eval import SINGLE_SYSTEMS

    assert SINGLE_GENERATORS == SINGLE_SYSTEMS


# ---- rendering -------------------------------------------------------------------------------------------------

def test_sections_show_the_numbers_commands_and_machine(tmp_path):
    markdown = rendered(write_out(tmp_path / "out", FIXTURES))
    assert [line.split(":")[0] for line in markdown.splitlines() if line.startswith("## ") and ":" in line] == [
        f"## {bench.name}" for bench in BENCHMARKS]
    for bench in BENCHMARKS:
        text = section(markdown, bench.name)
        assert "```\n" + " ".join(command(bench, OPTIONS)) + "\n```" in text
        assert "Commit `122552c`; 2 cores, 23.5 GiB memory, Python 3.11.7. Ran 2026-01-02T03:04:05+00:00 in 812 s " \
               "(full sizes)." in text
    ingest = section(markdown, "ingest")
    assert "| total first run, median | 98.75 s |" in ingest and "| total first run, p95 | 103.50 s |" in ingest
    assert "| mpd | 61.250 | 64.500 | 20.000 | 21.000 |" in ingest and "| peak memory | 159 MiB |" in ingest
    assert "tracks 201,730; artists 42,743; playlists 6,014" in ingest
    generators = section(markdown, "generators")
    assert "| bm25 | 21.500 | 1.250 | 4.500 | 0.312 | 1.125 |" in generators
    assert "| dense: ANN recall@100 vs exact | 0.9888 |" in generators
    assert "| BM25 synthetic index: documents | 1,000,000 |" in generators
    assert "| BM25 synthetic index: k=100 p95 | 21.25 ms |" in generators
    search = section(markdown, "search")
    assert "| cold p50 | 8.50 ms | <= 10 ms | met |" in search and "| cold p99 | 26.35 ms |  |  |" in search
    assert "| head p50 | 3.75 ms | <= 4 ms | met |" in search
    assert "| cold QPS (one thread) | 112 | >= 100 | met |" in search
    assert "| equal split p50 | 22.66 ms |" in search and "| cold mean candidates | 48 |" in search
    assert "| understand | 0.340 | 4.920 | 0.340 | 4.920 |" in search and "| peak memory | 2,217 MiB |" in search
    simulate = section(markdown, "simulate")
    assert "| searches per second | 333.3 | >= 300 | met |" in simulate
    assert "| slowest run | 301.2 |" in simulate and "| fastest run | 350.0 |" in simulate
    assert "| runs | 3 |" in simulate
    assert "| RSS growth (10% -> end) | 151.2 MiB | < 200 MB | met |" in simulate
    assert "| world build | 23.5 s |" in simulate
    real = section(markdown, "eval_real")
    assert "| system | nDCG@10 head (n=112) | nDCG@10 tail (n=188) | nDCG@10 all (n=300) |" in real
    assert "| engine_learned | 0.400 [0.300, 0.500] | 0.100 [0.060, 0.140] | 0.200 [0.100, 0.300] | " in real
    assert "spearfish recall@10 (n=300)" in real and "Playlists: 4,811 train, 1,203 test." in real
    assert "`ltrr/evaluation/spearfish_ceiling.py`): all 0.930, one_word 0.710, multi_word n/a." in real
    assert "| system | misses | beyond_bayes_top_10 | not_retrieved | retrieved_below_10 |" in real
    assert "| bm25 | 60.0 | 20.5 | 30.0 | 9.5 |" in real


def test_summary_lists_every_goal_once(tmp_path):
    markdown = rendered(write_out(tmp_path / "out", FIXTURES))
    summary = markdown[markdown.index("## Goals"):markdown.index("## ingest")]
    assert summary.count("| search |") == 4 and summary.count("| simulate |") == 2
    assert summary.count("| eval_real |") == 5 and "not met" not in summary


def test_missing_json_renders_a_not_run_note(tmp_path):
    fixtures = {k: v for k, v in FIXTURES.items() if k != "search"}
    markdown = rendered(write_out(tmp_path / "out", fixtures))
    search = section(markdown, "search")
    assert "_Not run_" in search and "search.json" in search and "cold p50" not in search
    assert "python scripts/bench_search.py --db ltrr_data/mpd.db --warm-up 2000 --json --quiet" in search
    assert "| search |" not in markdown  # no goal checked without numbers


def test_a_benchmark_not_run_this_time_keeps_its_earlier_section_and_goals(tmp_path):
    earlier = rendered(write_out(tmp_path / "all", FIXTURES))
    slow = json.loads(json.dumps(SEARCH))
    slow["cold"]["wall"]["p95_ms"] = 99.0
    search_only = {"search": slow}
    outcomes = [load_outcome(bench, write_out(tmp_path / "search", search_only), OPTIONS) for bench in BENCHMARKS]
    markdown = render(outcomes, invocation="python scripts/bench_all.py --only search", generated_at="2026-02-03",
                      previous=earlier)
    for name in ("ingest", "generators", "simulate", "eval_real"):
        assert section(markdown, name).rstrip("\n") == section(earlier, name).rstrip("\n")
    summary = markdown[markdown.index("## Goals"):markdown.index("## ingest")]
    assert summary.count("| simulate |") == 2 and summary.count("| eval_real |") == 5
    assert "| search | cold p95 <= 15 ms | 99.00 ms | **not met** |" in summary  # the new run, not the kept one
    assert "99.00 ms" in section(markdown, "search") and "_Not run_" not in markdown
    # a benchmark without a section in the earlier file still gets the note
    assert "_Not run_" in section(render(outcomes, invocation="x", generated_at="y", previous="# Benchmarks\n"),
                                  "simulate")


def test_failed_run_renders_return_code_and_stderr_tail(tmp_path):
    out = write_out(tmp_path / "out", FIXTURES)
    (out / "simulate.run.json").write_text(json.dumps(record("simulate", returncode=3)), encoding="utf-8")
    (out / "simulate.json").write_text("", encoding="utf-8")
    (out / "simulate.err").write_text("\n".join(f"line {i}" for i in range(30)) + "\nKeyError: 'x'\n",
                                      encoding="utf-8")
    simulate = section(rendered(out), "simulate")
    assert "**Failed** (return code 3)" in simulate and "KeyError: 'x'" in simulate
    assert "line 29" in simulate and "line 11" in simulate and "line 10\n" not in simulate  # the last 20 lines
    assert "searches per second" not in simulate


def test_unreadable_json_is_a_failure(tmp_path):
    out = write_out(tmp_path / "out", FIXTURES)
    (out / "generators.json").write_text("Traceback (most recent call last):\n", encoding="utf-8")
    outcome = load_outcome(BY_NAME["generators"], out, OPTIONS)
    assert outcome.status == "failed" and "unreadable JSON" in outcome.detail


def test_json_without_a_run_record_uses_the_options_command(tmp_path):
    out = write_out(tmp_path / "out", {"search": SEARCH}, with_records=False)
    outcome = load_outcome(BY_NAME["search"], out, BenchOptions(db="pg://x", quick=True))
    assert outcome.status == "ok" and outcome.record is None
    assert outcome.command == ["python", "scripts/bench_search.py", "--db", "pg://x", "--cold", "300", "--warm-up",
                               "300", "--json", "--quiet"]
    assert "No run record" in render_section(outcome)[0]


def test_missing_keys_render_as_not_available():
    outcome = Outcome(BY_NAME["search"], "ok", ["python"], data={"cold": {"wall": {"p50_ms": 9.0}}})
    text, goals = render_section(outcome)
    assert "| cold p95 | n/a | <= 15 ms | n/a |" in text
    assert {g.goal: g.met for g in goals}["cold p50 <= 10 ms"] is True


# ---- goals -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, value, goal, met", [
    (("cold", "wall", "p50_ms"), 10.0, "cold p50 <= 10 ms", True),
    (("cold", "wall", "p50_ms"), 10.01, "cold p50 <= 10 ms", False),
    (("cold", "wall", "p95_ms"), 15.0, "cold p95 <= 15 ms", True),
    (("cold", "wall", "p95_ms"), 15.5, "cold p95 <= 15 ms", False),
    (("head", "wall", "p50_ms"), 4.2, "head p50 <= 4 ms", False),
    (("cold", "qps"), 100.0, "cold QPS (one thread) >= 100", True),
    (("cold", "qps"), 99.9, "cold QPS (one thread) >= 100", False),
])
def test_search_goals(path, value, goal, met):
    data = copy.deepcopy(SEARCH)
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    target[last] = value
    assert goals_of("search", data)[goal] is met
    assert all(goals_of("search", SEARCH).values())  # the fixture itself meets every goal


@pytest.mark.parametrize("key, value, goal, met", [
    ("searches_per_s", 300.0, "searches per second >= 300", True),
    ("searches_per_s", 299.9, "searches per second >= 300", False),
    ("rss_growth_mb", 199.9, "RSS growth (10% -> end) < 200 MB", True),
    ("rss_growth_mb", 200.0, "RSS growth (10% -> end) < 200 MB", False),
])
def test_simulate_goals(key, value, goal, met):
    assert goals_of("simulate", {**SIMULATE, key: value})[goal] is met


HEAD_BEST = "head nDCG@10: engine_learned beats best single generator (memory) by >= 0.03"
HEAD_RRF = "head nDCG@10: engine_learned beats rrf_union by >= 0.03"
TAIL_BEST = "tail nDCG@10: engine_learned loses to best single generator (bm25) by no more than its interval"
TAIL_RRF = "tail nDCG@10: engine_learned loses to rrf_union by no more than its interval"
SPEARFISH = "spearfish recall@10 (engine_learned) >= 0.92"


@pytest.mark.parametrize("kwargs, expected", [
    ({}, {HEAD_BEST: True, HEAD_RRF: True, TAIL_BEST: True, TAIL_RRF: True, SPEARFISH: True}),
    ({"learned_head": 0.36}, {HEAD_BEST: True, HEAD_RRF: True}),        # 0.36 - 0.33 = 0.03 exactly
    ({"learned_head": 0.359}, {HEAD_BEST: False, HEAD_RRF: True}),      # 0.029 over memory, 0.059 over rrf
    ({"learned_head": 0.32}, {HEAD_BEST: False, HEAD_RRF: False}),
    ({"learned_tail": (0.05, 0.01, 0.12)}, {TAIL_BEST: True, TAIL_RRF: True}),     # bm25 0.12 <= upper 0.12
    ({"learned_tail": (0.05, 0.01, 0.11)}, {TAIL_BEST: False, TAIL_RRF: True}),    # bm25 0.12 > 0.11 >= rrf 0.09
    ({"learned_tail": (0.03, 0.0, 0.08)}, {TAIL_BEST: False, TAIL_RRF: False}),
    ({"spearfish": 0.92}, {SPEARFISH: True}),
    ({"spearfish": 0.9199}, {SPEARFISH: False}),
])
def test_eval_real_goals(kwargs, expected):
    goals = {g.goal: g.met for g in eval_goals(eval_metrics(**kwargs))}
    assert len(goals) == 5
    assert {goal: goals[goal] for goal in expected} == expected


def test_eval_goals_value_shows_the_margin():
    goals = {g.goal: g for g in eval_goals(eval_metrics(learned_head=0.359))}
    assert goals[HEAD_BEST].value == "0.359 vs 0.330 (+0.029)"


def test_eval_goals_without_the_learned_engine_are_not_available():
    metrics = eval_metrics()
    for by_class in metrics.values():
        for by_system in by_class.values():
            by_system.pop("engine_learned", None)  # the spearfish metrics share one dict
    assert all(g.met is None for g in eval_goals(metrics))


def test_failed_benchmark_is_a_goal_not_met():
    outcome = Outcome(BY_NAME["search"], "failed", ["python"], detail="return code 2", err_tail=("boom",))
    assert render_section(outcome)[1] == [GoalResult("search", "run succeeds", "return code 2", False)]


# ---- running (stub interpreter) and the script ---------------------------------------------------------------

def stub_python(path: Path, stdout: str, code: int) -> str:
    """An executable that ignores its arguments, prints `stdout`, a line on stderr, and exits with `code`."""
    path.write_text(f"#!/bin/sh\necho '{stdout}'\necho 'progress' >&2\necho \"$@\" >&2\nexit {code}\n",
                    encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_run_benchmark_writes_stdout_stderr_and_a_record(tmp_path):
    python = stub_python(tmp_path / "py", json.dumps({"searches_per_s": 400.0}), 0)
    result = run_benchmark(BY_NAME["simulate"], OPTIONS, tmp_path / "out", python=python)
    assert result.returncode == 0 and result.command[:2] == ["python", "scripts/bench_simulate.py"]
    assert json.loads((tmp_path / "out" / "simulate.json").read_text()) == {"searches_per_s": 400.0}
    err = (tmp_path / "out" / "simulate.err").read_text()
    assert "scripts/bench_simulate.py --db ltrr_data/mpd.db --sessions 5000 --jobs 2" in err
    saved = RunRecord.from_dict(json.loads((tmp_path / "out" / "simulate.run.json").read_text()))
    assert saved == result and set(saved.machine) >= {"cores", "memory_gib", "commit", "dirty"}
    assert load_outcome(BY_NAME["simulate"], tmp_path / "out", OPTIONS).status == "ok"


def test_run_benchmark_failure_is_recorded(tmp_path):
    python = stub_python(tmp_path / "py", "", 3)
    assert run_benchmark(BY_NAME["search"], OPTIONS, tmp_path / "out", python=python).returncode == 3
    outcome = load_outcome(BY_NAME["search"], tmp_path / "out", OPTIONS)
    assert outcome.status == "failed" and outcome.detail == "return code 3" and "progress" in outcome.err_tail


def load_script():
    spec = importlib.util.spec_from_file_location("bench_all_script", ROOT / "scripts" / "bench_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_render_only_end_to_end(tmp_path):
    out = write_out(tmp_path / "out", {k: v for k, v in FIXTURES.items() if k != "ingest"})
    output = tmp_path / "BENCHMARKS.md"
    code = load_script().main(["--render-only", "--out", str(out), "--output", str(output)])
    markdown = output.read_text(encoding="utf-8")
    assert code == 0 and markdown.startswith("# Benchmarks\n")
    assert "_Not run_" in section(markdown, "ingest") and "| cold p50 | 8.50 ms |" in markdown
    assert "python scripts/bench_all.py --render-only --out" in markdown

    (out / "eval_real.run.json").write_text(json.dumps(record("eval_real", returncode=1)), encoding="utf-8")
    assert load_script().main(["--render-only", "--out", str(out), "--output", str(output)]) == 1
    assert "**Failed** (return code 1)" in section(output.read_text(encoding="utf-8"), "eval_real")


@pytest.mark.parametrize("argv, message", [
    (["--only", "search,nope"], "unknown benchmark"),
    (["--only", "search"], "--db .* is required for search"),
])
def test_script_rejects_bad_arguments(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script().main([*argv, "--out", str(tmp_path / "out"), "--output", str(tmp_path / "B.md")])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "B.md").exists()


def test_relative_paths_are_given_from_the_repository_root(tmp_path, monkeypatch):
    script = load_script()
    monkeypatch.chdir(ROOT / "scripts")
    assert script.from_root("../ltrr_data/mpd.db") == os.path.join("ltrr_data", "mpd.db")
    assert script.from_root("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert script.from_root(str(tmp_path)) == str(tmp_path)


def test_a_rewritten_report_does_not_mark_the_next_benchmark_dirty(tmp_path):
    import subprocess

    from ltrr.bench_runs import repo_machine

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "BENCHMARKS.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    assert repo_machine(tmp_path)["dirty"] is False
    (tmp_path / "BENCHMARKS.md").write_text("rendered by the benchmark before\n")
    assert repo_machine(tmp_path)["dirty"] is False and len(repo_machine(tmp_path)["commit"]) >= 7
    (tmp_path / "code.py").write_text("x = 2\n")
    assert repo_machine(tmp_path)["dirty"] is True
