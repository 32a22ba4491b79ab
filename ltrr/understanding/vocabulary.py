"""Curated word lists of query understanding: moods and activities, kind words, stopwords.

These are our own choices, kept short and in one place so a reviewer can read every entry. A catalog tag
whose name is in `MOOD_WORDS` is a mood; every other tag is a genre. A mood word matches a "mood" slot even
when no catalog entity carries it yet (with lower confidence), because people search for moods before any
editor tags them.
"""

from __future__ import annotations

from types import MappingProxyType

from ..types import EntityKind

# Moods, feelings, activities, occasions and seasons people put in playlist names and queries.
MOOD_WORDS: frozenset[str] = frozenset({
    # feelings and vibes
    "chill", "chillout", "chill out", "relax", "relaxing", "calm", "mellow", "peaceful", "sad", "happy",
    "angry", "romantic", "love", "love songs", "sexy", "melancholy", "melancholic", "nostalgic", "nostalgia",
    "upbeat", "energetic", "hype", "feel good", "good vibes", "vibes", "dreamy", "moody", "uplifting",
    "motivation", "motivational", "inspirational", "heartbreak", "breakup", "break up", "emotional",
    # activities
    "sleep", "sleeping", "workout", "gym", "running", "cardio", "lifting", "exercise", "fitness", "yoga",
    "meditation", "study", "studying", "focus", "concentration", "reading", "driving", "road trip", "roadtrip",
    "cooking", "dinner", "cleaning", "commute", "party", "partying", "pregame", "dancing", "shower",
    "wake up", "morning", "late night", "beach", "pool party", "bbq", "cookout", "camping", "hiking",
    "pump up", "turn up", "slow jams", "feels", "car", "car rides", "travel", "vacation", "spring break",
    "tailgate", "sing along", "karaoke", "bedtime", "finals",
    # occasions and seasons
    "summer", "winter", "spring", "autumn", "christmas", "xmas", "holiday", "holidays", "halloween",
    "thanksgiving", "wedding", "birthday", "graduation", "rainy day", "rain", "sunday", "weekend",
    "throwback", "throwbacks", "worship", "praise", "jesus", "valentines", "valentines day", "chilling",
    "rainy",
})

# A mood word people type -> the catalog's usual word for it. Applied only when the typed word is not itself
# a catalog tag and the target is (so a catalog that tags "gym" keeps "gym").
MOOD_ALIASES: MappingProxyType[str, str] = MappingProxyType({
    "gym": "workout", "lifting": "workout", "exercise": "workout", "fitness": "workout", "cardio": "workout",
    "sleeping": "sleep", "studying": "study", "concentration": "focus", "chill out": "chill",
    "relaxing": "relax", "roadtrip": "road trip", "throwbacks": "throwback", "xmas": "christmas",
    "partying": "party", "breakup": "heartbreak", "break up": "heartbreak", "motivational": "motivation",
    "melancholic": "melancholy", "nostalgia": "nostalgic", "holidays": "holiday", "car": "driving",
    "car rides": "driving", "jesus": "worship", "finals": "study", "bedtime": "sleep", "turn up": "party",
    "chilling": "chill", "rainy": "rainy day", "valentines": "valentines day",
})

# Entity-type words -> (kind, confidence). "hits" and "tunes" say "tracks" less surely than "songs".
KIND_WORDS: MappingProxyType[str, tuple[EntityKind, float]] = MappingProxyType({
    "playlist": ("playlist", 1.0), "playlists": ("playlist", 1.0),
    "album": ("album", 1.0), "albums": ("album", 1.0), "lp": ("album", 0.8), "lps": ("album", 0.8),
    "artist": ("artist", 1.0), "artists": ("artist", 1.0), "band": ("artist", 0.8), "bands": ("artist", 0.8),
    "singer": ("artist", 0.8), "singers": ("artist", 0.8),
    "song": ("track", 1.0), "songs": ("track", 1.0), "track": ("track", 1.0), "tracks": ("track", 1.0),
    "hits": ("track", 0.7), "tunes": ("track", 0.7),
})

# Words of topical queries that name no slot ("workout music", "best of the 80s"): never a title cue.
TOPICAL_FILLERS: frozenset[str] = frozenset({
    "music", "mix", "mixtape", "radio", "playlist", "playlists", "songs", "best", "top", "greatest", "classics",
    "classic", "essentials", "jams", "bangers", "anthems", "favorites", "favourites", "faves", "new", "old",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
})

# The word that cues an artist after it ("songs by X", "hello by X").
ARTIST_CUE = "by"

# Function words (English, plus the Spanish ones common in playlist names): never an artist on their own
# unless nothing else explains the query, never a title cue for the query class.
STOPWORDS: frozenset[str] = frozenset({
    "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "from", "with", "by", "about", "as",
    "my", "me", "i", "im", "you", "your", "u", "we", "our", "us", "it", "its", "is", "are", "be", "was",
    "this", "that", "these", "those", "some", "all", "so", "just", "no", "not", "do", "dont", "up", "out",
    "into", "like", "but", "if", "what", "who", "when", "where", "how", "oh", "yeah", "n", "s", "vs",
    "de", "la", "el", "los", "las", "y", "en", "mi", "con", "le",
})
