"""Regenerate BENCHMARKS.md: run the benchmark scripts with `--json`, keep their output, render one section each.

    python scripts/bench_all.py --db ltrr_data/mpd.db [--quick] [--only search,simulate]
    python scripts/bench_all.py --render-only

For each benchmark NAME (ingest, generators, search, simulate, eval_real) the output folder holds NAME.json (the
script's stdout), NAME.err (its stderr; eval_real's last line is a JSON object of query counts and timings) and
NAME.run.json (what `run_benchmark` ran: command, return code, seconds, sizes, machine). Scripts run from the
repository root, so their commands are given relative to it. A NAME.json without NAME.run.json renders with the
command the current options would run. Sections read the scripts' JSON keys (`ltrr.evaluation.generator_bench`,
`search_bench`, `real_eval`, `ltrr.simulation.bench`, scripts/bench_ingest.py); a missing key renders as "n/a".
"""

from __future__ import annotations

import json
import operator
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .bench_runs import (  # noqa: F401  (DEFAULT_DATA, ROOT, RunRecord: re-exported for scripts/bench_all.py)
    BENCHMARKS,
    BY_NAME,
    DEFAULT_DATA,
    EPSILON,
    HEAD_MARGIN,
    ROOT,
    SINGLE_GENERATORS,
    BenchOptions,
    Outcome,
    RunRecord,
    command,
    load_outcome,
    run_benchmark,
)
from .evaluation.real_queries import MISSES_NOTE, count_key, misses_columns

SYMBOLS = MappingProxyType({operator.le: "<=", operator.lt: "<", operator.ge: ">=", operator.gt: ">"})
STATUS = MappingProxyType({True: "met", False: "**not met**", None: "n/a"})


@dataclass(frozen=True)
class Goal:
    """A threshold on one measure, e.g. Goal(operator.le, 10, "ms") for "<= 10 ms"."""

    compare: Callable[[Any, Any], bool]
    threshold: float
    unit: str = ""

    def text(self) -> str:
        return f"{SYMBOLS[self.compare]} {self.threshold:g}" + (f" {self.unit}" if self.unit else "")

    def check(self, value: object) -> bool | None:
        """True or False; None when the value is missing."""
        return None if not isinstance(value, (int, float)) else bool(self.compare(value, self.threshold))


@dataclass(frozen=True)
class GoalResult:
    """One goal as checked: which benchmark, the goal in words, the value shown, met (None: no value)."""

    benchmark: str
    goal: str
    value: str
    met: bool | None


@dataclass(frozen=True)
class Measure:
    """One headline row: a label, the key path into the script's JSON, a format, and an optional goal."""

    label: str
    path: tuple[str, ...]
    fmt: str = "{:,.2f}"
    goal: Goal | None = None


MS, S, MIB, INT = "{:,.2f} ms", "{:,.2f} s", "{:,.0f} MiB", "{:,}"

INGEST_MEASURES = (
    Measure("repeats", ("stages", "total", "ingest", "n"), INT),
    Measure("total first run, median", ("stages", "total", "ingest", "median_s"), S),
    Measure("total first run, p95", ("stages", "total", "ingest", "p95_s"), S),
    Measure("total re-run (nothing changes), median", ("stages", "total", "rerun_unchanged", "median_s"), S),
    Measure("peak memory", ("peak_rss_mb",), MIB), Measure("store", ("db",), "{}"))
INGEST_COLUMNS = (("first run median s", ("ingest", "median_s")), ("first run p95 s", ("ingest", "p95_s")),
                  ("re-run median s", ("rerun_unchanged", "median_s")), ("re-run p95 s", ("rerun_unchanged", "p95_s")))
GENERATOR_COLUMNS = (("build s", ("build_s",)), ("generate k=100 p50 ms", ("generate_k100", "p50_ms")),
                     ("generate k=100 p95 ms", ("generate_k100", "p95_ms")), ("preview p50 ms", ("preview", "p50_ms")),
                     ("preview p95 ms", ("preview", "p95_ms")))
