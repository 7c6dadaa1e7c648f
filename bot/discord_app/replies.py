"""How every command starts and ends: admission, deferral, replies and error replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import discord

from bot.discord_app.constants import BUSY_TEXT, NO_MENTIONS
from bot.discord_app.gate import Admission, QueueFull, RequestGate
from bot.discord_app.limits import MESSAGE_LIMIT
from bot.render import clip, sanitize

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Admission], Awaitable[T]]


@dataclass(frozen=True)
class Reply:
    """What replaces the deferred "thinking" message: text, an embed, a file."""

    content: str | None = None
    embed: discord.Embed | None = None
    file: discord.File | None = None
    private: bool = False  # for the user alone (a rejected import's reasons)


async def begin(interaction: discord.Interaction, gate: RequestGate, *,
                private: bool = False) -> Admission | None:
    """Take a place in the request queue and defer; None (after a polite "busy") when full."""
    try:
        admission = gate.admit()
    except QueueFull:
        await interaction.response.send_message(
            BUSY_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return None
    try:
        await interaction.response.defer(thinking=True, ephemeral=private)
    except BaseException:
        admission.close()
        raise
    return admission


def in_thread(func: Callable[..., T], /, *args: object) -> Work[T]:
    """Work that runs the blocking `func(*args)` in a worker thread of the admission."""
    return lambda admission: admission.run(func, *args)


async def run_command(interaction: discord.Interaction, gate: RequestGate, work: Work[T],
                      show: Callable[[T], Reply], *, private: bool = False) -> None:
    """Admit and defer, do `work`, and reply with `show(result)`; "busy" when the queue is full.

    Errors propagate to the tree's one error handler, which tells the user privately.
    """
    if (admission := await begin(interaction, gate, private=private)) is None:
        return
    async with admission:
        result = await work(admission)
        shown = show(result)
        if shown.private and shown.content is not None:
            await reply_privately(interaction, shown.content)
            return
        await reply(interaction, shown.content, embed=shown.embed, file=shown.file)


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
