"""Bandit features of one search: the context (shared by every arm) and one feature set per arm.

Namespaces (VW's namespace letter is what interactions name):

- shared "S", the query: `tokens` (token count, capped at 32), `chars_<short|medium|long|very_long>`
  (character length), `script_<latin|cyrillic|greek|cjk|arabic|hebrew|other>`, `slot_<name>` (the slot's
  highest confidence), `class_<query_class>`;
- shared "U", the user and situation: `memory_seen` (the user's click memory knows this query),
  `taste_<genre>` (the user's top genres), `device_<device|unknown>`, `hour_<night|morning|afternoon|evening|
  unknown>` (from the UTC timestamp), `day_<weekday|weekend|unknown>`;
- shared "L", the probe lists (when the caller retrieved a short list from some generators before choosing):
  per probed generator g `<g>_ltop` (its top score), `<g>_ldrop` (its last score over its top score),
  `<g>_llogn` (log1p of its length), `<g>_lnone` (1.0 when it is empty), and per pair of probed generators
  `<a>_<b>_overlap` (entities in both lists over the probe depth) and `<a>_<b>_sametop` (1.0 when both lists
  start with the same entity). Every plan sees them, also for generators it leaves out: whether the click
  memory's list agrees with BM25's says something about which plan will surface the target;
- action "A", the plan: `arm_<name>`, and per generator g in the plan `<g>` (1.0), `<g>_share` (its k / the
  plan's budget), `<g>_logk` (log1p(k)); `log_budget` (log1p of the plan's budget), `n_generators`;
- action "P", each planned generator's preview: `<g>_top` (top score), `<g>_gap` (best minus second),
  `<g>_loghits` (log1p(n_hits)), `<g>_empty` (1.0 when n_hits == 0);
- action "R", the plan's own running mean reward for this query class, `arm_reward`, and each planned
  generator's: `<g>_reward`, plus the generator's trait shares `<g>_<new|popular|personalized>`.

Every string value becomes part of a feature name through `vw_name`, so names never hold the characters
VW's text format splits on (space, `|`, `:`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..types import Arm, Candidate, Context, Preview, Query
from .stats import TRAITS, GeneratorStats

logger = logging.getLogger(__name__)

Namespaces = dict[str, dict[str, float]]

QUERY_NAMESPACE, USER_NAMESPACE, LISTS_NAMESPACE = "S", "U", "L"
PACKED_FORMAT = 2
"""`PolicyInput.to_json`'s format: 2 = packed (arms reference shared feature groups); without a format key, every
arm's namespaces in full (read for logs written before)."""
PLAN_NAMESPACE, PREVIEW_NAMESPACE, REWARD_NAMESPACE = "A", "P", "R"
MAX_TOKENS = 32
_UNSAFE = re.compile(r"[^\w.\-]+")
_SCRIPTS = (("LATIN", "latin"), ("CYRILLIC", "cyrillic"), ("GREEK", "greek"), ("CJK", "cjk"),
            ("HIRAGANA", "cjk"), ("KATAKANA", "cjk"), ("HANGUL", "cjk"), ("ARABIC", "arabic"), ("HEBREW", "hebrew"))


