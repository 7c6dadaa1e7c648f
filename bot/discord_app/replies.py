"""How every command starts and ends: admission, deferral, replies and error replies."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.discord_app.gate import Admission, QueueFull
from bot.discord_app.limits import MESSAGE_LIMIT
from bot.render import clip, sanitize

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
BUSY_TEXT = "I'm busy answering others right now, try again shortly."


def bot_of(interaction: discord.Interaction) -> LorekeeperBot:
    """The Lorekeeper bot that received `interaction`."""
    return interaction.client  # type: ignore[return-value]


async def begin(interaction: discord.Interaction) -> Admission | None:
    """Take a place in the request queue and defer; None (after a polite "busy") when full."""
    try:
        admission = bot_of(interaction).gate.admit()
    except QueueFull:
        await interaction.response.send_message(
            BUSY_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return None
    try:
        await interaction.response.defer(thinking=True)
    except BaseException:
        admission.close()
        raise
    return admission


async def reply(
    interaction: discord.Interaction, content: str | None = None, *,
    embed: discord.Embed | None = None, file: discord.File | None = None,
) -> None:
    """Replace the deferred "thinking" message with the answer."""
    await interaction.edit_original_response(
        content=None if content is None else clip(content, MESSAGE_LIMIT),
        embed=embed, attachments=[file] if file is not None else discord.utils.MISSING,
        allowed_mentions=NO_MENTIONS,
    )


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """Tell only the user `text`, whether or not the interaction was deferred."""
    text = clip(sanitize(text), MESSAGE_LIMIT)
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return
    # A deferred reply is public; remove it so the error goes to the user alone.
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.warning("could not delete the deferred reply of interaction %s", interaction.id)
    await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def cooldown_check(interaction: discord.Interaction) -> bool:
    """An app-command check: one expensive request per user every `cooldown_s` seconds."""
    cooldown = bot_of(interaction).cooldown
    retry_after = cooldown.retry_after(interaction.user.id)
    if retry_after > 0:
        raise discord.app_commands.CommandOnCooldown(
            discord.app_commands.Cooldown(1, cooldown.seconds), retry_after
        )
    return True
