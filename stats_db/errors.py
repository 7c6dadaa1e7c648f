"""Domain errors of the data layer: small named exceptions.

`LorekeeperError` is the one base of every error a player or a moderator can cause, in any
layer: the bot's errors (bot.errors) derive from it too, so each front end (console, CLI,
Discord) catches one family and shows its message, never a traceback.
"""

from __future__ import annotations


class LorekeeperError(Exception):
    """Base of every error a player or moderator can cause; str() is a message fit for them."""


class StatsDbError(LorekeeperError):
    """Base class of the data layer's errors."""


class UnknownCharacter(StatsDbError, KeyError):
    """No character with that id has stats in the database."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown character"


class NotReleasedYet(UnknownCharacter):
    """The character exists, but arrived in a later patch than the one asked about."""

    def __init__(self, name: str, released_in: str, patch: str) -> None:
        super().__init__(f"{name} arrived in patch {released_in}; patch {patch} has no stats "
                         f"for them (ask about {released_in} or later)")
        self.name, self.released_in, self.patch = name, released_in, patch


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


class StoreBusy(StatsDbError):
    """Another process is writing the data folder (an import or a rollback); try again soon."""

    def __str__(self) -> str:
        detail = f" ({self.args[0]})" if self.args else ""
        return ("another import or rollback is writing this data folder" + detail +
                "; try again when it is done")


class RollbackRefused(StatsDbError):
    """Only the latest patch can be rolled back; str() says which one that is."""


class IndexUnhealthy(StatsDbError):
    """The LanceDB index does not agree with SQLite after a sync."""
