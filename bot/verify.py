"""Verification of a generated reply: numbers, prompt leaks, mentions and voice. Pure.

A reply passes when every number in it is a value of the facts block (or the patch id, which the
block carries) and belongs to the stat its clause names, it repeats no part of the prompt's
scaffolding, it holds no mention, and, for a voiced faction, it still sounds like that faction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from characters.numbers import (
    CLAUSE_BREAK_RE,
    invented_numbers,
    mentions_value,
    misattributed_numbers,
    wrong_direction,
)
from characters.resolve import fold

MENTION_RE = re.compile(r"@(?:everyone|here)\b|<@[!&]?\d+>|<#\d+>|<@&?\d*>", re.IGNORECASE)
# The labels of the prompt's user turn; a reply that contains them is repeating the prompt.
SCAFFOLD_RE = re.compile(r"(?im)^\s*(?:facts|question)\s*:|\bsystem prompt\b")
# Below this voice score a voiced faction's reply counts as out of character.
MIN_VOICE_SCORE = 0.2

VoiceScorer = Callable[[str, str], float | None]


@dataclass(frozen=True)
class Verdict:
    """What is wrong with a reply (nothing, when `ok`)."""

    invented: tuple[str, ...] = ()
    misattributed: tuple[str, ...] = ()
    leaked: bool = False
    mentions: tuple[str, ...] = ()
    voice: float | None = None
    out_of_voice: bool = False
    empty: bool = False
    missing: bool = False
    foreign_names: tuple[str, ...] = ()
    missing_name: bool = False
    wrong_direction: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.invented or self.misattributed or self.leaked or self.mentions
                    or self.out_of_voice or self.empty or self.missing or self.foreign_names
                    or self.missing_name or self.wrong_direction)

    @property
    def only_voice(self) -> bool:
        """The facts are right and only the voice is off (a regeneration rarely fixes that)."""
        return self.out_of_voice and replace(self, out_of_voice=False).ok

    def reasons(self) -> list[str]:
        """Short words for the log: why the reply was rejected."""
        out = [f"invented number {n}" for n in self.invented]
        out += [f"number {n} on the wrong stat" for n in self.misattributed]
        if self.empty:
            out.append("empty")
        if self.missing:
            out.append("states none of the asked values")
        out += [f"names {n}, who is not in the facts" for n in self.foreign_names]
        if self.missing_name:
            out.append("names none of the ranked characters")
        out += [f"tells a change the wrong way: {c!r}" for c in self.wrong_direction]
        if self.leaked:
            out.append("repeats the prompt")
        if self.mentions:
            out.append("contains a mention")
        if self.out_of_voice:
            out.append(f"out of voice ({self.voice:.2f})")
        return out


def leaks_prompt(reply: str, system_line: str) -> bool:
    """Whether the reply repeats the system line or the prompt's "Facts:"/"Question:" labels."""
    if SCAFFOLD_RE.search(reply):
        return True
    return _squash(system_line) in _squash(reply)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _folded_words(text: str) -> str:
    return f" {fold(text)} "


@cache
def _name_key(name: str) -> str:
    """A name folded and padded for a whole-word search (the roster's names repeat per reply)."""
    return f" {fold(name)} "


def foreign_names(reply: str, facts: str, known_names: Sequence[str]) -> tuple[str, ...]:
    """The roster names (full names) that the reply holds and the facts do not."""
    said, given = _folded_words(reply), _folded_words(facts)
    out = []
    for name in known_names:
        key = _name_key(name)
        if key.strip() and key in said and key not in given:
            out.append(name)
    return tuple(out)


def names_any(reply: str, names: Sequence[str]) -> bool:
    """Whether the reply names at least one of `names` in full. A first name is not enough:
    80 of the 413 first names of the roster belong to several characters, so "Velk, Mormund:
    speed 281" does not say which Mormund leads."""
    said = _folded_words(reply)
    return any(_name_key(n) in said for n in names if n.strip())


def verify_reply(
    reply: str,
    facts: str,
    system_line: str,
    voice_faction: str | None = None,
    voice_scorer: VoiceScorer | None = None,
    min_voice: float = MIN_VOICE_SCORE,
    required: Sequence[float] = (),
    labels: Sequence[str] = (),
    known_names: Sequence[str] = (),
    required_names: Sequence[str] = (),
    absent: Sequence[str] = (),
    changes: Sequence[tuple[float, float]] = (),
    change_words: Mapping[str, Sequence[str]] | None = None,
) -> Verdict:
    """Check a whole reply against the facts block and the prompt it answered.

    `required` holds the values the question asked for: the reply must state at least one.
    `labels` are the schema's stat labels: a number must belong to the stat its clause names;
    `absent` are terms for stats the game lacks: a clause naming one may hold no number.
    `known_names` are the roster's names: a reply may name only those the facts hold;
    `required_names` (a ranking's leaders) must be named in full, at least one of them;
    `changes` are the (old, new) values of what changed: none may be told the wrong way.
    """
    if not reply.strip():
        return Verdict(empty=True)
    voice = None
    if voice_faction is not None and voice_scorer is not None:
        voice = voice_scorer(reply, voice_faction)
    return Verdict(
        invented=tuple(invented_numbers(reply, facts)),
        misattributed=tuple(misattributed_numbers(reply, facts, tuple(labels), tuple(absent))),
        leaked=leaks_prompt(reply, system_line),
        mentions=tuple(m.group(0) for m in MENTION_RE.finditer(reply)),
        voice=voice,
        out_of_voice=voice is not None and voice < min_voice,
        missing=bool(required) and not any(mentions_value(reply, v) for v in required),
        foreign_names=foreign_names(reply, facts, known_names),
        missing_name=bool(required_names) and not names_any(reply, required_names),
        wrong_direction=wrong_direction(reply, changes, change_words or {}) if changes else (),
    )


def safe_prefix(text: str, facts: str, system_line: str,
                labels: Sequence[str] = (), absent: Sequence[str] = (),
                changes: Sequence[tuple[float, float]] = (),
                change_words: Mapping[str, Sequence[str]] | None = None) -> str | None:
    """The part of a partial reply that may be shown while it streams, or None once it fails.

    Only whole words are shown (a number is never cut in two), and the first invented or
    misattributed number, mention or prompt echo stops the stream. A reply about `changes`
    shows whole clauses only, and stops at one that tells a change the wrong way ("drop 43"
    may yet go on "to 47").
    """
    cut = max(text.rfind(" "), text.rfind("\n"))
    shown = text[:cut] if cut > 0 else ""
    if changes:
        ends = [m.start() for m in CLAUSE_BREAK_RE.finditer(shown)]
        if wrong_direction(shown, changes, change_words or {}):
            return None
        shown = shown[:ends[-1] + 1] if ends else ""
    if invented_numbers(shown, facts) or leaks_prompt(shown, system_line):
        return None
    if misattributed_numbers(shown, facts, tuple(labels), tuple(absent)):
        return None
    if MENTION_RE.search(shown):
        return None
    return shown
