"""Artist names and track and album titles, built from our own word lists and syllables.

Every generator takes the caller's `np.random.Generator`, so a seeded catalog always reads the same.
Titles mix genre words with common ones: "Night Drive" can be synthwave or country.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from .vocabulary import Genre

T = TypeVar("T")

GIVEN_NAMES = (
    "Vela", "Mira", "Juno", "Tamsin", "Orin", "Elio", "Nadia", "Soren", "Ilse", "Rafe", "Lior", "Cass", "Wren", "Ada",
    "Teo", "Marlo", "Isa", "Remy", "Nico", "Otis", "Ines", "Kit", "Bo", "Zola", "Arlo", "Esme", "Milo", "Noa",
    "Priya", "Tomas", "Yara", "Ezra", "Luca", "Rosa", "Hale", "June", "Ivo", "Kenji", "Ama", "Dario", "Femi", "Leni",
    "Mae", "Cleo", "Ansel", "Rhea", "Sol", "Tove", "Vida", "Wim", "Yusuf", "Zadie", "Bram", "Calla", "Dex", "Edie",
    "Lucan", "Maren", "Odile", "Pax", "Sunny", "Delphine", "Harlan", "Ronnie", "Loretta", "Clem", "Vic", "Dolly",
)
SURNAMES = (
    "Moss", "Lane", "Hart", "Vale", "Reyes", "Calloway", "Marsh", "Okafor", "Lindqvist", "Duval", "Brandt", "Sato",
    "Quill", "Fairweather", "Ashdown", "Holloway", "Mercer", "Ferro", "Kowal", "Nakamura", "Oduya", "Pell", "Rook",
    "Sable", "Thorne", "Winslow", "Yardley", "Abara", "Bellamy", "Crane", "Ember", "Fontaine", "Greer", "Haddad",
    "Ivers", "Larkin", "Morrow", "Novak", "Orr", "Pryce", "Quinlan", "Rivas", "Stroud", "Tully", "Underhill", "Varga",
    "Whitlock", "Achterberg", "Beaumont", "Castellano", "Dunmore", "Everly", "Gallo", "Hendry", "Kask", "Mbeki",
)
ANIMALS = ("kestrel", "heron", "lynx", "otter", "fox", "moth", "falcon", "raven", "marten", "viper", "panda",
           "coyote", "magpie", "badger", "swift", "owl", "jackal", "mantis", "wolf", "hare", "starling", "cobra")
PLANTS = ("okra", "fern", "juniper", "clover", "saffron", "maple", "willow", "thistle", "hazel", "sage", "cedar",
          "basil", "ivy", "lotus", "poppy", "birch", "indigo", "amber", "cobalt", "marigold")
PLACES = ("Lane", "Street", "Avenue", "Park", "Bay", "Hill", "Road", "Heights", "Gardens", "Station", "Harbour",
          "Club", "Motel", "Drive", "Parade", "Yard")
ENSEMBLES = ("Trio", "Quartet", "Quintet", "Sextet", "Orchestra", "Ensemble")
COMMON_NOUNS = (
    "night", "heart", "light", "fire", "rain", "home", "gold", "river", "dream", "ocean", "city", "star", "moon",
    "road", "window", "shadow", "glass", "harbour", "garden", "morning", "silence", "thunder", "paper", "mirror",
    "stranger", "ghost", "wave", "island", "signal", "satellite", "weather", "summer", "winter", "echo", "dawn",
    "sky", "love", "world", "door", "kingdom", "rose", "heaven", "train", "coast", "fever", "season", "letter",
    "storm", "daylight", "memory", "drive", "horizon", "highway", "runaway", "lullaby", "feather", "compass",
    "lighthouse", "bridge", "tomorrow", "yesterday", "sunday", "avalanche", "orbit", "canvas", "candle", "hurricane",
)
COMMON_ADJECTIVES = (
    "blue", "golden", "quiet", "wild", "lost", "silver", "electric", "slow", "broken", "little", "endless", "hidden",
    "faded", "bright", "cold", "lonely", "sweet", "secret", "last", "first", "midnight", "crystal", "velvet", "open",
    "burning", "northern", "empty", "borrowed", "paper", "holy", "dangerous", "gentle",
)
GERUNDS = ("Running", "Falling", "Dancing", "Drifting", "Chasing", "Burning", "Waiting", "Fading", "Driving",
           "Dreaming", "Floating", "Walking", "Breaking", "Shining", "Sleeping", "Flying", "Holding", "Coming")
PREPOSITIONS = ("Through", "Into", "Under", "Across", "Beyond", "Past", "Over", "Without")
PHRASES = (
    "Take Me to the {noun}", "Meet Me at the {noun}", "Don't Wake the {noun}", "Back to the {noun}", "{noun} Tonight",
    "All My {nouns}", "When the {noun} Comes", "Nothing but {nouns}", "Somewhere in the {noun}", "Before the {noun}",
    "After the {noun}", "Call It {noun}", "Under a {adj} {noun}", "One More {noun}", "Hold On to the {noun}",
    "I Was a {noun}", "We Were {adj}", "You and the {noun}", "No More {nouns}", "Still {adj}", "{adj} Again",
    "Here Comes the {noun}", "Stay for the {noun}", "Tell Me About the {noun}", "Dreams of {nouns}",
)
DECORATIONS = (" - Live", " (Acoustic)", " - Radio Edit", " (Remix)", " - Demo", " - Remastered")
WORD_HEADS = ("Kae", "Mira", "Sol", "Tavi", "Ori", "Lun", "Zeph", "Vor", "Ari", "Nol", "Cass", "Elo", "Juni",
              "Rho", "Sef", "Tal", "Umbr", "Vey", "Wyn", "Yal", "Zan", "Bel", "Cor", "Dra", "Fen", "Hal", "Ise",
              "Kes", "Lio", "Mor", "Nyx", "Pala", "Quor", "Sunda", "Tovi", "Ven", "Aza", "Oki", "Rua", "Sela")
WORD_TAILS = ("lo", "vel", "ra", "en", "is", "ara", "ine", "ette", "ix", "on", "ea", "ani", "o", "a", "oré", "mar",
              "dell", "ika", "una", "sen", "tide", "lune", "ari", "ko")
SMALL_WORDS = frozenset({"of", "the", "a", "to", "in", "at", "and", "for", "but", "on"})
IRREGULAR_PLURALS = {"wolf": "wolves", "life": "lives", "thief": "thieves", "mouse": "mice", "child": "children"}


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    """One item, uniformly (faster than `rng.choice` on a Python sequence)."""
    return items[int(rng.integers(len(items)))]


def chance(rng: np.random.Generator, probability: float) -> bool:
    return bool(rng.random() < probability)


def title_case(text: str) -> str:
    """Capitalize each word except inner small words: "running through the neon" -> "Running Through the Neon"."""
    def cap(index: int, word: str) -> str:
        if "&" in word:  # "r&b" -> "R&B"
            return word.upper()
        return word if index and word.lower() in SMALL_WORDS else word[:1].upper() + word[1:]

    return " ".join(cap(i, w) for i, w in enumerate(text.split(" ")))


def plural(noun: str) -> str:
    """English plural of the last word: "harbour" -> "harbours", "county line" -> "county lines"."""
    head, _, last = noun.rpartition(" ")
    lower = last.lower()
    if lower in IRREGULAR_PLURALS:
        last = IRREGULAR_PLURALS[lower]
    elif lower.endswith("s"):
        pass
    elif lower.endswith(("x", "ch", "sh", "z")):
        last += "es"
    elif lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def invented_word(rng: np.random.Generator) -> str:
    """A pronounceable made-up word from a head and a tail: "Kaelo", "Miravel", "Zephine"."""
    return pick(rng, WORD_HEADS) + pick(rng, WORD_TAILS)


def noun(rng: np.random.Generator, genre: Genre, genre_share: float = 0.55) -> str:
    return pick(rng, genre.nouns) if chance(rng, genre_share) else pick(rng, COMMON_NOUNS)


def adjective(rng: np.random.Generator, genre: Genre, genre_share: float = 0.5) -> str:
    return pick(rng, genre.adjectives) if chance(rng, genre_share) else pick(rng, COMMON_ADJECTIVES)


def artist_name(rng: np.random.Generator, genre: Genre) -> str:
    """A band or artist name in one of the genre's styles: "Vela Moss", "The Glass Harbours", "DJ Kestrel"."""
    style = pick(rng, genre.styles)
    if style == "person":
        return f"{pick(rng, GIVEN_NAMES)} {pick(rng, SURNAMES)}"
    if style == "person_and":
        return f"{pick(rng, GIVEN_NAMES)} & the {title_case(plural(pick(rng, ANIMALS + genre.nouns)))}"
    if style == "the_plural":
        base = title_case(plural(noun(rng, genre, 0.4) if chance(rng, 0.5) else pick(rng, ANIMALS)))
        return f"The {title_case(adjective(rng, genre))} {base}" if chance(rng, 0.6) else f"The {base}"
    if style == "adj_noun":
        return title_case(f"{adjective(rng, genre)} {noun(rng, genre)}")
    if style == "noun_place":
        return f"{title_case(pick(rng, PLANTS + genre.nouns))} {pick(rng, PLACES)}"
    if style == "noun_digits":
        digits = int(rng.integers(1980, 2000)) if chance(rng, 0.3) else int(rng.integers(2, 100))
        return f"{title_case(noun(rng, genre, 0.8))} {digits}"
    if style == "dj":
        return f"DJ {title_case(pick(rng, ANIMALS))}" if chance(rng, 0.7) else f"DJ {invented_word(rng)}"
    if style == "mc":
        return f"MC {invented_word(rng)}"
    if style == "lil":
        stem = invented_word(rng) if chance(rng, 0.6) else title_case(pick(rng, ANIMALS))
        return f"{pick(rng, ('Lil', 'Yung', 'Young'))} {stem}"
    if style == "ensemble":
        leader = f"The {pick(rng, SURNAMES)}" if chance(rng, 0.4) else f"{pick(rng, GIVEN_NAMES)} {pick(rng, SURNAMES)}"
        return f"{leader} {pick(rng, ENSEMBLES)}"
    if style == "lowercase":
        return f"{adjective(rng, genre, 0.7)} {pick(rng, PLANTS + ANIMALS)}".lower()
    return invented_word(rng)  # "single"


