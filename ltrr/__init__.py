"""ltrr: learning to rank and retrieve for music search.

    from ltrr import Context, Engine
    engine = Engine.open("ltrr_data/demo.db")
    result = engine.search("80s synth pop", Context(device="phone"), limit=10)

`Engine` and `SearchResult` load lazily: importing `ltrr` for the config or the store does not load
LightGBM, Vowpal Wabbit or the embedding model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import EngineConfig
from .store import CatalogStore
from .types import Context, Entity, Popularity, TagWeight, UserProfile

if TYPE_CHECKING:
    from .engine import Engine
    from .result import SearchResult

__version__ = "0.1.0"

__all__ = ["CatalogStore", "Context", "Engine", "EngineConfig", "Entity", "Popularity", "SearchResult", "TagWeight",
           "UserProfile", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from .engine import Engine
        return Engine
    if name == "SearchResult":
        from .result import SearchResult
        return SearchResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
