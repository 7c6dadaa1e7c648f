"""Turn what a player typed into a character: exact id, exact name, alias, then fuzzy match.

Names are compared after folding case, accents and punctuation, so "zulgar dreadfist" finds
"Zul'gar Dreadfist". The fuzzy step uses rapidfuzz and covers typos, missing apostrophes or
hyphens, and a first name alone when only one character carries it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process

from characters.text import fold
from characters.world import Character, World, get_world

# Above this, a fuzzy hit wins even when a second character scores close to it.
CLEAR_WIN = 0.95
# A fuzzy winner must lead the next character by this much, else the name is ambiguous.
MIN_MARGIN = 0.04
# A typed prefix of at least this many letters scores PREFIX_SCORE (out of 100).
PREFIX_MIN = 4
PREFIX_SCORE = 90.0


def compact(text: str) -> str:
    """`fold` without spaces, so hyphens and spaces never matter: "grim eye" == "grimeye"."""
    return fold(text).replace(" ", "")


@dataclass(frozen=True)
class Resolution:
    """The result of resolving a name: a character with a confidence, or the closest names."""

    query: str
    character: Character | None
    confidence: float
    method: str  # "id", "name", "alias", "first-name", "fuzzy", "ambiguous" or "unknown"
    suggestions: tuple[Character, ...] = ()

    @property
    def found(self) -> bool:
        return self.character is not None


class NameResolver:
    """An index over a roster for exact and fuzzy name lookup."""

    def __init__(
        self, characters: Iterable[Character], min_confidence: float = 0.80, suggestions: int = 5
    ) -> None:
        self.characters = tuple(characters)
        self.min_confidence = min_confidence
        self.n_suggestions = suggestions
        self._by_id = {c.id: c for c in self.characters}
        self._by_name = {compact(c.name): c for c in self.characters}
        self._by_alias: dict[str, Character] = {}
        firsts: defaultdict[str, list[Character]] = defaultdict(list)
        for c in self.characters:
            for alias in c.aliases:
                self._by_alias.setdefault(compact(alias), c)
            firsts[compact(c.first_name)].append(c)
        self._by_first = {k: v[0] for k, v in firsts.items() if len(v) == 1}
        self.role_words = frozenset(compact(c.role) for c in self.characters)
        # Fuzzy candidates: every name, alias and unique first name, as compact keys.
        self._keys: list[str] = []
        self._owners: list[Character] = []
        for table in (self._by_name, self._by_alias, self._by_first):
            for key, c in table.items():
                self._keys.append(key)
                self._owners.append(c)

    def resolve(self, text: str) -> Resolution:
        """Resolve `text`, trying id, name, alias, unique first name, then fuzzy match."""
        query = text.strip()
        if query in self._by_id:
            return Resolution(text, self._by_id[query], 1.0, "id")
        key = compact(query)
        if not key:
            return Resolution(text, None, 0.0, "unknown", self.suggest(query))
        for method, table in (("name", self._by_name), ("alias", self._by_alias),
                              ("first-name", self._by_first)):
            if key in table:
                return Resolution(text, table[key], 1.0, method)
        ranked = self._rank(key, limit=max(self.n_suggestions, 10))
        if not ranked:
            return Resolution(text, None, 0.0, "unknown", ())
        best, best_score = ranked[0]
        runner_up = next((s for c, s in ranked[1:] if c.id != best.id), 0.0)
        suggestions = tuple(c for c, _ in ranked[: self.n_suggestions])
        if best_score < self.min_confidence:
            return Resolution(text, None, best_score, "unknown", suggestions)
        if best_score < CLEAR_WIN and best_score - runner_up < MIN_MARGIN:
            return Resolution(text, None, best_score, "ambiguous", suggestions)
        return Resolution(text, best, best_score, "fuzzy", suggestions)

    def exact(self, text: str) -> Character | None:
        """The character `text` names exactly (id, name, alias or unique first name), if any."""
        query = text.strip()
        key = compact(query)
        return (self._by_id.get(query) or self._by_name.get(key) or self._by_alias.get(key)
                or self._by_first.get(key)) if key else None

    def suggest(self, text: str, limit: int = 5) -> tuple[Character, ...]:
        """The `limit` closest characters to `text`, best first (for autocomplete)."""
        key = compact(text)
        if not key:
            return self.characters[:limit]
        return tuple(c for c, _ in self._rank(key, limit))

    def _rank(self, key: str, limit: int) -> list[tuple[Character, float]]:
        """Characters by their best score over names, aliases and first names."""
        hits = [(i, s) for _k, s, i in
                process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit * 3)]
        if len(key) >= PREFIX_MIN:
            # A typed prefix ("grukk iron") counts as a strong match.
            hits += [(i, PREFIX_SCORE) for i, k in enumerate(self._keys) if k.startswith(key)]
        best: dict[str, tuple[Character, float]] = {}
        for index, score in hits:
            owner = self._owners[index]
            if owner.id not in best or best[owner.id][1] < score / 100:
                best[owner.id] = (owner, score / 100)
        return sorted(best.values(), key=lambda cs: (-cs[1], cs[0].name))[:limit]


@cache
def _default_resolver() -> NameResolver:
    from characters.config import get_config

    cfg = get_config().characters
    return NameResolver(get_world().characters, cfg.min_confidence, cfg.suggestions)


def resolver_for(world: World, min_confidence: float = 0.80, suggestions: int = 5) -> NameResolver:
    """A resolver over a world's roster."""
    return NameResolver(world.characters, min_confidence, suggestions)


def resolve_character(text: str, resolver: NameResolver | None = None) -> Resolution:
    """Resolve a typed name against the shipped roster (or the given resolver)."""
    return (resolver or _default_resolver()).resolve(text)


def find_named(text: str, resolver: NameResolver, besides: str | None = None,
               max_words: int = 4) -> Character | None:
    """A real character that `text` names anywhere in it (exact id, name, alias or unique first
    name, or a close fuzzy match of two or more words written with a capital), other than the
    one with id `besides`; longest names first. None when it names none."""
    words = [re.sub(r"['’]s$", "", w.strip(".!?;:,'\"()")) for w in text.split()]
    for size in range(max_words, 0, -1):
        for start in range(len(words) - size + 1):
            chunk = " ".join(words[start:start + size])
            if len(compact(chunk)) < 3 or compact(chunk) in resolver.role_words:
                continue  # a role ("what does an ironbreaker do") is no one's name
            found = resolver.exact(chunk)
            if found is None and size >= 2 and chunk[:1].isupper():
                fuzzy = resolver.resolve(chunk)
                if fuzzy.method == "fuzzy" and fuzzy.confidence >= 0.9:
                    found = fuzzy.character
            if found is not None and found.id != besides:
                return found
    return None