GENERATOR_MEASURES = (
    Measure("catalog entities", ("n_entities",), INT), Measure("catalog load", ("load_s",), S),
    Measure("lexicon build", ("build_s", "lexicon"), S), Measure("parse p50", ("parse", "p50_ms"), MS),
    Measure("parse p95", ("parse", "p95_ms"), MS),
    Measure("dense: encode one query p50", ("dense", "encode_one", "p50_ms"), MS),
    Measure("dense: encode one query p95", ("dense", "encode_one", "p95_ms"), MS),
    Measure("dense: ANN search k=100 p50", ("dense", "ann_search_k100", "p50_ms"), MS),
    Measure("dense: ANN search k=100 p95", ("dense", "ann_search_k100", "p95_ms"), MS),
    Measure("dense: ANN recall@100 vs exact", ("ann_recall_at_100",), "{:.4f}"),
    Measure("BM25 synthetic index: documents", ("bm25_synthetic", "n_docs"), INT),
    Measure("BM25 synthetic index: build", ("bm25_synthetic", "build_s"), S),
    Measure("BM25 synthetic index: k=100 p50", ("bm25_synthetic", "generate_k100", "p50_ms"), MS),
    Measure("BM25 synthetic index: k=100 p95", ("bm25_synthetic", "generate_k100", "p95_ms"), MS),
    Measure("peak memory", ("rss_mb",), MIB))
SEARCH_MEASURES = (
    Measure("cold p50", ("cold", "wall", "p50_ms"), MS, Goal(operator.le, 10, "ms")),
    Measure("cold p95", ("cold", "wall", "p95_ms"), MS, Goal(operator.le, 15, "ms")),
    Measure("cold p99", ("cold", "wall", "p99_ms"), MS),
    Measure("head p50", ("head", "wall", "p50_ms"), MS, Goal(operator.le, 4, "ms")),
    Measure("head p95", ("head", "wall", "p95_ms"), MS),
    Measure("cold QPS (one thread)", ("cold", "qps"), "{:,.0f}", Goal(operator.ge, 100)),
    Measure("cold mean candidates", ("cold", "mean_candidates"), "{:,.0f}"),
    *[Measure(f"equal split {q}", ("equal_split", "wall", f"{q}_ms"), MS) for q in ("p50", "p95", "p99")],
    Measure("equal split QPS", ("equal_split", "qps"), "{:,.0f}"),
    Measure("equal split mean candidates", ("equal_split", "mean_candidates"), "{:,.0f}"),
    Measure("peak memory", ("peak_rss_mb",), MIB), Measure("tracks", ("n_entities",), INT),
    Measure("policy", ("policy",), "{}"), Measure("warm-up searches", ("warm_up", "n_searches"), INT),
    Measure("warm-up CTR", ("warm_up", "ctr"), "{:.3f}"),
    Measure("ranker validation nDCG@10", ("warm_up", "ranker", "validation_ndcg@10"), "{:.3f}"))
SIMULATE_MEASURES = (
    Measure("searches per second", ("searches_per_s",), "{:,.1f}", Goal(operator.ge, 300)),
    Measure("slowest run", ("searches_per_s_min",), "{:,.1f}"),
    Measure("fastest run", ("searches_per_s_max",), "{:,.1f}"),
    Measure("runs", ("repeats",), INT),
    Measure("processes (seeds at once)", ("jobs",), INT),
    Measure("sessions per second", ("sessions_per_s",), "{:,.1f}"),
    Measure("RSS growth (10% -> end)", ("rss_growth_mb",), "{:,.1f} MiB", Goal(operator.lt, 200, "MB")),
    Measure("RSS at 10% of sessions", ("rss_at_10pct_mb",), MIB), Measure("RSS at end", ("rss_end_mb",), MIB),
    Measure("peak memory", ("peak_rss_mb",), MIB), Measure("sessions", ("n_sessions",), INT),
    Measure("searches", ("n_searches",), INT), Measure("replay", ("seconds",), S),
    Measure("world build", ("world_build_s",), "{:,.1f} s"), Measure("engine open", ("engine_open_s",), "{:,.1f} s"))
EVAL_COLUMNS = (("nDCG@10 head", "ndcg@10", "head"), ("nDCG@10 tail", "ndcg@10", "tail"),
                ("nDCG@10 all", "ndcg@10", "all"), ("recall@100 all", "recall@100", "all"), ("MRR all", "mrr", "all"),
                ("spearfish recall@10", "spearfish_recall@10", "all"),
                ("spearfish recall@10 one word", "spearfish_recall@10", "one_word"),
                ("spearfish recall@10 more words", "spearfish_recall@10", "multi_word"))


