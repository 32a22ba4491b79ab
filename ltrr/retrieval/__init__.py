"""Candidate generators: one protocol (`base.CandidateGenerator`), one module per generator."""

from .base import CandidateGenerator, Pool, PooledEntity, union

__all__ = ["CandidateGenerator", "Pool", "PooledEntity", "union"]
