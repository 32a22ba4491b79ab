"""Running the benchmark scripts for BENCHMARKS.md and reading back what they wrote (see `ltrr.bench_report`).

For each benchmark NAME the output folder holds NAME.json (the script's stdout), NAME.err (its stderr) and
NAME.run.json (what `run_benchmark` ran: command, return code, seconds, sizes, machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .bench import machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = "../shared/data"  # relative to the repository root, as scripts/bench_ingest.py's default
ERR_TAIL_LINES = 20
SINGLE_GENERATORS = ("bm25", "dense", "structured", "memory")  # as ltrr.evaluation.real_eval.SINGLE_SYSTEMS
HEAD_MARGIN = 0.03
EPSILON = 1e-9  # a margin of exactly 0.03 meets ">= 0.03" despite float rounding


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script: its arguments at full and quick sizes (after --db or --data, before --json)."""

    name: str
    title: str
    script: str
    needs_db: bool
    quiet: bool  # the script accepts --quiet
    full: tuple[str, ...]
    quick: tuple[str, ...]


BENCHMARKS = (
    Benchmark("ingest", "Ingest (real catalog into a fresh SQLite store)", "scripts/bench_ingest.py", False, False,
              (), ()),
    Benchmark("generators", "Candidate generators", "scripts/bench_generators.py", True, True, (),
              ("--queries", "300", "--synthetic-docs", "100000")),
    Benchmark("search", "End-to-end search", "scripts/bench_search.py", True, True, ("--warm-up", "2000"),
              ("--cold", "300", "--warm-up", "300")),
    Benchmark("simulate", "Simulated replay (two seeds at once, one process per core)", "scripts/bench_simulate.py",
              True, True, ("--sessions", "5000", "--jobs", "2", "--repeat", "3"),
              ("--sessions", "1000", "--jobs", "2")),
    Benchmark("eval_real", "Real-data evaluation (held-out playlist names)", "scripts/eval_real.py", True, True,
              ("--max-queries", "300", "--warm-up", "1500", "--spearfish", "300"),
              ("--max-queries", "150", "--warm-up", "500", "--spearfish", "150")),
)
BY_NAME = MappingProxyType({bench.name: bench for bench in BENCHMARKS})


@dataclass(frozen=True)
class BenchOptions:
    """db: the ingested real catalog (every benchmark but ingest reads it); data: bench_ingest's input folder."""

    db: str | None = None
    data: str = DEFAULT_DATA
    quick: bool = False


def command(bench: Benchmark, options: BenchOptions) -> list[str]:
    """The command line that runs `bench` from the repository root, printing JSON on stdout."""
    source = ["--db", options.db or "DB"] if bench.needs_db else ["--data", options.data]
    sizes = bench.quick if options.quick else bench.full
    return ["python", bench.script, *source, *sizes, "--json", *(["--quiet"] if bench.quiet else [])]


@dataclass(frozen=True)
class RunRecord:
    """What one run of a benchmark script was (NAME.run.json)."""

    name: str
    command: list[str]
    returncode: int
    seconds: float
    quick: bool
    finished_at: str
    machine: dict[str, Any]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunRecord:
        return cls(**{key: values[key] for key in cls.__dataclass_fields__})


def run_benchmark(bench: Benchmark, options: BenchOptions, out_dir: Path, python: str = sys.executable) -> RunRecord:
    """Run the script from the repository root, stdout to NAME.json and stderr to NAME.err; write NAME.run.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{bench.name}.run.json").unlink(missing_ok=True)  # an interrupted run must not look like the last one
    argv = command(bench, options)
    start = time.perf_counter()
    with open(out_dir / f"{bench.name}.json", "w", encoding="utf-8") as stdout, \
            open(out_dir / f"{bench.name}.err", "w", encoding="utf-8") as stderr:
        returncode = subprocess.run([python, *argv[1:]], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=stdout,
                                    stderr=stderr, check=False).returncode
    record = RunRecord(bench.name, argv, returncode, round(time.perf_counter() - start, 1), options.quick,
                       datetime.now(timezone.utc).isoformat(timespec="seconds"), repo_machine())
    (out_dir / f"{bench.name}.run.json").write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return record


def repo_machine(root: Path = ROOT, report: str = "BENCHMARKS.md") -> dict[str, Any]:
    """`ltrr.bench.machine()` with the repository's commit and whether tracked files other than the report
    itself (which a run of several benchmarks rewrites between them) have uncommitted changes."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){report}")
    dirty = None if status is None else bool(status)
    return {**machine(), "commit": git("rev-parse", "--short", "HEAD"), "dirty": dirty}


@dataclass(frozen=True)
class Outcome:
    """A benchmark's state in the output folder: status "ok" (data read), "failed" or "missing" (not run)."""

    bench: Benchmark
    status: str
    command: list[str]
    record: RunRecord | None = None
    data: dict[str, Any] | None = None
    about: dict[str, Any] | None = None  # eval_real's stderr summary
    detail: str = ""
    err_tail: tuple[str, ...] = ()


def load_outcome(bench: Benchmark, out_dir: Path, options: BenchOptions) -> Outcome:
    """Read NAME.run.json, NAME.json and NAME.err from `out_dir` (see the module docstring)."""
    paths = {suffix: out_dir / f"{bench.name}{suffix}" for suffix in (".json", ".err", ".run.json")}
    record = _read_record(paths[".run.json"])
    argv = record.command if record else command(bench, options)
    err = paths[".err"].read_text(encoding="utf-8", errors="replace").splitlines() if paths[".err"].exists() else []
    tail = tuple(line for line in err if line.strip())[-ERR_TAIL_LINES:]
    if record and record.returncode != 0:
        return Outcome(bench, "failed", argv, record, detail=f"return code {record.returncode}", err_tail=tail)
    if not paths[".json"].exists():
        return Outcome(bench, "missing", argv, record, detail=f"no {paths['.json']}")
    try:
        data = _read_json(paths[".json"])
    except ValueError as error:
        return Outcome(bench, "failed", argv, record, detail=f"unreadable JSON in {paths['.json']}: {error}",
                       err_tail=tail)
    about = next(filter(None, map(_json_line, reversed(tail))), None) if bench.name == "eval_real" else None
    return Outcome(bench, "ok", argv, record, data, about)


def _read_record(path: Path) -> RunRecord | None:
    """NAME.run.json, or None when it is missing or unreadable (the section then says there is no run record)."""
    try:
        return RunRecord.from_dict(_read_json(path))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_json(path: Path) -> dict[str, Any]:
    """The file as one JSON object, or its last non-empty line as one (a library may print before it)."""
    text = path.read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except ValueError:
        lines = [line for line in text.splitlines() if line.strip()]
        value = _json_line(lines[-1]) if lines else None
    if not isinstance(value, dict):
        raise ValueError("expected one JSON object")
    return value


def _json_line(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# ---- rendering ------------------------------------------------------------------------------------------------
