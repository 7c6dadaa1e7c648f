"""The bot's domain errors: small named exceptions whose str() is safe to show a user.

They share one base with the data layer's errors (`stats_db.errors.LorekeeperError`), so a
front end that catches `LorekeeperError` also explains an error the store raised.
"""

from __future__ import annotations

from collections.abc import Sequence

from stats_db.errors import LorekeeperError

__all__ = ["Busy", "LorekeeperError", "NoPatches", "UnknownAdapter", "UnknownCharacter",
           "UnknownPatch", "UnknownStat"]


class UnknownCharacter(LorekeeperError):
    """No character matches the typed name; `suggestions` holds the closest display names."""

    def __init__(self, query: str, suggestions: Sequence[str] = ()) -> None:
        self.query = query
        self.suggestions = list(suggestions)  # the resolver keeps [characters].suggestions
        super().__init__(query, self.suggestions)

    def __str__(self) -> str:
        shown = _quote(self.query)
        if not self.suggestions:
            return f"No character called {shown}."
        return f"No character called {shown}. Did you mean: {', '.join(self.suggestions)}?"


class UnknownPatch(LorekeeperError):
    """No imported patch has that id; `known` lists the imported ones."""

    def __init__(self, patch: str, known: Sequence[str] = ()) -> None:
        self.patch = patch
        self.known = list(known)
        super().__init__(patch, self.known)

    def __str__(self) -> str:
        latest = ", ".join(self.known[-5:]) or "none yet"
        return f"No patch called {_quote(self.patch)}. Latest patches: {latest}."


class UnknownStat(LorekeeperError):
    """The text names no stat of the schema; `known` lists the stat labels."""

    def __init__(self, text: str, known: Sequence[str] = ()) -> None:
        self.text = text
        self.known = list(known)
        super().__init__(text, self.known)

    def __str__(self) -> str:
        return f"No stat called {_quote(self.text)}. Stats: {', '.join(self.known)}."


class UnknownFaction(LorekeeperError):
    """The text names no faction (or no role, with `what="role"`); `known` lists them."""

    def __init__(self, text: str, known: Sequence[str] = (), what: str = "faction") -> None:
        self.text = text
        self.known = list(known)
        self.what = what
        super().__init__(text, self.known)

    def __str__(self) -> str:
        return f"No {self.what} called {_quote(self.text)}. Choose one of: {', '.join(self.known)}."


class UnknownAdapter(LorekeeperError):
    """The adapter asked for is neither auto, none, nor one the generator has."""

    def __init__(self, adapter: str, known: Sequence[str] = ()) -> None:
        self.adapter = adapter
        self.known = list(known)
        super().__init__(adapter, self.known)

    def __str__(self) -> str:
        options = ", ".join(["auto", "none", *self.known])
        return f"No voice adapter called {_quote(self.adapter)}. Choose one of: {options}."


class NoPatches(LorekeeperError):
    """The data folder holds no imported patch yet."""

    def __str__(self) -> str:
        return "No stats have been imported yet (run `python -m stats_db seed`)."


class NoConversation(LorekeeperError):
    """A question without a character, and no recent question in this conversation."""

    def __str__(self) -> str:
        return ("Whom are you asking? Name a character (for example /ask character:Grukk "
                "question:...); a question without a name goes to the character you asked last "
                "here, for a few minutes.")


class Busy(LorekeeperError):
    """The generator's queue is full; try again shortly."""

    def __str__(self) -> str:
        return "The lorekeeper is busy answering others. Try again in a few seconds."


def _quote(text: str) -> str:
    """A user-typed string, shortened and with mentions neutralised, in double quotes."""
    from bot.render import sanitize

    short = text if len(text) <= 60 else text[:57] + "..."
    return '"' + sanitize(short).replace("\n", " ") + '"'
