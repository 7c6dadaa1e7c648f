"""What patch day says: a patch's announcement, and the note a follower of a character gets.

Built from the engine (blocking): the patch summary, the diffs, and lines in the characters'
own voices, generated and verified like any answer (with the template fallback). The Discord
announcer posts them; the console's /patch shows the announcement a server would get.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import Busy, LorekeeperError
from bot.render import clip, render_patch, sanitize
from bot.views import PatchView

if TYPE_CHECKING:
    from bot.engine import Engine

log = logging.getLogger(__name__)

# Characters whose own words an announcement carries: the biggest movers of the patch.
VOICED_MOVERS = 3
# A voiced line is one line of an embed field, not a speech.
VOICE_LINE_CHARS = 300


@dataclass(frozen=True)
class Voiced:
    """One character's words about its own changes, verified against the facts."""

    character_id: str
    name: str
    faction: str
    text: str
    fallback: bool


@dataclass(frozen=True)
class Announcement:
    """A patch as a server's announcement channel gets it."""

    view: PatchView
    voices: list[Voiced]


@dataclass(frozen=True)
class ChangeNote:
    """What a follower of one character hears when a patch changes it."""

    character_id: str
    name: str
    faction: str
    patch: str
    from_patch: str
    changes: list[tuple[str, str, str]]
    voice: Voiced | None


def biggest_movers(engine: Engine, patch: str, n: int = VOICED_MOVERS) -> list[str]:
    """The ids of the `n` characters with the biggest change (by percent) in a patch."""
    summary = engine.store.patch_summary(patch)
    moves = sorted([*summary.buffs, *summary.nerfs], key=lambda m: -abs(m[4]))
    movers: list[str] = []
    for character_id, *_rest in moves:
        if character_id not in movers:
            movers.append(character_id)
    return movers[:n]


def voice_line(engine: Engine, character_id: str, patch: str) -> Voiced | None:
    """A character telling its changes in `patch`; None (logged) when it cannot be had now."""
    try:
        answer = engine.changes(character_id, to_patch=patch)
    except Busy:
        log.info("the model is busy: %s's line for patch %s is left out", character_id, patch)
        return None
    except LorekeeperError as exc:
        log.warning("no voiced line for %s in patch %s: %s", character_id, patch, exc)
        return None
    return Voiced(answer.character_id, answer.name, answer.faction,
                  clip(sanitize(answer.answer), VOICE_LINE_CHARS), answer.fallback)


def build_announcement(engine: Engine, patch: str | None = None) -> Announcement:
    """The announcement of a patch (default: the current one), with its movers' own words."""
    view = engine.patch_summary(patch)
    voices = [v for cid in biggest_movers(engine, view.patch)
              if (v := voice_line(engine, cid, view.patch)) is not None]
    return Announcement(view, voices)


def change_note(engine: Engine, character_id: str, patch: str) -> ChangeNote | None:
    """What changed for a character in `patch`, told in its voice; None when nothing did."""
    diff = engine.store.diff(character_id, to_patch=patch)
    if not diff.changes or diff.from_patch == diff.to_patch:
        return None
    schema = engine.schema
    rows = [(schema[s].label, schema[s].format_with_unit(old), schema[s].format_with_unit(new))
            for s in schema.names if s in diff.changes
            for old, new in [diff.changes[s]]]
    who = diff.character
    return ChangeNote(who.id, who.name, who.faction, patch, diff.from_patch, rows,
                      voice_line(engine, who.id, patch))


def render_announcement(announcement: Announcement) -> str:
    """The announcement as text (the console's /patch)."""
    lines = [render_patch(announcement.view)]
    if announcement.voices:
        lines.append("  In their own words:")
        lines += [f"    {sanitize(v.name)}: {v.text}" for v in announcement.voices]
    return "\n".join(lines)
