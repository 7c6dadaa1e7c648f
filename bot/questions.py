"""Question understanding: which stats a question is about, which patch, and what kind it is.

Pure functions over the stat schema and plain text. Phrases that name a stat without any of its
terms ("how tough are you?", "how fast do you swing?") are matched first; then stat terms
(labels, names and synonyms), longest first, so "attack speed" wins over "attack" and "speed";
a word of five letters or more also matches a term with a small typo ("atack", "helth").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz

from characters.resolve import fold
from characters.schema import StatSchema

# Terms that are also everyday words: they count only when written in capitals ("AS").
ENGLISH_WORDS = frozenset({"as"})
# Vague terms: they count only when the text names no other stat ("how much health" is health).
WEAK_TERMS = frozenset({("how", "much")})
# A term of at least this many letters matches a word with a small typo.
FUZZY_MIN_LETTERS = 5
FUZZY_MIN_SCORE = 85.0

PATCH_RE = re.compile(r"\b(\d{4}-w\d{1,2}(?:-[a-z0-9]+)?)\b", re.IGNORECASE)
SHORT_PATCH_RE = re.compile(r"\b(w\d{1,2}(?:-[a-z0-9]+)?)\b", re.IGNORECASE)
SINCE_RE = re.compile(r"\bsince\s+(?:patch\s+)?(\S+)", re.IGNORECASE)
CHANGES_RE = re.compile(
    r"\b(chang\w*|nerf\w*|buff\w*|differen\w*|what'?s new|new this (?:week|patch)|since)\b",
    re.IGNORECASE,
)
LORE_RE = re.compile(
    r"\b(who are you|about (?:yourself|you)|your (?:story|past|home|homeland|clan|people|lore|"
    r"background|origins?|life|tale)|where (?:are|do) you (?:from|live|come from)|tell me about|"
    r"lore|backstory|background|who is|what are you)\b",
    re.IGNORECASE,
)
COMPARE_RE = re.compile(
    r"\b(?:vs\.?|versus|than|against|compared? (?:yourself |you )?(?:to|with))\s+(.+)$",
    re.IGNORECASE,
)
# Phrases that ask for a stat by what it does rather than by a name. Without them "how tough are
# you?" named no stat, so the bot served the full card, and the adapter answered "not recorded";
# "how fast do you swing?" was speed and "how much magic have you got?" was cost.
STAT_PHRASES = tuple((re.compile(pattern, re.IGNORECASE), stat) for pattern, stat in (
    (r"\bhow (?:fast|quick(?:ly)?|often) (?:do|can) you (?:swing|attack|strike)\b", "attack_speed"),
    (r"\bhow (?:fast|quick(?:ly)?) (?:do|can) you (?:heal|regenerate|regen|recover)\b",
     "health_regen"),
    (r"\bhow (?:fast|quick(?:ly)?) (?:do|can) you (?:move|run|walk)\b", "speed"),
    (r"\bhow hard (?:do|can) you hit\b|\bhow much damage (?:do|can) you (?:do|deal)\b",
     "attack"),
    (r"\bhow (?:tough|tanky|sturdy) are you\b", "defense"),
    (r"\bhow much (?:damage )?can you take\b", "health"),
    (r"\bhow much magic\b(?!\s+power)|\bmana pool\b", "mana"),
    (r"\bhow (?:strong|powerful) (?:is|are) your (?:magic|spells?)\b", "ability_power"),
))
ALL_STATS_RE = re.compile(r"\b(all|every|your) stats?\b|\bstat ?(?:card|sheet|block)\b",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """What a question asks, as far as plain text tells."""

    text: str
    stats: tuple[str, ...] = ()
    patch: str | None = None
    since: str | None = None
    wants_changes: bool = False
    wants_lore: bool = False
    wants_all: bool = False
    compare_text: str | None = None


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    stat: str
    raw: str


@cache
def _terms(schema: StatSchema) -> tuple[_Term, ...]:
    """Every term of every stat, as folded word tuples, longest (in letters) first."""
    seen: dict[tuple[str, ...], _Term] = {}
    for stat in schema.stats:
        for raw in (stat.label, stat.name.replace("_", " "), *stat.synonyms):
            words = tuple(fold(raw).split())
            if words and words not in seen:
                seen[words] = _Term(words, stat.name, raw)
    return tuple(sorted(seen.values(), key=lambda t: (-len(" ".join(t.words)), t.words)))


def _words(text: str) -> list[tuple[str, str, int]]:
    """(folded word, word as written, where it starts in `text`) triples."""
    out = []
    for match in re.finditer(r"[\w']+", text):
        for part in fold(match.group()).split():
            out.append((part, match.group(), match.start()))
    return out


def find_stats(text: str, schema: StatSchema) -> tuple[str, ...]:
    """The stats a text names, in the order it names them: phrases, then terms longest first,
    then terms with a small typo."""
    words = _words(text)
    folded = [w for w, _, _ in words]
    used = [False] * len(words)
    found: list[tuple[int, str, bool]] = []
    for pattern, stat in STAT_PHRASES:
        if stat not in schema.names:
            continue
        for match in pattern.finditer(text):
            inside = [i for i, (_, _, at) in enumerate(words) if match.start() <= at < match.end()]
            if inside and not any(used[i] for i in inside):
                for i in inside:
                    used[i] = True
                found.append((inside[0], stat, False))
    terms = _terms(schema)
    for term in terms:  # exact matches, longest first
        n = len(term.words)
        for i in range(len(words) - n + 1):
            if any(used[i : i + n]) or tuple(folded[i : i + n]) != term.words:
                continue
            if term.words[0] in ENGLISH_WORDS and not words[i][1].isupper():
                continue
            used[i : i + n] = [True] * n
            found.append((i, term.stat, term.words in WEAK_TERMS))
    for term in terms:  # then small typos, on words no exact term took
        n = len(term.words)
        joined = " ".join(term.words)
        if len(joined.replace(" ", "")) < FUZZY_MIN_LETTERS:
            continue
        for i in range(len(words) - n + 1):
            window = folded[i : i + n]
            if any(used[i : i + n]) or any(len(w) < 3 for w in window):
                continue
            if fuzz.ratio(" ".join(window), joined) >= FUZZY_MIN_SCORE:
                used[i : i + n] = [True] * n
                found.append((i, term.stat, term.words in WEAK_TERMS))
    strong = [(i, stat) for i, stat, weak in found if not weak]
    found = strong or [(i, stat) for i, stat, _ in found]
    ordered: list[str] = []
    for _, stat in sorted(found):
        if stat not in ordered:
            ordered.append(stat)
    return tuple(ordered)


def match_stat(text: str, schema: StatSchema) -> str | None:
    """The one stat a short text names ("atk", "attack speed"), or None."""
    found = find_stats(text, schema)
    if not found and text.strip().lower() in ENGLISH_WORDS:
        found = find_stats(text.upper(), schema)
    return found[0] if found else None


def find_patch(text: str, known: Sequence[str]) -> str | None:
    """A patch id written in the text ("2026-W47", "patch W47"), matched to a known id if any."""
    match = PATCH_RE.search(text)
    if match:
        return normalize_patch(match.group(1), known)
    match = SHORT_PATCH_RE.search(text)
    if match:
        return normalize_patch(match.group(1), known)
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


def parse_question(text: str, schema: StatSchema, known_patches: Sequence[str] = ()) -> Question:
    """Everything `text` asks that plain matching can tell: stats, patch, changes, lore, compare."""
    wants_changes = bool(CHANGES_RE.search(text))
    since = None
    rest = text
    if wants_changes:
        match = SINCE_RE.search(text)
        if match and (PATCH_RE.match(match.group(1)) or SHORT_PATCH_RE.match(match.group(1))):
            since = normalize_patch(match.group(1), known_patches)
            rest = text[: match.start()] + text[match.end() :]
    compare = COMPARE_RE.search(text)
    compare_text = compare.group(1).strip(" ?!.,") if compare else None
    patch_text = rest if compare is None else rest.replace(compare.group(0), " ")
    stat_text = text if compare is None else text[: compare.start()]
    return Question(
        text=text,
        stats=find_stats(stat_text, schema),
        patch=find_patch(patch_text, known_patches),
        since=since,
        wants_changes=wants_changes,
        wants_lore=bool(LORE_RE.search(text)),
        wants_all=bool(ALL_STATS_RE.search(text)),
        compare_text=compare_text or None,
    )


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
