"""The best spearfishing recall@10 any system can reach under the query model that generates the queries.

`real_queries.spearfish_queries` draws a target track in proportion to its weight (playlist_count + 1), types
its title, "artist title" or part of its title (`simulation.noise.QueryNoise.formulate`, form weights
SPEARFISH_FORMS) and sometimes misspells it. Many tracks can produce the same words: every "Wait" is typed
"Wait", and "Red Lights - Afrojack Remix" is typed "Red Lights" like the original (version decorations are
dropped). Given the words typed, the target's posterior is

    P(t | words) ∝ weight(t) x P(words | t),

summed over the forms and (for a part of the title) the runs of words that produce exactly those words. Ranking
every track by it is the Bayes-optimal ranking, and the posterior mass of its top 10 (`recall_at`) is the
highest expected recall@10 any ranking can have for those words. It is computed from the words the user meant
(before the typos, case included): a system sees only the misspelt words, which carry no more about the target,
so the bound also holds for the misspelt queries. Averaged over a set of queries it bounds any system's mean
recall@10 on them up to sampling noise (a system can be lucky with the targets actually drawn; `hit_at` says
whether the drawn target made the Bayes top 10).

    ceiling = SpearfishCeiling(tracks, weights, {"title": 0.4, "artist_title": 0.4, "partial_title": 0.2})
    ceiling.recall_at("Wait", k=10)  # in [0, 1]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from ..simulation.noise import PARTIAL_PREFIX_RATE, clean_title, title_words, typed_run
from ..types import Entity

NEEDS_ARTIST = ("artist_title", "title_artist")
SUPPORTED_FORMS = ("title", "artist_title", "title_artist", "partial_title")


class SpearfishCeiling:
    """Bayes-optimal rankings of `tracks` for intended query words under `forms` (form -> weight, as given to
    `QueryNoise.spearfish_queries`) and a prior proportional to `weights` (one per track, >= 0)."""

    def __init__(self, tracks: Sequence[Entity], weights: Sequence[float] | np.ndarray,
                 forms: Mapping[str, float], partial_prefix_rate: float = PARTIAL_PREFIX_RATE) -> None:
        unknown = sorted(set(forms) - set(SUPPORTED_FORMS))
        if unknown:
            raise ValueError(f"forms {unknown} are not modelled; use forms among {list(SUPPORTED_FORMS)}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(tracks),) or not np.all(weights >= 0):
            raise ValueError(f"weights must be one number >= 0 per track ({len(tracks)}), got shape {weights.shape}")
        self.forms = {form: float(w) for form, w in forms.items() if w > 0}
        self.partial_prefix_rate = partial_prefix_rate
        self.ids = [t.entity_id for t in tracks]
        self.weights = weights
        self.titles = [clean_title(t.name) for t in tracks]
        self._runs = [" ".join(title_words(title)) for title in self.titles]  # every part of a title is in its run
        artists = [" ".join((t.artist_name or "").split()) for t in tracks]
        self._form_p = [self._form_probabilities(bool(artist)) for artist in artists]
        self._whole: dict[str, list[tuple[int, str]]] = defaultdict(list)  # typed text -> (track, form)
        for i, (title, artist) in enumerate(zip(self.titles, artists)):
            self._whole[title].append((i, "title"))
            if artist:
                self._whole[f"{artist} {title}"].append((i, "artist_title"))
                self._whole[f"{title} {artist}"].append((i, "title_artist"))
        self._position = {entity_id: i for i, entity_id in enumerate(self.ids)}

    def _form_probabilities(self, has_artist: bool) -> dict[str, float]:
        allowed = {f: w for f, w in self.forms.items() if has_artist or f not in NEEDS_ARTIST}
        if not allowed:
            return {"title": 1.0}
        total = sum(allowed.values())
        return {f: w / total for f, w in allowed.items()}

    def likelihoods(self, intended: str) -> dict[int, float]:
        """Track position -> P(the user types exactly `intended` | that track is the target), where > 0."""
        found: dict[int, float] = defaultdict(float)
        for i, form in self._whole.get(intended, ()):
            found[i] += self._form_p[i].get(form, 0.0)
        if "partial_title" in self.forms:
            for i, (title, run) in enumerate(zip(self.titles, self._runs)):
                if intended in run or intended == title:
                    p = self._form_p[i].get("partial_title", 0.0) * self.partial_probability(title, intended)
                    if p > 0:
                        found[i] += p
        return dict(found)

    def partial_probability(self, title: str, intended: str) -> float:
        """P(`QueryNoise._partial(title)` returns `intended`): a run of L words, L uniform in 1..n-1, starting at
        the first word with chance partial_prefix_rate, else at a uniform start; the whole title when n < 2."""
        words = title_words(title)
        n = len(words)
        if n < 2:
            return float(title == intended)
        total = 0.0
        for length in range(1, n):
            for start in range(n - length + 1):
                if typed_run(words[start:start + length]) == intended:
                    p_start = (1.0 - self.partial_prefix_rate) / (n - length + 1)
                    total += (p_start + (self.partial_prefix_rate if start == 0 else 0.0)) / (n - 1)
        return total

    def posterior(self, intended: str) -> tuple[np.ndarray, np.ndarray]:
        """(track positions, P(target = track | the user meant `intended`)) for the tracks that can produce it
        (both empty when none can)."""
        found = self.likelihoods(intended)
        positions = np.fromiter(found, dtype=np.int64, count=len(found))
        scores = self.weights[positions] * np.fromiter(found.values(), dtype=np.float64, count=len(found))
        total = scores.sum()
        return positions, (scores / total if total > 0 else scores)

    def recall_at(self, intended: str, k: int = 10) -> float:
        """The expected recall@k of the Bayes-optimal ranking for `intended`: the posterior mass of its k most
        probable tracks. No ranking of any system does better in expectation over the targets behind those
        words."""
        _, probabilities = self.posterior(intended)
        if len(probabilities) == 0:
            raise ValueError(f"the query model cannot produce {intended!r} from any track; pass the text the user "
                             "meant (before typos) and the same forms as the queries")
        return float(np.sort(probabilities)[::-1][:k].sum())

    def hit_at(self, intended: str, target_id: str, k: int = 10) -> float:
        """Whether this target is in the Bayes-optimal top k for `intended`: 1, 0, or the chance it is when it
        ties with others at the cut (random order among them). Raises ValueError for a target that is not one
        of the tracks or cannot produce `intended`."""
        target = self._position.get(target_id)
        if target is None:
            raise ValueError(f"target {target_id!r} is not among the {len(self.ids)} tracks given")
        positions, probabilities = self.posterior(intended)
        mine = probabilities[positions == target]
        if len(mine) == 0:
            raise ValueError(f"the query model cannot produce {intended!r} for target {target_id!r}; "
                             "pass the text the user meant (before typos) and the same forms as the queries")
        higher = int(np.sum(probabilities > mine[0]))
        tied = int(np.sum(probabilities == mine[0]))  # the target itself included
        return float(min(max((k - higher) / tied, 0.0), 1.0))
