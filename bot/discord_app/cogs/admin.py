"""Server admin commands: /import, /rollback and /status, for Manage Server members only."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import embeds
from bot.discord_app.replies import begin, bot_of, reply, reply_privately
from bot.render import sanitize

MAX_REPORTED_ERRORS = 10
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_name(filename: str) -> str:
    """A safe local file name for an uploaded patch (errors name the file, so keep it close)."""
    name = _UNSAFE_NAME_RE.sub("_", Path(filename).name).strip("._") or "patch"
    return name if name.endswith(".json") else name + ".json"


def import_upload(engine: Any, filename: str, content: bytes) -> list[Any]:
    """Write an uploaded patch to a private temporary folder and import it. Blocking."""
    with tempfile.TemporaryDirectory(prefix="lorekeeper-upload-") as folder:
        path = Path(folder) / upload_name(filename)
        path.write_bytes(content)
        return engine.import_files([path])


def render_import_results(results: list[Any]) -> str:
    """One line per file (imported, unchanged or rejected), with the reasons for a rejection."""
    if not results:
        return "The inbox holds no new patch files."
    lines = []
    for result in results:
        mark = {"imported": "✅", "unchanged": "➖"}.get(result.status, "❌")
        patch = f" ({result.patch})" if result.patch else ""
        lines.append(f"{mark} `{sanitize(Path(result.path).name)}`{patch}: {result.status}")
        lines += [f"  • {sanitize(e)}" for e in result.errors[:MAX_REPORTED_ERRORS]]
        if len(result.errors) > MAX_REPORTED_ERRORS:
            lines.append(f"  • … and {len(result.errors) - MAX_REPORTED_ERRORS} more")
    return "\n".join(lines)


def has_manage_guild(interaction: discord.Interaction) -> bool:
    """The in-code half of the gate (the other half is `default_member_permissions`)."""
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


class Admin(commands.Cog):
    """Importing patches and checking the bot's health."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="import",
                          description="Import a patch file, or re-scan the inbox when none "
                                      "is attached.")
    @app_commands.describe(file="A patch file (JSON); leave empty to re-scan the inbox folder")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(has_manage_guild)
    async def import_(self, interaction: discord.Interaction,
                      file: discord.Attachment | None = None) -> None:
        bot = bot_of(interaction)
        limit = bot.config.stats_db.max_patch_bytes
        if file is not None and file.size > limit:
            await reply_too_big(interaction, file, limit)
            return
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            if file is None:
                results = await admission.run(bot.engine.rescan_inbox)
            else:
                content = await file.read()
                results = await admission.run(import_upload, bot.engine, file.filename, content)
            if results and all(r.status == "rejected" for r in results):
                # Nothing changed: the reasons are for the moderator alone.
                await reply_privately(interaction, render_import_results(results))
            else:
                await reply(interaction, render_import_results(results))

    @app_commands.command(name="rollback",
                          description="Take the latest patch back out (asks you to confirm).")
    @app_commands.describe(patch="The latest patch's id",
                           confirm="Type the patch id again to confirm the rollback")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(has_manage_guild)
    async def rollback(self, interaction: discord.Interaction, patch: str,
                       confirm: str | None = None) -> None:
        bot = bot_of(interaction)
        if confirm != patch:
            await reply_privately(interaction, rollback_question(bot.engine, patch))
            return
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            done = await admission.run(rollback_store, bot.engine, patch)
            await reply(interaction, render_rollback(done))

    @app_commands.command(name="status",
                          description="The current patch, index health, adapters and queue.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(has_manage_guild)
    async def status(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        if (admission := await begin(interaction)) is None:
            return
        async with admission:
            status = await admission.run(bot.engine.status)
            embed = embeds.status_embed(status, bot.gate.depth, bot.gate.capacity)
            await reply(interaction, embed=embed)


def rollback_question(engine: Any, patch: str) -> str:
    """The confirmation step: what a rollback of `patch` would do, and how to confirm it."""
    current = engine.store.current_patch()
    if patch != current:
        return (f"Only the latest patch can be rolled back, and `{sanitize(patch)}` is not it "
                f"(the latest is `{current or 'none'}`).")
    return (f"This takes patch `{current}` back out of the stats and the index; answers go back "
            f"to the patch before it. To go ahead, run `/rollback patch:{current} "
            f"confirm:{current}`.")


def rollback_store(engine: Any, patch: str) -> dict:
    """Roll back the latest patch of the engine's store. Blocking."""
    from stats_db.rollback import rollback_patch

    return rollback_patch(engine.store, patch)


def render_rollback(done: dict) -> str:
    """The public note that a patch was rolled back."""
    return (f"↩️ Patch `{done['patch']}` was rolled back; answers now use patch "
            f"`{done['current'] or 'none'}`.")


async def reply_too_big(interaction: discord.Interaction, file: discord.Attachment,
                        limit: int) -> None:
    """Refuse an attachment over the patch size limit without downloading it."""
    await reply_privately(
        interaction, f"`{file.filename}` is {file.size:,} bytes; patches may be at most "
                     f"{limit:,} bytes.")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot))