def dig(data: object, path: Sequence[str]) -> Any:
    """data[path[0]][path[1]]...; None where a key is missing."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def fmt(value: object, spec: str = "{:,.2f}") -> str:
    """`spec` applied to value; "n/a" when missing."""
    if value is None:
        return "n/a"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table; the first `left` columns are left-aligned, the others (numbers) right-aligned."""
    aligns = ["---" if i < left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def measure_table(name: str, data: Mapping[str, Any], measures: Sequence[Measure]) -> tuple[str, list[GoalResult]]:
    """Rows of label and value, with goal and met/not met columns when any measure has a goal."""
    rows, goals = [], []
    with_goals = any(m.goal for m in measures)
    for m in measures:
        value = dig(data, m.path)
        row = [m.label, fmt(value, m.fmt)]
        if m.goal:
            goals.append(GoalResult(name, f"{m.label} {m.goal.text()}", row[1], m.goal.check(value)))
            row += [m.goal.text(), STATUS[goals[-1].met]]
        rows.append(row + ([""] * 2 if with_goals and not m.goal else []))
    return md_table(["measure", "value", *(["goal", "status"] if with_goals else [])], rows, left=1), goals


def keyed_table(first: str, keyed: Mapping[str, Any], columns: Sequence[tuple[str, tuple[str, ...]]],
                spec: str = "{:,.3f}") -> str:
    """One row per key of `keyed`, one column per (header, path) into its value."""
    rows = [[key, *[fmt(dig(value, path), spec) for _, path in columns]] for key, value in keyed.items()]
    return md_table([first, *[header for header, _ in columns]], rows)


Rendered = tuple[list[str], list[GoalResult]]


def render_ingest(data: Mapping[str, Any], about: Mapping[str, Any] | None) -> Rendered:
    table, goals = measure_table("ingest", data, INGEST_MEASURES)
    counts = "; ".join(f"{key} {fmt(value, INT)}" for key, value in (dig(data, ("counts",)) or {}).items())
    return [table, keyed_table("source", dig(data, ("stages",)) or {}, INGEST_COLUMNS), f"Counts: {counts}."], goals


def render_generators(data: Mapping[str, Any], about: Mapping[str, Any] | None) -> Rendered:
    table, goals = measure_table("generators", data, GENERATOR_MEASURES)
    generators = {name: {**g, "build_s": dig(data, ("build_s", name))}
                  for name, g in (dig(data, ("generators",)) or {}).items()}
    return [keyed_table("generator", generators, GENERATOR_COLUMNS), table], goals


def render_search(data: Mapping[str, Any], about: Mapping[str, Any] | None) -> Rendered:
    table, goals = measure_table("search", data, SEARCH_MEASURES)
    stages = {name: {run: dig(data, (run, "stages", name)) for run in ("cold", "head")}
              for name in dig(data, ("cold", "stages")) or {}}
    columns = [(f"{run} {q} ms", (run, f"{q}_ms")) for run in ("cold", "head") for q in ("p50", "p95")]
    return [table, "Per stage (ms):", keyed_table("stage", stages, columns)], goals


def render_simulate(data: Mapping[str, Any], about: Mapping[str, Any] | None) -> Rendered:
    table, goals = measure_table("simulate", data, SIMULATE_MEASURES)
    return [table, f"Catalog `{dig(data, ('db',))}`, policies {', '.join(dig(data, ('policies',)) or [])}."], goals


def render_eval_real(data: Mapping[str, Any], about: Mapping[str, Any] | None) -> Rendered:
    counts = dig(about, ("n_queries",)) or {}
    headers = [f"{label} (n={fmt(counts.get(count_key(metric, cls)), INT)})"
               for label, metric, cls in EVAL_COLUMNS]
    rows = [[system, *[interval(dig(data, (metric, cls, system))) for _, metric, cls in EVAL_COLUMNS]]
            for system in dig(data, ("ndcg@10", "all")) or {}]
    goals = eval_goals(data)
    parts = ["Means with 95% bootstrap intervals:", md_table(["system", *headers], rows),
             md_table(["goal", "value", "status"], [[g.goal, g.value, STATUS[g.met]] for g in goals], left=3)]
    if about:
        warm, playlists = dig(about, ("warm_up",)) or {}, dig(about, ("n_playlists",)) or {}
        parts.append(f"Playlists: {fmt(playlists.get('train'), INT)} train, {fmt(playlists.get('test'), INT)} test. "
                     f"Warm-up: {fmt(warm.get('sessions'), INT)} sessions, {fmt(warm.get('searches'), INT)} searches, "
                     f"{fmt(warm.get('clicks'), INT)} clicks; ranker {json.dumps(warm.get('ranker'))}. Evaluation "
                     f"learned nothing: {about.get('frozen')}. Timings (s): {json.dumps(about.get('timings_s'))}.")
        ceiling = dig(about, ("spearfish_ceiling",)) or {}
        if ceiling:
            parts.append("Spearfish recall@10 ceiling (the Bayes-optimal ranking under the query model that drew the "
                         "queries; no system exceeds it in expectation, `ltrr/evaluation/spearfish_ceiling.py`): "
                         + ", ".join(f"{cls} {fmt(value, '{:.3f}')}" for cls, value in ceiling.items()) + ".")
        misses = dig(about, ("spearfish_misses",)) or {}
        if misses:
            keys = misses_columns(misses)
            parts += [f"Where each system's missed spearfishing targets were lost ({MISSES_NOTE}):",
                      md_table(["system", *keys], [[system, *[fmt(counts.get(key), '{:.1f}') for key in keys]]
                                                   for system, counts in misses.items()])]
    return parts, goals


def interval(entry: Mapping[str, Any] | None) -> str:
    """ "0.412 [0.380, 0.441]", or "n/a"."""
    mean, ci95 = dig(entry, ("mean",)), dig(entry, ("ci95",))
    if mean is None:
        return "n/a"
    return f"{mean:.3f} [{ci95[0]:.3f}, {ci95[1]:.3f}]" if ci95 and None not in ci95 else f"{mean:.3f}"


def eval_goals(metrics: Mapping[str, Any]) -> list[GoalResult]:
    """engine_learned beats the best single generator and rrf_union on head nDCG@10 by >= 0.03; on tail nDCG@10
    each rival's mean stays within engine_learned's interval (rival mean <= its upper bound: a loss no larger than
    the interval); spearfish recall@10 >= 0.92."""
    results = []
    head, tail = dig(metrics, ("ndcg@10", "head")) or {}, dig(metrics, ("ndcg@10", "tail")) or {}
    learned = dig(head, ("engine_learned", "mean"))
    for rival, value in rivals(head):
        margin = None if learned is None or value is None else learned - value
        results.append(GoalResult("eval_real", f"head nDCG@10: engine_learned beats {rival} by >= {HEAD_MARGIN}",
                                  f"{fmt(learned, '{:.3f}')} vs {fmt(value, '{:.3f}')} ({fmt(margin, '{:+.3f}')})",
                                  None if margin is None else margin >= HEAD_MARGIN - EPSILON))
    upper = (dig(tail, ("engine_learned", "ci95")) or [None, None])[1]
    for rival, value in rivals(tail):
        met = None if upper is None or value is None else value <= upper + EPSILON
        results.append(GoalResult("eval_real", f"tail nDCG@10: engine_learned loses to {rival} by no more than "
                                  "its interval", f"{interval(tail.get('engine_learned'))} vs {fmt(value, '{:.3f}')}",
                                  met))
    spear = dig(metrics, ("spearfish_recall@10", "all", "engine_learned", "mean"))
    goal = Goal(operator.ge, 0.92)
    results.append(GoalResult("eval_real", f"spearfish recall@10 (engine_learned) {goal.text()}", fmt(spear, "{:.3f}"),
                              goal.check(spear)))
    return results


def rivals(by_system: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    """[("best single generator (NAME)", mean), ("rrf_union", mean)] for one metric and class."""
    singles = [(dig(by_system, (name, "mean")), name) for name in SINGLE_GENERATORS]
    known = [(mean, name) for mean, name in singles if mean is not None]
    best_mean, best_name = max(known) if known else (None, "?")
    return [(f"best single generator ({best_name})", best_mean), ("rrf_union", dig(by_system, ("rrf_union", "mean")))]


RENDERERS: Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any] | None], Rendered]] = MappingProxyType({
    "ingest": render_ingest, "generators": render_generators, "search": render_search, "simulate": render_simulate,
    "eval_real": render_eval_real})


