"""Server admin commands: /import, /rollback and /status, for Manage Server members only."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import embeds
from bot.discord_app.gate import Admission
from bot.discord_app.replies import Reply, in_thread, reply_privately, run_command
from bot.render import sanitize

if TYPE_CHECKING:
    from bot.discord_app.client import LorekeeperBot
    from bot.engine import Engine
    from stats_db.ingest import ImportResult

MAX_REPORTED_ERRORS = 10
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_name(filename: str) -> str:
    """A safe local file name for an uploaded patch (errors name the file, so keep it close)."""
    name = _UNSAFE_NAME_RE.sub("_", Path(filename).name).strip("._") or "patch"
    return name if name.endswith(".json") else name + ".json"


def import_upload(engine: Engine, filename: str, content: bytes) -> list[ImportResult]:
    """Write an uploaded patch to a private temporary folder and import it. Blocking."""
    with tempfile.TemporaryDirectory(prefix="lorekeeper-upload-") as folder:
        path = Path(folder) / upload_name(filename)
        path.write_bytes(content)
        return engine.import_files([path])


def render_import_results(results: list[ImportResult]) -> str:
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

    def __init__(self, bot: LorekeeperBot) -> None:
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
        limit = self.bot.config.stats_db.max_patch_bytes
        if file is not None and file.size > limit:
            await reply_too_big(interaction, file, limit)
            return

        async def work(admission: Admission) -> list[ImportResult]:
            if file is None:
                return await admission.run(self.bot.engine.rescan_inbox)
            content = await file.read()
            return await admission.run(import_upload, self.bot.engine, file.filename, content)

        def show(results: list[ImportResult]) -> Reply:
            # Nothing changed when every file was rejected: the reasons are for the moderator.
            rejected = bool(results) and all(r.status == "rejected" for r in results)
            return Reply(render_import_results(results), private=rejected)

        await run_command(interaction, self.bot.gate, work, show)
        self.bot.announcer.wake()  # announce what was imported now, not at the next poll

    @app_commands.command(name="rollback",
                          description="Take the latest patch back out (asks you to confirm).")
    @app_commands.describe(patch="The latest patch's id",
                           confirm="Type the patch id again to confirm the rollback")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(has_manage_guild)
    async def rollback(self, interaction: discord.Interaction, patch: str,
                       confirm: str | None = None) -> None:
        engine = self.bot.engine
        if confirm != patch:
            await reply_privately(interaction, rollback_question(engine, patch))
            return
        await run_command(interaction, self.bot.gate, in_thread(rollback_store, engine, patch),
                          lambda done: Reply(render_rollback(done)))

    @app_commands.command(name="status",
                          description="The current patch, index health, adapters and queue.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.check(has_manage_guild)
    async def status(self, interaction: discord.Interaction) -> None:
        gate = self.bot.gate
        await run_command(interaction, gate, in_thread(self.bot.engine.status),
                          lambda status: Reply(embed=embeds.status_embed(status, gate.depth,
                                                                         gate.capacity)))


def rollback_question(engine: Engine, patch: str) -> str:
    """The confirmation step: what a rollback of `patch` would do, and how to confirm it."""
    current = engine.store.current_patch()
    if patch != current:
        return (f"Only the latest patch can be rolled back, and `{sanitize(patch)}` is not it "
                f"(the latest is `{current or 'none'}`).")
    return (f"This takes patch `{current}` back out of the stats and the index; answers go back "
            f"to the patch before it. To go ahead, run `/rollback patch:{current} "
            f"confirm:{current}`.")


def rollback_store(engine: Engine, patch: str) -> dict:
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


async def setup(bot: LorekeeperBot) -> None:
    await bot.add_cog(Admin(bot))
