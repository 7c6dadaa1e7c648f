"""The exact step of question understanding: stat terms, patch ids and names as written.

Pure functions over the stat schema and plain text. Stat terms (labels, names, synonyms and the
abbreviations of meanings.json) match longest first, so "attack speed" wins over "attack" and
"speed"; a word of five letters or more also matches a term with a small typo ("atack",
"helth"). What a question means beyond its words is `bot.understand`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from rapidfuzz import fuzz

from characters.meanings import Meanings
from characters.resolve import fold
from characters.schema import StatSchema

# Terms that are also everyday words: they count only when written in capitals ("AS").
ENGLISH_WORDS = frozenset({"as"})
# A term of at least this many letters matches a word with a small typo.
FUZZY_MIN_LETTERS = 5
FUZZY_MIN_SCORE = 85.0
# Marks that end an item of a list: no term of several words runs across one.
LIST_MARK_RE = re.compile(r"[,;&+!?]")
# The stat of a term for a stat the game does not have (meanings.json, absent_stat_terms).
ABSENT = ""

PATCH_RE = re.compile(r"\b(\d{4}-w\d{1,2}(?:-[a-z0-9]+)?)\b", re.IGNORECASE)
SHORT_PATCH_RE = re.compile(r"\b(w\d{1,2}(?:-[a-z0-9]+)?)\b", re.IGNORECASE)
# "week 45", "wk 45", "patch 45": a week number alone
WEEK_RE = re.compile(r"\b(?:week|wk|patch)\s*#?(\d{1,2})\b", re.IGNORECASE)
HOTFIX_RE = re.compile(r"\s*\bhot-?fix\b", re.IGNORECASE)
SINCE_RE = re.compile(r"\bsince\s+(?:patch\s+)?(\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    stat: str
    raw: str


@cache
def _terms(schema: StatSchema, meanings: Meanings | None = None) -> tuple[_Term, ...]:
    """Every term of every stat (labels, names, synonyms and the abbreviations of
    meanings.json) and the terms for stats the game lacks (their stat is ABSENT), as folded
    word tuples, longest (in letters) first: "armor penetration" before "armor"."""
    seen: dict[tuple[str, ...], _Term] = {}
    for stat in schema.stats:
        extra = meanings[stat.name].abbreviations if meanings is not None else ()
        for raw in (stat.label, stat.name.replace("_", " "), *stat.synonyms, *extra):
            words = tuple(fold(raw).split())
            if words and words not in seen:
                seen[words] = _Term(words, stat.name, raw)
    for raw in meanings.absent_terms if meanings is not None else ():
        words = tuple(fold(raw).split())
        if words and words not in seen:
            seen[words] = _Term(words, ABSENT, raw)
    return tuple(sorted(seen.values(), key=lambda t: (-len(" ".join(t.words)), t.words)))


@cache
def _term_words(schema: StatSchema, meanings: Meanings | None = None,
                ) -> frozenset[tuple[str, ...]]:
    """The words of every term."""
    return frozenset(t.words for t in _terms(schema, meanings))


def _stat_terms(schema: StatSchema, meanings: Meanings | None = None) -> tuple[_Term, ...]:
    """The terms of the game's stats only."""
    return tuple(t for t in _terms(schema, meanings) if t.stat != ABSENT)


@cache
def narrower_terms(schema: StatSchema, meanings: Meanings | None = None,
                   ) -> dict[str, frozenset[str]]:
    """For each term (folded), the other stats with a term that holds it ("hp regen" holds
    "hp": Health regen is narrower than "hp"; "atk speed" holds "atk")."""
    terms = _stat_terms(schema, meanings)
    out: dict[str, set[str]] = {}
    for long in terms:
        for short in terms:
            n = len(short.words)
            if short.stat != long.stat and n < len(long.words) and any(
                    long.words[i:i + n] == short.words for i in range(len(long.words) - n + 1)):
                out.setdefault(" ".join(short.words), set()).add(long.stat)
    return {term: frozenset(found) for term, found in out.items()}


