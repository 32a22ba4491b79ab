"""Replay scenarios: a TOML file saying which catalog, which simulated users, which click model, which policies.

    claim = "what this scenario is meant to show"

    [catalog]             # db = a SQLite path or SQLAlchemy URL of an ingested catalog (`--db` overrides it),
    db = "sim/out/demo/catalog.db"   # or: synthetic = true (+ seed) to generate the demo catalog at db
    synthetic = true
    seed = 0

    [run]
    seeds = 3             # independent user streams (every policy sees the same ones)
    searches = 2000       # sessions per seed; each is one search plus any reformulations
    policies = ["oracle", "best_fixed", "static_union", "uniform", "greedy", "single_*", "vw_squarecb", "vw_epsilon"]
    best_fixed_pilot = 200          # sessions on which every fixed plan is tried to pick `best_fixed`
    reformulation_discount = 0.5    # a session's value: sum of its searches' rewards * discount ** attempt
    log_window = 5000               # searches each policy's in-memory log keeps (ranker retraining reads it)
    retrain_every = 0               # retrain each policy's ranker every N clicks (0: never)

    [world]               # ltrr.simulation.world.WorldConfig
    [click_model]         # kind = "cascade" | "pbm" | "dbn", then the model's parameters
    [engine]              # an EngineConfig tree ([engine.policy], [engine.retrieval], [engine.feedback], ...)

Policy names: `oracle`, `best_fixed`, `static_union` (the equal split), `uniform`, `greedy`, `single_<generator>`
(`single_*` = one per configured generator), `vw_<exploration>` (squarecb, epsilon, bag, cover) and
`fixed_<arm>` for any arm of the catalogue.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import EngineConfig
from ..errors import ConfigError
from ..policy.vw import EXPLORATIONS

DEFAULT_POLICIES = ("oracle", "best_fixed", "static_union", "uniform", "greedy", "single_*", "vw_squarecb",
                    "vw_epsilon")
FIXED_NAMES = ("static_union", "best_fixed", "uniform", "greedy", "oracle")


@dataclass(frozen=True)
class RunSpec:
    """The `[run]` table (see the module docstring)."""

    seeds: int = 3
    searches: int = 1000
    policies: tuple[str, ...] = DEFAULT_POLICIES
    best_fixed_pilot: int = 200
    reformulation_discount: float = 0.5
    log_window: int = 5_000
    retrain_every: int = 0
    limit: int = 10
    moving_average: int = 200

    def __post_init__(self) -> None:
        for name, low in (("seeds", 1), ("searches", 1), ("best_fixed_pilot", 0), ("log_window", 1),
                          ("retrain_every", 0), ("limit", 1), ("moving_average", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"[run] {name} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= self.reformulation_discount <= 1.0:
            raise ConfigError(f"[run] reformulation_discount must be in [0, 1], got {self.reformulation_discount!r}")
        if not self.policies:
            raise ConfigError("[run] policies is empty; list at least one, e.g. [\"static_union\", \"vw_squarecb\"]")


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario file. `db` is the catalog store; `synthetic` says to generate the demo catalog there."""

    name: str
    claim: str
    db: str
    synthetic: bool = False
    catalog_seed: int = 0
    run: RunSpec = field(default_factory=RunSpec)
    world: Mapping[str, Any] = field(default_factory=dict)
    click_model: Mapping[str, Any] = field(default_factory=lambda: {"kind": "dbn"})
    engine: EngineConfig = field(default_factory=EngineConfig)

    @classmethod
    def from_toml(cls, path: str | Path, *, db: str | None = None, overrides: Mapping[str, Any] | None = None
                  ) -> Scenario:
        """Read a scenario; `db` replaces `[catalog] db` (and turns off generating it), `overrides` replace
        `[run]` keys (e.g. {"seeds": 2})."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"scenario {str(path)!r} does not exist; see sim/README.md for the scenarios") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"scenario {str(path)!r} is not valid TOML: {error}") from None
        return cls.from_dict(data, name=path.stem, db=db, overrides=overrides)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "scenario", db: str | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Scenario:
        unknown = set(data) - {"claim", "catalog", "run", "world", "click_model", "engine"}
        if unknown:
            raise ConfigError(f"scenario {name!r} has unknown tables {sorted(unknown)}; "
                              "allowed: claim, catalog, run, world, click_model, engine")
        catalog = dict(data.get("catalog", {}))
        bad = set(catalog) - {"db", "synthetic", "seed"}
        if bad:
            raise ConfigError(f"[catalog] has unknown keys {sorted(bad)}; allowed: db, synthetic, seed")
        store = db or catalog.get("db")
        if not store:
            raise ConfigError(f"scenario {name!r} names no catalog: set [catalog] db or pass --db URL")
        run_table = {**dict(data.get("run", {})), **{k: v for k, v in (overrides or {}).items() if v is not None}}
        try:
            run = RunSpec(**{key: tuple(value) if key == "policies" else value for key, value in run_table.items()})
        except TypeError as error:
            raise ConfigError(f"[run] {error}; allowed keys: {sorted(RunSpec.__dataclass_fields__)}") from None
        click_model = dict(data.get("click_model", {"kind": "dbn"}))
        return cls(name=name, claim=str(data.get("claim", "")), db=str(store),
                   synthetic=bool(catalog.get("synthetic", False)) and db is None,
                   catalog_seed=int(catalog.get("seed", 0)), run=run, world=dict(data.get("world", {})),
                   click_model=click_model, engine=EngineConfig.from_dict(data.get("engine", {})))


def expand_policies(names: Sequence[str], generators: Sequence[str], arm_names: Sequence[str]) -> list[str]:
    """The policy names with `single_*` expanded, checked, duplicates dropped (order kept).

    Raises:
        ConfigError: a name is not one of the known forms.
    """
    out: list[str] = []
    for name in names:
        expanded = [f"single_{g}" for g in generators] if name == "single_*" else [name]
        for item in expanded:
            _check_policy_name(item, generators, arm_names)
            if item not in out:
                out.append(item)
    return out


def _check_policy_name(name: str, generators: Sequence[str], arm_names: Sequence[str]) -> None:
    if name in FIXED_NAMES:
        return
    if name.startswith("single_") and name[len("single_"):] in generators:
        return
    if name.startswith("vw_") and name[len("vw_"):] in EXPLORATIONS:
        return
    if name.startswith("fixed_") and name[len("fixed_"):] in arm_names:
        return
    raise ConfigError(f"unknown policy {name!r}; use one of {list(FIXED_NAMES)}, single_<generator> for "
                      f"{list(generators)}, vw_<exploration> for {list(EXPLORATIONS)} or fixed_<arm>")
