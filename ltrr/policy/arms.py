"""The catalogue of retrieval plans (arms) a policy chooses from.

An arm names which generators to call and how many candidates each contributes (`Arm.plan`). The
catalogue is built from the generator names and a total candidate budget, always in the same order:

1. each generator alone at the full budget: `"bm25"`, `"dense"`, ...
2. the equal split over all generators: `"equal"`;
3. each pair at an even split: `"bm25+dense"`, ... (pairs in the order the generators are given);
4. "heavy" plans: one generator takes 60% of the budget, the others split the rest: `"bm25_heavy"`, ...;
5. "lean" variants at a third of the budget, of each single generator and of the equal split:
   `"lean_bm25"`, ..., `"lean_equal"`. They retrieve fewer candidates, so they are cheaper; a policy
   can learn to prefer them where the extra candidates do not change what the user clicks.

Splits that do not divide evenly give the remainder, one candidate each, to the generators listed first.
A plan whose plan tuple repeats one already in the catalogue (with one generator, "equal" is the single
plan; with two, the pair is "equal") is left out, and so is a plan that cannot give every generator it
names at least one candidate (a tiny budget). Within each plan, generators keep the order given.

    >>> [arm.name for arm in arm_catalogue(["bm25", "dense"], budget=300)]
    ['bm25', 'dense', 'equal', 'bm25_heavy', 'dense_heavy', 'lean_bm25', 'lean_dense', 'lean_equal']
    >>> arm_catalogue(["bm25", "dense"])[3].plan
    (('bm25', 180), ('dense', 120))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import combinations

from ..errors import ConfigError
from ..types import Arm

logger = logging.getLogger(__name__)

HEAVY_SHARE = 0.6
"""Share of the budget the favoured generator of a "heavy" plan gets."""

LEAN_FRACTION = 3
"""A lean plan asks for budget // LEAN_FRACTION candidates in all."""


def arm_catalogue(generators: Sequence[str], budget: int = 300) -> tuple[Arm, ...]:
    """The deterministic plan catalogue for `generators` within `budget` candidates (see the module doc).

    Raises:
        ConfigError: no generators, a repeated or empty name, or a budget below the number of generators.
    """
    names = _check_generators(generators)
    _check_budget(budget, len(names))
    candidates = [Arm(name, ((name, budget),)) for name in names]
    candidates.append(Arm("equal", split(budget, names)))
    candidates += [Arm(f"{a}+{b}", split(budget, (a, b))) for a, b in combinations(names, 2)]
    candidates += [arm for arm in (_heavy(name, names, budget) for name in names) if arm is not None]
    lean_budget = budget // LEAN_FRACTION
    candidates += [Arm(f"lean_{name}", ((name, lean_budget),)) for name in names if lean_budget >= 1]
    if lean_budget >= len(names):
        candidates.append(Arm("lean_equal", split(lean_budget, names)))
    return _drop_repeated_plans(candidates)


def arm_index(arms: Sequence[Arm], name: str) -> int:
    """Position of the arm called `name` in `arms`.

    Raises:
        ConfigError: no arm has that name; the message lists the names there are.
    """
    for index, arm in enumerate(arms):
        if arm.name == name:
            return index
    known = ", ".join(repr(arm.name) for arm in arms)
    raise ConfigError(f"unknown arm {name!r}; pick one of the catalogue's arms: {known}")


def widen_plan(plan: Sequence[tuple[str, int]], generators: Sequence[str], k: int) -> tuple[tuple[str, int], ...]:
    """`plan` with each of `generators` contributing at least `k` candidates: a planned one's k raised to `k`
    where it is below, an unplanned one appended with `k` (in the order of `generators`, after the plan's own).

        >>> widen_plan((("dense", 100), ("bm25", 5)), ["bm25", "memory"], 10)
        (('dense', 100), ('bm25', 10), ('memory', 10))
    """
    if k < 1:
        return tuple(plan)
    planned = {name for name, _ in plan}
    widened = tuple((name, max(n, k) if name in generators else n) for name, n in plan)
    return widened + tuple((name, k) for name in generators if name not in planned)


def split(total: int, names: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """`total` candidates shared as evenly as possible; the first `total % len(names)` get one more."""
    base, extra = divmod(total, len(names))
    return tuple((name, base + (1 if position < extra else 0)) for position, name in enumerate(names))


def _heavy(favoured: str, names: Sequence[str], budget: int) -> Arm | None:
    """`favoured` gets HEAVY_SHARE of the budget, the others split the rest; None when that leaves one of them 0."""
    others = [name for name in names if name != favoured]
    if not others:
        return None
    heavy_k = int(budget * HEAVY_SHARE + 0.5)
    rest = budget - heavy_k
    if rest < len(others):
        return None
    shares = dict(split(rest, others))
    shares[favoured] = heavy_k
    return Arm(f"{favoured}_heavy", tuple((name, shares[name]) for name in names))


def _drop_repeated_plans(candidates: Sequence[Arm]) -> tuple[Arm, ...]:
    """Keep the first arm of each distinct plan: a repeated plan would split one action's probability in two."""
    seen: set[tuple[tuple[str, int], ...]] = set()
    kept = []
    for arm in candidates:
        if arm.plan not in seen:
            seen.add(arm.plan)
            kept.append(arm)
    return tuple(kept)


def _check_generators(generators: Sequence[str]) -> tuple[str, ...]:
    if isinstance(generators, str):
        raise ConfigError(f"generators must be a sequence of names, got the string {generators!r}; "
                          f"write [{generators!r}]")
    names = tuple(generators)
    if not names:
        raise ConfigError("generators is empty; name at least one candidate generator, e.g. ['bm25']")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"generator names must be non-empty strings, got {name!r} in {list(names)!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"generators has duplicates {repeated!r} in {list(names)!r}; list each generator once")
    return names


def _check_budget(budget: int, n_generators: int) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < n_generators:
        raise ConfigError(f"budget must be an integer >= the number of generators ({n_generators}), got "
                          f"{budget!r}; raise the budget so every generator can contribute a candidate")
