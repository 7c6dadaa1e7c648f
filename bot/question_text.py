"""The text side of question understanding: stat words masked, names taken out, two stat
words run together. Pure functions over text and `TermHit`s."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

from bot.questions import TermHit
from characters.resolve import fold
from characters.world import Character

# What a stat term becomes when the kind of question is read ("has your attack changed?").
MASK_WORD = "attack"
# How many words may stand between a comparing word and the past it compares with ("than
# you did last week").
PAST_WINDOW = 4
# A clause that is only "how" and one word, before a clause that goes on past its own "how"
# and word: the two share the rest ("how hard and how often do you hit").
GAPPED = re.compile(r"^\s*how\s+[\w']+\s*$", re.IGNORECASE)
SHARED_TAIL = re.compile(r"^\s*how\s+[\w']+\s+(.+)$", re.IGNORECASE)
# "how fast do you run, and attack": a bare verb after a "how ... do you ..." clause shares
# its head
SHARED_HEAD = re.compile(r"^\s*(how\s+[\w']+\s+(?:do|does|did|can|could|will|would)\s+you)"
                         r"\s+[\w']+\s*$", re.IGNORECASE)
BARE_WORD = re.compile(r"^\s*[\w']+\W*$")


@lru_cache(maxsize=4096)
def fold_cached(phrase: str) -> str:
    return fold(phrase)


def names_re(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern for any of `names` (a leading "the" included, a plural "s" allowed)."""
    alternatives = sorted({re.escape(n.removeprefix("the ")) for n in names}, key=len,
                          reverse=True)
    return re.compile(rf"\b(?:the\s+)?(?:{'|'.join(alternatives)})s?\b", re.IGNORECASE)


def has_compound(text: str, hits: Sequence[TermHit]) -> bool:
    """Whether two terms of different stats stand side by side, with nothing between them
    ("mana regen"; not "mana, regen" or "hp and mana")."""
    ordered = sorted(hits, key=lambda h: h.start)
    return any(a.stat != b.stat and not text[a.end:b.start].strip()
               for a, b in pairwise(ordered))


def split_clauses(text: str, separator: re.Pattern[str], hits: Sequence[TermHit]) -> list[str]:
    """`text` split at each `separator` that falls outside the terms ("hp/s and mana" is
    "hp/s", "mana")."""
    out, at = [], 0
    for match in separator.finditer(text):
        if not any(h.start < match.end() and match.start() < h.end for h in hits):
            out.append(text[at:match.start()])
            at = match.end()
    out.append(text[at:])
    return out


def complete_gapped(clauses: Sequence[str], shares: Callable[[str], bool]) -> list[str]:
    """Clauses with a gapped "how" completed from the clause after it: "how hard", "how often
    do you hit" become "how hard do you hit", "how often do you hit" (alone, "how hard" reads
    as Defense); and a bare verb from the clause before it: "how fast do you run", "attack"
    become "how fast do you run", "how fast do you attack". `shares(tail)` says whether a
    tail may be shared: one that names a stat of its own stays with its clause."""
    out = list(clauses)
    for i in range(len(out) - 2, -1, -1):
        tail = SHARED_TAIL.match(out[i + 1])
        if GAPPED.match(out[i]) and tail and shares(tail.group(1)):
            out[i] = f"{out[i].strip()} {tail.group(1)}"
    for i in range(1, len(out)):
        head = SHARED_HEAD.match(out[i - 1])
        if head and BARE_WORD.match(out[i]):
            out[i] = f"{head.group(1)} {out[i].strip()}"
    return out


def mask_terms(text: str, hits: Sequence[TermHit]) -> str:
    """`text` with each stat term replaced by one stat word (MASK_WORD)."""
    out, at = [], 0
    for hit in sorted(hits, key=lambda h: h.start):
        out += [text[at:hit.start], MASK_WORD]
        at = hit.end
    out.append(text[at:])
    return "".join(out)


def without_name(text: str, character: Character) -> str:
    """`text` with the character's name (full, first, or an alias) taken out."""
    out = text
    for name in sorted((character.name, *character.aliases, character.first_name), key=len,
                       reverse=True):
        out = re.sub(re.escape(name), " ", out, flags=re.IGNORECASE)
    return out


def past_comparison_re(comparing: Iterable[str], past: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for a comparison with the past, over folded text: a comparing word ("than",
    "vs") and, at most PAST_WINDOW words on, a word of the past ("before", "you used to")."""
    def alternatives(words: Iterable[str]) -> str:
        folded = sorted({fold(w) for w in words if fold(w)}, key=len, reverse=True)
        return "|".join(r"\s+".join(map(re.escape, w.split())) for w in folded)

    before, after = alternatives(comparing), alternatives(past)
    if not before or not after:
        return None
    return re.compile(rf"\b(?:{before})(?:\s+\S+){{0,{PAST_WINDOW}}}?\s+(?:{after})\b")


def compares_with_past(text: str, pattern: re.Pattern[str] | None) -> bool:
    """Whether `text` measures against its own past ("do you crit more than you used to?",
    "faster than before"), not against someone else ("stronger than my mom")."""
    return pattern is not None and pattern.search(fold_cached(text)) is not None
