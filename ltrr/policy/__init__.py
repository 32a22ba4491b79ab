"""Choosing a retrieval plan per search: the arm catalogue, bandit features, VWPolicy and baselines.

    arms = arm_catalogue(["bm25", "dense", "structured", "memory", "exploration"], budget=300)
    policy = make_policy("vw", arms=arms, seed=7, exploration="squarecb")
    inputs = policy_input(query, context, arms, previews, taste=top_genres, stats=stats)
    decision = policy.select(inputs, arms)
    ...
    policy.update(inputs, decision, reward)
    stats.record(inputs.query_class, decision.arm, reward)
"""

from .arms import arm_catalogue, arm_index
from .base import Policy, floor_pmf, load_policy, sample_index
from .baselines import FixedPlan, SingleGenerator, UniformRandom, make_policy, single_generator_index
from .features import PolicyInput, policy_input, vw_name
from .stats import GeneratorStats
from .vw import EXPLORATIONS, VWPolicy

__all__ = ["EXPLORATIONS", "FixedPlan", "GeneratorStats", "Policy", "PolicyInput", "SingleGenerator",
           "UniformRandom", "VWPolicy", "arm_catalogue", "arm_index", "floor_pmf", "load_policy", "make_policy",
           "policy_input", "sample_index", "single_generator_index", "vw_name"]
