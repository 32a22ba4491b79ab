"""Entity ids: `SOURCE:KIND:KEY`, stable across re-ingests and unique across kinds.

The key is the source's own id where that is short and safe (a Spotify track id, an MPD pid, a CSV id);
any other key (an artist known only by name, an id with spaces or slashes) becomes "~" and a hash of the
exact text, and "~" never occurs in a plain key, so the two forms cannot collide. The Spotify
track URI `spotify:track:ID` is already of this shape and is used unchanged.
"""

from __future__ import annotations

import re

from .text import short_hash
from .types import EntityKind

_SAFE_KEY = re.compile(r"[A-Za-z0-9._\-]{1,64}")


def entity_id(source: str, kind: EntityKind, key: str) -> str:
    """The entity id for a source's key; hashes keys that are not short plain tokens.

    >>> entity_id("spotify", "track", "7KXjTSCq5nL1LoYtL7XAwS")
    'spotify:track:7KXjTSCq5nL1LoYtL7XAwS'
    >>> entity_id("mpd", "artist", "Kendrick Lamar")
    'mpd:artist:~5014a1f24ecf6354'
    """
    safe = key if _SAFE_KEY.fullmatch(key) else "~" + short_hash(key)
    return f"{source}:{kind}:{safe}"
