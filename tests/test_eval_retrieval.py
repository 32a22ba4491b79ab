"""Recall tables over query sets, with fixed stub generators so every number can be checked by hand."""

from __future__ import annotations

import pytest

from ltrr.evaluation.retrieval import EvalQuery, recall_table, split_playlists, topical_queries, union_at
from ltrr.types import Candidate, Entity, Preview
from ltrr.understanding import plain_query


class FixedGenerator:
    def __init__(self, name: str, ids: list[str]):
        self.name, self.ids = name, ids

    def generate(self, query, context, k):
        return [Candidate(i, "track", self.name, 1.0 / (r + 1), r) for r, i in enumerate(self.ids[:k])]

    def preview(self, query, context):
        return Preview(self.name, len(self.ids), 1.0, 0.5)

    def add(self, entities):
        return None


def test_union_splits_the_budget_equally():
    a = FixedGenerator("a", ["1", "2", "3"]).generate(None, None, 3)
    b = FixedGenerator("b", ["2", "9", "8"]).generate(None, None, 3)
    assert union_at([a, b], 4) == ["1", "2", "9"]          # 2 from each, "2" counted once
    assert union_at([a, b], 3) == ["1", "2"]               # a takes the odd one: 1, 2 | 2
    assert union_at([a, b], 5) == ["1", "2", "3", "9"]


def test_recall_table_by_hand():
    generators = {"a": FixedGenerator("a", ["t1", "t2", "t3", "t4"]), "b": FixedGenerator("b", ["t9", "t4"])}
    queries = [EvalQuery("x", "topical", frozenset({"t1", "t4"})), EvalQuery("y", "topical", frozenset({"t9"}))]
    table = recall_table(generators, plain_query, queries, ks=(2, 4))
    # a: q1 finds t1 in top 2 (1/2), t1+t4 in top 4 (1); q2 nothing -> means 0.25, 0.5
    assert table["topical"]["a"] == {"2": 0.25, "4": 0.5}
    # b: q1 finds t4 (second) -> 1/2 at both k; q2 t9 -> 1, 1 -> means 0.75, 0.75
    assert table["topical"]["b"] == {"2": 0.75, "4": 0.75}
    # union k=2: t1 + t9 -> q1 1/2, q2 1; k=4: t1 t2 t9 t4 -> q1 1, q2 1
    assert table["topical"]["union"] == {"2": 0.75, "4": 1.0}


def test_topical_queries_group_held_out_playlists_by_name():
    playlists = [Entity("p1", "playlist", "Chill ", "s", "1"), Entity("p2", "playlist", "chill", "s", "2"),
                 Entity("p3", "playlist", "gym", "s", "3"), Entity("p4", "playlist", "chill", "s", "4")]
    members = {"p1": ["a", "b"], "p2": ["b", "c"], "p3": ["d"], "p4": ["z"]}
    queries = topical_queries(playlists, members, frozenset({"p1", "p2", "p3"}))
    assert [(q.text, sorted(q.relevant)) for q in queries] == [("chill", ["a", "b", "c"]), ("gym", ["d"])]


def test_split_is_seeded_and_sized():
    ids = [f"p{i}" for i in range(100)]
    assert split_playlists(ids, 0.3, seed=1) == split_playlists(ids, 0.3, seed=1)
    assert len(split_playlists(ids, 0.3, seed=1)) == 30
    assert split_playlists(ids, 0.3, seed=1) != split_playlists(ids, 0.3, seed=2)
    with pytest.raises(ValueError, match="held_out_share must be in"):
        split_playlists(ids, 1.0, seed=1)
