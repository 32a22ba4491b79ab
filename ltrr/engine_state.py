"""Saving and restoring what an engine learned, as a directory of JSON, a VW model file and a LightGBM text model.

    <dir>/config.json           format_version, the EngineConfig tree, the index directory
    <dir>/policy/               the retrieval-plan policy (policy.json + VW model file for VW policies)
    <dir>/ranker/               the LambdaMART ranker (ranker.txt + ranker.json), absent before the first fit
    <dir>/stats.json            per-query-class generator statistics; clicks since the last ranker fit
    <dir>/memory_observed.json  the memory index's click statistics ([query key, entity id, impressions, clicks, day])

The directory is written beside itself and swapped in at the end, so a crash mid-save leaves the previous save.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from .config import EngineConfig
from .config_checks import plain
from .errors import ConfigError, FeatureMismatchError
from .policy import GeneratorStats, load_policy
from .ranking import LambdaMartRanker
from .retrieval.exploration import ExplorationGenerator
from .retrieval.memory import MemoryGenerator
from .retrieval.memory_store import observed_rows, restore_observed
from .store.db import resolve_url

if TYPE_CHECKING:
    from .engine import Engine

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1


def default_index_dir(url: str) -> Path:
    """`<file>.ltrr/` next to a SQLite file; a server URL has no file, so it needs an explicit index_dir."""
    parsed = make_url(resolve_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise ConfigError(f"the store {parsed.render_as_string(hide_password=True)!r} is not a SQLite file, so "
                          "its indexes need a directory: pass index_dir=... (or --index-dir)")
    return Path(parsed.database).with_name(Path(parsed.database).name + ".ltrr")


def save_state(engine: Engine, directory: Path) -> None:
    temporary = directory.with_name(directory.name + ".saving")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    config = {"format_version": FORMAT_VERSION, "config": engine.config.to_dict(),
              "index_dir": str(engine.index_dir.resolve())}
    (temporary / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    engine.policy.save(temporary / "policy")
    if isinstance(engine.scorer, LambdaMartRanker):
        engine.scorer.save(temporary / "ranker")
    stats = {"generator_stats": engine.stats.to_dict(), "clicks_since_fit": engine.clicks_since_fit}
    (temporary / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    memory = engine.generators.get("memory")
    if isinstance(memory, MemoryGenerator):
        rows = observed_rows(memory)
        (temporary / "memory_observed.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        memory.save_to(engine.store)
    exploration = engine.generators.get("exploration")
    if isinstance(exploration, ExplorationGenerator):
        state = exploration.sampling_state()
        (temporary / "exploration_state.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    _swap(temporary, directory)


def read_saved_config(directory: Path) -> tuple[EngineConfig, Path]:
    path = directory / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"no saved engine at {directory} (config.json is missing); save one with "
                                "engine.save(directory)")
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path} has format_version {saved.get('format_version')!r}, this ltrr reads "
                          f"{FORMAT_VERSION}; save the engine again with this version")
    return EngineConfig.from_dict(saved["config"]), Path(saved["index_dir"])


def load_state(engine: Engine, directory: Path, *, strict: bool = True) -> None:
    """Restore learned state into `engine`. With strict=False (the automatic restore of `Engine.open`), parts
    saved under another policy or feature configuration are skipped with a warning instead of raising."""
    saved_config, _ = read_saved_config(directory)
    if _learning_config(saved_config) == _learning_config(engine.config):
        engine.policy = load_policy(directory / "policy")
        stats = json.loads((directory / "stats.json").read_text(encoding="utf-8"))
        engine.stats = GeneratorStats.from_dict(stats["generator_stats"])
        engine.clicks_since_fit = stats["clicks_since_fit"]
    elif strict:
        raise ConfigError(f"the state at {directory} was saved with another [policy] or retrieval.generators; "
                          "open it with its own config (Engine.load) or start a fresh state")
    else:
        logger.warning("state at %s was saved with another policy config; starting a fresh policy", directory)
    _restore_ranker(engine, directory, strict)
    memory = engine.generators.get("memory")
    observed = directory / "memory_observed.json"
    if isinstance(memory, MemoryGenerator) and observed.is_file():
        restore_observed(memory, json.loads(observed.read_text(encoding="utf-8")))
    exploration = engine.generators.get("exploration")
    sampling = directory / "exploration_state.json"
    if isinstance(exploration, ExplorationGenerator) and sampling.is_file():
        exploration.restore_sampling_state(json.loads(sampling.read_text(encoding="utf-8")))


def _restore_ranker(engine: Engine, directory: Path, strict: bool) -> None:
    if not (directory / "ranker").is_dir():
        return
    ranker = LambdaMartRanker.load(directory / "ranker")
    if tuple(ranker.feature_names_) != tuple(engine.feature_set.names):
        missing = sorted(set(engine.feature_set.names) - set(ranker.feature_names_))
        extra = sorted(set(ranker.feature_names_) - set(engine.feature_set.names))
        difference = f"missing {missing}, extra {extra}" if missing or extra else "the same names in another order"
        message = (f"the ranker at {directory / 'ranker'} was trained on other features ({difference}); retrain "
                   "it with engine.fit_ranker() or `ltrr train-ranker`")
        if strict:
            raise FeatureMismatchError(message)
        logger.warning("%s; using the default scorer until then", message)
        return
    engine.scorer = ranker


def _learning_config(config: EngineConfig) -> dict:
    return {"policy": plain(config.policy), "generators": list(config.retrieval.generators)}


def _swap(temporary: Path, directory: Path) -> None:
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(temporary, directory)
    shutil.rmtree(old, ignore_errors=True)
