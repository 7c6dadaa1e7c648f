"""The data of question understanding beside the stat meanings: `characters/data/intents.json`,
the example questions of each kind, the filler players wrap questions in, and the thresholds
that `python -m bench.bench_understand --tune` measured on the tuning part of the set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

INTENTS_FILE = "intents.json"


@dataclass(frozen=True)
class Thresholds:
    """The measured cut-offs of the meaning step (intents.json, "thresholds")."""

    stat: float = 0.55  # below: the question names no stat (open)
    second: float = 0.04  # a second stat within this of the best is asked too
    over: float = 0.05  # a stat this much nearer than the kind's examples makes a stat question
    roster: float = 0.65  # a roster question with no superlative, faction, role or count
    clause: float = 0.7  # a clause of a several-stat question this sure of a stat adds it
    changes_bias: float = 0.0  # "what changed" wins when this close to the nearest kind
    changes_over: float = -1.0  # ... and, by its examples alone, when it is at most this much
    # less near than the nearest stat
    sure: float = 0.8  # the meaning is sure of a stat ...
    prefer: float = 0.15  # ... and this much surer than of the one stat word the text holds
    # A kind with no stat wins when this much nearer than any stat (per kind), and by
    # named_over more when the words name a stat ("armour penetration?" is no Defense one).
    lore_over: float = 0.0
    smalltalk_over: float = 0.0
    unknown_over: float = 0.0
    all_over: float = 0.0
    named_over: float = 0.0
    ambiguous_beside: float = 0.55  # an everyday stat word beside a plain one ("rank ... by
    # defense") counts only when the meaning is this sure of its stat
    ambiguous_margin: float = 0.1  # ... and only when its stat is this near the surest one
    filler: float = 0.6  # a part of the question this near the filler examples is left out
    compound: float = -1.0  # two stat words side by side ("mana regen"), or an everyday word
    # for a stat the game lacks ("luck"), are such a stat when the unknown kind comes within
    # this of the nearest kind
    narrower: float = 1.0  # a stat whose terms extend the one stat word written ("hp" in "hp
    # regen") wins when the meaning is this much surer of it ("hp per second")

    @classmethod
    def from_json(cls, data: dict) -> Thresholds:
        return cls(**{k: float(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class IntentData:
    """intents.json: the example questions of each kind, the filler players wrap questions
    in, the words that measure a character against its own past ("than before"), and the
    measured thresholds."""

    intents: dict[str, tuple[str, ...]]
    filler: tuple[str, ...]
    comparing_words: tuple[str, ...]  # "than", "vs", "compared to"
    past_words: tuple[str, ...]  # "before", "you used to", "last week"
    thresholds: Thresholds


class IntentsError(ValueError):
    """intents.json is malformed."""


def load_intents(world_dir: Path) -> IntentData:
    """Read `<world_dir>/intents.json`."""
    path = Path(world_dir) / INTENTS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    past = data.get("past_comparison", {})
    try:
        comparing, words = tuple(past.get("comparing", ())), tuple(past.get("past", ()))
    except AttributeError as exc:
        raise IntentsError(f"{path}: past_comparison must be an object with the lists "
                           "comparing and past") from exc
    bad = [w for w in (*comparing, *words) if not isinstance(w, str) or not w.strip()]
    if bad or bool(comparing) != bool(words):
        raise IntentsError(f"{path}: past_comparison needs both lists, of words "
                           f"(comparing: {len(comparing)}, past: {len(words)}, bad: {bad})")
    return IntentData(intents={k: tuple(v) for k, v in data["intents"].items()},
                      filler=tuple(data.get("filler", ())), comparing_words=comparing,
                      past_words=words,
                      thresholds=Thresholds.from_json(data.get("thresholds", {})))
