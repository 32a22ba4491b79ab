"""Named ranking features computed for a whole pool at once (see `registry` for the conventions).

    from ltrr.features import FeatureInput, default_feature_set
    generators = ("bm25", "dense", "structured", "memory", "exploration")
    feature_set = default_feature_set(generators)
    matrix = feature_set.build(FeatureInput(query, context, pool, entities, generators))  # (n, len(feature_set))

Importing this package registers every feature: the modules below are imported for that effect, in the
order that fixes the default column order.
"""

from . import (
                       behavior,  # noqa: F401
                       entity,  # noqa: F401
                       lexical,  # noqa: F401
                       slots,  # noqa: F401
                       sources,  # noqa: F401  (registers features)
)
from .registry import (
                       FeatureInput,
                       FeatureSet,
                       default_feature_set,
                       feature,
                       registered_features,
                       source_feature,
                       source_quantities,
)

__all__ = ["FeatureInput", "FeatureSet", "default_feature_set", "feature", "registered_features",
           "source_feature", "source_quantities"]
