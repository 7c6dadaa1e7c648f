"""Domain errors of the data layer: small named exceptions."""

from __future__ import annotations


class StatsDbError(Exception):
    """Base class of the data layer's errors."""


class UnknownCharacter(StatsDbError, KeyError):
    """No character with that id has stats in the database."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown character"


class UnknownPatch(StatsDbError, KeyError):
    """No patch with that id has been imported."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown patch"


class UnknownStat(StatsDbError, KeyError):
    """The stat is not in the stat schema."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown stat"


class PatchRejected(StatsDbError):
    """A patch file failed validation; `errors` lists every reason, nothing was stored."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class IndexUnhealthy(StatsDbError):
    """The LanceDB index does not agree with SQLite after a sync."""
