"""The one error handler for every slash command: log the unexpected, explain the expected."""

from __future__ import annotations

import logging
import math

import discord
from discord import app_commands

from bot.discord_app.constants import APOLOGY, BUSY_TEXT
from bot.discord_app.replies import reply_privately
from bot.errors import LorekeeperError
from bot.generation.base import GeneratorBusy

log = logging.getLogger(__name__)


def command_context(interaction: discord.Interaction) -> dict:
    """The command name, options and user id of an interaction, for the log."""
    data = interaction.data or {}
    options = {o.get("name"): o.get("value") for o in data.get("options", [])}  # type: ignore[union-attr]
    name = interaction.command.qualified_name if interaction.command else data.get("name")
    return {"command": name, "options": options, "user_id": interaction.user.id,
            "guild_id": interaction.guild_id}


def user_message(interaction: discord.Interaction, error: app_commands.AppCommandError) -> str:
    """What to tell the user about `error`; unexpected errors are logged with their context."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    name = interaction.command.qualified_name if interaction.command else "this command"
    if isinstance(original, GeneratorBusy):
        return BUSY_TEXT
    if isinstance(original, LorekeeperError):
        return str(original)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Easy there! You can ask again in {math.ceil(error.retry_after)} s."
    if isinstance(error, app_commands.MissingPermissions):
        return f"Only members with the Manage Server permission can use /{name}."
    if isinstance(error, app_commands.NoPrivateMessage):
        return f"/{name} only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return f"You can't use /{name} here."
    log.error("slash command failed: %s", command_context(interaction), exc_info=original)
    return APOLOGY


async def report_error(interaction: discord.Interaction, error: app_commands.AppCommandError
                       ) -> None:
    """Tell the user privately what went wrong."""
    text = user_message(interaction, error)
    if interaction.type is discord.InteractionType.autocomplete:
        return  # an autocomplete request cannot carry a message; the failure is logged
    try:
        await reply_privately(interaction, text)
    except discord.HTTPException:
        log.exception("could not tell the user about an error: %s", command_context(interaction))


class LorekeeperTree(app_commands.CommandTree):
    """The command tree, with the bot's one error handler."""

    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)
