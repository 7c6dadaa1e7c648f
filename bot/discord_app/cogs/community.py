"""Patch day settings and follows: /setup announce, /follow, /unfollow and /following."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.autocomplete import bot_of, character_choices
from bot.discord_app.cogs.admin import has_manage_guild
from bot.discord_app.gate import Admission
from bot.discord_app.limits import AUTOCOMPLETE_LIMIT
from bot.discord_app.replies import Reply, run_command
from bot.render import sanitize
from characters.resolve import fold

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot

Choice = app_commands.Choice


class TextChannelOption(app_commands.Transformer):
    """A channel option that offers only text and announcement channels (no cache needed)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news]

    async def transform(self, interaction: discord.Interaction,
                        value: discord.abc.Snowflake) -> discord.abc.Snowflake:
        return value


async def followed_choices(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    """The characters the user follows whose name contains what was typed."""
    bot = bot_of(interaction)
    ids = await asyncio.to_thread(bot.community.following, interaction.user.id)
    names = bot.engine.store.character_map()
    key = fold(current)
    return [Choice(name=names[c].name if c in names else c, value=c) for c in ids
            if key in fold(names[c].name if c in names else c)][:AUTOCOMPLETE_LIMIT]


class Community(commands.Cog):
    """Where a server's patch announcements go, and which characters a player follows."""

    setup_group = app_commands.Group(
        name="setup", description="Server settings for the Lorekeeper (Manage Server only).",
        guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, bot: LorekeeperBot) -> None:
        self.bot = bot

    @setup_group.command(name="announce",
                         description="Post patch announcements in a channel, or turn them off.")
    @app_commands.describe(channel="The channel for patch announcements",
                           off="Turn patch announcements off for this server")
    @app_commands.check(has_manage_guild)
    async def announce(self, interaction: discord.Interaction,
                       channel: app_commands.Transform[discord.abc.Snowflake, TextChannelOption]
                       | None = None, off: bool = False) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None  # guild_only
        community = self.bot.community

        async def work(admission: Admission) -> str:
            if off:
                await admission.run(community.set_announce_channel, guild_id, None)
                return "Patch announcements are off for this server."
            if channel is not None:
                await admission.run(community.set_announce_channel, guild_id, channel.id)
                return (f"New patches will be announced in <#{channel.id}>. Make sure I may "
                        "send messages and embed links there.")
            current = await admission.run(community.announce_channel, guild_id)
            if current is None:
                return "Patch announcements are off. Pick a channel with /setup announce channel."
            return f"Patch announcements go to <#{current}>."

        await run_command(interaction, self.bot.gate, work, Reply, private=True)

    @app_commands.command(name="follow",
                          description="Get a direct message when a patch changes a character.")
    @app_commands.describe(character="The character to follow (name, alias or id)")
    @app_commands.autocomplete(character=character_choices)
    async def follow(self, interaction: discord.Interaction, character: str) -> None:
        engine, community = self.bot.engine, self.bot.community
        user_id = interaction.user.id

        async def work(admission: Admission) -> str:
            who = await admission.run(engine.resolve, character)
            added = await admission.run(community.follow, user_id, who.id)
            name = sanitize(who.name)
            if not added:
                return f"You already follow {name}."
            return (f"You now follow {name}: when a patch changes it, it will tell you in a "
                    "direct message (if your server lets members message you).")

        await run_command(interaction, self.bot.gate, work, Reply, private=True)

    @app_commands.command(name="unfollow", description="Stop the messages about a character.")
    @app_commands.describe(character="A character you follow")
    @app_commands.autocomplete(character=followed_choices)
    async def unfollow(self, interaction: discord.Interaction, character: str) -> None:
        engine, community = self.bot.engine, self.bot.community
        user_id = interaction.user.id

        async def work(admission: Admission) -> str:
            who = await admission.run(engine.resolve, character)
            removed = await admission.run(community.unfollow, user_id, who.id)
            name = sanitize(who.name)
            return f"You no longer follow {name}." if removed else f"You don't follow {name}."

        await run_command(interaction, self.bot.gate, work, Reply, private=True)

    @app_commands.command(name="following", description="The characters you follow.")
    async def following(self, interaction: discord.Interaction) -> None:
        engine, community = self.bot.engine, self.bot.community
        user_id = interaction.user.id

        def names() -> list[str]:
            found = engine.store.character_map()
            return [found[c].name if c in found else c for c in community.following(user_id)]

        async def work(admission: Admission) -> str:
            followed = await admission.run(names)
            if not followed:
                return "You follow no characters yet. Try /follow."
            return (f"You follow {len(followed)} of at most {community.max_follows}: "
                    + ", ".join(sanitize(n) for n in followed) + ".")

        await run_command(interaction, self.bot.gate, work, Reply, private=True)


async def setup(bot: LorekeeperBot) -> None:
    await bot.add_cog(Community(bot))
