"""Template answers that quote the facts exactly, in the faction's voice where it has one. Pure.

Used when a generated reply fails verification twice: the player still gets an answer in
character, and every number in it is copied from the facts as the stat card writes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from characters.world import Character, LexiconEntry

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
    key: str = ""


def _pick(options: Sequence[str], key: str, salt: str) -> str:
    digest = hashlib.blake2b(f"{key}|{salt}".encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "little") % len(options)]


def _word(lexicon: Sequence[LexiconEntry], gloss: str, default: str) -> str:
    """The lexicon word whose gloss mentions `gloss`, or `default`."""
    for entry in lexicon:
        if gloss in entry.gloss.lower():
            return entry.word.capitalize()
    return default


def _joined(parts: Sequence[str], last: str = "and") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {last} {parts[-1]}"


def orcish_answer(facts: FallbackFacts, lexicon: Sequence[LexiconEntry]) -> str:
    """Short, blunt Orcish lines: "Me attack 91!"."""
    me, key = facts.character.first_name, facts.key
    battle, honour = _word(lexicon, "battle", "Brakk"), _word(lexicon, "honour", "Gorza")
    curse, weak = _word(lexicon, "curse", "Skarn"), _word(lexicon, "weakling", "Snikk").lower()
    yes = _word(lexicon, "yes", "Yarg")
    lines = [_pick([f"{yes}! {me} answer.", f"{curse}! Me {me}. Listen, {weak}.",
                    f"{battle}! Me {me} speak."], key, "open")]
    if facts.lore is not None:
        lines.append(f"Me {me}. Me {facts.character.role.lower()}! Me from "
                     f"{facts.character.region}.")
        lines.append(facts.lore)
    if facts.changes is not None:
        if not facts.changes:
            lines.append(f"Nothing change since patch {facts.since}. Me same. Still strong!")
        else:
            lines.append(f"Since patch {facts.since}, things change!")
        for label, old, new in facts.changes:
            lines.append(f"Me {label.lower()} was {old}. Now {new}!")
    for label, value in facts.rows:
        lines.append(f"Me {label.lower()} {value}!")
    if facts.other_name:
        for label, value in facts.other_rows:
            lines.append(f"{facts.other_name} {label.lower()} {value}. Puny!")
    lines.append(_pick([f"Patch {facts.patch}. Me not lie. {honour}!",
                        f"Numbers from patch {facts.patch}. {honour}!",
                        f"That patch {facts.patch} truth, {weak}. {battle}!"], key, "close"))
    return " ".join(lines)


def elvish_answer(facts: FallbackFacts, lexicon: Sequence[LexiconEntry]) -> str:
    """Long, courteous Elvish sentences with archaic forms."""
    key = facts.key
    hail = _word(lexicon, "greeting", "Sylvarae")
    farewell = _word(lexicon, "farewell", "Ithquelle")
    star, forest = _word(lexicon, "star", "aelith").lower(), _word(lexicon, "forest",
                                                                    "thaloren").lower()
    friend = _pick(["traveller", "friend", "young one"], key, "friend")
    parts = [_pick([f"{hail}, {friend}; thou askest, and I shall answer thee truly.",
                    f"{hail}, {friend}. 'Tis a fair question, and thou shalt have its answer.",
                    f"{hail}, {friend}, for thy question doth deserve a true reply."], key, "open")]
    if facts.lore is not None:
        parts.append(f"I am {facts.character.name}, {facts.character.role.lower()} of "
                     f"{facts.character.region}, and long is my memory.")
        parts.append(facts.lore)
    if facts.changes is not None:
        if not facts.changes:
            parts.append(f"Naught hath changed in me since patch {facts.since}; "
                         "as the river runneth, so I remain.")
        else:
            moved = [f"my {label.lower()} hath gone from {old} to {new}"
                     for label, old, new in facts.changes]
            parts.append(f"Since patch {facts.since}, {_joined(moved)}, as leaves turn "
                         "with the season.")
    if facts.rows:
        mine = [f"my {label.lower()} is {value}" for label, value in facts.rows]
        parts.append(f"Know thou that {_joined(mine)}, as certain as the {star} above "
                     f"the {forest}.")
    if facts.other_name and facts.other_rows:
        theirs = [f"{label.lower()} {value}" for label, value in facts.other_rows]
        parts.append(f"And {facts.other_name} hath {_joined(theirs)}, as the record telleth.")
    parts.append(f"So it standeth as of patch {facts.patch}. {farewell}.")
    return " ".join(parts)


def plain_answer(facts: FallbackFacts) -> str:
    """The facts in plain sentences, for a faction without a voice."""
    parts = []
    if facts.lore is not None:
        parts.append(f"I am {facts.character.name}, {facts.character.role.lower()} of "
                     f"{facts.character.region}. {facts.lore}")
    if facts.changes is not None:
        if not facts.changes:
            parts.append(f"Nothing about me has changed since patch {facts.since}.")
        else:
            moved = [f"my {label.lower()} went from {old} to {new}"
                     for label, old, new in facts.changes]
            parts.append(f"Since patch {facts.since}, {_joined(moved)}.")
    if facts.rows:
        parts.append(f"My {_joined([f'{lab.lower()} is {val}' for lab, val in facts.rows])}.")
    if facts.other_name and facts.other_rows:
        theirs = [f"{label.lower()} is {value}" for label, value in facts.other_rows]
        parts.append(f"{facts.other_name}'s {_joined(theirs)}.")
    parts.append(f"That is as of patch {facts.patch}.")
    return " ".join(parts)


def fallback_answer(
    facts: FallbackFacts, voice: str | None, lexicons: dict[str, tuple[LexiconEntry, ...]]
) -> str:
    """The template answer in `voice` ("orcish", "elvish", or None for plain)."""
    if voice == "orcish":
        return orcish_answer(facts, lexicons.get("orcish", ()))
    if voice == "elvish":
        return elvish_answer(facts, lexicons.get("elvish", ()))
    return plain_answer(facts)