@dataclass(frozen=True)
class PolicyInput:
    """What a policy sees for one search: namespace -> feature name -> value, shared and per arm.

    actions: one entry per arm, in catalogue order. Stored in the feedback log (`to_json`) so the policy
    can be updated or replayed later on exactly the features it chose with.
    """

    shared: Namespaces
    actions: tuple[Namespaces, ...]
    query_class: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; `from_json` reads it back.

        Packed: the arms' namespaces are lists of references into `groups` (a group is a namespace's features
        shared by several arms, such as one generator's preview, which every plan calling that generator
        carries) and of inline dicts; an arm's namespace is the merge of its entries in order. Inputs built by
        `policy_input` come packed by generator (a 27-plan search on the real catalog: 11.6 KB of JSON instead
        of 21 KB); others get one group per arm and namespace. The dict
        shares the namespace dicts with this input (building them already made every name a str and every
        value a float): treat it as read-only.

            {"format": 2, "query_class": "topical", "shared": {"S": {...}, "U": {...}},
             "groups": {"A0": {"arm_bm25": 1.0, ...}, "P:bm25": {"bm25_top": 7.2, ...}, ...},
             "actions": [{"A": ["A0"], "P": ["P:bm25"], "R": [{"arm_reward": 0.41}, "R:bm25"]}, ...]}
        """
        packed = self.__dict__.get("_packed")
        if packed is None:
            groups = {f"{index}.{namespace}": features for index, action in enumerate(self.actions)
                      for namespace, features in action.items()}
            actions = [{namespace: [f"{index}.{namespace}"] for namespace in action}
                       for index, action in enumerate(self.actions)]
            packed = (groups, actions)
        return {"format": PACKED_FORMAT, "query_class": self.query_class, "shared": self.shared,
                "groups": packed[0], "actions": packed[1]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicyInput:
        """Rebuild what `to_json` wrote (the packed format, or the earlier one with every arm's namespaces in
        full). Null values (a JSON column's non-finite floats) read as NaN.

        Raises:
            ValueError: the dict is not shaped like `to_json`'s output.
        """
        try:
            if "groups" in data or data.get("format") == PACKED_FORMAT:
                return cls(_copy(data["shared"]), _unpack(data["groups"], data["actions"]), str(data["query_class"]))
            return cls(_copy(data["shared"]), tuple(_copy(action) for action in data["actions"]),
                       str(data["query_class"]))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"not a PolicyInput dict ({error!r}); pass what PolicyInput.to_json() returned") from error


def policy_input(query: Query, context: Context, arms: Sequence[Arm], previews: Mapping[str, Preview], *,
                 taste: Sequence[str] = (), memory_seen: bool = False,
                 stats: GeneratorStats | None = None,
                 lists: Mapping[str, Sequence[Candidate]] | None = None, probe_depth: int = 0) -> PolicyInput:
    """The features of one search for choosing among `arms`.

    Args:
        previews: generator name -> its preview of this query; a generator without one gets no "P" features.
        taste: the user's top genres, most liked first.
        memory_seen: whether the user's click memory has entries for this query.
        stats: running mean reward per generator; without it there are no "R" features.
        lists: generator name -> its first `probe_depth` candidates for this query (the probe); without them
            there is no "L" namespace.
    """
    shared = {QUERY_NAMESPACE: query_features(query), USER_NAMESPACE: user_features(context, taste, memory_seen)}
    if lists is not None:
        shared[LISTS_NAMESPACE] = list_features(lists, probe_depth)
    generators = {name for arm in arms for name, _ in arm.plan}
    per_generator = {name: preview_features(name, previews[name]) for name in generators if name in previews}
    rewards = ({name: generator_reward_features(name, query.query_class, stats) for name in generators}
               if stats is not None else None)
    actions = tuple(arm_features(arm, per_generator, query.query_class, stats, rewards) for arm in arms)
    inputs = PolicyInput(shared, actions, query.query_class)
    # VW's text for these inputs, put together from pieces rendered once per generator and (for the static
    # plan part) once per arm: what `vw.example_lines` would render from the dicts, at a fraction of the cost.
    previews_text = {name: features_text(features) for name, features in per_generator.items()}
    rewards_text = {name: features_text(features) for name, features in rewards.items()} if rewards else {}
    lines = ["shared " + " ".join(namespace_group(namespace, features_text(features))
                                  for namespace, features in shared.items())]
    for arm, action in zip(arms, actions, strict=True):
        plan = [name for name, _ in arm.plan]
        reward = ""
        if stats is not None:
            reward = " ".join(text for text in (features_text({"arm_reward": action[REWARD_NAMESPACE]["arm_reward"]}),
                                                *(rewards_text[name] for name in plan)) if text)
        preview = " ".join(previews_text[name] for name in plan if previews_text.get(name))
        lines.append(" ".join((namespace_group(PLAN_NAMESPACE, _plan_text(arm)),
                               namespace_group(PREVIEW_NAMESPACE, preview), namespace_group(REWARD_NAMESPACE, reward))))
    object.__setattr__(inputs, "_vw_lines", lines)  # a cache, not a field: equality and to_json ignore it
    object.__setattr__(inputs, "_packed", _packed(arms, actions, per_generator, rewards))
    return inputs


def _packed(arms: Sequence[Arm], actions: Sequence[Namespaces], previews: Mapping[str, dict[str, float]],
            rewards: Mapping[str, dict[str, float]] | None) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """`to_json`'s groups and arm entries for inputs built by `policy_input`: each arm's plan features, and
    each generator's preview and reward features once, referenced by every arm that calls it (the merge
    order is `arm_features`'s, so unpacking rebuilds the same dicts in the same order)."""
    layout = _pack_layout(tuple(arms), tuple(previews), rewards is not None)
    groups: dict[str, dict[str, float]] = {f"P:{name}": features for name, features in previews.items()}
    if rewards is not None:
        groups.update((f"R:{name}", features) for name, features in rewards.items())
    packed = []
    for (plan_key, plan_entry, preview_entry, reward_keys), action in zip(layout, actions, strict=True):
        groups[plan_key] = action[PLAN_NAMESPACE]
        rewards_entry = [{"arm_reward": action[REWARD_NAMESPACE]["arm_reward"]}, *reward_keys] if reward_keys \
            is not None else []
        packed.append({PLAN_NAMESPACE: plan_entry, PREVIEW_NAMESPACE: preview_entry, REWARD_NAMESPACE: rewards_entry})
    return groups, packed


@lru_cache(maxsize=64)  # one catalogue and one set of previewed generators in every search
def _pack_layout(arms: tuple[Arm, ...], previewed: tuple[str, ...], with_rewards: bool
                 ) -> tuple[tuple[str, list[str], list[str], tuple[str, ...] | None], ...]:
    """Per arm: its plan group's key, its "A" and "P" entries and its reward group keys (None: no "R" features).
    The entry lists are shared by every packed input (JSON to be written: read-only)."""
    layout = []
    for index, arm in enumerate(arms):
        plan = [name for name, _ in arm.plan]
        layout.append((f"A{index}", [f"A{index}"], [f"P:{name}" for name in plan if name in previewed],
                       tuple(f"R:{name}" for name in plan) if with_rewards else None))
    return tuple(layout)


def _unpack(groups: Mapping[str, Mapping[str, Any]], actions: Sequence[Mapping[str, Sequence[Any]]]
            ) -> tuple[Namespaces, ...]:
    """The arms' namespaces from `to_json`'s packed groups and entries."""
    copied = {str(key): _features(features) for key, features in groups.items()}
    unpacked = []
    for action in actions:
        namespaces: Namespaces = {}
        for namespace, entries in action.items():
            if isinstance(entries, (str, bytes)):
                raise TypeError(f"namespace {namespace!r} holds {entries!r}, not a list of groups")
            features: dict[str, float] = {}
            for entry in entries:
                if isinstance(entry, str):
                    if entry not in copied:
                        raise KeyError(f"group {entry!r} is not in the groups")
                    features.update(copied[entry])
                else:
                    features.update(_features(entry))
            namespaces[str(namespace)] = features
        unpacked.append(namespaces)
    return tuple(unpacked)


def features_text(features: Mapping[str, float], rename: Callable[[str], str] | None = None) -> str:
    """`name:value` pairs in VW's text format (names through `rename` when given; else already safe); zero and
    non-finite values are left out (VW ignores zeros and cannot parse NaN)."""
    return " ".join(f"{name if rename is None else rename(name)}:{value:.9g}" for name, value in features.items()
                    if value != 0.0 and value - value == 0.0)  # x - x is 0.0 for a finite x, NaN for inf or NaN


def namespace_group(namespace: str, text: str) -> str:
    """One `|namespace pairs` group (just `|namespace` when there are none)."""
    return f"|{namespace} {text}" if text else f"|{namespace}"


@lru_cache(maxsize=1024)
def _plan_text(arm: Arm) -> str:
    return features_text(plan_features(arm))


def query_features(query: Query) -> dict[str, float]:
    """Namespace "S": length, script, slots with their confidence, query class."""
    features = {"tokens": float(min(len(query.tokens), MAX_TOKENS)),
                f"chars_{length_bucket(len(query.text.strip()))}": 1.0,
                f"script_{script_of(query.text)}": 1.0,
                f"class_{vw_name(query.query_class)}": 1.0}
    for slot in query.slots:
        name = f"slot_{vw_name(slot.name)}"
        features[name] = max(features.get(name, 0.0), float(slot.confidence))
    return features


def user_features(context: Context, taste: Sequence[str], memory_seen: bool) -> dict[str, float]:
    """Namespace "U": memory, taste, device, hour bucket, weekday or weekend."""
    features = {"memory_seen": 1.0 if memory_seen else 0.0,
                f"device_{vw_name(context.device or 'unknown')}": 1.0,
                f"hour_{hour_bucket(context.timestamp)}": 1.0,
                f"day_{day_kind(context.timestamp)}": 1.0}
    features.update({f"taste_{vw_name(genre)}": 1.0 for genre in taste})
    return features


def preview_features(generator: str, preview: Preview) -> dict[str, float]:
    """Namespace "P" entries of one generator, named after it."""
    name = vw_name(generator)
    return {f"{name}_top": _finite(preview.top_score), f"{name}_gap": _finite(preview.score_gap),
            f"{name}_loghits": math.log1p(max(preview.n_hits, 0)), f"{name}_empty": float(preview.n_hits == 0)}


def list_features(lists: Mapping[str, Sequence[Candidate]], depth: int) -> dict[str, float]:
    """Namespace "L": each probe list's scores and length, and how far each pair of lists agrees (see the module
    docstring). `depth`: the k the lists were asked for (>= 1), what an overlap is divided by."""
    if depth < 1:
        raise ValueError(f"probe depth must be >= 1, got {depth!r}")
    features: dict[str, float] = {}
    names = [(vw_name(name), candidates) for name, candidates in lists.items()]
    for name, candidates in names:
        if not candidates:
            features[f"{name}_lnone"] = 1.0
            continue
        top = _finite(candidates[0].score)
        features[f"{name}_ltop"] = top
        features[f"{name}_ldrop"] = _finite(candidates[-1].score / top) if top > 0 else 0.0
        features[f"{name}_llogn"] = math.log1p(len(candidates))
    for index, (first, first_list) in enumerate(names):
        found = {candidate.entity_id for candidate in first_list}
        for second, second_list in names[index + 1:]:
            features[f"{first}_{second}_overlap"] = sum(c.entity_id in found for c in second_list) / depth
            features[f"{first}_{second}_sametop"] = float(bool(first_list) and bool(second_list)
                                                          and first_list[0].entity_id == second_list[0].entity_id)
    return features


def arm_features(arm: Arm, previews: Mapping[str, dict[str, float]], query_class: str,
                 stats: GeneratorStats | None, rewards: Mapping[str, dict[str, float]] | None = None) -> Namespaces:
    """Namespaces "A", "P" and "R" of one arm. `rewards`: `generator_reward_features` of each generator, when
    the caller computed them once for every arm (else they are read from `stats`)."""
    preview: dict[str, float] = {}
    reward: dict[str, float] = {}
    if stats is not None:
        reward["arm_reward"] = stats.arm_mean(query_class, arm.name)
    for generator, _ in arm.plan:
        preview.update(previews.get(generator, {}))
        if stats is not None:
            reward.update(rewards[generator] if rewards is not None and generator in rewards
                          else generator_reward_features(generator, query_class, stats))
    return {PLAN_NAMESPACE: plan_features(arm), PREVIEW_NAMESPACE: preview, REWARD_NAMESPACE: reward}


@lru_cache(maxsize=1024)  # the same few dozen arms in every search; callers treat the dict as read-only
def plan_features(arm: Arm) -> dict[str, float]:
    """Namespace "A" of one arm: its name, budget, size and per-generator share and log k."""
    budget = arm.budget
    plan = {f"arm_{vw_name(arm.name)}": 1.0, "log_budget": math.log1p(budget), "n_generators": float(len(arm.plan))}
    for generator, k in arm.plan:
        name = vw_name(generator)
        plan.update({name: 1.0, f"{name}_share": k / budget, f"{name}_logk": math.log1p(k)})
    return plan


def generator_reward_features(generator: str, query_class: str, stats: GeneratorStats) -> dict[str, float]:
    """Namespace "R" entries of one generator: its running mean reward and trait shares for the query class."""
    name = vw_name(generator)
    features = {f"{name}_reward": stats.mean(query_class, generator)}
    for trait in TRAITS:
        features[f"{name}_{trait}"] = stats.trait(query_class, generator, trait)
    return features


@lru_cache(maxsize=4096)  # called for every arm and generator of every search, on a small set of strings
def vw_name(text: str) -> str:
    """A feature-name piece safe in VW's text format: letters (any script), digits, `_`, `.`, `-` only.

    The text is NFKC-normalized and case-folded and loses invisible format marks (RTL marks, zero-width
    joiners); every run of spaces, punctuation or symbols becomes `_`, so variants such as "Hip Hop" and
    "hip hop!" share a name. Symbols such as emoji carry meaning, so when one was replaced a short stable
    hash of the original is appended, and a text with nothing left becomes `x<hash>`. Idempotent.

        >>> vw_name("Hip Hop"), vw_name("drum&bass"), vw_name("rock")
        ('hip_hop', 'drum_bass', 'rock')
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    kept = "".join(char for char in folded if unicodedata.category(char) != "Cf")
    safe = _UNSAFE.sub("_", kept).strip("_")
    if safe and not any(unicodedata.category(char).startswith("S") for char in kept):
        return safe
    digest = hashlib.blake2b(str(text).encode("utf-8"), digest_size=3).hexdigest()
    return f"{safe}_{digest}" if safe else f"x{digest}"


def script_of(text: str) -> str:
    """The writing system of most of the letters: latin, cyrillic, greek, cjk, arabic, hebrew or other."""
    counts: dict[str, int] = {}
    for char in text:
        if char.isalpha():
            script = _script_of_letter(char)
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda script: (counts[script], script)) if counts else "other"


def length_bucket(n_chars: int) -> str:
    """short (<= 10 characters), medium (<= 25), long (<= 50) or very_long."""
    for limit, bucket in ((10, "short"), (25, "medium"), (50, "long")):
        if n_chars <= limit:
            return bucket
    return "very_long"


def hour_bucket(timestamp: datetime | None) -> str:
    """night (0-5 h), morning (6-11 h), afternoon (12-17 h), evening (18-23 h) or unknown."""
    if timestamp is None:
        return "unknown"
    return ("night", "morning", "afternoon", "evening")[timestamp.hour // 6]


def day_kind(timestamp: datetime | None) -> str:
    """weekday (Monday to Friday), weekend or unknown."""
    if timestamp is None:
        return "unknown"
    return "weekend" if timestamp.weekday() >= 5 else "weekday"


def _script_of_letter(char: str) -> str:
    name = unicodedata.name(char, "")
    for prefix, script in _SCRIPTS:
        if name.startswith(prefix):
            return script
    return "other"


def _finite(value: float) -> float:
    """NaN and infinities become 0.0: VW's parser cannot read them."""
    return float(value) if math.isfinite(value) else 0.0


def _copy(namespaces: Mapping[str, Mapping[str, float]]) -> Namespaces:
    return {str(namespace): _features(features) for namespace, features in namespaces.items()}


def _features(features: Mapping[str, Any]) -> dict[str, float]:
    """A namespace's features as read back from JSON: str names, float values (null, a non-finite float that
    a JSON column could not hold, reads as NaN)."""
    return {str(name): math.nan if value is None else float(value) for name, value in features.items()}
