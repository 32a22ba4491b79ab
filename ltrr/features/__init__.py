"""Named ranking features computed for a whole pool at once (see `registry` for the conventions).

    from ltrr.features import FeatureInput, default_feature_set
    generators = ("bm25", "dense", "structured", "memory", "exploration")
    feature_set = default_feature_set(generators)
    matrix = feature_set.build(FeatureInput(query, context, pool, entities, generators))  # (n, len(feature_set))

Importing this package registers every feature: the modules below are imported for that effect, in the
order that fixes the default column order.
"""

from . import sources  # noqa: F401  (registers features)
from . import lexical  # noqa: F401
from . import entity  # noqa: F401
from . import slots  # noqa: F401
from . import behavior  # noqa: F401
from .registry import (FeatureInput, FeatureSet, default_feature_set, feature, registered_features,
                       source_feature, source_quantities)

__all__ = ["FeatureInput", "FeatureSet", "default_feature_set", "feature", "registered_features",
           "source_feature", "source_quantities"]
