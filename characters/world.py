"""The game world as loaded at runtime: factions, the stat schema, the roster and the lexicons.

The files are written by `python -m characters.generate`; at runtime they are only read. The
lexicons come from the voice folders (`characters/voices/<faction>/lexicon.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from characters.meanings import Meanings, load_meanings
from characters.schema import StatSchema, load_schema
from characters.voices import LexiconEntry
from characters.voices import lexicons as voice_lexicons

DEFAULT_WORLD_DIR = Path(__file__).resolve().parent / "data"


class WorldError(ValueError):
    """A world data file is missing or malformed."""


@dataclass(frozen=True)
class Faction:
    """A faction: its display name and the voice adapter that speaks for it, if any."""

    id: str
    name: str
    adapter: str | None
    description: str = ""


@dataclass(frozen=True)
class Character:
    """One playable character."""

    id: str
    name: str
    faction: str
    role: str
    region: str
    lore: str
    aliases: tuple[str, ...] = ()
    released_in: str | None = None

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def to_json(self) -> dict:
        return {
            "id": self.id, "name": self.name, "aliases": list(self.aliases),
            "faction": self.faction, "role": self.role, "region": self.region,
            "lore": self.lore, "released_in": self.released_in,
        }

    @classmethod
    def from_json(cls, data: dict) -> Character:
        return cls(
            id=data["id"], name=data["name"], faction=data["faction"], role=data["role"],
            region=data["region"], lore=data["lore"], aliases=tuple(data.get("aliases", ())),
            released_in=data.get("released_in"),
        )


ROSTER_FIELDS = ("name", "faction", "role", "region", "lore")


@dataclass(frozen=True)
class World:
    """Everything `characters/data` holds, and the voices' lexicons, loaded once."""

    factions: tuple[Faction, ...]
    schema: StatSchema
    characters: tuple[Character, ...]
    lexicons: dict[str, tuple[LexiconEntry, ...]]
    root: Path

    @cached_property
    def by_id(self) -> dict[str, Character]:
        return {c.id: c for c in self.characters}

    @cached_property
    def faction_by_id(self) -> dict[str, Faction]:
        return {f.id: f for f in self.factions}

    @cached_property
    def meanings(self) -> Meanings:
        """What the stats, roles and factions mean in players' words (meanings.json)."""
        return load_meanings(self.root, self.schema)

    def character(self, character_id: str) -> Character:
        return self.by_id[character_id]

    def faction(self, faction_id: str) -> Faction:
        return self.faction_by_id[faction_id]

    @property
    def patches_dir(self) -> Path:
        return self.root / "patches"

    def patch_files(self) -> list[Path]:
        """The shipped patch files, oldest first (file names sort by release)."""
        return sorted(self.patches_dir.glob("*.json"))

    def with_characters(self, extra: list[Character]) -> World:
        """A copy of this world with more characters (released by a patch)."""
        known = self.by_id
        added = tuple(c for c in extra if c.id not in known)
        return World(self.factions, self.schema, self.characters + added, self.lexicons, self.root)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        hint = "run `python -m characters.generate`"
        raise WorldError(f"{path}: missing world file ({hint})") from exc
    except json.JSONDecodeError as exc:
        raise WorldError(f"{path}: not valid JSON: {exc}") from exc


def load_world(root: Path | None = None, voices: Path | None = None) -> World:
    """Load factions, schema and roster from a world folder, and the lexicons of `voices`."""
    root = Path(root or DEFAULT_WORLD_DIR)
    factions = tuple(
        Faction(f["id"], f["name"], f.get("adapter"), f.get("description", ""))
        for f in _read_json(root / "factions.json")
    )
    schema = load_schema(root / "schema.json")
    try:
        characters = tuple(Character.from_json(c) for c in _read_json(root / "roster.json"))
    except KeyError as exc:
        raise WorldError(f"{root / 'roster.json'}: a character lacks field {exc}") from exc
    return World(factions, schema, characters, voice_lexicons(voices), root)


_WORLD_CACHE: dict[Path, World] = {}


def get_world(root: Path | None = None) -> World:
    """The world at `root` (default: the shipped one), loaded once per process."""
    key = Path(root or DEFAULT_WORLD_DIR).resolve()
    if key not in _WORLD_CACHE:
        _WORLD_CACHE[key] = load_world(key)
    return _WORLD_CACHE[key]
