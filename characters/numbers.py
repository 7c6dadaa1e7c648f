"""Number checking: every number in a reply must be one that the facts block holds.

Shared by serving (the bot's verification step) and by evaluation (number accuracy), so both
judge a reply the same way. Numbers compare by value: "12.50" matches "12.5", "1,250" matches
"1250". The facts block carries the patch id, so "2026-W48" never counts as invented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache

_DIGITS_IN_WORD = re.compile(r"\d+(?:\.\d+)?")


def numbers_in(text: str) -> list[str]:
    """Every number written in `text`, as written (commas removed), in order."""
    found = [match.group(0) for match in _DIGITS_IN_WORD.finditer(text)]
    for match in re.finditer(r"\d{1,3}(?:,\d{3})+", text):
        found.append(match.group(0).replace(",", ""))
    return found


def _values(text: str) -> set[float]:
    return {float(n) for n in numbers_in(text)}


def invented_numbers(reply: str, facts: str) -> list[str]:
    """The numbers in `reply` that the facts block does not hold (empty: the reply is grounded)."""
    return _not_allowed(reply, _values(facts))


def _not_allowed(text: str, allowed: set[float]) -> list[str]:
    """The numbers in `text` whose value is not in `allowed`."""
    grouped = {m.group(0) for m in re.finditer(r"\d{1,3}(?:,\d{3})+", text)}
    bad = []
    for number in numbers_in(text):
        if float(number) in allowed:
            continue
        # The pieces of a thousands-grouped number ("1,250" -> "1", "250") are judged whole.
        if any(number in g.split(",") and float(g.replace(",", "")) in allowed for g in grouped):
            continue
        bad.append(number)
    return bad


def mentions_value(reply: str, value: float | int) -> bool:
    """Whether `reply` states `value` (by value, so "91.0" counts as 91)."""
    return float(value) in _values(reply)


_PATCH_ID = re.compile(r"\b\d{4}-W\d{1,2}(?:-[A-Za-z0-9]+)*\b", re.IGNORECASE)
_FACT_LINE = re.compile(r"^([A-Za-z][A-Za-z ]{0,30}):\s*(.+)$")
_CLAUSE_END = re.compile(r"[.!?;](?=\s|$)|,\s|\n|\s-\s|\s—\s")


_RANK_LINE = re.compile(r"^\d+\.\s.*:\s+([A-Za-z][A-Za-z ]*?)\s+(-?\d.*)$")


def fact_values(facts: str) -> dict[str, set[float]]:
    """Each stat label of the facts block (lower case) -> every value written for it: the card's
    "Attack: 91" lines, the changes block's "Attack: 80 -> 91" lines and a ranking's
    "1. Name, Faction Role: Attack 91" lines."""
    found: dict[str, set[float]] = {}
    for line in facts.splitlines():
        ranked = _RANK_LINE.match(line.strip())
        if ranked:  # a ranking's "1. Name, Faction Role: Speed 430"
            found.setdefault(ranked.group(1).lower(), set()).update(_values(ranked.group(2)))
            continue
        match = _FACT_LINE.match(line.strip())
        if match:
            found.setdefault(match.group(1).lower(), set()).update(_values(match.group(2)))
    return found


def misattributed_numbers(reply: str, facts: str, labels: list[str] | tuple[str, ...],
                          absent: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Numbers the reply gives to the wrong stat.

    The reply is cut into clauses (at . ! ? ; a comma and a space, or a line break). A clause that
    names stats (`labels`, the schema's labels, longest first, so "attack speed" is not
    "attack") may only hold numbers that the facts give one of those stats; a clause that names
    none is not judged here (invented_numbers still is), unless it names a stat the game does not
    have (`absent`, such as "armor penetration"): that clause may hold no number at all, so "our
    armor penetration is 11.3" fails though 11.3 is a fact. Patch ids are ignored. So "my speed is
    0.88" fails when 0.88 is the attack speed, though 0.88 is a fact.
    """
    values = fact_values(facts)
    pattern = _label_pattern(tuple(labels))
    lacking = _label_pattern(tuple(absent)) if absent else None
    wrong = []
    for clause in _CLAUSE_END.split(_PATCH_ID.sub(" ", reply)):
        text, names_absent = clause.lower(), 0
        if lacking:  # "mana regen per minute" names no Mana
            text, names_absent = lacking.subn(" ", text)
        named = set(pattern.findall(text)) if pattern else set()
        if not named and not names_absent:
            continue
        allowed = set().union(*(values.get(label, set()) for label in named))
        wrong += _not_allowed(clause, allowed)
    return wrong


@cache
def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex naming any of the labels, longest first ("attack speed" before "attack")."""
    terms = sorted({label.lower() for label in labels}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, terms)) + r")\b") if terms else None


# Where a reply's clauses break, for telling which way a change went: the clause ends above,
# and also a colon, a mark with no space after it and "and" / "but" / "while" ("attack rose 43
# to 47 and speed fell 1.30 to 1.24" is two changes, each told its own way).
CLAUSE_BREAK_RE = re.compile(_CLAUSE_END.pattern + r"|[;!?]|:\s|\s(?:and|but|while)\s",
                             re.IGNORECASE)
DIRECTION_WORD_RE = re.compile(r"[a-z']+")


def wrong_direction(reply: str, changes: Sequence[tuple[float, float]],
                    words: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The clauses of `reply` that tell a change the wrong way: a clause that states a change's
    old and new value ("me attack drop 43 to 47") with a word of the other direction and none
    of its own (`words`: "up" and "down", meanings.json `change_words`)."""
    up, down = frozenset(words.get("up", ())), frozenset(words.get("down", ()))
    out = []
    for clause in CLAUSE_BREAK_RE.split(reply):
        said = set(DIRECTION_WORD_RE.findall(clause.lower()))
        for old, new in changes:
            if old == new or not (mentions_value(clause, old) and mentions_value(clause, new)):
                continue
            right, wrong = (up, down) if new > old else (down, up)
            if said & wrong and not said & right:
                out.append(clause.strip())
                break
    return tuple(out)
