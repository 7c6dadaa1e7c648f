"""Who each conversation asked last, so a follow-up needs no name: the data folder's SQLite.

A conversation is a channel and a user (`"<channel>:<user>"`, or `"console"`). What is kept is
the character and what the last question was understood to ask, for `[bot].follow_up_minutes`;
it survives a restart because it lives in the same SQLite file as the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bot.understand import RosterAsk, Understanding
from characters.world import Character, World
from stats_db import record

TABLE = "conversations"


@dataclass(frozen=True)
class Remembered:
    """The last question of a conversation."""

    character_id: str
    summary: dict
    at: float

    def reading(self, world: World, characters: dict[str, Character]) -> Understanding:
        """The remembered question as an Understanding (for an elliptical follow-up)."""
        data = self.summary
        raw = data.get("roster")
        roster = RosterAsk(**{**raw, "roles": tuple(raw["roles"])}) if raw else None
        return Understanding(
            text=data.get("text", ""), kind=data.get("kind", "stats"),
            stats=tuple(s for s in data.get("stats", ()) if s in world.schema),
            patch=data.get("patch"), since=data.get("since"),
            other=characters.get(data.get("other") or ""), roster=roster)


def summarize(reading: Understanding) -> dict:
    """What is kept of an understood question (JSON)."""
    roster = None
    if reading.roster is not None:
        r = reading.roster
        roster = {"stat": r.stat, "faction": r.faction, "roles": list(r.roles), "scope": r.scope,
                  "count": r.count, "lowest": r.lowest, "listed": r.listed}
    return {"text": reading.text, "kind": reading.kind, "stats": list(reading.stats),
            "patch": reading.patch, "since": reading.since,
            "other": reading.other.id if reading.other is not None else None, "roster": roster}


def _create_table(db: sqlite_utils.Database) -> None:
    db[TABLE].create({"conversation": str, "character_id": str, "summary": str, "at": float},
                     pk="conversation", if_not_exists=True)


class ConversationMemory:
    """The `conversations` table: one row per conversation, the latest question only."""

    def __init__(self, sqlite_path: Path, ttl_s: float) -> None:
        self.path = Path(sqlite_path)
        self.ttl_s = float(ttl_s)
        self._connections = record.ThreadConnections(self.path, _create_table)

    def _db(self) -> sqlite_utils.Database:
        return self._connections.get()

    def remember(self, conversation: str, character_id: str, reading: Understanding,
                 now: float | None = None) -> None:
        """Keep this question as the conversation's latest."""
        row = {"conversation": conversation, "character_id": character_id,
               "summary": json.dumps(summarize(reading)), "at": now or time.time()}
        db = self._db()
        with db.conn:
            db[TABLE].upsert(row, pk="conversation")

    def recall(self, conversation: str, now: float | None = None) -> Remembered | None:
        """The conversation's latest question, if it was asked within the time kept."""
        db = self._db()
        rows = list(db.query(f"SELECT * FROM {TABLE} WHERE conversation = ?", [conversation]))
        if not rows:
            return None
        row = rows[0]
        if (now or time.time()) - row["at"] > self.ttl_s:
            return None
        return Remembered(row["character_id"], json.loads(row["summary"]), row["at"])
