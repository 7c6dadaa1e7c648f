"""What stats, roles and factions mean in players' words: `characters/data/meanings.json`.

Data beside the schema, read by the bot's question understanding (descriptions and phrasings to
embed, abbreviations to match exactly, superlatives for roster questions) and by the dialogue
data (the same paraphrase families). `lower_is_better` is a rule of the game ("for cost, lower
is better"), so that comparisons and rankings need no per-stat code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from characters.schema import StatSchema
from characters.text import fold

MEANINGS_FILE = "meanings.json"


class MeaningsError(ValueError):
    """meanings.json is malformed or disagrees with the schema or the roster."""


@dataclass(frozen=True)
class StatMeaning:
    """One stat as players talk about it."""

    name: str
    description: str
    abbreviations: tuple[str, ...]
    phrasings: tuple[str, ...]
    most: tuple[str, ...]
    least: tuple[str, ...]
    lower_is_better: bool = False
    examples: tuple[str, ...] = ()  # more ways to ask, for question understanding only


@dataclass(frozen=True)
class Meanings:
    """Every stat's meaning, the role groups ("healer") and the words for each faction."""

    stats: tuple[StatMeaning, ...]
    role_groups: dict[str, tuple[str, ...]]
    faction_words: dict[str, tuple[str, ...]]
    ambiguous_terms: frozenset[str] = frozenset()
    lowest_words: tuple[str, ...] = ()
    highest_words: tuple[str, ...] = ()
    roster_words: tuple[str, ...] = ()
    # the nouns a ranking ranks ("characters", "units"): "slowest characters" asks Speed
    roster_nouns: tuple[str, ...] = ()
    absent_terms: tuple[str, ...] = ()  # stats the game does not have ("lifesteal")
    # the words that tell a change's direction, "up" and "down" ("rose", "dropped"): a reply
    # may not tell a rise as a fall (bot.verify.wrong_direction)
    change_words: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> StatMeaning:
        for meaning in self.stats:
            if meaning.name == name:
                return meaning
        raise KeyError(name)

    def __hash__(self) -> int:
        return id(self)

    @property
    def lower_is_better(self) -> frozenset[str]:
        """The stats for which the lower value is the stronger side (cost)."""
        return frozenset(m.name for m in self.stats if m.lower_is_better)


def parse_meanings(data: dict, schema: StatSchema, where: str = MEANINGS_FILE) -> Meanings:
    """Meanings from their JSON form, checked against the schema: every stat, no other."""
    try:
        raw = data["stats"]
        stats = tuple(
            StatMeaning(
                name=name, description=item["description"],
                abbreviations=tuple(item.get("abbreviations", ())),
                phrasings=tuple(item["phrasings"]), most=tuple(item.get("most", ())),
                least=tuple(item.get("least", ())),
                lower_is_better=bool(item.get("lower_is_better", False)),
                examples=tuple(item.get("examples", ())),
            )
            for name, item in raw.items()
        )
        groups = {k: tuple(v) for k, v in data.get("role_groups", {}).items()}
        words = {k: tuple(v) for k, v in data.get("faction_words", {}).items()}
        ambiguous = frozenset(data.get("ambiguous_terms", ()))
        lowest = tuple(data.get("lowest_words", ()))
        highest = tuple(data.get("highest_words", ()))
        roster = tuple(data.get("roster_words", ()))
        nouns = tuple(data.get("roster_nouns", ()))
        change_words = {d: tuple(data.get("change_words", {}).get(d, ())) for d in ("up", "down")}
        absent = data.get("absent_stat_terms", [])
        if not isinstance(absent, list):
            raise TypeError("absent_stat_terms")
        absent = tuple(absent)
    except (KeyError, TypeError, AttributeError) as exc:
        raise MeaningsError(f"{where}: missing or bad field {exc}") from exc
    names = [m.name for m in stats]
    missing = [n for n in schema.names if n not in names]
    extra = [n for n in names if n not in schema.names]
    if missing or extra:
        raise MeaningsError(f"{where}: stats must match schema.json "
                            f"(missing: {missing or 'none'}, unknown: {extra or 'none'})")
    empty = [m.name for m in stats if not m.phrasings]
    if empty:
        raise MeaningsError(f"{where}: stats without phrasings: {', '.join(empty)}")
    _check_absent_terms(absent, stats, schema, where)
    order = {n: i for i, n in enumerate(schema.names)}
    return Meanings(tuple(sorted(stats, key=lambda m: order[m.name])), groups, words,
                    ambiguous, lowest, highest, roster, nouns, absent, change_words)


def _check_absent_terms(absent: tuple[str, ...], stats: tuple[StatMeaning, ...],
                        schema: StatSchema, where: str) -> None:
    """The terms for stats the game lacks are words, none of them a term of a real stat
    (a term cannot both name Defense and name no stat), compared folded as the question
    reader matches them."""
    bad = [t for t in absent if not isinstance(t, str) or not fold(t)]
    if bad:
        raise MeaningsError(f"{where}: absent_stat_terms must be a list of words, not {bad}")
    real = {fold(t): s.name for s in schema.stats for t in (s.label, s.name, *s.synonyms)}
    real |= {fold(t): m.name for m in stats for t in m.abbreviations}
    clash = [f"{t!r} is a term of {real[fold(t)]}" for t in absent if fold(t) in real]
    if clash:
        raise MeaningsError(f"{where}: absent_stat_terms: {'; '.join(clash)}")


@cache
def load_meanings(world_dir: Path, schema: StatSchema) -> Meanings:
    """Read `<world_dir>/meanings.json` (cached per folder and schema)."""
    path = Path(world_dir) / MEANINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MeaningsError(f"{path}: missing (the stats' meanings for question "
                            "understanding)") from exc
    except json.JSONDecodeError as exc:
        raise MeaningsError(f"{path}: not valid JSON ({exc})") from exc
    return parse_meanings(data, schema, str(path))
