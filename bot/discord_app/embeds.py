"""Embeds for the engine's views, each kept inside Discord's embed limits."""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.discord_app.limits import (
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
)
from bot.render import clip, sanitize
from bot.views import Comparison, History, LoreCard, PatchView, Ranking, StatCard
from characters.voices import NoVoiceError, get_voice

HISTORY_FILENAME = "history.png"
TOP_MOVES = 5
DEFAULT_COLOUR = 0x5865F2


def colour_for(faction: str) -> discord.Colour:
    """The faction's embed colour, from its voice folder (`style.json`), else the default."""
    try:
        return discord.Colour(get_voice(faction).colour)
    except NoVoiceError:
        return discord.Colour(DEFAULT_COLOUR)


def limited_embed(
    title: str, description: str = "", *, colour: discord.Colour | None = None,
    fields: Iterable[tuple[str, str, bool]] = (), footer: str = "",
) -> discord.Embed:
    """An embed with every part clipped to its limit and the whole under the total limit."""
    embed = discord.Embed(
        title=clip(title, EMBED_TITLE_LIMIT),
        description=clip(description, EMBED_DESCRIPTION_LIMIT) or None,
        colour=colour or discord.Colour(DEFAULT_COLOUR),
    )
    for name, value, inline in list(fields)[:EMBED_FIELD_LIMIT]:
        embed.add_field(name=clip(name, EMBED_FIELD_NAME_LIMIT),
                        value=clip(value or "—", EMBED_FIELD_VALUE_LIMIT), inline=inline)
    if footer:
        embed.set_footer(text=clip(footer, EMBED_FOOTER_LIMIT))
    overflow = len(embed) - EMBED_TOTAL_LIMIT
    if overflow > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - overflow, 1))
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        embed.remove_field(-1)
    return embed


def _rows(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"**{label}**: {value}" for label, value in rows)


def stat_card_embed(card: StatCard) -> discord.Embed:
    """A stat card: one inline field per stat."""
    who = card.character
    read = f" · (read '{sanitize(card.resolved_from)}' as {sanitize(who.name)})" \
        if card.resolved_from else ""
    return limited_embed(
        sanitize(who.name), f"{card.faction_name} {sanitize(who.role)} of {sanitize(who.region)}",
        colour=colour_for(who.faction),
        fields=[(label, value, True) for label, value in card.rows],
        footer=f"Patch {card.patch}{read}",
    )


def ranking_embed(view: Ranking) -> discord.Embed:
    """A roster ranking: at most 10 numbered rows, the value in bold."""
    order = "lowest first" if view.lowest else "highest first"
    scope = f" among {sanitize(view.scope)}" if view.scope else ""
    lines = [f"**{rank}.** {sanitize(name)} ({faction} {sanitize(role)}): **{shown}**"
             for rank, _cid, name, faction, role, shown, _value in view.rows[:10]]
    return limited_embed(f"Top {view.stat_label}{scope}",
                         "\n".join(lines) or "No character matches.",
                         footer=f"{view.stat_label}, {order} · Patch {view.patch}")


def comparison_embed(comparison: Comparison) -> discord.Embed:
    """Two stat cards side by side, the stronger value of each stat in bold."""
    left, right = comparison.left, comparison.right
    columns = []
    for card in (left, right):
        lines = []
        for label, value in card.rows:
            won = comparison.better.get(label) == card.character.name
            lines.append(f"{label}: **{value}**" if won else f"{label}: {value}")
        name = f"{sanitize(card.character.name)} ({card.faction_name})"
        columns.append((name, "\n".join(lines), True))
    return limited_embed(
        f"{sanitize(left.character.name)} vs {sanitize(right.character.name)}",
        "Bold marks the stronger value (for cost, the cheaper).",
        fields=columns, footer=f"Patch {left.patch}",
    )


def patch_embed(view: PatchView, extra: Iterable[tuple[str, str, bool]] = ()) -> discord.Embed:
    """A patch summary with its biggest buffs and nerfs (and `extra` fields after them)."""
    fields = [("Characters changed", str(view.changed), True)]
    if view.new_characters:
        fields.append(("New characters", ", ".join(sanitize(n) for n in view.new_characters), True))
    for title, moves in (("Biggest buffs", view.buffs), ("Biggest nerfs", view.nerfs)):
        lines = [f"{sanitize(name)}: {label} {old} → {new}"
                 for name, label, old, new in moves[:TOP_MOVES]]
        fields.append((title, "\n".join(lines) or "none", False))
    fields += extra
    return limited_embed(
        f"Patch {view.patch}", sanitize(view.notes), fields=fields,
        footer=f"Released {view.released}",
    )


def lore_embed(card: LoreCard) -> discord.Embed:
    """Who a character is."""
    who = card.character
    aliases = ", ".join(sanitize(a) for a in who.aliases)
    fields = [("Faction", card.faction_name, True), ("Role", sanitize(who.role), True),
              ("Region", sanitize(who.region), True)]
    if aliases:
        fields.append(("Also called", aliases, False))
    return limited_embed(sanitize(who.name), sanitize(card.text),
                         colour=colour_for(who.faction), fields=fields)


def history_embed(history: History) -> discord.Embed:
    """A stat's history, with the chart attached as HISTORY_FILENAME."""
    unit = f" ({history.unit})" if history.unit else ""
    lines = [f"{patch}: {'unknown' if value is None else value}"
             for patch, _released, value in history.points]
    embed = limited_embed(
        f"{sanitize(history.character.name)}: {history.stat_label}{unit}",
        "\n".join(lines), colour=colour_for(history.character.faction),
    )
    embed.set_image(url=f"attachment://{HISTORY_FILENAME}")
    return embed


def status_embed(status: dict, queue_depth: int, queue_capacity: int) -> discord.Embed:
    """The bot's health: patch, index, adapters and request queue."""
    adapters = ", ".join(status.get("adapters") or []) or "none (base model only)"
    healthy = status.get("healthy")
    return limited_embed(
        "Lorekeeper status",
        colour=discord.Colour.green() if healthy else discord.Colour.red(),
        fields=[
            ("Patch", str(status.get("patch") or "none"), True),
            ("Index", f"{'healthy' if healthy else 'NOT healthy'}, "
                      f"{status.get('index_rows', '?')} rows", True),
            ("Characters", str(status.get("characters", "?")), True),
            ("Adapters loaded", adapters, False),
            ("Request queue", f"{queue_depth} of {queue_capacity}", True),
            ("Waiting for the model", str(status.get("queue_depth", 0)), True),
            ("Next import", str(status.get("next_import") or "scheduler off"), True),
        ],
    )
