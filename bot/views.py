"""What the engine returns: an answer and the views of the other commands. Pure data.

The engine builds them; the console, the CLI and the Discord layer render them (bot.render,
bot.discord_app.embeds). Keeping them here lets both sides import them without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from characters.schema import Number
from characters.world import Character

__all__ = ["Answer", "Comparison", "History", "LoreCard", "PatchView", "Ranking", "StatCard",
           "read_as"]


@dataclass(frozen=True)
class Answer:
    """One verified answer and what it was built from."""

    character_id: str
    name: str
    faction: str
    adapter: str | None
    patch: str
    answer: str
    facts: dict[str, Number | None]
    grounded: bool
    fallback: bool
    latency_s: float
    question: str
    stats_shown: tuple[str, ...]
    kind: str = "stats"
    compared: dict[str, Any] | None = None
    regenerated: bool = False
    resolved_from: str | None = None
    follow_up: bool = False
    ranking: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The answer JSON of DESIGN.md (plus question, stats_shown, kind)."""
        out = {
            "character_id": self.character_id, "name": self.name, "faction": self.faction,
            "adapter": self.adapter, "patch": self.patch, "answer": self.answer,
            "facts": dict(self.facts), "grounded": self.grounded, "fallback": self.fallback,
            "latency_s": round(self.latency_s, 3), "question": self.question,
            "stats_shown": list(self.stats_shown), "kind": self.kind,
            "regenerated": self.regenerated,
        }
        if self.compared is not None:
            out["compared"] = self.compared
        if self.ranking is not None:
            out["ranking"] = self.ranking
        out["resolved_from"] = self.resolved_from
        out["follow_up"] = self.follow_up
        return out

    @property
    def read_as(self) -> str | None:
        """How a fuzzy name was read: "read 'grukk' as Rukka Blackcleaver", else None."""
        return read_as(self.resolved_from, self.name)


def read_as(typed: str | None, name: str) -> str | None:
    """ "read 'grukk' as Rukka Blackcleaver" when a typed name was read by a fuzzy match."""
    return f"read '{typed}' as {name}" if typed else None


@dataclass(frozen=True)
class StatCard:
    """A character's stats at one patch, as (label, value with unit) rows."""

    character: Character
    faction_name: str
    patch: str
    rows: list[tuple[str, str]]
    resolved_from: str | None = None


@dataclass(frozen=True)
class Comparison:
    """Two stat cards side by side; `better` maps a stat label to the stronger name or "tie"."""

    left: StatCard
    right: StatCard
    better: dict[str, str]


@dataclass(frozen=True)
class History:
    """One stat of one character over every patch, with a PNG line chart."""

    character: Character
    stat_label: str
    unit: str
    points: list[tuple[str, str, Number | None]]
    png: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class PatchView:
    """A patch: notes, how many characters changed, new characters, biggest buffs and nerfs."""

    patch: str
    released: str
    notes: str
    changed: int
    new_characters: list[str]
    buffs: list[tuple[str, str, str, str]]
    nerfs: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class LoreCard:
    """Who a character is."""

    character: Character
    faction_name: str
    text: str
    resolved_from: str | None = None


@dataclass(frozen=True)
class Ranking:
    """A roster ranking: rows of (rank, id, name, faction name, role, value as written, value)."""

    stat_label: str
    unit: str
    patch: str
    scope: str
    lowest: bool
    rows: list[tuple[int, str, str, str, str, str, Number]]

    def to_json(self) -> list[dict[str, Any]]:
        """`python -m bot top --json`: one object per row, with `id`, `name` and `value`."""
        return [{"rank": rank, "id": cid, "name": name, "faction": faction, "role": role,
                 "value": value, "shown": shown, "stat": self.stat_label, "patch": self.patch}
                for rank, cid, name, faction, role, shown, value in self.rows]
