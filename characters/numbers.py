"""Number checking: every number in a reply must be one that the facts block holds.

Shared by serving (the bot's verification step) and by evaluation (number accuracy), so both
judge a reply the same way. Numbers compare by value: "12.50" matches "12.5", "1,250" matches
"1250". The facts block carries the patch id, so "2026-W48" never counts as invented.
"""

from __future__ import annotations

import re

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
    allowed = _values(facts)
    grouped = {m.group(0) for m in re.finditer(r"\d{1,3}(?:,\d{3})+", reply)}
    bad = []
    for number in numbers_in(reply):
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
