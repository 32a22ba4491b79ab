"""Field parsing for the generic importer: the column mapping and each canonical field's value parser.

Every parser raises `RowError` with a message naming the column, the value and what is expected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import IngestError
from .rows import RowError, float_field, int_field, text_field

FIELDS = ("id", "kind", "name", "artist", "album", "year", "duration_ms", "added_at", "description", "tags",
          "playlist_count", "follower_sum", "chart_points", "play_count", "popularity", "tracks")
ALIASES = {"title": "name"}
COUNT_FIELDS = ("playlist_count", "follower_sum", "chart_points", "play_count")
YEAR_RANGE = (1000, 2100)


def load_mapping(spec: str | Path) -> dict[str, str]:
    """A field mapping from a JSON file (an object FIELD -> COLUMN) or inline text "name=title,artist=by".

    Keys are canonical fields (`FIELDS`, or the alias `title` for `name`); the result uses canonical keys.
    """
    text = str(spec)
    path = Path(text)
    if isinstance(spec, Path) or path.is_file() or "=" not in text:
        return canonical_mapping(_mapping_file(path))
    pairs: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        field_name, equals, column = part.partition("=")
        if not equals or not field_name.strip() or not column.strip():
            raise IngestError(f"mapping item {part!r} is not FIELD=COLUMN; write e.g. 'name=track_title,artist=by'")
        if field_name.strip() in pairs:
            raise IngestError(f"mapping names field {field_name.strip()!r} twice; keep one FIELD=COLUMN")
        pairs[field_name.strip()] = column.strip()
    if not pairs:
        raise IngestError(f"mapping {text!r} is empty; write e.g. 'name=track_title,artist=by' or a JSON file")
    return canonical_mapping(pairs)


def _mapping_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the mapping file: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{path}: the mapping file is not a JSON object of FIELD: COLUMN ({exc})") from exc


def canonical_mapping(mapping: Any) -> dict[str, str]:
    """Check a FIELD -> COLUMN mapping and resolve aliases; raises IngestError naming what is wrong."""
    if not isinstance(mapping, Mapping):
        raise IngestError(f"a mapping must be an object of FIELD: COLUMN, got {type(mapping).__name__}")
    result: dict[str, str] = {}
    for key, column in mapping.items():
        canonical = ALIASES.get(key, key)
        if canonical not in FIELDS:
            raise IngestError(f"unknown field {key!r} in the mapping; a mapping goes FIELD -> COLUMN and the "
                              f"known fields are {', '.join(FIELDS)} (and 'title' for 'name')")
        if not isinstance(column, str) or not column.strip():
            raise IngestError(f"mapping of field {key!r}: expected a column name, got {column!r}")
        if canonical in result:
            raise IngestError(f"the mapping names field {canonical!r} twice (as 'title' and 'name'); keep one")
        result[canonical] = column.strip()
    return result


def user_id_of(value: Any, column: str) -> str:
    """A user's id: non-blank text, or an integer (JSON ids 17 and "17" are the same id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"{column}: required id (text or integer), got {value!r}")
    return value.strip()


def field_value(name: str, raw: Mapping[str, Any], column: str) -> Any:
    """The parsed value of one field of a row (None where blank)."""
    if name in ("artist", "album", "description"):
        return text_field(raw, column, required=False)
    if name == "year":
        year = int_field(raw, column, required=False, minimum=None)
        if year is not None and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
            raise RowError(f"{column}: expected a year in [{YEAR_RANGE[0]}, {YEAR_RANGE[1]}], got {year}")
        return year
    if name == "added_at":
        return parse_datetime(raw.get(column), column)
    if name == "popularity":
        return float_field(raw, column, required=False, low=0.0, high=100.0)
    return int_field(raw, column, required=False, minimum=0)  # duration_ms and the counts


def parse_datetime(value: Any, column: str) -> datetime | None:
    """An ISO 8601 date or datetime; aware times become naive UTC, as the store keeps them."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(f"{column}: expected an ISO 8601 date or datetime (2024-02-01 or 2024-02-01T21:00:00Z), "
                       f"got {value!r}")
    return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def parse_tags(value: Any, column: str) -> tuple[tuple[str, float], ...]:
    """Tags as text "rock=0.9;pop" (weight 1.0 when left out), a JSON object {tag: weight} or a list of tags."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(_text_tag(part.strip(), column) for part in value.split(";") if part.strip())
    if isinstance(value, Mapping):
        return tuple((_tag_name(name, column), _tag_weight(name, weight, column)) for name, weight in value.items())
    if isinstance(value, list):
        return tuple((_tag_name(name, column), 1.0) for name in value)
    raise RowError(f"{column}: expected 'tag=weight;tag' text, an object {{tag: weight}} or a list of tags, "
                   f"got {type(value).__name__} {value!r:.60}")


def _text_tag(part: str, column: str) -> tuple[str, float]:
    name, equals, weight = part.rpartition("=")
    if not equals:
        return _tag_name(part, column), 1.0
    try:
        number = float(weight)
    except ValueError:
        raise RowError(f"{column}: weight of tag {name.strip()!r} must be a number in [0, 1], "
                       f"got {weight.strip()!r}") from None
    return _tag_name(name, column), _tag_weight(name, number, column)


def _tag_name(name: Any, column: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RowError(f"{column}: a tag name must be non-blank text, got {name!r}")
    return name.strip()


def _tag_weight(name: str, weight: Any, column: str) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or math.isnan(weight) \
            or not 0.0 <= weight <= 1.0:
        raise RowError(f"{column}: weight of tag {str(name).strip()!r} must be a number in [0, 1], got {weight!r}")
    return float(weight)


def track_refs(value: Any, column: str) -> tuple[str, ...]:
    """A playlist's track ids, in order: "t1;t2" text or a JSON list of ids."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(";") if part.strip())
    if isinstance(value, list):
        return tuple(user_id_of(item, column) for item in value)
    raise RowError(f"{column}: expected track ids as 'id;id' text or a list, got {type(value).__name__} "
                   f"{value!r:.60}")
