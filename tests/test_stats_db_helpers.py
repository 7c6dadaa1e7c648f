"""Shared helpers for the stats_db tests: a small world on disk, and one MiniLM per process."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from functools import cache
from pathlib import Path

from characters.world import World, get_world, load_world
from stats_db.embed import MiniLMEmbedder

PER_FACTION = 4  # most-changed launch characters per faction in the mini world


@cache
def shared_minilm() -> MiniLMEmbedder:
    """The real all-MiniLM-L6-v2, loaded once per test process."""
    return MiniLMEmbedder(batch_size=16)


def mini_ids(world: World | None = None) -> list[str]:
    """Some launch characters of every faction, one touched by each delta, two from 2026-W46."""
    world = world or get_world()
    counts: Counter[str] = Counter()
    released: list[str] = []
    per_patch: list[str] = []
    for path in world.patch_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["kind"] == "delta":
            steady = [e["id"] for e in data["characters"] if "name" not in e]
            released += [e["id"] for e in data["characters"] if "name" in e]
            per_patch += steady[:1]
            counts.update(steady)
    keep = set(per_patch) | set(released[:2])
    for faction in world.factions:
        ranked = [cid for cid, _ in counts.most_common()
                  if world.by_id[cid].faction == faction.id and cid not in released]
        keep.update(ranked[:PER_FACTION])
    return sorted(keep)


def write_mini_world(root: Path) -> World:
    """Write a world folder with a small slice of the shipped world and its patches."""
    shipped = get_world()
    keep = set(mini_ids(shipped))
    root.mkdir(parents=True, exist_ok=True)
    for name in ("factions.json", "schema.json"):
        shutil.copy(shipped.root / name, root / name)
    roster = [c.to_json() for c in shipped.characters if c.id in keep]
    (root / "roster.json").write_text(json.dumps(roster, indent=1), encoding="utf-8")
    (root / "patches").mkdir(exist_ok=True)
    for path in shipped.patch_files():
        data = json.loads(path.read_text(encoding="utf-8"))
        data["characters"] = [e for e in data["characters"] if e["id"] in keep]
        if data["characters"]:
            (root / "patches" / path.name).write_text(json.dumps(data), encoding="utf-8")
    return load_world(root)


def write_config(path: Path, world_root: Path, inbox: str = "inbox") -> Path:
    """A config.toml pointing at a world folder (for CLI subprocesses via LOREKEEPER_CONFIG)."""
    path.write_text(
        f'[characters]\nworld_dir = "{world_root}"\n\n[schedule]\ninbox_dir = "{inbox}"\n',
        encoding="utf-8",
    )
    return path


def dump_record(db_path: Path) -> dict:
    """Every patch, character and stat row of a SQLite record, for comparing two stores."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return {
            "patches": conn.execute(
                "SELECT id, released, kind, notes, content_hash, status, seq FROM patches "
                "ORDER BY seq").fetchall(),
            "characters": conn.execute("SELECT * FROM characters ORDER BY id").fetchall(),
            "stats": conn.execute(
                "SELECT * FROM stat_values ORDER BY patch_id, character_id, stat").fetchall(),
        }
    finally:
        conn.close()


def delta(patch: str, released: str, entries: list[dict], notes: str = "") -> dict:
    """A delta patch document."""
    return {"patch": patch, "released": released, "kind": "delta", "notes": notes,
            "characters": entries}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
