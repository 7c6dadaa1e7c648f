"""Patch validation: pure functions from a parsed patch to a `Patch` or a list of `PatchError`.

Nothing here reads files or databases; what the store already holds comes in a
`ValidationContext`, so every rule is tested without I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from characters.config import StatsDbConfig
from characters.schema import Number, StatSchema
from characters.world import ROSTER_FIELDS, Character

PATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHARACTER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
KINDS = ("delta", "full")
TOP_LEVEL_KEYS = {"patch", "released", "kind", "notes", "characters"}
ENTRY_KEYS = {"id", "stats", "aliases", "released_in", *ROSTER_FIELDS}


@dataclass(frozen=True)
class PatchError:
    """One reason a patch file is rejected: which file, where in it, which field, and why."""

    file: str
    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        parts = [self.file, self.where, self.field]
        return ": ".join(p for p in parts if p) + f": {self.reason}"


@dataclass(frozen=True)
class PatchEntry:
    """One character's line in a patch: the stats it sets, and roster fields for a new one."""

    id: str
    stats: Mapping[str, Number | None]
    character: Character | None = None  # set when the entry carries roster fields


@dataclass(frozen=True)
class Patch:
    """A validated patch, ready to store."""

    id: str
    released: str
    kind: str
    notes: str
    entries: tuple[PatchEntry, ...]
    source: str
    content_hash: str

    @property
    def order(self) -> tuple[str, str]:
        """The canonical ordering key: release date, then id."""
        return (self.released, self.id)


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know about the world and the store."""

    schema: StatSchema
    known_ids: frozenset[str]
    factions: frozenset[str]
    imported: Mapping[str, str] = field(default_factory=dict)  # patch id -> content hash
    current: tuple[str, str] | None = None  # (released, id) of the current patch
    backfill: bool = False
    max_errors: int = StatsDbConfig.max_reported_errors


class _Errors:
    """Collects errors up to a cap, counting the rest."""

    def __init__(self, source: str, cap: int) -> None:
        self.source, self.cap, self.items, self.dropped = source, cap, [], 0

    def add(self, where: str, field_name: str, reason: str) -> None:
        if len(self.items) < self.cap:
            self.items.append(PatchError(self.source, where, field_name, reason))
        else:
            self.dropped += 1

    def result(self) -> list[PatchError]:
        if self.dropped:
            more = PatchError(self.source, "", "", f"... and {self.dropped} more errors")
            return [*self.items, more]
        return list(self.items)


def content_hash(raw: Mapping) -> str:
    """A hash of a patch's content that ignores formatting and entry order."""
    entries = sorted(
        (json.dumps(e, sort_keys=True, default=str) for e in raw.get("characters") or []),
    )
    head = {k: raw.get(k) for k in ("patch", "released", "kind", "notes")}
    text = json.dumps([head, entries], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_header(raw: Mapping, errors: _Errors) -> None:
    for key in sorted(set(raw) - TOP_LEVEL_KEYS):
        errors.add("header", key, f"unknown field (known: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    patch_id = raw.get("patch")
    if not isinstance(patch_id, str) or not PATCH_ID_RE.match(patch_id):
        errors.add("header", "patch", f"expected a patch id like 2026-W48, got {patch_id!r}")
    released = raw.get("released")
    try:
        if not isinstance(released, str):
            raise ValueError
        dt.date.fromisoformat(released)
        if len(released) != 10:
            raise ValueError
    except ValueError:
        errors.add("header", "released", f"expected a date YYYY-MM-DD, got {released!r}")
    if raw.get("kind") not in KINDS:
        errors.add("header", "kind", f"expected 'delta' or 'full', got {raw.get('kind')!r}")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        errors.add("header", "notes", f"expected text, got {type(notes).__name__}")


def _check_history(raw: Mapping, digest: str, ctx: ValidationContext, errors: _Errors) -> bool:
    """Check the patch against what is stored; True when it is already imported unchanged."""
    patch_id, released = raw.get("patch"), raw.get("released")
    if not isinstance(patch_id, str) or not isinstance(released, str):
        return False
    if patch_id in ctx.imported:
        if ctx.imported[patch_id] == digest:
            return True
        errors.add("header", "patch", f"patch {patch_id} is already imported with different "
                   "content (a patch id names one content; use a new id)")
        return False
    if ctx.current is not None and (released, patch_id) < ctx.current and not ctx.backfill:
        errors.add("header", "released", f"patch {patch_id} ({released}) is older than the "
                   f"current patch {ctx.current[1]} ({ctx.current[0]}); import it with --backfill")
    return False


def _check_roster(entry: Mapping, where: str, ctx: ValidationContext, errors: _Errors,
                  patch_id: str) -> Character | None:
    """The new character an entry describes, or None (errors added) when its fields are bad."""
    ok = True
    for key in ROSTER_FIELDS:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.add(where, key, f"a new character needs a non-empty {key}, got {value!r}")
            ok = False
    if isinstance(entry.get("faction"), str) and entry["faction"] not in ctx.factions:
        known = ", ".join(sorted(ctx.factions))
        errors.add(where, "faction", f"unknown faction {entry['faction']!r} (known: {known})")
        ok = False
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        errors.add(where, "aliases", "expected a list of names")
        ok = False
    if not ok:
        return None
    return Character(
        id=entry["id"], name=entry["name"].strip(), faction=entry["faction"],
        role=entry["role"].strip(), region=entry["region"].strip(), lore=entry["lore"].strip(),
        aliases=tuple(aliases), released_in=entry.get("released_in") or patch_id,
    )


def _check_stats(stats: object, where: str, ctx: ValidationContext, errors: _Errors,
                 kind: str) -> dict[str, Number | None]:
    if not isinstance(stats, Mapping):
        errors.add(where, "stats", f"expected an object of stat values, got {type(stats).__name__}")
        return {}
    if not stats and kind == "delta":
        errors.add(where, "stats", "a delta entry must change at least one stat")
    clean: dict[str, Number | None] = {}
    for name, value in stats.items():
        stat = ctx.schema.get(name)
        if stat is None:
            errors.add(where, f"stats.{name}",
                       f"unknown stat (known: {', '.join(ctx.schema.names)})")
            continue
        if value is None:  # null = unknown, never 0
            clean[name] = None
            continue
        reason = stat.check(value)
        if reason:
            errors.add(where, f"stats.{name}", reason)
        else:
            clean[name] = stat.coerce(value)
    return clean


def validate_patch(
    raw: object, source: str, ctx: ValidationContext, locations: Sequence[str] | None = None,
) -> tuple[Patch | None, list[PatchError], bool]:
    """Check a parsed patch; return (patch or None, every error, already imported unchanged)."""
    errors = _Errors(source, ctx.max_errors)
    if not isinstance(raw, Mapping):
        errors.add("", "", f"expected a JSON object at the top, got {type(raw).__name__}")
        return None, errors.result(), False
    _check_header(raw, errors)
    digest = content_hash(raw)
    if _check_history(raw, digest, ctx, errors):
        return None, [], True
    entries_raw = raw.get("characters")
    if not isinstance(entries_raw, list) or not entries_raw:
        errors.add("header", "characters", "expected a non-empty list of character entries")
        entries_raw = []
    kind = raw.get("kind") if raw.get("kind") in KINDS else "delta"
    patch_id = raw.get("patch") if isinstance(raw.get("patch"), str) else ""
    seen: dict[str, str] = {}
    entries: list[PatchEntry] = []
    for i, entry in enumerate(entries_raw):
        where = locations[i] if locations and i < len(locations) else f"entry {i + 1}"
        if not isinstance(entry, Mapping):
            errors.add(where, "", f"expected an object, got {type(entry).__name__}")
            continue
        cid = entry.get("id")
        if not isinstance(cid, str) or not CHARACTER_ID_RE.match(cid):
            errors.add(where, "id", f"expected a character id like grukk-ironjaw, got {cid!r}")
            continue
        where = where if cid in where else f"{where} ({cid})"
        for key in sorted(set(entry) - ENTRY_KEYS):
            errors.add(where, key, "unknown field")
        if cid in seen:
            errors.add(where, "id", f"character {cid} appears twice (first at {seen[cid]})")
            continue
        seen[cid] = where
        new_character = None
        if any(key in entry for key in ROSTER_FIELDS):
            new_character = _check_roster(entry, where, ctx, errors, patch_id)
        elif cid not in ctx.known_ids:
            errors.add(where, "id", f"unknown character {cid!r}; a new character needs the roster "
                       f"fields {', '.join(ROSTER_FIELDS)}")
        stats = _check_stats(entry.get("stats", {}), where, ctx, errors, kind)
        entries.append(PatchEntry(cid, stats, new_character))
    found = errors.result()
    if found:
        return None, found, False
    patch = Patch(patch_id, raw["released"], kind, raw.get("notes", "") or "", tuple(entries),
                  source, digest)
    return patch, [], False
