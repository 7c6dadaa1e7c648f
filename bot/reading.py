"""What a question asks once it is read (`Understanding`), and how an elliptical follow-up
("and your defense?", "what about as of W44?", "and compared to Thalriel?") takes what it
leaves out from the question before it. Pure: no model, no data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from bot.roster_words import RosterAsk
from characters.world import Character

MAX_FOLLOW_UP_WORDS = 7


@dataclass(frozen=True)
class Understanding:
    """What a question asks, by words and by meaning."""

    text: str
    kind: str
    stats: tuple[str, ...] = ()
    patch: str | None = None
    since: str | None = None
    other: Character | None = None
    roster: RosterAsk | None = None
    follow_up: bool = False
    stat_scores: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    kind_scores: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


def follow(reading: Understanding, previous: Understanding | None) -> Understanding:
    """An elliptical question takes what it leaves out from the one before it: "and your
    defense?" keeps the patch, "what about as of W44?" keeps the stats, "and compared to
    Thalriel?" keeps the stats; a whole new question stands alone."""
    if previous is None or len(reading.text.split()) > MAX_FOLLOW_UP_WORDS:
        return reading
    if reading.kind == "compare":
        if reading.stats or not previous.stats:
            return reading
        return replace(reading, stats=previous.stats, patch=reading.patch or previous.patch,
                       follow_up=True)
    if reading.kind == "stats" and reading.stats:
        if previous.kind in ("compare", "changes"):
            return replace(reading, kind=previous.kind, other=previous.other,
                           since=previous.since, patch=reading.patch or previous.patch,
                           follow_up=True)
        if reading.patch is None and previous.patch is not None:
            return replace(reading, patch=previous.patch, follow_up=True)
        return replace(reading, follow_up=previous.kind == "stats")
    if not reading.stats and (reading.patch or reading.since) and previous.kind != "lore":
        return replace(previous, text=reading.text, patch=reading.patch or previous.patch,
                       since=reading.since or previous.since, follow_up=True,
                       vector=reading.vector, stat_scores=reading.stat_scores,
                       kind_scores=reading.kind_scores)
    return reading
