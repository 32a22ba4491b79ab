"""The engine's index directory: every fitted generator and the query lexicon, built from one catalog revision.

Layout of `index_dir`:

    manifest.json        which build is current, the catalog revision and retrieval config it was built from
    build-<n>/           lexicon.json, entities/ (a columnar copy of the catalog) and one folder per generator
    emb_cache/           the embedding cache (model id + text hash -> vector), shared by every build
    state/               learned state written by `Engine.save()` (policy, ranker, statistics)

`open_index` loads the current build when the catalog revision, the retrieval config and the encoder match the
manifest (seconds). Otherwise it builds a new one: the dense generator is loaded from the previous build and
synced (only new or changed texts are encoded and added, removed entities are dropped), since an HNSW build
of a large catalog takes minutes; the others are refitted. A build is written to a fresh folder and the
manifest is replaced atomically last, so a crash mid-build leaves the previous build current.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .config_checks import plain
from .config_sections import RetrievalConfig
from .engine_entity_table import EntityTable
from .progress import StageFactory, no_progress
from .retrieval.base import CandidateGenerator
from .retrieval.bm25 import BM25Generator
from .retrieval.build import CatalogSnapshot, GeneratorSet, fit_generator, load_snapshot
from .retrieval.dense import DenseGenerator
from .retrieval.encoders import HashingEncoder, SentenceEncoder, TextEncoder
from .retrieval.exploration import ExplorationGenerator
from .retrieval.memory import MemoryGenerator
from .retrieval.structured import StructuredGenerator
from .store import CatalogStore
from .understanding.lexicon import Lexicon
from .understanding.parser import QueryParser

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOADERS = {"bm25": BM25Generator.load, "structured": StructuredGenerator.load, "memory": MemoryGenerator.load,
           "exploration": ExplorationGenerator.load}


@dataclass(frozen=True)
class IndexReport:
    """What `open_index` did: "loaded" (nothing to do) or "built", and the dense sync counts when it synced."""

    action: str
    build: str
    revision: int
    dense_sync: dict[str, int] | None = None


def make_encoder(config: RetrievalConfig) -> TextEncoder:
    """The encoder `[retrieval] encoder` names."""
    if config.encoder == "hashing":
        return HashingEncoder(dim=64, seed=0)
    return SentenceEncoder(n_threads=config.dense.encoder_threads, backend=config.dense.encoder_backend,
                           bulk_threads=config.dense.build_threads or os.cpu_count() or 1)


def open_index(store: CatalogStore, index_dir: str | Path, config: RetrievalConfig, encoder: TextEncoder, *,
               rebuild: bool = False, progress: StageFactory = no_progress
               ) -> tuple[GeneratorSet, EntityTable, IndexReport]:
    """The generators for the store's current catalog: loaded when up to date, built (incrementally) otherwise."""
    index_dir = Path(index_dir)
    wanted = _fingerprint(store.revision(), config, encoder)
    manifest = _read_manifest(index_dir)
    if not rebuild and _current(index_dir, manifest, wanted):
        stage = progress("load indexes", None)
        generators = load_build(index_dir / manifest["build"], config.generators, encoder, index_dir / "emb_cache")
        table = EntityTable.load(index_dir / manifest["build"] / "entities")
        stage.close()
        return generators, table, IndexReport("loaded", manifest["build"], wanted["revision"])
    previous = None  # a dense index is reused only when it was built with the same [retrieval.dense]
    if manifest is not None and manifest["fingerprint"]["retrieval"].get("dense") == plain(config.dense):
        previous = index_dir / manifest["build"]
    build = f"build-{(manifest or {}).get('serial', 0) + 1}"
    generators, table, synced = _build(store, index_dir, index_dir / build, previous, config, encoder, progress)
    _write_manifest(index_dir, {"format_version": FORMAT_VERSION, "build": build, "fingerprint": wanted,
                                "serial": (manifest or {}).get("serial", 0) + 1})
    if manifest is not None and manifest["build"] != build:
        shutil.rmtree(index_dir / manifest["build"], ignore_errors=True)
    return generators, table, IndexReport("built", build, wanted["revision"], synced)