@cache
def narrower_stats(schema: StatSchema, meanings: Meanings | None = None,
                   ) -> dict[str, frozenset[str]]:
    """For each stat, the stats with a term that holds one of its terms ("hp regen" holds
    "hp": Health regen is narrower than Health; "attack speed" holds "attack")."""
    by_term = narrower_terms(schema, meanings)
    out: dict[str, set[str]] = {}
    for term in _stat_terms(schema, meanings):
        out.setdefault(term.stat, set()).update(by_term.get(" ".join(term.words), ()))
    return {stat: frozenset(found) for stat, found in out.items() if found}


def _words(text: str) -> list[tuple[str, str, int]]:
    """(folded word, word as written, where it starts in `text`) triples."""
    out = []
    for match in re.finditer(r"[\w']+", text):
        for part in fold(match.group()).split():
            out.append((part, match.group(), match.start()))
    return out


class TermHit(NamedTuple):
    """A stat term found in a text: where (word position, character span), which stat, and
    the term as listed."""

    pos: int
    stat: str
    raw: str
    start: int
    end: int


def find_terms(text: str, schema: StatSchema, meanings: Meanings | None = None,
               known: Collection[str] = (), names: Collection[str] = ()) -> list[TermHit]:
    """Every stat term in `text`: terms longest first, each matched exactly or with a small
    typo, on words no longer term took. A word of `names` (the roster's roles, places and
    names: "ranger") is never a typo of a term; nor is a `known` word of the language that
    does not start with the one-word term ("each" is not "reach"; "levels" is "level").
    A term for a stat the game lacks takes its words too ("armor" in "armor penetration" is
    no Defense); `find_all_terms` also returns those."""
    return [hit for hit in find_all_terms(text, schema, meanings, known, names)
            if hit.stat != ABSENT]


def find_all_terms(text: str, schema: StatSchema, meanings: Meanings | None = None,
                   known: Collection[str] = (), names: Collection[str] = ()) -> list[TermHit]:
    """`find_terms`, with the terms for stats the game lacks (their stat is ABSENT)."""
    words = _words(text)
    folded = [w for w, _, _ in words]
    starts: dict[str, list[int]] = {}
    for i, word in enumerate(folded):
        starts.setdefault(word, []).append(i)
    shouting = text.upper() == text
    used = [False] * len(words)
    found: list[TermHit] = []
    terms = _terms(schema, meanings)
    exact_terms = _term_words(schema, meanings)
    for term in terms:
        n = len(term.words)
        joined = " ".join(term.words)
        # (a stat the game lacks is matched as written: "swing rate" is no typo of "win rate")
        typo_ok = len(joined.replace(" ", "")) >= FUZZY_MIN_LETTERS and term.stat != ABSENT
        # a term matched only as written can start only where its first word stands
        for i in range(len(words) - n + 1) if typo_ok else starts.get(term.words[0], ()):
            if i > len(words) - n:
                break
            window = folded[i : i + n]
            if any(used[i : i + n]):
                continue
            if tuple(window) == term.words:
                if term.words[0] in ENGLISH_WORDS and (
                        shouting or not words[i][1].isupper()
                        or (i + 1 < len(words) and folded[i + 1] == "of")):
                    continue  # "as" is Attack speed only as "AS", never in "as of"
            elif tuple(window) in exact_terms or not (
                    typo_ok and all(len(w) >= 3 for w in window)
                    and fuzz.ratio(" ".join(window), joined) >= FUZZY_MIN_SCORE) \
                    or _real_word(window, term.words, known, names):
                continue  # (words that are a term themselves are never another's typo)
            last = words[i + n - 1]
            start, end = words[i][2], last[2] + len(last[1])
            if n > 1 and LIST_MARK_RE.search(text, start, end):
                continue  # "atk, spd" is a list of two stats, not "atk spd"
            used[i : i + n] = [True] * n
            found.append(TermHit(i, term.stat, term.raw, start, end))
    return sorted(found)


