"""What an ingest did: rows read, writes per target, rejects, and match rates for enrichment sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..store import WriteCounts
from .rows import Problems


@dataclass
class IngestReport:
    """Summary of one ingest run, printed by `ltrr ingest` (and as JSON with --json)."""

    kind: str
    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, WriteCounts] = field(default_factory=dict)
    rejected: int = 0
    rejects_path: Path | None = None
    matches: dict[str, tuple[int, int]] = field(default_factory=dict)  # what -> (matched, total)

    def add(self, target: str, counts: WriteCounts) -> None:
        self.written[target] = self.written.get(target, WriteCounts()) + counts

    @property
    def changed(self) -> int:
        return sum(counts.changed for counts in self.written.values())

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "read": dict(self.read), "rejected": self.rejected,
            "rejects_path": str(self.rejects_path) if self.rejects_path else None,
            "written": {t: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
                        for t, c in self.written.items()},
            "matches": {what: {"matched": m, "total": n, "rate": round(m / n, 4) if n else None}
                        for what, (m, n) in self.matches.items()},
        }

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        read = ", ".join(f"{n:,} {what}" for what, n in self.read.items())
        out = [f"ingest {self.kind}: read {read}; rejected {self.rejected:,}"]
        for target, c in self.written.items():
            out.append(f"  {target:<22} inserted {c.inserted:>9,}  updated {c.updated:>9,}  "
                       f"unchanged {c.unchanged:>9,}")
        for what, (matched, total) in self.matches.items():
            rate = f"{matched / total:.1%}" if total else "n/a"
            out.append(f"  matched {what}: {matched:,} of {total:,} ({rate})")
        if self.rejects_path:
            out.append(f"  bad rows written to {self.rejects_path}")
        return out


def settle_problems(problems: Problems, report: IngestReport, skip_bad: bool, rejects_path: Path | None) -> None:
    """Stop on bad rows unless skipping; when skipping, write them to the rejects file and count them."""
    problems.raise_unless(skip_bad)
    report.rejected = len(problems)
    if len(problems):
        path = rejects_path or Path(f"rejects-{report.kind}.jsonl")
        problems.write_rejects(path)
        report.rejects_path = path
