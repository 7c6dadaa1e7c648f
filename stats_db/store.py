"""The store: one data folder holding the SQLite record and the LanceDB index, and its queries.

Open one with `stats_db.datafolder.open_store`, which also migrates and repairs it.

Read methods are safe from several threads at once: each thread gets its own SQLite connection
and LanceDB handle.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from characters.cards import render_stat_card
from characters.config import StatsDbConfig, get_config
from characters.resolve import NameResolver
from characters.schema import Number
from characters.world import Character, World
from stats_db import record
from stats_db.embed import Embedder
from stats_db.errors import (
    IndexUnhealthy,
    NotReleasedYet,
    UnknownCharacter,
    UnknownPatch,
    UnknownStat,
)
from stats_db.index import LanceIndex, build_rows, stat_column
from stats_db.lock import LOCK_NAME, WriteLock

log = logging.getLogger(__name__)

SQLITE_NAME = "lorekeeper.sqlite"
LANCE_NAME = "lance"
WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class PatchInfo:
    """One imported patch."""

    id: str
    released: str
    kind: str
    notes: str
    status: str
    imported_at: str


@dataclass(frozen=True)
class StatSnapshot:
    """A character's stats as of one patch, with the rendered stat card."""

    character: Character
    patch: str
    stats: dict[str, Number | None]
    card: str


@dataclass(frozen=True)
class StatDiff:
    """What changed for one character between two patches: stat -> (old, new)."""

    character: Character
    from_patch: str
    to_patch: str
    changes: dict[str, tuple[Number | None, Number | None]]


@dataclass(frozen=True)
class PatchSummary:
    """Who a patch changed, and its biggest buffs and nerfs (by percent change)."""

    patch: str
    released: str
    notes: str
    changed: int
    new_characters: list[str]
    buffs: list[tuple[str, str, Number, Number, float]]
    nerfs: list[tuple[str, str, Number, Number, float]]


@dataclass(frozen=True)
class RankedRow:
    """One line of a roster ranking."""

    character_id: str
    name: str
    faction: str
    role: str
    value: Number


@dataclass(frozen=True)
class Hit:
    """One search result: a stat card or a lore chunk."""

    kind: str
    character_id: str
    text: str
    score: float