def _real_word(window: Sequence[str], term: tuple[str, ...], known: Collection[str],
               names: Collection[str]) -> bool:
    """Whether a near match of `term` is a real word rather than a typo of it. In a term of
    several words, a real word is a typo of its word only when near it on its own: "heath
    regen" is "health regen", but "plus regeneration" is no "hp regeneration"."""
    for word, want in zip(window, term, strict=True):
        if word == want:
            continue
        if word in names or (len(term) == 1 and word in known and not word.startswith(want)):
            return True
        if len(term) > 1 and word in known and fuzz.ratio(word, want) < FUZZY_MIN_SCORE:
            return True
    return False


def find_stats(text: str, schema: StatSchema, meanings: Meanings | None = None,
               ) -> tuple[str, ...]:
    """The stats a text names by their words, in the order it names them."""
    ordered: list[str] = []
    for _, stat, *_rest in find_terms(text, schema, meanings):
        if stat not in ordered:
            ordered.append(stat)
    return tuple(ordered)


def match_stat(text: str, schema: StatSchema, meanings: Meanings | None = None) -> str | None:
    """The one stat a short text names ("atk", "attack speed"), or None."""
    found = find_stats(text, schema, meanings)
    if not found and text.strip().lower() in ENGLISH_WORDS:  # "as" alone is Attack speed
        word = (text.strip().lower(),)
        found = tuple(t.stat for t in _stat_terms(schema, meanings) if t.words == word)
    return found[0] if found else None


def find_patch(text: str, known: Sequence[str]) -> str | None:
    """A patch id written in the text ("2026-W47", "patch W47", "week 47", "the W45 hotfix",
    "the hotfix"), matched to a known id if any."""
    for pattern in (PATCH_RE, SHORT_PATCH_RE, WEEK_RE):
        match = pattern.search(text)
        if match:
            typed = match.group(1)
            if pattern is WEEK_RE:
                typed = f"W{int(typed):02d}"
            if HOTFIX_RE.match(text[match.end():]) and "hotfix" not in typed.lower():
                typed += "-hotfix"
            return normalize_patch(typed, known)
    if HOTFIX_RE.search(text):
        hotfixes = [p for p in known if "hotfix" in p.lower()]
        if hotfixes:
            return hotfixes[-1]
    return None


def normalize_patch(text: str, known: Sequence[str]) -> str:
    """A typed patch id in its canonical form: "w47" -> "2026-W47" when one known id fits."""
    typed = text.strip().strip(".,;:!?").upper()
    for patch in known:
        if patch.upper() == typed:
            return patch
    suffix = [p for p in known if p.upper().endswith("-" + typed)]
    if len(suffix) == 1:
        return suffix[0]
    if suffix:  # "W45" with a hotfix beside it: the plain weekly patch
        return min(suffix, key=len)
    return typed


def split_quoted(text: str) -> tuple[str, str] | None:
    """("name", "rest") when `text` starts with a quoted name ("Grukk Ironjaw" rest...)."""
    match = re.match(r'\s*["“”\'](.+?)["“”\']\s*(.*)$', text, re.DOTALL)
    if match and match.group(1).strip():
        return match.group(1).strip(), match.group(2).strip()
    return None


def name_prefixes(text: str, max_words: int = 5, keep: int = 0) -> list[tuple[str, str]]:
    """(name, rest) splits of `text`, the longest name first, leaving at least `keep` words."""
    quoted = split_quoted(text)
    if quoted:
        return [quoted]
    words = text.split()
    top = min(max_words, len(words) - keep)
    out = []
    for n in range(top, 0, -1):
        name = " ".join(words[:n])
        name = re.sub(r"(?:'s|’s)?[?!.,;:]*$", "", name)
        out.append((name, " ".join(words[n:])))
    return out
