"""The machinery under the EngineConfig tree: building sections from mappings and checking their values.

Every section is a frozen dataclass with a `section` ClassVar (its dotted name, used in error messages) whose
`__post_init__` calls `check_types(self)` and then the range checks below.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from .errors import ConfigError

C = TypeVar("C")


def build(cls: type[C], data: Mapping[str, Any], section: str = "") -> C:
    """Build the dataclass `cls` from `data`, recursing into sub-sections; unknown keys raise ConfigError."""
    where = f"[{section}]" if section else "the top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{section} must be a table, got {data!r}")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise ConfigError(f"unknown config key {key!r}; known keys at {where} are: {', '.join(known)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        if is_dataclass(hints[name]):
            kwargs[name] = build(hints[name], value, f"{section}.{name}" if section else name)
        else:
            kwargs[name] = _freeze(value)
    return cls(**kwargs)


def check_types(section: Any) -> None:
    """Raise ConfigError naming the dotted key when a field's value does not have its declared type."""
    hints = get_type_hints(type(section))
    for f in fields(section):
        key = f"{section.section}.{f.name}" if section.section else f.name
        value = getattr(section, f.name)
        if not _has_type(value, hints[f.name]):
            raise ConfigError(f"{key} must be {_describe(hints[f.name])}, got {value!r} ({type(value).__name__})")


def _has_type(value: Any, hint: Any) -> bool:
    origin, args = get_origin(hint), get_args(hint)
    if origin is types.UnionType:
        return any(_has_type(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(item, args[0]) for item in value)
        return len(value) == len(args) and all(_has_type(item, arg) for item, arg in zip(value, args))
    if hint is float:  # TOML writes 1 for 1.0; bool is an int subclass but never a number here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_PLURALS.get(args[0], _describe(args[0]))}"
        return f"a list of {len(args)} ({', '.join(_describe(arg) for arg in args)})"
    if origin is types.UnionType:
        return " or ".join(_describe(arg) for arg in args)
    if is_dataclass(hint):
        return "a table"
    return {int: "an int", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


_PLURALS = {int: "ints", float: "numbers", str: "strings", bool: "booleans"}


def _freeze(value: Any) -> Any:
    """Lists (TOML arrays) become tuples, so configs stay hashable and compare equal to the defaults."""
    return tuple(_freeze(item) for item in value) if isinstance(value, list) else value


def plain(value: Any) -> Any:
    if is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    return value


def at_least(section: Any, name: str, low: int) -> None:
    value = getattr(section, name)
    if value < low:
        raise ConfigError(f"{section.section}.{name} must be >= {low}, got {value!r}")


def between(section: Any, name: str, low: float, high: float) -> None:
    value = getattr(section, name)
    if not low <= value <= high:
        raise ConfigError(f"{section.section}.{name} must be in [{low}, {high}], got {value!r}")


def int_range(section: Any, name: str, low: int, high: int) -> None:
    first, last = getattr(section, name)
    if not low <= first <= last <= high:
        raise ConfigError(f"{section.section}.{name} must be [low, high] with {low} <= low <= high <= {high}, "
                          f"got {[first, last]!r}")
