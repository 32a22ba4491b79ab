"""ltrr: learning to rank and retrieve for music search.

The public surface grows with the engine; today it is the config tree, the catalog store and its nouns.
"""

from .config import EngineConfig
from .store import CatalogStore
from .types import Entity, Popularity, TagWeight, UserProfile

__version__ = "0.1.0"

__all__ = ["CatalogStore", "EngineConfig", "Entity", "Popularity", "TagWeight", "UserProfile", "__version__"]
