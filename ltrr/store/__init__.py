"""The catalog store: SQLAlchemy tables, transactional writes and batch reads."""

from .catalog import CatalogStore
from .db import resolve_url
from .writer import CatalogWriter, WriteCounts

__all__ = ["CatalogStore", "CatalogWriter", "WriteCounts", "resolve_url"]
