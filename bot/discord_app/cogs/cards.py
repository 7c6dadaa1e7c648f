"""Views with no generation: /stats, /compare, /history, /whois, /patch and /top."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import embeds
from bot.discord_app.autocomplete import (
    character_choices,
    faction_choices,
    patch_choices,
    stat_choices,
)
from bot.discord_app.replies import Reply, in_thread, run_command
from bot.lookups import MAX_TOP

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot
    from bot.views import History

CHARACTER = "The character (name, alias or id; typos are fine)"


def history_reply(found: History) -> Reply:
    """The history embed with its chart attached."""
    chart = discord.File(io.BytesIO(found.png), filename=embeds.HISTORY_FILENAME)
    return Reply(embed=embeds.history_embed(found), file=chart)


class Cards(commands.Cog):
    """Stat cards, comparisons, charts, lore and patch notes."""

    def __init__(self, bot: LorekeeperBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="A character's stat card.")
    @app_commands.describe(character=CHARACTER, patch="Show the stats as of this patch")
    @app_commands.autocomplete(character=character_choices, patch=patch_choices)
    async def stats(self, interaction: discord.Interaction, character: str,
                    patch: str | None = None) -> None:
        await run_command(interaction, self.bot.gate,
                          in_thread(self.bot.engine.stats, character, patch),
                          lambda card: Reply(embed=embeds.stat_card_embed(card)))

    @app_commands.command(name="compare", description="Two characters' stats side by side.")
    @app_commands.describe(a="The first character", b="The second character")
    @app_commands.autocomplete(a=character_choices, b=character_choices)
    async def compare(self, interaction: discord.Interaction, a: str, b: str) -> None:
        await run_command(interaction, self.bot.gate, in_thread(self.bot.engine.compare, a, b),
                          lambda comparison: Reply(embed=embeds.comparison_embed(comparison)))

    @app_commands.command(name="history", description="A chart of one stat over the patches.")
    @app_commands.describe(character=CHARACTER, stat="The stat to chart, e.g. attack")
    @app_commands.autocomplete(character=character_choices, stat=stat_choices)
    async def history(self, interaction: discord.Interaction, character: str, stat: str) -> None:
        await run_command(interaction, self.bot.gate,
                          in_thread(self.bot.engine.history, character, stat), history_reply)

    @app_commands.command(name="top", description="Who leads the roster in one stat.")
    @app_commands.describe(stat="The stat, e.g. speed or hp", faction="Only this faction",
                           role="Only this role (e.g. cleric) or group (e.g. healer)",
                           count="How many (at most 10)", lowest="The lowest values first",
                           patch="As of this patch instead of the current one")
    @app_commands.autocomplete(stat=stat_choices, faction=faction_choices, patch=patch_choices)
    async def top(self, interaction: discord.Interaction, stat: str,
                  faction: str | None = None, role: str | None = None,
                  count: app_commands.Range[int, 1, MAX_TOP] = MAX_TOP, lowest: bool = False,
                  patch: str | None = None) -> None:
        await run_command(interaction, self.bot.gate,
                          in_thread(self.bot.engine.top, stat, faction, role, count, lowest,
                                    patch),
                          lambda view: Reply(embed=embeds.ranking_embed(view)))

    @app_commands.command(name="whois", description="Who a character is: the lore card.")
    @app_commands.describe(character=CHARACTER)
    @app_commands.autocomplete(character=character_choices)
    async def whois(self, interaction: discord.Interaction, character: str) -> None:
        await run_command(interaction, self.bot.gate, in_thread(self.bot.engine.whois, character),
                          lambda card: Reply(embed=embeds.lore_embed(card)))

    @app_commands.command(name="patch", description="A patch's notes, biggest buffs and nerfs.")
    @app_commands.rename(patch_id="id")
    @app_commands.describe(patch_id="The patch, e.g. 2026-W48 (default: the current one)")
    @app_commands.autocomplete(patch_id=patch_choices)
    async def patch(self, interaction: discord.Interaction, patch_id: str | None = None) -> None:
        await run_command(interaction, self.bot.gate,
                          in_thread(self.bot.engine.patch_summary, patch_id),
                          lambda view: Reply(embed=embeds.patch_embed(view)))


async def setup(bot: LorekeeperBot) -> None:
    await bot.add_cog(Cards(bot))
