"""The exceptions ltrr raises. Each subclasses a builtin so callers may catch either."""

from __future__ import annotations


class LtrrError(Exception):
    """Base class of every error ltrr raises on purpose."""


class ConfigError(LtrrError, ValueError):
    """A configuration value is invalid; the message names the key, the value and the fix."""


class NotFittedError(LtrrError, RuntimeError):
    """A component was used before `fit` built its state."""


class FeatureMismatchError(LtrrError, ValueError):
    """A saved model's feature names differ from the ones being built."""


class UnknownEntityError(LtrrError, KeyError):
    """An entity id is not in the catalog."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else ""


class StoreError(LtrrError, RuntimeError):
    """The catalog store cannot be opened or written as asked."""


class IngestError(LtrrError, ValueError):
    """An ingest input is malformed; `problems` lists each `file:line: reason`."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UnknownRequestError(LtrrError, KeyError):
    """A request id is not in the feedback log."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the sentence readable
        return str(self.args[0]) if self.args else ""


class NoTrainingDataError(LtrrError, ValueError):
    """The feedback log holds nothing a ranker can be trained on."""
