"""Recall of each candidate generator, and of their union at equal budget, on the real MPD catalog.

Topical queries are the names of a seeded half of the playlists; those playlists are withheld from every
generator (their entities, their names on tracks, their memberships), so a name is never looked up in
the text it came from. Spearfishing queries target seeded tracks by title, "artist title" or part of the
title (`simulation.noise`), clean and again with typos (the same intended text, misspelt).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..progress import StageFactory, no_progress
from ..retrieval.build import GENERATOR_NAMES, build_generators, exploring, load_snapshot
from ..retrieval.encoders import TextEncoder
from ..simulation.noise import QueryNoise
from ..store import CatalogStore
from .retrieval import KS, EvalQuery, recall_table, split_playlists, topical_queries

SPEARFISH_FORMS = {"title": 0.4, "artist_title": 0.4, "partial_title": 0.2}


def spearfish_sets(tracks: Sequence, n: int, seed: int) -> tuple[list[EvalQuery], list[EvalQuery]]:
    """n clean queries for seeded tracks (weighted by playlist count + 1) and the same texts misspelt."""
    noise = QueryNoise(seed=seed, typo_rate=1.0)
    popularity = np.asarray([(t.popularity.playlist_count or 0) + 1 for t in tracks], dtype=float)
    clean = noise.spearfish_queries(tracks, n, SPEARFISH_FORMS, typo=False, popularity=popularity)
    clean_set = [EvalQuery(q.text, "spearfish_clean", frozenset({q.target_entity_id})) for q in clean]
    typo_set = [EvalQuery(noise.add_typos(q.text), "spearfish_typo", frozenset({q.target_entity_id}))
                for q in clean]
    return clean_set, typo_set


def evaluate_generators(store: CatalogStore, *, encoder: TextEncoder, cache_dir: str | Path | None,
                        n_spearfish: int = 1000, max_topical: int | None = None, held_out_share: float = 0.5,
                        seed: int = 0, ks: Sequence[int] = KS, names: Sequence[str] = GENERATOR_NAMES,
                        progress: StageFactory = no_progress) -> dict:
    """{"recall": {class: {generator: {k: r}}}, "n_queries": {class: n}, "build_s": s, "eval_s": s}."""
    start = time.perf_counter()
    playlists = list(store.iter_entities(kind="playlist"))
    held_out = split_playlists([p.entity_id for p in playlists], held_out_share, seed)
    topical = topical_queries(playlists, store.playlist_memberships(), held_out)
    if max_topical is not None and len(topical) > max_topical:
        keep = np.random.default_rng(seed).choice(len(topical), size=max_topical, replace=False)
        topical = [topical[i] for i in sorted(keep)]
    snapshot = load_snapshot(store, exclude=held_out, progress=progress)
    built = build_generators(snapshot, encoder=encoder, cache_dir=cache_dir, config=exploring(seed), names=names,
                             progress=progress)
    tracks = [e for e in snapshot.entities if e.kind == "track"]
    clean, typo = spearfish_sets(tracks, n_spearfish, seed)
    build_s = time.perf_counter() - start
    queries = topical + clean + typo
    table = recall_table(built.generators, built.parser.parse, queries, ks, progress)
    counts = {cls: sum(q.query_class == cls for q in queries) for cls in ("topical", "spearfish_clean",
                                                                         "spearfish_typo")}
    return {"recall": table, "n_queries": counts, "build_s": round(build_s, 1),
            "eval_s": round(time.perf_counter() - start - build_s, 1), "held_out_playlists": len(held_out)}
