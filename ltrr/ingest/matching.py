"""Matching another source's names against the catalog, and locating an ingester's input file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import IngestError
from ..text import name_key
from .rows import find_input


class ArtistMatcher:
    """Catalog artists by exact name (stripped) and by `text.name_key`, for matching another source's names.

    >>> matcher = ArtistMatcher([("a:1", "Beyoncé", "beyonce"), ("a:2", "Vela Moss", "vela moss")])
    >>> matcher.match("Beyonce"), matcher.match(" Vela Moss")
    ((['a:1'], False), (['a:2'], True))
    """

    def __init__(self, catalog_artists: Iterable[tuple[str, str, str]]) -> None:
        self.by_name: dict[str, list[str]] = {}
        self.by_key: dict[str, list[str]] = {}
        for artist_id, name, key in catalog_artists:
            self.by_name.setdefault(name.strip(), []).append(artist_id)
            self.by_key.setdefault(key, []).append(artist_id)

    def match(self, name: str) -> tuple[list[str], bool]:
        """(artist ids sorted, whether they matched by exact name); ([], False) when none matches."""
        exact = self.by_name.get(name.strip())
        if exact:
            return sorted(exact), True
        return sorted(self.by_key.get(name_key(name), [])), False


def input_file(path: Path, stem: str) -> Path:
    """`path` itself when it is a file, else `path/stem[.gz]`."""
    if path.is_file():
        return path
    if path.is_dir():
        return find_input(path, stem)
    raise IngestError(f"{path}: no such file or folder; point PATH at {stem}[.gz] or the folder that holds it")
