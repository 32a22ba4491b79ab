"""Named ranking features computed for a whole pool at once (see `registry` for the conventions).

    from ltrr.features import FeatureInput, default_feature_set
    generators = ("bm25", "dense", "structured", "memory", "exploration")
    feature_set = default_feature_set(generators)
    matrix = feature_set.build(FeatureInput(query, context, pool, entities, generators))  # (n, len(feature_set))

Importing this package registers every feature (the feature modules are imported for that effect); the
default column order is fixed by `registry.GROUP_ORDER`, not by import order.
"""

from . import behavior, entity, lexical, slots, sources  # noqa: F401  imported to register their features
from .registry import (
    FeatureInput,
    FeatureSet,
    SharedRows,
    default_feature_set,
    feature,
    registered_features,
    source_feature,
    source_quantities,
)

__all__ = ["FeatureInput", "FeatureSet", "SharedRows", "default_feature_set", "feature", "registered_features",
           "source_feature", "source_quantities"]
