"""Simulated users: the seeded query noise model that turns known targets into the queries users type."""

from .noise import FORMS, OPERATORS, NoisyQuery, QueryNoise

__all__ = ["FORMS", "OPERATORS", "NoisyQuery", "QueryNoise"]
