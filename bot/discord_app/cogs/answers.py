"""Answers in a character's voice, streamed: /ask and /changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.autocomplete import character_choices, patch_choices
from bot.discord_app.constants import NO_MENTIONS
from bot.discord_app.limits import QUESTION_MAX_LENGTH
from bot.discord_app.replies import begin, reply
from bot.discord_app.streaming import StreamedReply
from bot.render import render_answer

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot
    from bot.views import Answer

FALLBACK_NOTE = "\n-# The voice strayed from the records, so these are the records, word for word."

AnswerCall = Callable[[Callable[[str], None]], "Answer"]


async def stream_answer(interaction: discord.Interaction, bot: LorekeeperBot,
                        call: AnswerCall) -> None:
    """Defer, run `call(on_text)` in a worker thread while streaming its text, show the Answer."""
    admission = await begin(interaction, bot.gate)
    if admission is None:
        return

    async def edit(text: str) -> None:
        await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

    async with admission:
        stream = StreamedReply(edit, bot.settings.stream_edit_interval_s)
        try:
            answer = await admission.run(call, stream.on_text)
        finally:
            await stream.close()
        text = render_answer(answer, bot.engine.world.schema)
        if answer.fallback:
            text += FALLBACK_NOTE
        await stream.finish(lambda: reply(interaction, text))


class Answers(commands.Cog):
    """Questions answered by the character itself."""

    def __init__(self, bot: LorekeeperBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """One expensive request per user every `cooldown_s` seconds, for every command here."""
        cooldown = self.bot.cooldown
        retry_after = cooldown.retry_after(interaction.user.id)
        if retry_after > 0:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, cooldown.seconds),
                                                 retry_after)
        return True

    @app_commands.command(name="ask", description="Ask a character about itself; it answers "
                                                  "in its faction's voice with current stats.")
    @app_commands.describe(
        question="Your question, e.g. how hard do you hit?",
        character="The character to ask (name, alias or id; typos are fine); leave it out to "
                  "ask the one you asked last here",
        patch="Answer as of this patch instead of the current one",
    )
    @app_commands.autocomplete(character=character_choices, patch=patch_choices)
    async def ask(
        self, interaction: discord.Interaction,
        question: app_commands.Range[str, 1, QUESTION_MAX_LENGTH],
        character: str | None = None, patch: str | None = None,
    ) -> None:
        engine = self.bot.engine
        conversation = f"{interaction.channel_id}:{interaction.user.id}"
        await stream_answer(interaction, self.bot, lambda on_text: engine.ask(
            character, question, patch=patch, on_text=on_text, conversation=conversation))

    @app_commands.command(name="changes",
                          description="What changed for a character between two patches, "
                                      "told in its voice.")
    @app_commands.rename(from_patch="from", to_patch="to")
    @app_commands.describe(
        character="The character (name, alias or id; typos are fine)",
        from_patch="The older patch (default: the one before the newer patch)",
        to_patch="The newer patch (default: the current one)",
    )
    @app_commands.autocomplete(character=character_choices, from_patch=patch_choices,
                               to_patch=patch_choices)
    async def changes(
        self, interaction: discord.Interaction, character: str,
        from_patch: str | None = None, to_patch: str | None = None,
    ) -> None:
        engine = self.bot.engine
        await stream_answer(interaction, self.bot, lambda on_text: engine.changes(
            character, from_patch, to_patch, on_text=on_text))


async def setup(bot: LorekeeperBot) -> None:
    await bot.add_cog(Answers(bot))
