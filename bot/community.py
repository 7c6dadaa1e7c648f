"""Patch day in the community: server settings, follows, and what was announced to whom.

All of it lives in the data folder's SQLite file, in tables of its own (prefixed `community_`)
that this module creates; the stats record's migrations never touch them. Every method is
blocking; async callers use `asyncio.to_thread`. Each thread gets its own connection.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import sqlite_utils

from bot.errors import LorekeeperError
from stats_db import record

SERVERS = "community_servers"
FOLLOWS = "community_follows"
PATCHES = "community_patches"
ANNOUNCEMENTS = "community_announcements"
NOTICES = "community_notices"


class TooManyFollows(LorekeeperError):
    """The player already follows as many characters as a player may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(limit)

    def __str__(self) -> str:
        return (f"You already follow {self.limit} characters, the most anyone may. "
                "Use /unfollow to make room.")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def create_tables(db: sqlite_utils.Database) -> None:
    """Create the community tables where they are missing (idempotent)."""
    db[SERVERS].create({"guild_id": int, "announce_channel_id": int, "updated_at": str},
                       pk="guild_id", if_not_exists=True)
    db[FOLLOWS].create({"user_id": int, "character_id": str, "followed_at": str},
                       pk=("user_id", "character_id"), if_not_exists=True)
    db[FOLLOWS].create_index(["character_id"], if_not_exists=True)
    db[PATCHES].create({"patch": str, "seen_at": str}, pk="patch", if_not_exists=True)
    db[ANNOUNCEMENTS].create(
        {"guild_id": int, "patch": str, "channel_id": int, "message_id": int, "status": str,
         "at": str}, pk=("guild_id", "patch"), if_not_exists=True)
    db[NOTICES].create({"patch": str, "user_id": int, "status": str, "at": str},
                       pk=("patch", "user_id"), if_not_exists=True)


class Community:
    """Server settings, follows, and the patches announced per server and told per follower."""

    def __init__(self, sqlite_path: Path, max_follows: int = 25) -> None:
        self.sqlite_path = Path(sqlite_path)
        self.max_follows = max_follows
        self._connections = record.ThreadConnections(self.sqlite_path)
        self._follow_lock = threading.Lock()
        create_tables(self.db)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection to the data folder's SQLite file."""
        return self._connections.get()

    def close(self) -> None:
        """Close this thread's connection."""
        self._connections.close()

    # --- server settings --------------------------------------------------------------------

    def set_announce_channel(self, guild_id: int, channel_id: int | None) -> None:
        """Announce patches in `channel_id` of this server, or nowhere (None)."""
        self.db[SERVERS].upsert({"guild_id": guild_id, "announce_channel_id": channel_id,
                                 "updated_at": _now()}, pk="guild_id")

    def announce_channel(self, guild_id: int) -> int | None:
        """The channel this server's patch announcements go to, if it set one."""
        rows = list(self.db.query(f"SELECT announce_channel_id FROM {SERVERS} WHERE guild_id = ?",
                                  [guild_id]))
        return rows[0]["announce_channel_id"] if rows else None

    def announce_channels(self) -> dict[int, int]:
        """Server id -> announcement channel id, for every server that set one."""
        return {r["guild_id"]: r["announce_channel_id"] for r in self.db.query(
            f"SELECT guild_id, announce_channel_id FROM {SERVERS} "
            "WHERE announce_channel_id IS NOT NULL ORDER BY guild_id")}

    # --- follows ----------------------------------------------------------------------------

    def follow(self, user_id: int, character_id: str) -> bool:
        """Follow a character; False when already followed, TooManyFollows beyond the limit."""
        with self._follow_lock:
            followed = self.following(user_id)
            if character_id in followed:
                return False
            if len(followed) >= self.max_follows:
                raise TooManyFollows(self.max_follows)
            self.db[FOLLOWS].insert({"user_id": user_id, "character_id": character_id,
                                     "followed_at": _now()}, ignore=True)
            return True

    def unfollow(self, user_id: int, character_id: str) -> bool:
        """Stop following a character; False when it was not followed."""
        cursor = self.db.execute(f"DELETE FROM {FOLLOWS} WHERE user_id = ? AND character_id = ?",
                                 [user_id, character_id])
        return cursor.rowcount > 0

    def following(self, user_id: int) -> list[str]:
        """The character ids a player follows, in the order followed."""
        return [r["character_id"] for r in self.db.query(
            f"SELECT character_id FROM {FOLLOWS} WHERE user_id = ? ORDER BY followed_at, rowid",
            [user_id])]

    def followers_of_any(self) -> list[str]:
        """Every character id at least one player follows."""
        return [r["character_id"] for r in self.db.query(
            f"SELECT DISTINCT character_id FROM {FOLLOWS} ORDER BY character_id")]

    def followers(self, character_ids: list[str]) -> dict[int, list[str]]:
        """User id -> the ids among `character_ids` that the user follows."""
        out: dict[int, list[str]] = {}
        if not character_ids:
            return out
        marks = ", ".join("?" for _ in character_ids)
        for row in self.db.query(
                f"SELECT user_id, character_id FROM {FOLLOWS} WHERE character_id IN ({marks}) "
                "ORDER BY user_id, followed_at, rowid", list(character_ids)):
            out.setdefault(row["user_id"], []).append(row["character_id"])
        return out

    # --- what was announced -----------------------------------------------------------------

    def seen_patches(self) -> set[str]:
        """The patches the bot has taken up (announced, or there before it first looked)."""
        return {r["patch"] for r in self.db.query(f"SELECT patch FROM {PATCHES}")}

    def mark_seen(self, patches: list[str]) -> None:
        """Record patches as taken up, so no restart announces them again."""
        self.db[PATCHES].insert_all([{"patch": p, "seen_at": _now()} for p in patches],
                                    pk="patch", ignore=True)

    def announced_guilds(self, patch: str) -> set[int]:
        """The servers a patch was announced to (or tried and refused)."""
        return {r["guild_id"] for r in self.db.query(
            f"SELECT guild_id FROM {ANNOUNCEMENTS} WHERE patch = ?", [patch])}

    def record_announcement(self, guild_id: int, patch: str, channel_id: int, status: str,
                            message_id: int | None = None) -> None:
        """Record how announcing a patch to a server went: posted, refused or failed."""
        self.db[ANNOUNCEMENTS].upsert(
            {"guild_id": guild_id, "patch": patch, "channel_id": channel_id,
             "message_id": message_id, "status": status, "at": _now()},
            pk=("guild_id", "patch"))

    def announcements(self, patch: str) -> dict[int, str]:
        """Server id -> how announcing `patch` there went."""
        return {r["guild_id"]: r["status"] for r in self.db.query(
            f"SELECT guild_id, status FROM {ANNOUNCEMENTS} WHERE patch = ?", [patch])}

    def notified_users(self, patch: str) -> set[int]:
        """The followers already told about a patch (or skipped: DMs closed, out of time)."""
        return {r["user_id"] for r in self.db.query(
            f"SELECT user_id FROM {NOTICES} WHERE patch = ?", [patch])}

    def record_notice(self, patch: str, user_id: int, status: str) -> None:
        """Record how telling a follower about a patch went: sent, refused or failed."""
        self.db[NOTICES].upsert({"patch": patch, "user_id": user_id, "status": status,
                                 "at": _now()}, pk=("patch", "user_id"))

    def notices(self, patch: str) -> dict[int, str]:
        """User id -> how telling that follower about `patch` went."""
        return {r["user_id"]: r["status"] for r in self.db.query(
            f"SELECT user_id, status FROM {NOTICES} WHERE patch = ?", [patch])}