def index_is_current(store: CatalogStore, index_dir: str | Path, config: RetrievalConfig, encoder: TextEncoder) -> bool:
    """Whether `open_index` would load the indexes in `index_dir` as they are (nothing to build), without
    loading them."""
    index_dir = Path(index_dir)
    return _current(index_dir, _read_manifest(index_dir), _fingerprint(store.revision(), config, encoder))


def _current(index_dir: Path, manifest: dict | None, wanted: dict) -> bool:
    return (manifest is not None and (index_dir / manifest["build"] / "entities").is_dir()
            and manifest["fingerprint"] == wanted)


def load_build(directory: Path, names: Sequence[str], encoder: TextEncoder, cache_dir: Path) -> GeneratorSet:
    """Every named generator of one build folder, and the parser over its lexicon."""
    parser = QueryParser(Lexicon.load(directory / "lexicon.json"))
    generators: dict[str, CandidateGenerator] = {}
    for name in names:
        if name == "dense":
            generators[name] = DenseGenerator.load(directory / name, encoder, cache_dir=cache_dir)
        elif name == "structured":  # fitted with this parser at the build: share it, as the build did
            generators[name] = StructuredGenerator.load(directory / name, parser)
        else:
            generators[name] = LOADERS[name](directory / name)
    return GeneratorSet(parser, generators)


def _build(store: CatalogStore, index_dir: Path, target: Path, previous: Path | None, config: RetrievalConfig,
           encoder: TextEncoder, progress: StageFactory
           ) -> tuple[GeneratorSet, EntityTable, dict[str, int] | None]:
    snapshot = load_snapshot(store, progress=progress)
    shutil.rmtree(target, ignore_errors=True)  # what a crashed build of the same name left behind
    target.mkdir(parents=True)
    table = EntityTable.build(snapshot.entities)
    table.save(target / "entities")
    parser = QueryParser(Lexicon.from_entities(snapshot.entities))
    parser.lexicon.save(target / "lexicon.json")
    generators: dict[str, CandidateGenerator] = {}
    synced = None
    for name in config.generators:
        stage = progress(f"fit {name}", None)
        dense = _previous_dense(previous, encoder, index_dir / "emb_cache") if name == "dense" else None
        if dense is not None:
            synced = dense.sync(snapshot.entities, progress=progress)
            generators[name] = dense
        else:
            generators[name] = fit_generator(name, snapshot, parser, encoder, index_dir / "emb_cache", config,
                                             progress)
        generators[name].save(target / name)
        stage.close()
    return GeneratorSet(parser, generators), table, synced


def _previous_dense(previous: Path | None, encoder: TextEncoder, cache_dir: Path) -> DenseGenerator | None:
    """The previous build's dense generator, when there is one made with this encoder (else: fit anew)."""
    if previous is None or not (previous / "dense").is_dir():
        return None
    try:
        return DenseGenerator.load(previous / "dense", encoder, cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as error:
        logger.info("not reusing the previous dense index: %s", error)
        return None


RUNTIME_ONLY = {"dense": ("encoder_threads", "build_threads", "encoder_backend")}
"""Settings that change how fast vectors are made, not what is indexed: changing them keeps the build."""


def _fingerprint(revision: int, config: RetrievalConfig, encoder: TextEncoder) -> dict:
    retrieval = plain(config)
    for section, names in RUNTIME_ONLY.items():
        retrieval[section] = {key: value for key, value in retrieval[section].items() if key not in names}
    return {"revision": revision, "retrieval": retrieval, "encoder": encoder.model_id}


def _read_manifest(index_dir: Path) -> dict | None:
    path = index_dir / MANIFEST
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION or not (index_dir / manifest["build"]).is_dir():
        return None
    return manifest


def _write_manifest(index_dir: Path, manifest: dict) -> None:
    temporary = index_dir / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(temporary, index_dir / MANIFEST)  # atomic: readers see the old build or the new one


__all__ = ["IndexReport", "CatalogSnapshot", "load_build", "make_encoder", "open_index"]
