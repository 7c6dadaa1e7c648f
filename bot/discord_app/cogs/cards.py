"""Views with no generation: /stats, /compare, /history, /whois and /patch."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import embeds
from bot.discord_app.autocomplete import character_choices, patch_choices, stat_choices
from bot.discord_app.replies import begin, bot_of, reply

CHARACTER = "The character (name, alias or id; typos are fine)"


class Cards(commands.Cog):
    """Stat cards, comparisons, charts, lore and patch notes."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="A character's stat card.")
    @app_commands.describe(character=CHARACTER, patch="Show the stats as of this patch")
    @app_commands.autocomplete(character=character_choices, patch=patch_choices)
    async def stats(self, interaction: discord.Interaction, character: str,
                    patch: str | None = None) -> None:
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            card = await admission.run(bot_of(interaction).engine.stats, character, patch)
            await reply(interaction, embed=embeds.stat_card_embed(card))

    @app_commands.command(name="compare", description="Two characters' stats side by side.")
    @app_commands.describe(a="The first character", b="The second character")
    @app_commands.autocomplete(a=character_choices, b=character_choices)
    async def compare(self, interaction: discord.Interaction, a: str, b: str) -> None:
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            comparison = await admission.run(bot_of(interaction).engine.compare, a, b)
            await reply(interaction, embed=embeds.comparison_embed(comparison))

    @app_commands.command(name="history", description="A chart of one stat over the patches.")
    @app_commands.describe(character=CHARACTER, stat="The stat to chart, e.g. attack")
    @app_commands.autocomplete(character=character_choices, stat=stat_choices)
    async def history(self, interaction: discord.Interaction, character: str, stat: str) -> None:
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            found = await admission.run(bot_of(interaction).engine.history, character, stat)
            chart = discord.File(io.BytesIO(found.png), filename=embeds.HISTORY_FILENAME)
            await reply(interaction, embed=embeds.history_embed(found), file=chart)

    @app_commands.command(name="whois", description="Who a character is: the lore card.")
    @app_commands.describe(character=CHARACTER)
    @app_commands.autocomplete(character=character_choices)
    async def whois(self, interaction: discord.Interaction, character: str) -> None:
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            card = await admission.run(bot_of(interaction).engine.whois, character)
            await reply(interaction, embed=embeds.lore_embed(card))

    @app_commands.command(name="patch", description="A patch's notes, biggest buffs and nerfs.")
    @app_commands.rename(patch_id="id")
    @app_commands.describe(patch_id="The patch, e.g. 2026-W48 (default: the current one)")
    @app_commands.autocomplete(patch_id=patch_choices)
    async def patch(self, interaction: discord.Interaction, patch_id: str | None = None) -> None:
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            view = await admission.run(bot_of(interaction).engine.patch_summary, patch_id)
            await reply(interaction, embed=embeds.patch_embed(view))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Cards(bot))