def track_title(rng: np.random.Generator, genre: Genre) -> str:
    """A song title from templates over genre and common words: "Night Drive", "Running Through Neon"."""
    roll = rng.random()
    if roll < 0.30:
        text = f"{adjective(rng, genre)} {noun(rng, genre)}"
    elif roll < 0.42:
        text = f"{noun(rng, genre)} {plural(noun(rng, genre)) if chance(rng, 0.4) else noun(rng, genre)}"
    elif roll < 0.50:
        text = noun(rng, genre, 0.6)
    elif roll < 0.62:
        the = "the " if chance(rng, 0.5) else ""
        text = f"{pick(rng, GERUNDS)} {pick(rng, PREPOSITIONS)} {the}{noun(rng, genre)}"
    elif roll < 0.68:
        text = f"{noun(rng, genre)} of {'the ' if chance(rng, 0.5) else ''}{noun(rng, genre)}"
    elif roll < 0.72:
        text = f"the {adjective(rng, genre)} {noun(rng, genre)}"
    elif roll < 0.76:
        text = adjective(rng, genre)
    else:
        template = pick(rng, PHRASES)
        text = template.format(noun=noun(rng, genre), nouns=plural(noun(rng, genre)), adj=adjective(rng, genre))
    return title_case(text)


def decorated(rng: np.random.Generator, title: str, probability: float = 0.03) -> str:
    """Sometimes add a version decoration (" - Live", " (Acoustic)") that `text.title_key` strips."""
    return title + pick(rng, DECORATIONS) if chance(rng, probability) else title


def album_title(rng: np.random.Generator, genre: Genre, artist: str, track_titles: Sequence[str], first: bool) -> str:
    """An album title: a title track, the artist's name (debuts only), a live album, or a fresh phrase."""
    roll = rng.random()
    if roll < 0.15 and track_titles:
        return track_titles[0]
    if roll < 0.21 and first:
        return artist
    if roll < 0.24:
        return f"Live at the {title_case(pick(rng, PLANTS + genre.nouns))} {pick(rng, PLACES)}"
    if roll < 0.50:
        return title_case(f"{adjective(rng, genre)} {noun(rng, genre)}")
    if roll < 0.65:
        return title_case(plural(noun(rng, genre, 0.7)))
    if roll < 0.75:
        return title_case(f"{noun(rng, genre)} of the {noun(rng, genre)}")
    if roll < 0.85:
        return title_case(f"the {noun(rng, genre)}")
    return track_title(rng, genre)
