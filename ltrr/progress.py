"""Progress reporting without printing: the library calls a stage factory; `cli.py` supplies tqdm bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Stage(Protocol):
    """One progress bar: `update(n)` adds n done units; `close()` ends it."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> object: ...


StageFactory = Callable[[str, "int | None"], Stage]


class _NullStage:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(description: str, total: int | None) -> Stage:
    """The default stage factory: reports nothing."""
    return _NullStage()
