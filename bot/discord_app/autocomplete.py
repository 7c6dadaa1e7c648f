"""Autocomplete for character, patch and stat options. Engine calls run off the event loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.discord_app.limits import (
    AUTOCOMPLETE_LIMIT,
    AUTOCOMPLETE_NAME_LIMIT,
    AUTOCOMPLETE_VALUE_LIMIT,
)
from bot.render import clip
from characters.resolve import fold

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot

Choice = app_commands.Choice


def bot_of(interaction: discord.Interaction) -> LorekeeperBot:
    """The Lorekeeper bot that received `interaction` (autocomplete callbacks have no cog)."""
    return cast("LorekeeperBot", interaction.client)


async def character_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """Up to 25 roster characters closest to what was typed (typo tolerant)."""
    engine = bot_of(interaction).engine
    found = await asyncio.to_thread(engine.suggest, current[:AUTOCOMPLETE_VALUE_LIMIT],
                                    AUTOCOMPLETE_LIMIT)
    return [
        Choice(name=clip(c.name, AUTOCOMPLETE_NAME_LIMIT), value=c.id)
        for c in found[:AUTOCOMPLETE_LIMIT]
        if len(c.id) <= AUTOCOMPLETE_VALUE_LIMIT
    ]


async def patch_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """Imported patches, newest first, that contain what was typed."""
    engine = bot_of(interaction).engine
    patches = await asyncio.to_thread(engine.patch_ids)
    key = fold(current)
    return [Choice(name=p, value=p) for p in reversed(patches)
            if key in fold(p)][:AUTOCOMPLETE_LIMIT]


async def stat_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """Stat labels from the schema that match what was typed (label, name or synonym)."""
    schema = bot_of(interaction).engine.world.schema
    key = fold(current)
    choices = [
        Choice(name=stat.label, value=stat.name)
        for stat in schema.stats
        if any(key in fold(word) for word in (stat.label, stat.name, *stat.synonyms))
    ]
    return choices[:AUTOCOMPLETE_LIMIT]


async def faction_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """The world's factions that match what was typed."""
    world = bot_of(interaction).engine.world
    key = fold(current)
    return [Choice(name=f.name, value=f.id) for f in world.factions
            if key in fold(f.name) or key in fold(f.id)][:AUTOCOMPLETE_LIMIT]
