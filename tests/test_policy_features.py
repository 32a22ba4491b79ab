"""Bandit features: context and arm features by hand, VW-safe names for odd strings, JSON round trip, stats."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

import pytest

from ltrr.policy import GeneratorStats, PolicyInput, VWPolicy, arm_catalogue, policy_input, vw_name
from ltrr.policy.features import hour_bucket, length_bucket, list_features, script_of
from ltrr.policy.vw import example_lines
from ltrr.types import Arm, Candidate, Context, Preview, Query, Slot

GENERATORS = ("bm25", "dense", "structured")
ODD = ["hip hop", "a|b:c", "🎸🔥", "שלום עולם", "\u200fمرحبا\u200f", "tab\there", "new\nline", "  ", "", "x:1|y"]


def make_query(text: str = "moody 90s trip hop", query_class: str = "topical") -> Query:
    slots = (Slot("genre", "trip hop", 0.6, "trip hop"), Slot("genre", "trip-hop", 0.9, "trip hop"),
             Slot("years", "1990-1999", 1.0, "90s"))
    return Query(text, text.lower(), tuple(text.lower().split()), slots, "moody", query_class)


def make_previews(n_hits: int = 12) -> dict[str, Preview]:
    return {"bm25": Preview("bm25", n_hits, 7.5, 1.5), "dense": Preview("dense", 0, 0.4, 0.01)}


def test_query_and_user_features_by_hand():
    context = Context(user_id="u1", device="phone", timestamp=datetime(2024, 5, 4, 21, 30))  # a Saturday
    inputs = policy_input(make_query(), context, arm_catalogue(GENERATORS), make_previews(),
                          taste=["Trip Hop", "ambient"], memory_seen=True)
    assert inputs.shared["S"] == {"tokens": 4.0, "chars_medium": 1.0, "script_latin": 1.0, "class_topical": 1.0,
                                  "slot_genre": 0.9, "slot_years": 1.0}
    assert inputs.shared["U"] == {"memory_seen": 1.0, "device_phone": 1.0, "hour_evening": 1.0,
                                  "day_weekend": 1.0, "taste_trip_hop": 1.0, "taste_ambient": 1.0}
    assert inputs.query_class == "topical"


def probe_lists() -> dict[str, list[Candidate]]:
    def listed(source, *pairs):
        return [Candidate(entity_id, "track", source, score, rank) for rank, (entity_id, score) in enumerate(pairs)]

    return {"bm25": listed("bm25", ("a", 8.0), ("b", 4.0), ("c", 2.0)),
            "memory": listed("memory", ("a", 0.9), ("c", 0.3)),
            "structured": []}


def test_probe_list_features_by_hand():
    features = list_features(probe_lists(), depth=10)
    assert features == pytest.approx({
        "bm25_ltop": 8.0, "bm25_ldrop": 0.25, "bm25_llogn": math.log1p(3),
        "memory_ltop": 0.9, "memory_ldrop": 0.3 / 0.9, "memory_llogn": math.log1p(2),
        "structured_lnone": 1.0,
        "bm25_memory_overlap": 0.2, "bm25_memory_sametop": 1.0,  # a and c in both, of 10 asked for
        "bm25_structured_overlap": 0.0, "bm25_structured_sametop": 0.0,
        "memory_structured_overlap": 0.0, "memory_structured_sametop": 0.0})
    swapped = probe_lists()
    swapped["memory"] = swapped["memory"][::-1]  # same entities, another top
    assert list_features(swapped, depth=10)["bm25_memory_sametop"] == 0.0
    with pytest.raises(ValueError, match="probe depth must be >= 1, got 0"):
        list_features(probe_lists(), depth=0)


def test_probe_lists_are_a_shared_namespace_every_plan_reads():
    arms = arm_catalogue(("bm25", "dense", "structured", "memory"))
    inputs = policy_input(make_query(), Context(device="car"), arms, make_previews(), lists=probe_lists(),
                          probe_depth=10, stats=GeneratorStats())
    assert inputs.shared["L"] == list_features(probe_lists(), 10)
    assert all("L" not in action for action in inputs.actions)
    shared_line = example_lines(inputs)[0]
    assert "|L bm25_ltop:8 " in shared_line and "memory_structured_overlap" not in shared_line  # zeros left out
    restored = PolicyInput.from_json(json.loads(json.dumps(inputs.to_json())))
    assert restored == inputs and example_lines(restored) == example_lines(inputs)
    assert "L" not in policy_input(make_query(), Context(device="car"), arms, make_previews()).shared


def test_unknown_context_gets_unknown_buckets():
    inputs = policy_input(make_query(), Context.anonymous(), arm_catalogue(GENERATORS), {})
    assert inputs.shared["U"] == {"memory_seen": 0.0, "device_unknown": 1.0, "hour_unknown": 1.0, "day_unknown": 1.0}


def test_arm_features_by_hand():
    arms = arm_catalogue(GENERATORS)
    stats = GeneratorStats(decay=1.0, prior_count=1.0)
    stats.record("topical", Arm("bm25", (("bm25", 300),)), 1.0)  # bm25 mean: 1 / (1 + 1)
    inputs = policy_input(make_query(), Context.anonymous(), arms, make_previews(), stats=stats)
    heavy = inputs.actions[[arm.name for arm in arms].index("bm25_heavy")]
    assert heavy["A"] == pytest.approx({"arm_bm25_heavy": 1.0, "log_budget": math.log1p(300), "n_generators": 3.0,
                                        "bm25": 1.0, "bm25_share": 0.6, "bm25_logk": math.log1p(180),
                                        "dense": 1.0, "dense_share": 0.2, "dense_logk": math.log1p(60),
                                        "structured": 1.0, "structured_share": 0.2,
                                        "structured_logk": math.log1p(60)})
    # structured has no preview, so no P features; dense found nothing above its threshold
    assert heavy["P"] == pytest.approx({"bm25_top": 7.5, "bm25_gap": 1.5, "bm25_loghits": math.log1p(12),
                                        "bm25_empty": 0.0, "dense_top": 0.4, "dense_gap": 0.01,
                                        "dense_loghits": 0.0, "dense_empty": 1.0})
    traits = {f"{g}_{t}": 0.0 for g in ("bm25", "dense", "structured") for t in ("new", "popular", "personalized")}
    # bm25_heavy itself was never played: its own mean is the prior 0.0; the bm25 arm's is 1 / (1 + 1)
    assert heavy["R"] == {"arm_reward": 0.0, "bm25_reward": 0.5, "dense_reward": 0.0, "structured_reward": 0.0,
                          **traits}
    alone = inputs.actions[[arm.name for arm in arms].index("bm25")]
    assert alone["R"]["arm_reward"] == 0.5
    assert len(inputs.actions) == len(arms)


@pytest.mark.parametrize("text, script", [("Кино группа", "cyrillic"), ("Ελληνικά", "greek"), ("東京事変", "cjk"),
                                          ("ヨルシカ", "cjk"), ("아이유", "cjk"), ("فيروز", "arabic"),
                                          ("שלום", "hebrew"), ("Beyoncé", "latin"), ("1999", "other"),
                                          ("ትግርኛ", "other"), ("AC/DC Кино Кино", "cyrillic")])
def test_script_of(text, script):
    assert script_of(text) == script


@pytest.mark.parametrize("n_chars, bucket", [(0, "short"), (10, "short"), (11, "medium"), (25, "medium"),
                                             (50, "long"), (51, "very_long")])
def test_length_bucket(n_chars, bucket):
    assert length_bucket(n_chars) == bucket


@pytest.mark.parametrize("hour, bucket", [(0, "night"), (5, "night"), (6, "morning"), (12, "afternoon"),
                                          (17, "afternoon"), (18, "evening"), (23, "evening")])
def test_hour_bucket(hour, bucket):
    assert hour_bucket(datetime(2024, 5, 6, hour)) == bucket


@pytest.mark.parametrize("text", ODD)
def test_vw_name_is_safe_non_empty_and_idempotent(text):
    name = vw_name(text)
    assert name and not re.search(r"[\s|:]", name)
    assert vw_name(name) == name


def test_vw_name_keeps_different_symbols_apart_and_folds_spelling():
    assert vw_name("🎸 rock") != vw_name("🎹 rock")
    assert vw_name("Hip Hop") == vw_name("hip  hop!") == "hip_hop"


def test_odd_strings_everywhere_give_vw_safe_lines_that_vw_reads():
    generators = ("bm 25", "dense|x", "mem:ory")
    arms = arm_catalogue(generators, budget=30)
    previews = {name: Preview(name, 3, 1.0, 0.5) for name in generators}
    inputs = policy_input(make_query("naïve 🎸 |:| שלום"), Context(device="smart tv|2:1"), arms, previews,
                          taste=ODD, stats=GeneratorStats())
    lines = example_lines(inputs)
    for line in lines:
        for group in line.removeprefix("shared ").split("|")[1:]:
            namespace, *features = group.split(" ")
            assert re.fullmatch(r"[A-Z]", namespace)
            assert all(re.fullmatch(r"[^\s|:]+:-?[0-9.e+-]+", feature) for feature in features if feature)
    decision = VWPolicy("epsilon", seed=0).select(inputs, arms)
    assert len(decision.pmf) == len(arms)


def test_policy_input_json_round_trip():
    inputs = policy_input(make_query(), Context(device="car"), arm_catalogue(GENERATORS), make_previews(),
                          taste=["שלום", "🎸"], stats=GeneratorStats())
    restored = PolicyInput.from_json(json.loads(json.dumps(inputs.to_json())))
    assert restored == inputs
    assert example_lines(restored) == example_lines(inputs)


def test_packed_json_is_smaller_and_rebuilds_every_arm():
    arms = arm_catalogue(("bm25", "dense", "structured", "memory", "exploration"))
    previews = {name: Preview(name, 40, 3.5, 0.25) for name in ("bm25", "structured", "memory", "exploration")}
    stats = GeneratorStats()
    stats.record("topical", arms[0], 0.7)
    inputs = policy_input(make_query(), Context(device="car"), arms, previews, taste=["rock"], stats=stats)
    packed = inputs.to_json()
    full = {"shared": inputs.shared, "actions": list(inputs.actions), "query_class": inputs.query_class}
    assert packed["format"] == 2 and len(packed["actions"]) == len(arms)
    assert len(json.dumps(packed)) < 0.6 * len(json.dumps(full))
    # each generator's preview is stored once, and every plan calling the generator refers to it
    assert sum(1 for key in packed["groups"] if key.startswith("P:")) == len(previews)
    restored = PolicyInput.from_json(json.loads(json.dumps(packed)))
    assert restored == inputs and [list(a["P"]) for a in restored.actions] == [list(a["P"]) for a in inputs.actions]
    assert example_lines(restored) == example_lines(inputs)
    # the earlier format (every arm in full) still reads: logs written before stay usable
    assert PolicyInput.from_json(json.loads(json.dumps(full))) == inputs


def test_inputs_not_built_by_policy_input_pack_one_group_per_arm_and_namespace():
    inputs = PolicyInput({"S": {"tokens": 2.0}}, ({"A": {"arm_x": 1.0}, "P": {}}, {"A": {"arm_y": 1.0}}), "topical")
    packed = inputs.to_json()
    assert packed["actions"] == [{"A": ["0.A"], "P": ["0.P"]}, {"A": ["1.A"]}]
    assert PolicyInput.from_json(json.loads(json.dumps(packed))) == inputs


def test_packed_json_nulls_read_as_nan_and_unknown_groups_are_refused():
    data = {"format": 2, "query_class": "x", "shared": {"S": {"a": None}}, "groups": {"g": {"b": None}},
            "actions": [{"P": ["g", {"c": 1}]}]}
    inputs = PolicyInput.from_json(data)
    assert math.isnan(inputs.shared["S"]["a"]) and math.isnan(inputs.actions[0]["P"]["b"])
    assert inputs.actions[0]["P"]["c"] == 1.0
    with pytest.raises(ValueError, match="not a PolicyInput dict.*'h'"):
        PolicyInput.from_json({**data, "actions": [{"P": ["h"]}]})
    with pytest.raises(ValueError, match="not a PolicyInput dict"):
        PolicyInput.from_json({**data, "actions": [{"P": "g"}]})


@pytest.mark.parametrize("data", [{}, {"shared": {}, "actions": 3, "query_class": "x"},
                                  {"shared": {"S": {"a": "b"}}, "actions": [], "query_class": "x"}])
def test_policy_input_from_json_rejects_other_shapes(data):
    with pytest.raises(ValueError, match="not a PolicyInput dict"):
        PolicyInput.from_json(data)


def test_stats_decayed_mean_by_hand():
    stats = GeneratorStats(decay=0.5, prior_count=1.0)
    equal = Arm("equal", (("bm25", 150), ("dense", 150)))
    stats.record("topical", equal, 1.0)   # bm25: weight 0.5, sum 0.5
    stats.record("topical", equal, -1.0)  # bm25: weight 0.25 + 0.5, sum 0.25 - 0.5
    assert stats.mean("topical", "bm25") == pytest.approx(-0.25 / 1.75)
    assert stats.mean("spearfishing", "bm25") == 0.0


def test_stats_round_trip_and_errors():
    stats = GeneratorStats(decay=0.9)
    stats.record("ambiguous", Arm("dense", (("dense", 10),)), 0.5)
    restored = GeneratorStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    assert restored.mean("ambiguous", "dense") == stats.mean("ambiguous", "dense") > 0.0
    assert restored.arm_mean("ambiguous", "dense") == stats.arm_mean("ambiguous", "dense") == pytest.approx(0.25)
    with pytest.raises(ValueError, match="decay must be in"):
        GeneratorStats(decay=0.0)
    with pytest.raises(ValueError, match="reward must be a number in"):
        stats.record("ambiguous", Arm("dense", (("dense", 10),)), 1.5)
    with pytest.raises(ValueError, match="not a GeneratorStats dict"):
        GeneratorStats.from_dict({"sums": {}})


def test_generator_traits_are_running_shares_read_as_action_features():
    from ltrr.policy.stats import TRAITS, GeneratorStats

    stats = GeneratorStats(decay=1.0, prior_count=1.0)
    stats.record_traits("topical", "exploration", {"new": 1.0, "popular": 0.0, "personalized": 0.5})
    stats.record_traits("topical", "exploration", {"new": 1.0, "popular": 0.0, "personalized": 0.5})
    assert stats.trait("topical", "exploration", "new") == pytest.approx(2 / 3)
    assert stats.trait("topical", "bm25", "new") == 0.0 and stats.trait("spearfishing", "exploration", "new") == 0.0
    again = GeneratorStats.from_dict(stats.to_dict())
    assert all(again.trait("topical", "exploration", t) == stats.trait("topical", "exploration", t) for t in TRAITS)
    with pytest.raises(ValueError, match="unknown traits \\['fresh'\\]"):
        stats.record_traits("topical", "bm25", {"fresh": 1.0})
