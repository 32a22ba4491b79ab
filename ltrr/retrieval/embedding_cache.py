"""An on-disk cache of text embeddings keyed by (model_id, sha1 of the exact text), so re-indexing a catalog
encodes only the texts that changed.

Layout of the cache directory: append-only segments, each two npy files written by one `put_many` call,
and a JSON manifest listing the segments that count:

    manifest.json                    {"format_version": 1, "segments": [{"name", "model_id", "count", "dim"}]}
    seg-000001.keys.npy              (count,) |S20: sha1 digests of the texts (UTF-8)
    seg-000001.vectors.npy           (count, dim) float32

Crash safety: segment files are written under temporary names, flushed and renamed into place, and the
manifest is replaced (write + rename) last; a crash at any point leaves the previous manifest, which names
only complete segments. Files no manifest names (left by a crash) are ignored and never reused.

    >>> import tempfile
    >>> from ltrr.retrieval.encoders import HashingEncoder
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> vectors = encode_with_cache(HashingEncoder(), ["night drive", "glass harbour"], cache)
    >>> _, missing = cache.get_many(HashingEncoder().model_id, ["night drive", "new text"])
    >>> missing.tolist()
    [1]
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..progress import Stage, StageFactory, no_progress
from .encoders import TextEncoder

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Segments of one model merged into one once there are more than this (each `put_many` adds one).
MAX_SEGMENTS = 32


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """sha1 digests of the UTF-8 texts, shape (n,), dtype |S20."""
    digests = [hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest() for text in texts]
    return np.array(digests, dtype="S20").reshape(len(digests))


@dataclass(frozen=True, slots=True)
class _Lookup:
    """One model's cached keys, sorted, with where each row lives."""

    keys: np.ndarray       # (n,) |S20, sorted
    segments: np.ndarray   # (n,) int: index into `vectors`
    rows: np.ndarray       # (n,) int: row in that segment
    vectors: list[np.ndarray]
    dim: int

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `self.keys`, whether it is there) for each key."""
        position = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return position, self.keys[position] == keys


class EmbeddingCache:
    """Embeddings of texts per model, on disk under `directory` (created if needed)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lookups: dict[str, _Lookup] = {}

    def _manifest(self) -> dict:
        path = self.directory / MANIFEST
        if not path.exists():
            return {"format_version": FORMAT_VERSION, "segments": []}
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"embedding cache {path} has format_version {manifest.get('format_version')!r}, "
                             f"expected {FORMAT_VERSION}; delete the cache directory to rebuild it")
        return manifest

    def _lookup(self, model_id: str) -> _Lookup | None:
        if model_id not in self._lookups:
            segments = [s for s in self._manifest()["segments"] if s["model_id"] == model_id]
            if not segments:
                return None
            keys = [np.load(self.directory / f"{s['name']}.keys.npy", allow_pickle=False) for s in segments]
            vectors = [np.load(self.directory / f"{s['name']}.vectors.npy", allow_pickle=False, mmap_mode="r")
                       for s in segments]
            all_keys = np.concatenate(keys)
            segment_of = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
            row_of = np.concatenate([np.arange(len(k)) for k in keys])
            order = np.argsort(all_keys, kind="stable")
            self._lookups[model_id] = _Lookup(all_keys[order], segment_of[order], row_of[order], vectors,
                                              int(segments[0]["dim"]))
        return self._lookups[model_id]

    def __len__(self) -> int:
        return sum(s["count"] for s in self._manifest()["segments"])

    def get_many(self, model_id: str, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, missing_indices): vectors (len(texts), dim) float32 with the cached rows filled and zeros
        at the missing positions; missing_indices (int64, ascending) index `texts`. dim is 0 while the cache
        holds nothing for `model_id`."""
        lookup = self._lookup(model_id)
        if lookup is None:
            return np.zeros((len(texts), 0), dtype=np.float32), np.arange(len(texts), dtype=np.int64)
        position, found = lookup.find(text_keys(texts))
        out = np.zeros((len(texts), lookup.dim), dtype=np.float32)
        segments = np.where(found, lookup.segments[position], -1)
        for segment in np.unique(segments[found]):
            targets = np.flatnonzero(segments == segment)
            out[targets] = lookup.vectors[segment][lookup.rows[position[targets]]]
        return out, np.flatnonzero(~found).astype(np.int64)

    def put_many(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Store the vectors of texts not cached yet (the first of duplicates wins); returns how many were new."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"put_many needs one vector row per text: {len(texts)} texts, vectors of shape "
                             f"{vectors.shape}")
        lookup = self._lookup(model_id)
        if lookup is not None and vectors.shape[1] != lookup.dim:
            raise ValueError(f"model {model_id!r} is cached with dim {lookup.dim}, got vectors of dim "
                             f"{vectors.shape[1]}; use a new model_id for a changed model")
        keys = text_keys(texts)
        _, first = np.unique(keys, return_index=True)
        first = np.sort(first)
        if lookup is not None:
            first = first[~lookup.find(keys[first])[1]]
        if len(first) == 0:
            return 0
        self._append(model_id, keys[first], vectors[first])
        if sum(s["model_id"] == model_id for s in self._manifest()["segments"]) > MAX_SEGMENTS:
            self.compact(model_id)
        return len(first)

    def _append(self, model_id: str, keys: np.ndarray, vectors: np.ndarray, replaces: Sequence[str] = ()) -> None:
        """Write one segment, then a manifest that lists it (and drops the `replaces` segments)."""
        name = self._new_segment_name()
        for suffix, array in (("keys", keys), ("vectors", vectors)):
            _write_atomic(self.directory / f"{name}.{suffix}.npy", lambda f, a=array: np.save(f, a))
        manifest = self._manifest()
        kept = [s for s in manifest["segments"] if s["name"] not in set(replaces)]
        entry = {"name": name, "model_id": model_id, "count": len(keys), "dim": int(vectors.shape[1])}
        manifest["segments"] = [*kept, entry]
        text = json.dumps(manifest, indent=1)
        _write_atomic(self.directory / MANIFEST, lambda f: f.write(text.encode("utf-8")))
        self._lookups.pop(model_id, None)
        for old in replaces:
            for suffix in ("keys", "vectors"):
                (self.directory / f"{old}.{suffix}.npy").unlink(missing_ok=True)

    def _new_segment_name(self) -> str:
        # Higher than any segment file on disk, listed or not, so a crash's leftovers are never overwritten.
        numbers = [int(p.name[4:10]) for p in self.directory.glob("seg-*.npy") if p.name[4:10].isdigit()]
        return f"seg-{max(numbers, default=0) + 1:06d}"

    def compact(self, model_id: str) -> None:
        """Merge all segments of `model_id` into one (same content, fewer files)."""
        lookup = self._lookup(model_id)
        old = [s["name"] for s in self._manifest()["segments"] if s["model_id"] == model_id]
        if lookup is None or len(old) < 2:
            return
        vectors = np.concatenate([np.asarray(v) for v in lookup.vectors])
        starts = np.cumsum([0] + [len(v) for v in lookup.vectors])[:-1]
        self._lookups.pop(model_id)  # drop the memory maps before their files go
        self._append(model_id, lookup.keys, vectors[starts[lookup.segments] + lookup.rows], replaces=old)


def _write_atomic(path: Path, write) -> None:
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def encode_with_cache(encoder: TextEncoder, texts: Sequence[str], cache: EmbeddingCache | None,
                      progress: StageFactory = no_progress, batch_size: int = 64,
                      flush_every: int = 16384) -> np.ndarray:
    """Embeddings of `texts` (len(texts), encoder.dim), encoding each distinct text `cache` lacks once.

    New vectors are written to the cache every `flush_every` texts, so an interrupted run keeps its work.
    With `cache=None` every distinct text is encoded. Progress counts the texts actually encoded.
    """
    texts = list(texts)
    if cache is None:
        cached, missing = np.zeros((len(texts), 0), dtype=np.float32), np.arange(len(texts))
    else:
        cached, missing = cache.get_many(encoder.model_id, texts)
    out = cached if cached.shape[1] == encoder.dim else np.zeros((len(texts), encoder.dim), dtype=np.float32)
    position: dict[str, int] = {}
    inverse = np.array([position.setdefault(texts[i], len(position)) for i in missing.tolist()], dtype=np.int64)
    distinct = list(position)
    logger.info("embedding cache: %d of %d texts cached, encoding %d", len(texts) - len(missing), len(texts),
                len(distinct))
    fresh = np.zeros((len(distinct), encoder.dim), dtype=np.float32)
    stage = progress("encode", len(distinct))
    try:
        for start in range(0, len(distinct), flush_every):
            chunk = distinct[start:start + flush_every]
            fresh[start:start + len(chunk)] = encoder.encode(chunk, batch_size=batch_size, progress=_forward_to(stage))
            if cache is not None:
                cache.put_many(encoder.model_id, chunk, fresh[start:start + len(chunk)])
    finally:
        stage.close()
    out[missing] = fresh[inverse]
    return out


class _Unclosed:
    """A view of a stage that passes updates on and leaves closing to its owner."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def update(self, n: int = 1) -> object:
        return self.stage.update(n)

    def close(self) -> None:
        return None


def _forward_to(stage: Stage) -> StageFactory:
    return lambda description, total: _Unclosed(stage)
