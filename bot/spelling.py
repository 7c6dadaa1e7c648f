"""Typo tolerance for question understanding: a word no one knows, one edit away from a word
the understanding data uses, is read as that word ("histoory" -> "history", "mna" -> "mana").

Which words are known is data: the whole words of the embedder's own vocabulary (so a real
word such as "coat" or "bat" is never "corrected"), the words of the understanding data and
the roster's names, places and lore. Corrections only ever go to a word of the understanding
data (meanings.json, intents.json, the schema, faction and role names), the words the meaning
step can use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

# Words shorter than this are never corrected ("u", "ur", "r" are chat, not typos).
MIN_LETTERS = 3
# One insertion, deletion, substitution or swap of neighbours: the usual slip of a finger.
MAX_EDITS = 1
# A word this short is corrected only to a word of its first letter: one slip is a third of
# "omg", which is chat and no "dmg", while "mna" is "mana".
SAME_FIRST_UP_TO = 4
WORD_RE = re.compile(r"[a-z]+")
# A word as written; one with an apostrophe ("don't", "you're") is left as it is.
WRITTEN_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")


def words_of(texts: Iterable[str]) -> Counter[str]:
    """How often each lower-case word occurs in `texts`."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(WORD_RE.findall(text.lower()))
    return counts


@cache
def vocabulary_words(vocab_file: Path) -> frozenset[str]:
    """The whole words of a WordPiece vocabulary file (one token a line; "##" pieces and
    "[SPECIAL]" tokens left out)."""
    out = set()
    for line in Path(vocab_file).read_text(encoding="utf-8").splitlines():
        token = line.strip()
        if token.isalpha() and token.isascii() and token.islower():
            out.add(token)
    return frozenset(out)


class Speller:
    """Corrects the words of a question that are typos of the understanding data's words."""

    def __init__(self, targets: Counter[str], known: Iterable[str] = ()) -> None:
        self._targets = [w for w in targets if len(w) >= MIN_LETTERS - MAX_EDITS]
        self._counts = targets
        self._known = frozenset(known) | frozenset(targets)

    def word(self, word: str) -> str:
        """`word` itself, or the data's word it is one slip away from. Of several: one no
        shorter than the word (a letter dropped or swapped is likelier than one added:
        "pwer" is "power", not "per"; "hadr" is "hard", not "had"), the most used of those
        ("mna" is "mana", not "man")."""
        lower = word.lower()
        if len(lower) < MIN_LETTERS or lower in self._known or not lower.isalpha():
            return word
        near = process.extract(lower, self._targets, scorer=OSA.distance,
                               score_cutoff=MAX_EDITS, limit=None)
        if len(lower) <= SAME_FIRST_UP_TO:
            near = [hit for hit in near if hit[0][0] == lower[0]]
        if not near:
            return word
        best = min(near, key=lambda hit: (hit[1], len(hit[0]) < len(lower),
                                          -self._counts[hit[0]], hit[0]))[0]
        return best.upper() if word.isupper() else best

    def correct(self, text: str) -> str:
        """`text` with each unknown word that is a typo of a data word replaced by it."""
        return WRITTEN_RE.sub(lambda m: self.word(m.group()), text)
