"""Recall of candidate generators over query sets with known relevant entities.

Query classes: "topical" (a playlist name; relevant = the tracks of the held-out playlists of that name),
"spearfish_clean" and "spearfish_typo" (a track queried by title, "artist title" or part of its title,
without and with typos; relevant = that track). Each generator is asked once for `max(ks)` candidates;
recall@k reads the first k. The union at total budget k takes the first k // G candidates of each of the G
generators (the first k % G generators one more), so it spends the same budget as one generator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..progress import StageFactory, no_progress
from ..retrieval.base import CandidateGenerator
from ..text import fold, tokenize
from ..types import Candidate, Context, Entity, Query
from .metrics import recall_at

KS = (10, 50, 100, 200)


@dataclass(frozen=True, slots=True)
class EvalQuery:
    text: str
    query_class: str
    relevant: frozenset[str]


def split_playlists(playlist_ids: Sequence[str], held_out_share: float, seed: int) -> frozenset[str]:
    """A seeded random share of playlists whose names become test queries and whose text is not indexed."""
    if not 0.0 < held_out_share < 1.0:
        raise ValueError(f"held_out_share must be in (0, 1), got {held_out_share}")
    rng = np.random.default_rng(seed)
    ordered = sorted(playlist_ids)
    chosen = rng.choice(len(ordered), size=int(round(held_out_share * len(ordered))), replace=False)
    return frozenset(ordered[i] for i in chosen)


def topical_queries(playlists: Iterable[Entity], memberships: Mapping[str, Sequence[str]],
                    held_out: frozenset[str]) -> list[EvalQuery]:
    """One query per distinct normalized name among held-out playlists; relevant = their tracks."""
    by_name: dict[str, set[str]] = {}
    shown: dict[str, str] = {}
    for playlist in playlists:
        if playlist.entity_id not in held_out or not tokenize(playlist.name):
            continue
        key = " ".join(tokenize(playlist.name))
        by_name.setdefault(key, set()).update(memberships.get(playlist.entity_id, ()))
        shown.setdefault(key, fold(playlist.name))
    return [EvalQuery(shown[key], "topical", frozenset(tracks)) for key, tracks in sorted(by_name.items()) if tracks]


def union_at(lists: Sequence[Sequence[Candidate]], budget: int) -> list[str]:
    """Ids of the union when each list contributes an equal share of `budget` (first lists take the rest)."""
    share, extra = divmod(budget, len(lists))
    seen: dict[str, None] = {}
    for index, candidates in enumerate(lists):
        for candidate in candidates[: share + (1 if index < extra else 0)]:
            seen.setdefault(candidate.entity_id, None)
    return list(seen)


def recall_table(generators: Mapping[str, CandidateGenerator], parse: Callable[[str], Query],
                 queries: Sequence[EvalQuery], ks: Sequence[int] = KS,
                 progress: StageFactory = no_progress) -> dict[str, dict[str, dict[str, float]]]:
    """{class: {generator or "union": {str(k): mean recall@k}}} over `queries`."""
    sums: dict[str, dict[str, np.ndarray]] = {}
    counts: dict[str, int] = {}
    stage = progress("evaluate queries", len(queries))
    for query in queries:
        parsed = parse(query.text)
        lists = {name: gen.generate(parsed, Context.anonymous(), max(ks)) for name, gen in generators.items()}
        ranked_at = {name: [[c.entity_id for c in found]] * len(ks) for name, found in lists.items()}
        ranked_at["union"] = [union_at(list(lists.values()), k) for k in ks]
        per_class = sums.setdefault(query.query_class, {})
        for name, rankings in ranked_at.items():
            values = [recall_at(ranked, query.relevant, k) for ranked, k in zip(rankings, ks)]
            per_class[name] = per_class.get(name, np.zeros(len(ks))) + np.asarray(values)
        counts[query.query_class] = counts.get(query.query_class, 0) + 1
        stage.update(1)
    stage.close()
    return {cls: {name: {str(k): float(total[i] / counts[cls]) for i, k in enumerate(ks)}
                  for name, total in per_class.items()} for cls, per_class in sums.items()}