class Store:
    """The SQLite record and the LanceDB index of one data folder."""

    def __init__(self, data_dir: Path, world: World, embedder: Embedder,
                 settings: StatsDbConfig | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.world = world
        self.embedder = embedder
        self.settings = settings or StatsDbConfig()
        self.sqlite_path = self.data_dir / SQLITE_NAME
        self.index = LanceIndex(self.data_dir / LANCE_NAME, world.schema, embedder.dim)
        self._local = threading.local()
        self._connections = record.ThreadConnections(self.sqlite_path)
        self.write_lock = WriteLock(self.data_dir / LOCK_NAME, self.settings.write_wait_s)

    @property
    def db(self):
        """This thread's sqlite-utils Database."""
        return self._connections.get()

    def close(self) -> None:
        """Close this thread's SQLite connection."""
        self._connections.close()

    # --- patches and characters -------------------------------------------------------------

    def current_patch(self) -> str | None:
        row = record.current_row(self.db)
        return row["id"] if row else None

    def patches(self) -> list[PatchInfo]:
        """Every imported patch, oldest first."""
        return [PatchInfo(r["id"], r["released"], r["kind"], r["notes"] or "", r["status"],
                          r["imported_at"]) for r in record.patch_rows(self.db)]

    def _patch_row(self, patch: str | None) -> dict:
        row = record.current_row(self.db) if patch is None else record.patch_row(self.db, patch)
        if row is None:
            if patch is None:
                raise UnknownPatch("no patch has been imported yet (run `python -m stats_db seed`)")
            known = ", ".join(p.id for p in self.patches()) or "none"
            raise UnknownPatch(f"unknown patch {patch!r} (imported: {known})")
        return row

    def _record_version(self) -> tuple[int, int]:
        """Changes whenever any connection (this one or another process's) commits."""
        conn = self.db.conn
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    def characters(self) -> list[Character]:
        """The roster's released characters plus those that imported patches added."""
        version = self._record_version()
        cached = getattr(self._local, "characters", None)
        if cached is None or cached[0] != version:
            cached = self._local.characters = (version, self._load_characters())
        return list(cached[1])

    def _load_characters(self) -> list[Character]:
        imported = {p.id for p in self.patches()}
        out = {c.id: c for c in self.world.characters
               if c.released_in is None or c.released_in in imported}
        for c in record.character_rows(self.db):
            out.setdefault(c.id, c)
        return sorted(out.values(), key=lambda c: c.id)

    def character_map(self) -> dict[str, Character]:
        """Every known character by id."""
        return {c.id: c for c in self.characters()}

    def character(self, character_id: str) -> Character:
        """One character by id, or UnknownCharacter."""
        found = self.character_map().get(character_id)
        if found is None:
            raise UnknownCharacter(f"unknown character id {character_id!r}")
        return found

    def resolver(self) -> NameResolver:
        """Name resolution over every character the store knows (patch-added ones too)."""
        cfg = get_config().characters
        return NameResolver(self.characters(), cfg.min_confidence, cfg.suggestions)

    # --- stats ------------------------------------------------------------------------------

    def _typed(self, values: dict[str, float | None]) -> dict[str, Number | None]:
        return {s.name: None if values.get(s.name) is None else s.coerce(values[s.name])
                for s in self.world.schema.stats}

    def stats_at(self, patch: str | None = None) -> dict[str, dict[str, Number | None]]:
        """Every character's stats as of a patch (default: current)."""
        row = self._patch_row(patch)
        return {cid: self._typed(v) for cid, v in record.stats_at(self.db, row["seq"]).items()}

    def show(self, character_id: str, patch: str | None = None) -> StatSnapshot:
        """A character's stats as of a patch (default: current), with its stat card."""
        character = self.character(character_id)
        row = self._patch_row(patch)
        found = record.stats_at(self.db, row["seq"], character_id).get(character_id)
        if found is None:
            if character.released_in is not None:
                raise NotReleasedYet(character.name, character.released_in, row["id"])
            raise UnknownCharacter(f"{character.name} has no stats as of patch {row['id']}")
        stats = self._typed(found)
        faction = self.world.faction(character.faction)
        card = render_stat_card(character, faction, stats, row["id"], self.world.schema)
        return StatSnapshot(character, row["id"], stats, card)

    def facts(self, character_id: str, patch: str | None = None) -> StatSnapshot:
        """A character's stats as the index holds them at a patch's tag: what answers quote.

        SQLite stays the record; only while an import is between its SQLite commit and its
        LanceDB tag (or for an index that a crash left behind) does this read the record, so an
        answer never mixes two patches."""
        character = self.character(character_id)
        row = self._patch_row(patch)
        if row["id"] not in self.index.tags():
            log.warning("the index has no tag %s yet: reading the record", row["id"])
            return self.show(character_id, row["id"])
        found = self.index.stat_row(character_id, row["id"])
        if found is None:  # not in that patch (not released yet): the record says why
            return self.show(character_id, row["id"])
        stats = self._typed({n: found[stat_column(n)] for n in self.world.schema.names})
        faction = self.world.faction(character.faction)
        card = render_stat_card(character, faction, stats, row["id"], self.world.schema)
        return StatSnapshot(character, row["id"], stats, card)

    def ranking(self, stat: str, k: int, lowest: bool = False, faction: str | None = None,
                roles: tuple[str, ...] = (), patch: str | None = None) -> list[RankedRow]:
        """The roster's top `k` by one stat at a patch's tag, from the index's stat columns."""
        spec = self.world.schema.get(stat)
        if spec is None:
            known = ", ".join(self.world.schema.names)
            raise UnknownStat(f"unknown stat {stat!r} (known: {known})")
        row = self._patch_row(patch)
        if row["id"] not in self.index.tags():
            raise IndexUnhealthy(f"the index has no tag for patch {row['id']} "
                                 "(run `python -m stats_db rebuild`)")
        found = self.index.ranking(stat, k, lowest, faction, roles, row["id"])
        return [RankedRow(r["character_id"], r["name"], r["faction"], r["role"],
                          spec.coerce(r["value"])) for r in found]

    def _previous(self, patch_id: str) -> str | None:
        ids = [p.id for p in self.patches()]
        i = ids.index(patch_id)
        return ids[i - 1] if i > 0 else None

    def diff(self, character_id: str, from_patch: str | None = None,
             to_patch: str | None = None) -> StatDiff:
        """What changed between two patches (default: the previous patch to the current one)."""
        character = self.character(character_id)
        to_row = self._patch_row(to_patch)
        from_id = from_patch if from_patch is not None else self._previous(to_row["id"])
        new = self._typed(
            record.stats_at(self.db, to_row["seq"], character_id).get(character_id, {}))
        if from_id is None:
            old = self._typed({})
            from_id = to_row["id"]
        else:
            from_row = self._patch_row(from_id)
            old = self._typed(
                record.stats_at(self.db, from_row["seq"], character_id).get(character_id, {}))
        changes = {s: (old[s], new[s]) for s in self.world.schema.names if old[s] != new[s]}
        return StatDiff(character, from_id, to_row["id"], changes)

    def history(self, character_id: str, stat: str) -> list[tuple[str, str, Number | None]]:
        """One stat's value as of every patch, oldest first."""
        self.character(character_id)
        spec = self.world.schema.get(stat)
        if spec is None:
            known = ", ".join(self.world.schema.names)
            raise UnknownStat(f"unknown stat {stat!r} (known: {known})")
        out: list[tuple[str, str, Number | None]] = []
        value: Number | None = None
        for patch_id, released, raw, was_set in record.history(self.db, character_id, stat):
            if was_set:
                value = None if raw is None else spec.coerce(raw)
            out.append((patch_id, released, value))
        return out

    def patch_summary(self, patch: str | None = None) -> PatchSummary:
        """Who a patch changed, its new characters, and its biggest buffs and nerfs."""
        row = self._patch_row(patch)
        before = (record.stats_at(self.db, row["seq"] - 1) if row["seq"] > 0 else {})
        after = record.stats_at(self.db, row["seq"])
        touched = record.patch_values(self.db, row["id"])
        moves: list[tuple[str, str, Number, Number, float]] = []
        changed, new_characters = 0, []
        for cid in sorted(touched):
            old, new = self._typed(before.get(cid, {})), self._typed(after.get(cid, {}))
            if cid not in before:
                new_characters.append(cid)
            if old != new:
                changed += 1
            for stat in touched[cid]:
                a, b = old[stat], new[stat]
                if a is not None and b is not None and a != b and a != 0:
                    moves.append((cid, stat, a, b, round((b - a) / abs(a) * 100, 2)))
        moves.sort(key=lambda m: -abs(m[4]))
        return PatchSummary(row["id"], row["released"], row["notes"] or "", changed,
                            new_characters, [m for m in moves if m[4] > 0],
                            [m for m in moves if m[4] < 0])

    # --- index ------------------------------------------------------------------------------

    def desired_rows(self, patch: str | None = None) -> dict[str, dict]:
        """The rows the index should hold as of a patch (default: current; without vectors)."""
        row = record.current_row(self.db) if patch is None else record.patch_row(self.db, patch)
        if row is None:
            return {}
        stats = record.stats_at(self.db, row["seq"])
        changed_in = record.last_changed_at(self.db, row["seq"])
        typed = {cid: self._typed(v) for cid, v in stats.items()}
        return build_rows(self.world, self.character_map(), typed, changed_in,
                          self.settings.lore_chunk_chars)

    def check_index(self) -> list[str]:
        """Why the index disagrees with SQLite (empty when healthy)."""
        patches = self.patches()
        problems = [f"patch {p.id} is {p.status}" for p in patches if p.status != "done"]
        tags = self.index.tags()
        untagged = [p.id for p in patches if p.id not in tags]
        if untagged:
            problems.append(f"no index tag for patch {', '.join(untagged)}")
        return problems + self.check_index_rows(self.desired_rows())

    def check_index_rows(self, desired: dict[str, dict]) -> list[str]:
        """Why the index rows differ from `desired` (row count and content hashes)."""
        problems = []
        want = {k: r["content_hash"] for k, r in desired.items()}
        have = self.index.hashes()
        if len(have) != len(want):
            problems.append(f"index has {len(have)} rows, SQLite implies {len(want)}")
        stale = sum(1 for k, h in want.items() if have.get(k) != h)
        if stale:
            problems.append(f"{stale} index rows are missing or out of date")
        return problems

    def status(self) -> dict:
        """DESIGN's status --json, plus `state` (empty, healthy or unhealthy) and `problems`.

        An empty data folder is its own state: no patch, no characters with stats, and never
        healthy.
        """
        patches = self.patches()
        if not patches:
            rows = self.index.count()
            problems = ["no patch has been imported yet (run `python -m stats_db seed`)"]
            if rows:
                problems.append(f"the index holds {rows} rows but SQLite holds no patch")
            return {"patch": None, "patches": 0, "characters": 0, "index_rows": rows,
                    "healthy": False, "state": "empty", "problems": problems}
        problems = self.check_index()
        return {
            "patch": self.current_patch(), "patches": len(patches),
            "characters": len(self.characters()), "index_rows": self.index.count(),
            "healthy": not problems, "state": "unhealthy" if problems else "healthy",
            "problems": problems,
        }

    def search(self, question: str, character_id: str | None = None, patch: str | None = None,
               k: int = 4, vector=None) -> list[Hit]:
        """Hybrid search (vector plus full text, fused by RRF) over stat cards and lore;
        `vector` is the question's embedding when the caller has it already."""
        if character_id is not None:
            self.character(character_id)
        tag, fallback = None, False
        if patch is not None and patch != self.current_patch():
            self._patch_row(patch)
            if patch in self.index.tags():
                tag = patch
            else:
                fallback = True  # untagged (e.g. backfilled): stats from the record, lore current
        if vector is None:
            vector = self.embedder.embed([question])[0]
        words = " ".join(WORD_RE.findall(question))
        if words:
            rows = self.index.search(vector, words, k, character_id, tag)
        else:
            rows = self.index.vector_search(vector, k, character_id, tag)
        hits = [Hit(r["kind"], r["character_id"], r["text"],
                    float(r.get("_relevance_score", 1.0 - r.get("_distance", 0.0))))
                for r in rows]
        if fallback:
            hits = [h for h in hits if h.kind == "lore"]
            if character_id is not None:
                card = self.show(character_id, patch).card
                hits.insert(0, Hit("stats", character_id, card, 1.0))
        return hits[:k]