def provenance(outcome: Outcome) -> str:
    """Commit, cores, memory and Python of the run, and when and at which sizes it ran."""
    info = dig(outcome.about if outcome.bench.name == "eval_real" else outcome.data, ("machine",))
    record = outcome.record
    info = info or (record.machine if record else None) or {}
    commit = (record.machine.get("commit") if record else None) or info.get("commit")
    dirty = " (with uncommitted changes)" if record and record.machine.get("dirty") else ""
    text = (f"Commit `{commit or 'unknown'}`{dirty}; {info.get('cores', '?')} cores, {info.get('memory_gib', '?')} "
            f"GiB memory, Python {info.get('python', '?')}.")
    if record:
        text += f" Ran {record.finished_at} in {record.seconds:,.0f} s ({'quick' if record.quick else 'full'} sizes)."
    else:
        text += " No run record: the command shown is the one these options would run."
    return text


def render_section(outcome: Outcome) -> tuple[str, list[GoalResult]]:
    """The Markdown section of one benchmark and the goals it checked."""
    bench = outcome.bench
    parts = [f"## {bench.name}: {bench.title}", "```\n" + shlex.join(outcome.command) + "\n```"]
    if outcome.status == "missing":
        parts.append(f"_Not run_ ({outcome.detail}): run `python scripts/bench_all.py --only {bench.name} ...`.")
        return "\n\n".join(parts), []
    parts.append(provenance(outcome))
    if outcome.status == "failed":
        parts.append(f"**Failed** ({outcome.detail}). Last lines of its stderr:")
        parts.append("```\n" + "\n".join(outcome.err_tail or ["(empty)"]) + "\n```")
        return "\n\n".join(parts), [GoalResult(bench.name, "run succeeds", outcome.detail, False)]
    body, goals = RENDERERS[bench.name](outcome.data or {}, outcome.about)
    return "\n\n".join(parts + body), goals


