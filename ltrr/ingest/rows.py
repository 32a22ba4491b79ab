"""Reading input files row by row with line numbers, and the bookkeeping of bad rows.

Every problem is reported as `file:line: reason`. Files may be gzip-compressed (by the .gz suffix).
Bytes that are not UTF-8 are kept as surrogates while parsing so the row, not the file, is rejected.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import IngestError

MAX_REPORTED = 20


class RowError(ValueError):
    """Raised by field parsers: the row is bad for the stated reason."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    reason: str
    raw: Any = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Problems:
    """Bad rows found while validating an input; nothing is written until validation ends."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: Path | str, line: int, reason: str, raw: Any = None) -> None:
        self.items.append(Problem(str(file), line, reason, raw))

    def __len__(self) -> int:
        return len(self.items)

    def count_in(self, file: Path | str) -> int:
        """Bad rows found in one input file."""
        return sum(1 for p in self.items if p.file == str(file))

    def raise_unless(self, skip_bad: bool) -> None:
        """Without --skip-bad any bad row stops the ingest before anything is written."""
        if self.items and not skip_bad:
            shown = [str(p) for p in self.items[:MAX_REPORTED]]
            more = len(self.items) - len(shown)
            tail = f"\n... and {more} more" if more else ""
            raise IngestError(
                f"{len(self.items)} bad rows; nothing was written. Fix them, or re-run with --skip-bad to "
                "commit the good rows and write the bad ones to a rejects file:\n" + "\n".join(shown) + tail,
                [str(p) for p in self.items])

    def write_rejects(self, path: Path) -> None:
        """One JSON object per bad row: file, line, reason and the raw row."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for p in self.items:
                out.write(json.dumps({"file": p.file, "line": p.line, "reason": p.reason, "row": _plain(p.raw)},
                                     ensure_ascii=False) + "\n")


def _plain(raw: Any) -> Any:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(raw, Mapping):
        return {str(k): _plain(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_plain(v) for v in raw]
    return raw


def open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def find_input(directory: Path, stem: str) -> Path:
    """`directory/stem` or `directory/stem.gz`, whichever exists."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise IngestError(f"{directory}: no {stem} or {stem}.gz here; point PATH at the folder that holds it")


_SURROGATE = re.compile("[\udc80-\udcff]")  # undecodable bytes, kept by errors="surrogateescape"


def _has_bad_bytes(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def read_delimited(path: Path, required: Sequence[str], problems: Problems, delimiter: str = ",",
                   quoting: int = csv.QUOTE_MINIMAL) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each well-formed record; record the others in `problems`.

    A missing required column fails the whole file at once (no row could be read right).
    """
    try:
        binary = open_binary(path)
    except OSError as exc:
        raise IngestError(f"{path}: cannot open: {exc.strerror}") from exc
    with binary, io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, quoting=quoting)
        try:
            header = next(reader)
        except (StopIteration, gzip.BadGzipFile, EOFError) as exc:
            raise IngestError(f"{path}:1: no header row ({exc or 'empty file'})") from exc
        missing = [name for name in required if name not in header]
        if missing:
            raise IngestError(f"{path}:1: missing required columns {missing}; the header has {header}")
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except (csv.Error, gzip.BadGzipFile, EOFError) as exc:
                problems.add(path, reader.line_num, f"unreadable record: {exc}")
                return
            line = reader.line_num
            if not record:
                continue
            if len(record) != len(header):
                problems.add(path, line, f"expected {len(header)} fields, got {len(record)}", record)
            elif _has_bad_bytes("".join(record)):
                problems.add(path, line, "bad encoding: bytes that are not UTF-8", record)
            else:
                yield line, dict(zip(header, record))


def read_jsonl(path: Path, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each line that is valid UTF-8 JSON holding an object."""
    try:
        binary = open_binary(path)
    except OSError as exc:
        raise IngestError(f"{path}: cannot open: {exc.strerror}") from exc
    with binary:
        try:
            for line_no, raw in enumerate(binary, start=1):
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw.decode("utf-8").strip())
                except UnicodeDecodeError:
                    problems.add(path, line_no, "bad encoding: bytes that are not UTF-8",
                                 raw.decode("utf-8", "surrogateescape"))
                    continue
                except json.JSONDecodeError as exc:
                    problems.add(path, line_no, f"not valid JSON: {exc.msg} at column {exc.colno}",
                                 raw.decode("utf-8", "replace"))
                    continue
                if not isinstance(value, dict):
                    problems.add(path, line_no, f"expected a JSON object, got {type(value).__name__}", value)
                    continue
                yield line_no, value
        except (gzip.BadGzipFile, EOFError, OSError) as exc:
            raise IngestError(f"{path}: cannot read: {exc}") from exc


def text_field(row: Mapping[str, Any], name: str, required: bool = True, strip: bool = True) -> str | None:
    """A text value; blank counts as missing. `strip=False` keeps the exact text (for ids made from names)."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"{name}: required, got {value!r}")
        return None
    if not isinstance(value, str):
        raise RowError(f"{name}: expected text, got {type(value).__name__} {value!r}")
    return value.strip() if strip else value


def int_field(row: Mapping[str, Any], name: str, required: bool = True, minimum: int | None = 0) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowError(f"{name}: required integer, got {value!r}")
        return None
    if isinstance(value, bool):
        raise RowError(f"{name}: expected an integer, got {value!r}")
    try:
        number = int(value) if isinstance(value, (int, str)) else _integral(value)
    except (TypeError, ValueError):
        raise RowError(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise RowError(f"{name}: must be >= {minimum}, got {number}")
    return number


def _integral(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(value)


def float_field(row: Mapping[str, Any], name: str, required: bool = True,
                low: float | None = None, high: float | None = None) -> float | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowError(f"{name}: required number, got {value!r}")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name}: expected a number, got {value!r}") from None
    if math.isnan(number) or (low is not None and number < low) or (high is not None and number > high):
        raise RowError(f"{name}: must be in [{low}, {high}], got {value!r}")
    return number


class Seen:
    """Detects duplicate ids within one file, remembering where each id first appeared."""

    def __init__(self) -> None:
        self.first_line: dict[str, int] = {}

    def check(self, key: str, line: int, what: str = "id") -> None:
        first = self.first_line.setdefault(key, line)
        if first != line:
            raise RowError(f"duplicate {what} {key!r} (first seen on line {first})")
