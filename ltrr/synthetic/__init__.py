"""The seeded synthetic catalog behind `ltrr demo`: artists, albums, tracks, playlists and users.

    catalog = generate_catalog(EngineConfig().catalog.synthetic)   # pure: same seed, same catalog
    report = write_catalog(CatalogStore.open("ltrr_data/demo.db"), catalog)

Names and titles come from our own word lists (`vocabulary`, `names`); no real catalog data is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import SyntheticCatalog, generate_catalog
    from .write import write_catalog

__all__ = ["SyntheticCatalog", "generate_catalog", "write_catalog"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): `ltrr.config` imports `.vocabulary` for the genre names, and must not pull in the
    # store and ingest modules through `write`, which would make an import cycle once those read the config.
    if name in ("SyntheticCatalog", "generate_catalog"):
        from . import catalog
        return getattr(catalog, name)
    if name == "write_catalog":
        from .write import write_catalog
        return write_catalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
