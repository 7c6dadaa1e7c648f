"""Stat cards and lore cards: the text that retrieval indexes and that the prompt quotes.

One renderer serves the index (stats_db), the training data (training) and the bot, so the facts
a model sees in training look exactly like the facts it sees in service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from characters.schema import Number, StatSchema
from characters.world import Character, Faction

# How a prompt lays out the facts, by version. An adapter learns one layout and is served that
# one (its training_meta.json names it); the dialogue data says which one each faction's data is
# written in (characters/dialogue/layouts.json), so the adapters can move to a new layout one
# retrain at a time.
#   1: small talk (greetings, boasts, taunts, farewells) gets the full stat card;
#   2: small talk gets the card's header line only: it quotes no stat, and the prompt is 3x
#      shorter than the prompted base model's (README, "Evaluation").
FACTS_LAYOUTS = (1, 2)
NEWEST_FACTS_LAYOUT = FACTS_LAYOUTS[-1]


def talk_card_stats(layout: int, names: tuple[str, ...]) -> tuple[str, ...]:
    """The stat lines a small-talk question's card holds in a facts layout."""
    if layout not in FACTS_LAYOUTS:
        raise ValueError(f"unknown facts layout {layout!r} (known: {FACTS_LAYOUTS})")
    return names if layout == 1 else ()


def render_stat_card(
    character: Character,
    faction: Faction,
    stats: Mapping[str, Number | None],
    patch: str,
    schema: StatSchema,
    only: tuple[str, ...] | None = None,
) -> str:
    """The facts block for one character at one patch: a header line, then one stat per line.

    `only` limits the lines to some stats (in schema order); a missing or None value is written
    as "unknown" so that an unknown value never reads as 0.
    """
    lines = [f"{character.name}, {faction.name} {character.role}. Patch {patch}."]
    for stat in schema.stats:
        if only is not None and stat.name not in only:
            continue
        lines.append(f"{stat.label}: {stat.format_with_unit(stats.get(stat.name))}")
    return "\n".join(lines)


def render_changes(
    changes: Mapping[str, tuple[Number | None, Number | None]],
    from_patch: str,
    schema: StatSchema,
) -> str:
    """A "changed since" block: one line per stat, old value then new value."""
    if not changes:
        return f"No stat changed since patch {from_patch}."
    lines = [f"Changed since patch {from_patch}:"]
    for stat in schema.stats:
        if stat.name in changes:
            old, new = changes[stat.name]
            lines.append(f"{stat.label}: {stat.format(old)} -> {stat.format(new)}")
    return "\n".join(lines)


CHANGE_LINE_RE = re.compile(r"^[^:\n]+: (-?\d+(?:\.\d+)?) -> (-?\d+(?:\.\d+)?)$", re.MULTILINE)


def changes_in(facts: str) -> tuple[tuple[float, float], ...]:
    """The (old, new) values of the "changed since" block in a facts text (`render_changes`)."""
    return tuple((float(a), float(b)) for a, b in CHANGE_LINE_RE.findall(facts))


def render_lore_card(character: Character, faction: Faction) -> str:
    """Who a character is: name, faction, role, home and lore."""
    aka = f" Also called {', '.join(character.aliases)}." if character.aliases else ""
    return (
        f"{character.name}, {faction.name} {character.role} of {character.region}.{aka}\n"
        f"{character.lore}"
    )


def render_ranking(
    stat_label: str,
    rows: Sequence[tuple[str, str, str]],
    patch: str,
    lowest: bool = False,
    scope: str = "",
) -> str:
    """A roster ranking block: a header, then one "n. Name, Faction Role: Label value" line per
    character, best first. `rows` are (name, "Faction Role", formatted value with unit);
    `scope` names the filter ("Elvish", "Human Cleric"), empty for the whole roster."""
    order = "lowest first" if lowest else "highest first"
    among = f" among {scope}" if scope else ""
    lines = [f"Ranking by {stat_label}{among}, {order}. Patch {patch}."]
    lines += [f"{i}. {name}, {who}: {stat_label} {value}"
              for i, (name, who, value) in enumerate(rows, 1)]
    if not rows:
        lines.append("No character matches.")
    return "\n".join(lines)
