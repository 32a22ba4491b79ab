"""The engine's sections of the EngineConfig tree: retrieval (one table per generator), policy, ranker, feedback.

    [retrieval]
    generators = ["bm25", "dense", "structured", "memory", "exploration"]
    [retrieval.dense]
    ef_search = 128
    [policy]
    kind = "vw"
    exploration = "squarecb"
    budget = 300
    [ranker]
    position_bias = "lightgbm"
    [feedback]
    cost_per_candidate = 0.0005

Each component gets its own section (`config.retrieval.bm25`, `config.policy`...), never the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, get_args

from .config_checks import at_least, between, check_types
from .errors import ConfigError
from .types import QueryClass

GENERATOR_NAMES = ("bm25", "dense", "structured", "memory", "exploration")
ENCODERS = ("minilm", "hashing")
ENCODER_BACKENDS = ("onnx", "torch")
POLICY_KINDS = ("vw", "greedy", "fixed", "single", "uniform")
QUERY_CLASSES: tuple[str, ...] = get_args(QueryClass)
EXPLORATIONS = ("epsilon", "squarecb", "bag", "cover")
POSITION_BIAS = ("lightgbm", "none")
EXPLORATION_MODES = ("mix", "new", "long_tail", "novel")


def _one_of(section: object, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(section, name)
    if value not in choices:
        raise ConfigError(f"{section.section}.{name} must be one of {list(choices)}, got {value!r}")


@dataclass(frozen=True)
class BM25Config:
    """Okapi BM25 over title/artist/album/playlist/tags text with a popularity prior (see retrieval/bm25.py)."""

    section: ClassVar[str] = "retrieval.bm25"
    k1: float = 1.2
    b: float = 0.75
    epsilon: float = 0.25
    popularity_weight: float = 4.0
    title_weight: float = 3.0
    artist_weight: float = 2.0
    album_weight: float = 1.0
    playlist_weight: float = 0.5
    tags_weight: float = 0.5
    typo_discount: float = 0.5

    def __post_init__(self) -> None:
        check_types(self)
        between(self, "k1", 0.0, 10.0)
        between(self, "typo_discount", 0.0, 1.0)
        between(self, "b", 0.0, 1.0)
        for name in ("epsilon", "popularity_weight", "title_weight", "artist_weight", "album_weight",
                     "playlist_weight", "tags_weight"):
            between(self, name, 0.0, 100.0)

    def field_weights(self) -> dict[str, float]:
        return {"title": self.title_weight, "artist": self.artist_weight, "album": self.album_weight,
                "playlist": self.playlist_weight, "tags": self.tags_weight}


@dataclass(frozen=True)
class DenseConfig:
    """all-MiniLM-L6-v2 embeddings in an HNSW index (`exact = true`: brute force, for small catalogs and tests).
    encoder_backend: "onnx" (ONNX Runtime, the default, ~3x faster per query) or "torch" (sentence-transformers);
    the vectors are the same, so neither it nor encoder_threads invalidates a built index.
    encoder_threads: threads encoding one query; build_threads: threads encoding the catalog while an index is
    built (0: one per core; measured on 2 cores, ONNX: 195 texts/s on 1 thread, 402 on 2). Neither invalidates
    a build."""

    section: ClassVar[str] = "retrieval.dense"
    M: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    exact: bool = False
    query_cache_size: int = 4096
    batch_size: int = 64
    preview_k: int = 16
    hit_threshold: float = 0.5
    kind_index_share: float = 0.5
    encoder_threads: int = 1
    build_threads: int = 0
    encoder_backend: str = "onnx"

    def __post_init__(self) -> None:
        check_types(self)
        _one_of(self, "encoder_backend", ENCODER_BACKENDS)
        for name in ("M", "ef_construction", "ef_search", "batch_size", "preview_k", "encoder_threads"):
            at_least(self, name, 1)
        at_least(self, "query_cache_size", 0)
        at_least(self, "build_threads", 0)
        between(self, "hit_threshold", -1.0, 1.0)
        between(self, "kind_index_share", 0.0, 1.0)


@dataclass(frozen=True)
class StructuredConfig:
    section: ClassVar[str] = "retrieval.structured"
    popularity_weight: float = 0.5
    years_widening: int = 5

    def __post_init__(self) -> None:
        check_types(self)
        between(self, "popularity_weight", 0.0, 10.0)
        at_least(self, "years_widening", 0)


@dataclass(frozen=True)
class MemoryConfig:
    section: ClassVar[str] = "retrieval.memory"
    half_life_days: float = 14.0
    prior_strength: float = 20.0
    max_per_key: int = 500
    n_tags: int = 2
    typo_discount: float = 0.5

    def __post_init__(self) -> None:
        check_types(self)
        between(self, "half_life_days", 0.01, 3650.0)
        between(self, "prior_strength", 0.0, 1e6)
        at_least(self, "max_per_key", 1)
        at_least(self, "n_tags", 0)
        between(self, "typo_discount", 0.0, 1.0)


@dataclass(frozen=True)
class ExplorationConfig:
    section: ClassVar[str] = "retrieval.exploration"
    mode: str = "mix"
    new_days: float = 30.0
    tail_share: float = 0.8
    novel_window: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        check_types(self)
        _one_of(self, "mode", EXPLORATION_MODES)
        between(self, "new_days", 0.0, 3650.0)
        between(self, "tail_share", 0.0, 1.0)
        at_least(self, "novel_window", 1)


@dataclass(frozen=True)
class RetrievalConfig:
    """Which generators the engine builds, the encoder they share, and one table per generator.

    encoder: "minilm" (all-MiniLM-L6-v2 from the installed package, offline) or "hashing" (a deterministic
    character-trigram stub: no model, for tests and quick experiments).
    """

    section: ClassVar[str] = "retrieval"
    generators: tuple[str, ...] = GENERATOR_NAMES
    encoder: str = "minilm"
    bm25: BM25Config = field(default_factory=BM25Config)
    dense: DenseConfig = field(default_factory=DenseConfig)
    structured: StructuredConfig = field(default_factory=StructuredConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    exploration: ExplorationConfig = field(default_factory=ExplorationConfig)

    def __post_init__(self) -> None:
        check_types(self)
        _one_of(self, "encoder", ENCODERS)
        unknown = [name for name in self.generators if name not in GENERATOR_NAMES]
        if unknown or not self.generators or len(set(self.generators)) != len(self.generators):
            raise ConfigError(f"retrieval.generators must be distinct names from {list(GENERATOR_NAMES)}, "
                              f"got {list(self.generators)!r}")


@dataclass(frozen=True)
class PolicyConfig:
    """The retrieval-plan policy. kind: "vw" (a Vowpal Wabbit contextual bandit exploring by `exploration`),
    "greedy" (VW without exploration), "fixed" (always `fixed_arm`), "single" (only `single_generator`),
    "uniform" (a plan drawn uniformly). budget: total candidates of a full plan. min_propensity: the floor
    every plan's probability is mixed up to, so logs stay usable for off-policy evaluation. floor_decay: after
    this many policy updates the floor shrinks as min_propensity * sqrt(floor_decay / updates) (0: constant;
    `policy/vw.py`; sim/README.md measures it). probe_depth: before
    choosing, the engine retrieves this many candidates from BM25, structured search and the click memory and
    gives the policy their scores and agreement (`policy/features.py`, namespace "L"); 0: no probe. pool_probe:
    the query classes ("spearfishing", "topical", "ambiguous", as query understanding guesses them) whose
    searches also pool the probe's candidates, already retrieved, into whatever plan is chosen (each probed
    generator contributes at least probe_depth; `Engine.pool_plan`). Empty by default: for every class its
    extra candidates push relevant ones down on topical queries; ["spearfishing"] finds more title lookups
    where the ranker is retrained from the log, and costs clicks where it is not (README, "Plans")."""

    section: ClassVar[str] = "policy"
    kind: str = "vw"
    exploration: str = "squarecb"
    budget: int = 300
    min_propensity: float = 0.002
    floor_decay: int = 1000
    epsilon: float = 0.05
    gamma_scale: float = 1000.0  # see policy/vw.py GAMMA_SCALE: plans' rewards differ by hundredths
    bag_size: int = 5
    cover_size: int = 3
    learning_rate: float = 0.5
    probe_depth: int = 10
    pool_probe: tuple[str, ...] = ()
    fixed_arm: str = "equal"
    single_generator: str = "bm25"
    seed: int = 7

    def __post_init__(self) -> None:
        check_types(self)
        _one_of(self, "kind", POLICY_KINDS)
        _one_of(self, "exploration", EXPLORATIONS)
        _one_of(self, "single_generator", GENERATOR_NAMES)
        at_least(self, "budget", 10)
        between(self, "min_propensity", 0.0, 0.2)
        between(self, "epsilon", 0.0, 1.0)
        between(self, "learning_rate", 1e-6, 100.0)
        between(self, "gamma_scale", 0.0, 1e6)
        at_least(self, "bag_size", 1)
        at_least(self, "cover_size", 1)
        at_least(self, "probe_depth", 0)
        at_least(self, "floor_decay", 0)
        unknown = [name for name in self.pool_probe if name not in QUERY_CLASSES]
        if unknown or len(set(self.pool_probe)) != len(self.pool_probe):
            raise ConfigError(f"policy.pool_probe must be distinct query classes from {list(QUERY_CLASSES)}, "
                              f"got {list(self.pool_probe)!r}")


@dataclass(frozen=True)
class RankerConfig:
    """LightGBM LambdaMART. retrain_every: refit from the log after this many new clicks (0: only on demand);
    min_clicks: searches with clicks needed before a first fit is attempted. position_bias_regularization:
    shrinks the learned position factors (see `ranking/lambdamart.py` for why the default is 1, not 0)."""

    section: ClassVar[str] = "ranker"
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    position_bias: str = "lightgbm"
    position_bias_regularization: float = 1.0
    retrain_every: int = 0
    min_clicks: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        check_types(self)
        _one_of(self, "position_bias", POSITION_BIAS)
        for name in ("n_estimators", "num_leaves", "min_data_in_leaf", "min_clicks"):
            at_least(self, name, 1)
        at_least(self, "retrain_every", 0)
        between(self, "learning_rate", 1e-6, 1.0)
        between(self, "position_bias_regularization", 0.0, 1e6)


@dataclass(frozen=True)
class FeedbackConfig:
    """The reward a plan earns (formula in ltrr/feedback/rewards.py and the README), when a search without a
    click is closed with the no-click reward (`close_after_s`; `engine.close(request_id)` closes at once), and
    how long a logged search may wait to be written in a batch (`write_behind_s`, 0: at once; see
    ltrr/feedback/log.py)."""

    section: ClassVar[str] = "feedback"
    click_value: float = 1.0
    stream_value: float = 1.0
    stream_seconds: float = 30.0
    rank_discount: bool = True
    cost_per_candidate: float = 0.0005
    cost_per_ms: float = 0.0
    no_click: float = 0.0
    close_after_s: float = 300.0
    write_behind_s: float = 0.25

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("click_value", "stream_value", "no_click"):
            between(self, name, -1.0, 1.0)
        for name in ("cost_per_candidate", "cost_per_ms"):
            between(self, name, 0.0, 0.01)
        between(self, "stream_seconds", 0.0, 86400.0)
        between(self, "close_after_s", 0.0, 86400.0 * 7)
        between(self, "write_behind_s", 0.0, 60.0)
