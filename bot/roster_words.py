"""The words of a question about the whole roster: a stat's superlative ("cheapest"), an order,
a faction, a role or group of roles, a count and the words that ask about the roster ("who",
"among"). All of them are data (meanings.json, roster.json, factions.json); `bot.understand`
decides from these and from the meaning whether a question is about the roster."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from characters.resolve import fold
from characters.world import World

NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10}
MAX_COUNT = 25
FACTION_TYPO_MIN_LETTERS = 5
FACTION_TYPO_SCORE = 80


@dataclass(frozen=True)
class RosterAsk:
    """A question about the whole roster: one stat, a filter and an order."""

    stat: str
    faction: str | None = None
    roles: tuple[str, ...] = ()
    scope: str = ""
    count: int = 3
    lowest: bool = False
    listed: bool = False  # the player asked for several ("top 5"), not only the leader


@dataclass(frozen=True)
class RosterSignals:
    """What the words of a question say about a ranking over the roster."""

    sup_stat: str | None  # the stat whose own superlative the question uses
    lowest: bool
    superlative: bool
    faction: str | None
    roles: tuple[str, ...]
    count: int
    asks_roster: bool
    sup_words: int = 0  # how many words that superlative has ("hits hardest": 2)
    sup_of_who: bool = False  # it is said of who is ranked ("slowest characters", "fastest elf")

    @property
    def scoped(self) -> bool:
        return bool(self.faction or self.roles or self.count)


class RosterWords:
    """Reads the roster words of a question (faction names, roles, superlatives)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.meanings = world.meanings
        self.faction_words = {fold(w): fid for fid, words in self.meanings.faction_words.items()
                              for w in words}
        for faction in world.factions:
            self.faction_words.setdefault(fold(faction.name), faction.id)
        roles = sorted({c.role for c in world.characters})
        self.roles = {fold(r): (r,) for r in roles} | {fold(r) + "s": (r,) for r in roles}
        words = {w for s in world.schema.stats
                 for t in (s.label, s.name.replace("_", " "), *s.synonyms,
                           *self.meanings[s.name].abbreviations) for w in fold(t).split()}
        self._stat_words = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
        self._gapped_res: dict[str, re.Pattern[str]] = {}
        self._nouns = frozenset(fold(w) for w in self.meanings.roster_nouns)
        for group, members in self.meanings.role_groups.items():
            self.roles.setdefault(fold(group), tuple(members))
            self.roles.setdefault(fold(group) + "s", tuple(members))

    def signals(self, text: str) -> RosterSignals:
        """The superlative, order, filter and count that `text` names."""
        words = fold(text).split()
        folded = f" {' '.join(words)} "
        sup_stat, lowest, superlative, sup_words = None, False, False, 0
        # A stat's own superlative ("cheapest") settles it: the longest that the words hold,
        # as listed or with one word inside it that is no stat word ("hits the softest").
        found = [(len(p.split()), as_listed, m.name, d == "least", p)
                 for m in self.meanings.stats
                 for d, pool in (("least", m.least), ("most", m.most)) for p in pool
                 for as_listed in (f" {_fold(p)}" in folded,)
                 if as_listed or self._gapped(p).search(folded)]
        sup_of_who = False
        if found:
            sup_words, _, sup_stat, lowest, phrase = max(found)
            superlative = True
            after = re.search(rf" {re.escape(_fold(phrase))} (\S+)", folded)
            sup_of_who = after is not None and self._names_who(after.group(1))
        if _has_any(folded, self.meanings.lowest_words):
            lowest = superlative = True
        superlative = superlative or _has_any(folded, self.meanings.highest_words)
        roles = next((r for word, r in self.roles.items() if f" {word} " in folded), ())
        count = next((int(w) if w.isdigit() else NUMBER_WORDS[w] for w in words
                      if (w.isdigit() and 1 < int(w) <= MAX_COUNT) or w in NUMBER_WORDS), 0)
        return RosterSignals(sup_stat, lowest, superlative, self.faction_in(words), tuple(roles),
                             count, _has_any(folded, self.meanings.roster_words), sup_words,
                             sup_of_who)

    def _names_who(self, word: str) -> bool:
        """Whether a word names who a ranking ranks: a faction, a role or a roster noun."""
        return word in self.faction_words or word in self.roles or word in self._nouns

    def _gapped(self, phrase: str) -> re.Pattern[str]:
        """A superlative with room for one word that is no stat word between its words."""
        if phrase not in self._gapped_res:
            first, *rest = _fold(phrase).split()
            gap = rf"(?: (?!(?:{self._stat_words}) )\S+)?"
            self._gapped_res[phrase] = re.compile(
                f" {re.escape(first)}" + "".join(f"{gap} {re.escape(w)}" for w in rest))
        return self._gapped_res[phrase]

    def faction_in(self, words: list[str]) -> str | None:
        """The faction a word of the question names ("elves", "dwarvish"), typos allowed."""
        for word in words:
            if word in self.faction_words:
                return self.faction_words[word]
        for word in words:
            if len(word) >= FACTION_TYPO_MIN_LETTERS:
                hit = process.extractOne(word, list(self.faction_words), scorer=fuzz.ratio,
                                         score_cutoff=FACTION_TYPO_SCORE)
                if hit:
                    return self.faction_words[hit[0]]
        return None

    def ask(self, signals: RosterSignals, stat: str) -> RosterAsk:
        """The ranking a question asks for, on `stat`."""
        faction = signals.faction
        scope = " ".join(filter(None, [self.world.faction(faction).name if faction else "",
                                       "/".join(signals.roles)]))
        return RosterAsk(stat=stat, faction=faction, roles=signals.roles, scope=scope,
                         count=signals.count or 3, lowest=signals.lowest,
                         listed=signals.count > 1)


@lru_cache(maxsize=4096)
def _fold(phrase: str) -> str:
    return fold(phrase)


def _has_any(folded: str, phrases: Sequence[str]) -> bool:
    return any(f" {_fold(p)} " in folded for p in phrases)