def render(outcomes: Sequence[Outcome], *, invocation: str, generated_at: str, previous: str | None = None) -> str:
    """BENCHMARKS.md: a header, every goal in one table, then one section per benchmark.

    previous: the file as it was. A benchmark with no results this time (no NAME.json, as on a machine where
    only some benchmarks ran) keeps its section and goal rows from it, with their own commit and date, instead
    of becoming a "not run" note; one without a section there gets the note."""
    kept = previous_sections(previous or "")
    sections: list[str] = []
    rows: list[list[str]] = []
    for outcome in outcomes:
        name = outcome.bench.name
        if outcome.status == "missing" and name in kept:
            sections.append(kept[name][0])
            rows += kept[name][1]
            continue
        text, checked = render_section(outcome)
        sections.append(text)
        rows += [[g.benchmark, g.goal, g.value, STATUS[g.met]] for g in checked]
    header = ("# Benchmarks\n\nGenerated by `" + invocation + f"` at {generated_at} (do not edit by hand). Commands "
              "run from the repository root; latencies are wall times on one thread. Each section gives the commit "
              "and date of its own run.")
    summary = md_table(["benchmark", "goal", "value", "status"], rows, left=4) if rows else "No goal was checked."
    return "\n\n".join([header, "## Goals", summary, *sections]) + "\n"


def previous_sections(markdown: str) -> dict[str, tuple[str, list[list[str]]]]:
    """Benchmark name -> (its section, its rows of the goals table) in an earlier BENCHMARKS.md, for the
    benchmarks that had results there (a "not run" note is not kept)."""
    parts = markdown.split("\n## ")
    goal_rows: dict[str, list[list[str]]] = {}
    sections: dict[str, str] = {}
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        if title == "Goals":
            for line in body.splitlines():
                cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
                if line.startswith("| ") and len(cells) == 4 and cells[0] in BY_NAME:
                    goal_rows.setdefault(cells[0], []).append(cells)
            continue
        name = title.split(":", 1)[0]
        if name in BY_NAME and "_Not run_" not in body:
            sections[name] = ("## " + part).rstrip("\n")
    return {name: (text, goal_rows.get(name, [])) for name, text in sections.items()}


def bench_all(options: BenchOptions, names: Sequence[str], *, out_dir: Path, output: Path, render_only: bool,
              invocation: str, log: Callable[[str], object] = lambda message: None) -> int:
    """Run the named benchmarks (unless render_only), then render every benchmark in `out_dir` to `output`.

    Returns 1 when one of the named benchmarks failed (with render_only: any benchmark in `out_dir`), else 0.
    `log` receives one line per step.
    """
    if not render_only:
        for i, name in enumerate(names, start=1):
            bench = BY_NAME[name]
            log(f"[{i}/{len(names)}] {name}: {shlex.join(command(bench, options))}")
            record = run_benchmark(bench, options, out_dir)
            log(f"    {'ok' if record.returncode == 0 else f'FAILED (return code {record.returncode})'} in "
                f"{record.seconds:,.0f} s; stderr in {out_dir / (name + '.err')}")
    outcomes = [load_outcome(bench, out_dir, options) for bench in BENCHMARKS]
    generated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    previous = output.read_text(encoding="utf-8") if output.is_file() else None
    output.write_text(render(outcomes, invocation=invocation, generated_at=generated_at, previous=previous),
                      encoding="utf-8")
    failed = [o.bench.name for o in outcomes if o.status == "failed" and (render_only or o.bench.name in names)]
    log(f"wrote {output}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
