"""The SQLite record (through sqlite-utils): numbered migrations, and the reads and writes.

Stat values are stored as one row per (patch, character, stat) that the patch set; a NULL value
means "unknown", and no row means "not set by this patch". The value as of patch P is the one
from the latest patch at or before P in the canonical order (release date, then id), kept in
`patches.seq`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlite_utils

from characters.world import Character
from stats_db.validate import Patch


def now_iso() -> str:
    """The current UTC time as ISO 8601 text."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite_utils.Database:
    """A connection in WAL mode, autocommit, with explicit transactions done by hand."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    db = sqlite_utils.Database(conn)
    if db.journal_mode != "wal":
        db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")
    return db


class ThreadConnections:
    """One `connect`ed Database per thread to one SQLite file (readers run in many threads)."""

    def __init__(self, path: Path, on_open: Callable[[sqlite_utils.Database], None] | None = None,
                 ) -> None:
        self.path = Path(path)
        self._on_open = on_open
        self._local = threading.local()

    def get(self) -> sqlite_utils.Database:
        """This thread's connection, opened (and `on_open` run on it) the first time."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            if self._on_open is not None:
                self._on_open(db)
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None


MIGRATIONS = sqlite_utils.Migrations("lorekeeper")
LEGACY_TABLE = "migrations"  # the hand-rolled (version, name) table of earlier data folders


@MIGRATIONS(name="_m001_record")
def _m001_record(db: sqlite_utils.Database) -> None:
    db["patches"].create(
        {"id": str, "released": str, "kind": str, "notes": str, "content_hash": str,
         "status": str, "imported_at": str, "seq": int, "source": str}, pk="id",
    )
    db["characters"].create(
        {"id": str, "name": str, "faction": str, "role": str, "region": str, "lore": str,
         "aliases": str, "released_in": str, "added_by": str, "from_patch_entry": int},
        pk="id",
    )
    db["stat_values"].create(
        {"patch_id": str, "character_id": str, "stat": str, "value": float},
        pk=("patch_id", "character_id", "stat"),
        foreign_keys=[("patch_id", "patches", "id")],
    )
    db["import_runs"].create(
        {"id": int, "path": str, "patch_id": str, "started_at": str, "finished_at": str,
         "outcome": str, "counts": str, "error": str}, pk="id",
    )


@MIGRATIONS(name="_m002_indexes")
def _m002_indexes(db: sqlite_utils.Database) -> None:
    db["stat_values"].create_index(["character_id", "stat"])
    db["patches"].create_index(["seq"])


