"""Template answers that quote the facts exactly, in the faction's voice where it has one. Pure.

Used when a generated reply fails verification twice: the player still gets an answer in
character, and every number in it is copied from the facts as the stat card writes it. A voice's
phrases are data, `characters/voices/<faction>/phrasebook.json`; a faction without a voice
folder is answered in plain sentences (`PLAIN`, the same form).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from characters.voices import NoVoiceError, get_voice
from characters.world import Character

Row = tuple[str, str]  # (stat label, value as written with its unit)
Change = tuple[str, str, str]  # (stat label, old value, new value)


@dataclass(frozen=True)
class FallbackFacts:
    """What a template may say: the facts, and nothing else."""

    character: Character
    patch: str
    rows: tuple[Row, ...] = ()
    changes: tuple[Change, ...] | None = None
    since: str | None = None
    lore: str | None = None
    other_name: str | None = None
    other_rows: tuple[Row, ...] = ()
    ranking: tuple[Row, ...] = ()  # (name, value as written) of a roster ranking, best first
    ranking_label: str = ""
    key: str = ""


Phrasebook = dict[str, Any]
#: The phrasebook of the plain answer, for a faction without a voice.
PLAIN: Phrasebook = {
    "open": [],
    "lore": "I am {name}, {role} of {region}. {lore}",
    "no_changes": "Nothing about me has changed since patch {since}.",
    "changes": {"frame": "Since patch {since}, {items}.",
                "item": "my {label} went from {old} to {new}", "join": "and"},
    "rows": {"frame": "My {items}.", "item": "{label} is {value}", "join": "and"},
    "other_rows": {"frame": "{other}'s {items}.", "item": "{label} is {value}", "join": "and"},
    "ranking": {"frame": "By {stat}: {items}.", "item": "{who} ({value})", "join": "and"},
    "close": ["That is as of patch {patch}."],
}


def _pick(options: Sequence[str], key: str, salt: str) -> str:
    digest = hashlib.blake2b(f"{key}|{salt}".encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "little") % len(options)]


def _joined(parts: Sequence[str], last: str = "and") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {last} {parts[-1]}"


def _fill(template: str, slots: dict[str, str]) -> str:
    """`template` with its {slots} filled in one pass (a filled value is never filled again)."""
    return re.sub(r"\{(\w+)\}", lambda m: slots.get(m.group(1), m.group(0)), template)


def _section(book: Phrasebook, name: str, items: list[dict[str, str]],
             slots: dict[str, str]) -> str:
    """A list of facts as the phrasebook says: one sentence each, or one list sentence."""
    section = book[name]
    filled = [_fill(section["item"], {**slots, **item}) for item in items]
    text = " ".join(filled) if section["join"] == " " else _joined(filled, section["join"])
    return _fill(section["frame"], {**slots, "items": text})


def speak(facts: FallbackFacts, book: Phrasebook) -> str:
    """The facts, and nothing else, in the phrases of `book`."""
    who = facts.character
    slots = {"first": who.first_name, "name": who.name, "role": who.role.lower(),
             "region": who.region, "patch": facts.patch, "since": facts.since or "",
             "other": facts.other_name or ""}
    parts = [_fill(_pick(book["open"], facts.key, "open"), slots)] if book["open"] else []
    if facts.lore is not None:
        parts.append(_fill(book["lore"], {**slots, "lore": facts.lore}))
    if facts.changes is not None:
        changes = [{"label": label.lower(), "old": old, "new": new}
                   for label, old, new in facts.changes]
        parts.append(_section(book, "changes", changes, slots) if changes
                     else _fill(book["no_changes"], slots))
    if facts.rows:
        rows = [{"label": label.lower(), "value": value} for label, value in facts.rows]
        parts.append(_section(book, "rows", rows, slots))
    if facts.other_name and facts.other_rows:
        rows = [{"label": label.lower(), "value": value} for label, value in facts.other_rows]
        parts.append(_section(book, "other_rows", rows, slots))
    if facts.ranking:
        ranked = [{"who": name, "value": value} for name, value in facts.ranking]
        section = "ranking" if "ranking" in book else None
        parts.append(_section(book if section else PLAIN, "ranking", ranked,
                              {**slots, "stat": facts.ranking_label.lower()}))
    parts.append(_fill(_pick(book["close"], facts.key, "close"), slots))
    return " ".join(parts)


def phrasebook(voice: str | None, voices: Path | None = None) -> Phrasebook:
    """The phrasebook of `voice` (a faction), or `PLAIN` when it has none."""
    if voice is None:
        return PLAIN
    try:
        return get_voice(voice, voices).phrasebook
    except NoVoiceError:
        return PLAIN


def fallback_answer(facts: FallbackFacts, voice: str | None, voices: Path | None = None) -> str:
    """The template answer in `voice` (a faction with a voice folder, or None for plain)."""
    return speak(facts, phrasebook(voice, voices))
