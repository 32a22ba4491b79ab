"""Small helpers shared by the `scripts/bench_*.py` entry scripts: timing summaries and table printing."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from collections.abc import Sequence

import numpy as np


def summarize(samples_s: Sequence[float]) -> dict[str, float]:
    """Median, p95, min and max of wall times in seconds (p95 by linear interpolation)."""
    values = np.asarray(samples_s, dtype=float)
    return {"n": int(values.size), "median_s": float(np.median(values)), "p95_s": float(np.percentile(values, 95)),
            "min_s": float(values.min()), "max_s": float(values.max())}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux /proc/self/statm)."""
    with open("/proc/self/statm", encoding="ascii") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> dict[str, object]:
    """What a reader needs to compare numbers: cores, memory, Python, commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
    except OSError:
        commit = None
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gib": round(memory_gib, 1), "python": platform.python_version(),
            "commit": commit}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