@MIGRATIONS(name="_m003_meta")
def _m003_meta(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")


@MIGRATIONS(name="_m004_run_action")
def _m004_run_action(db: sqlite_utils.Database) -> None:
    """Import runs say what they did: 'import' or 'rollback'."""
    db["import_runs"].add_column("action", str, not_null_default="import")


def _adopt_legacy(db: sqlite_utils.Database) -> None:
    """Record the steps a hand-rolled `migrations` table lists as applied by sqlite-utils."""
    if not db[LEGACY_TABLE].exists() or MIGRATIONS.applied(db):
        return
    MIGRATIONS.ensure_migrations_table(db)
    names = [row[0] for row in db.execute(f"SELECT name FROM {LEGACY_TABLE} ORDER BY version")]
    db["_sqlite_migrations"].insert_all(
        {"migration_set": MIGRATIONS.name, "name": name, "applied_at": now_iso()}
        for name in names)
    db[LEGACY_TABLE].drop()


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    """Names of the migrations not applied yet (read-only)."""
    if db[LEGACY_TABLE].exists():
        return ["adopt the legacy migrations table"]
    return [m.name for m in MIGRATIONS.pending(db)]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations not yet applied, in order (sqlite-utils Migrations, one transaction
    each); return how many migrations the record has."""
    with db.atomic():
        _adopt_legacy(db)
    MIGRATIONS.apply(db)
    return len(MIGRATIONS.applied(db))


def patch_rows(db: sqlite_utils.Database) -> list[dict]:
    """Every patch row, oldest first."""
    return list(db.query("SELECT * FROM patches ORDER BY seq"))


def patch_row(db: sqlite_utils.Database, patch_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM patches WHERE id = ?", [patch_id]))
    return rows[0] if rows else None


def current_row(db: sqlite_utils.Database) -> dict | None:
    rows = list(db.query("SELECT * FROM patches ORDER BY seq DESC LIMIT 1"))
    return rows[0] if rows else None


def stats_at(db: sqlite_utils.Database, seq: int, character_id: str | None = None,
             ) -> dict[str, dict[str, float | None]]:
    """character id -> {stat: value} as of the patch at position `seq`."""
    where = "AND v.character_id = :cid" if character_id else ""
    # SQLite's bare columns beside MAX() come from the row holding the maximum: one pass over
    # the (character_id, stat) index, no window sort (half the time at two years of history).
    sql = f"""
        SELECT v.character_id, v.stat, v.value, MAX(p.seq)
        FROM stat_values v JOIN patches p ON p.id = v.patch_id
        WHERE p.seq <= :seq {where}
        GROUP BY v.character_id, v.stat"""
    out: dict[str, dict[str, float | None]] = {}
    for cid, stat, value, _ in db.execute(sql, {"seq": seq, "cid": character_id}).fetchall():
        out.setdefault(cid, {})[stat] = value
    return out


def last_changed_at(db: sqlite_utils.Database, seq: int) -> dict[str, str]:
    """character id -> the id of the latest patch at or before `seq` that set its stats."""
    sql = """
        SELECT v.character_id, p.id, MAX(p.seq)
        FROM stat_values v JOIN patches p ON p.id = v.patch_id WHERE p.seq <= :seq
        GROUP BY v.character_id"""
    return {cid: patch_id for cid, patch_id, _ in db.execute(sql, {"seq": seq}).fetchall()}


def character_rows(db: sqlite_utils.Database) -> list[Character]:
    """Characters the record holds (every character some imported patch set)."""
    return [
        Character(
            id=r["id"], name=r["name"], faction=r["faction"], role=r["role"],
            region=r["region"], lore=r["lore"], aliases=tuple(json.loads(r["aliases"] or "[]")),
            released_in=r["released_in"],
        )
        for r in db.query("SELECT * FROM characters ORDER BY id")
    ]


def history(db: sqlite_utils.Database, character_id: str, stat: str) -> list[tuple]:
    """(patch id, released, value set or None, whether this patch set it) for every patch."""
    sql = """
        SELECT p.id, p.released, v.value, v.stat IS NOT NULL FROM patches p
        LEFT JOIN stat_values v ON v.patch_id = p.id AND v.character_id = ? AND v.stat = ?
        ORDER BY p.seq"""
    return db.execute(sql, [character_id, stat]).fetchall()


def patch_values(db: sqlite_utils.Database, patch_id: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for cid, stat, value in db.execute(
        "SELECT character_id, stat, value FROM stat_values WHERE patch_id = ?", [patch_id]
    ).fetchall():
        out.setdefault(cid, {})[stat] = value
    return out


def write_patch(db: sqlite_utils.Database, patch: Patch, characters: Iterable[Character],
                stat_names: tuple[str, ...], crash: Callable[[str], None]) -> int:
    """Store a validated patch in one transaction (status 'pending'); return the rows written.

    A full patch writes every stat of each listed character, NULL where the file has none.
    Characters absent from a full patch keep their earlier values.
    """
    rows: list[tuple] = []
    for entry in patch.entries:
        names = stat_names if patch.kind == "full" else tuple(entry.stats)
        rows.extend((patch.id, entry.id, name, entry.stats.get(name)) for name in names)
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO patches (id, released, kind, notes, content_hash, status, imported_at,"
            " seq, source) VALUES (?, ?, ?, ?, ?, 'pending', ?, 0, ?)",
            [patch.id, patch.released, patch.kind, patch.notes, patch.content_hash, now_iso(),
             patch.source],
        )
        conn.executemany("INSERT INTO stat_values VALUES (?, ?, ?, ?)", rows)
        crash("sqlite-mid")
        conn.executemany(
            "INSERT INTO characters (id, name, faction, role, region, lore, aliases,"
            " released_in, added_by, from_patch_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO NOTHING",
            [(c.id, c.name, c.faction, c.role, c.region, c.lore, json.dumps(list(c.aliases)),
              c.released_in, patch.id, int(c.released_in == patch.id)) for c in characters],
        )
        conn.execute(
            "UPDATE patches SET seq = (SELECT COUNT(*) FROM patches p2"
            " WHERE (p2.released, p2.id) < (patches.released, patches.id))"
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)


def set_patch_status(db: sqlite_utils.Database, patch_id: str, status: str) -> None:
    db.execute("UPDATE patches SET status = ? WHERE id = ?", [status, patch_id])


def start_run(db: sqlite_utils.Database, path: str, patch_id: str | None,
              action: str = "import") -> int:
    """Record a run (an import or a rollback) as 'running'; return its id."""
    cur = db.execute(
        "INSERT INTO import_runs (path, patch_id, started_at, outcome, action) "
        "VALUES (?, ?, ?, 'running', ?)", [path, patch_id, now_iso(), action],
    )
    return int(cur.lastrowid)


def finish_run(db: sqlite_utils.Database, run_id: int, outcome: str, counts: dict | None = None,
               error: str | None = None) -> None:
    db.execute(
        "UPDATE import_runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
        [now_iso(), outcome, json.dumps(counts or {}), error, run_id],
    )


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
               "value = excluded.value", [key, value])
