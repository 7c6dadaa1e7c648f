"""The Discord client: cogs, the request gate, the scheduler, command sync and `run_discord`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs import EXTENSIONS
from bot.discord_app.errors import LorekeeperTree
from bot.discord_app.gate import RequestGate, UserCooldown
from bot.discord_app.limits import ENGINE_WORKERS
from bot.discord_app.replies import NO_MENTIONS

if TYPE_CHECKING:
    from characters.config import Config

log = logging.getLogger(__name__)

# The Discord permissions the bot needs in a channel, for the invite link (see README).
INVITE_PERMISSIONS = discord.Permissions(
    send_messages=True, embed_links=True, attach_files=True, read_message_history=True
)


class MissingToken(RuntimeError):
    """The environment variable that should hold the Discord bot token is unset."""


class LorekeeperBot(commands.Bot):
    """The Lorekeeper bot: slash commands only, no message content, no mentions ever."""

    def __init__(self, engine: Any, config: Config, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, help_command=None,
            allowed_mentions=NO_MENTIONS, tree_cls=LorekeeperTree, **options,
        )
        self.engine = engine
        self.config = config
        self.settings = config.bot
        self.gate = RequestGate(config.bot.queue_size, ENGINE_WORKERS)
        self.cooldown = UserCooldown(config.bot.cooldown_s)
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        """Load the cogs, start the import scheduler in this loop and sync the commands."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.engine.start_scheduler(asyncio.get_running_loop())
        self.synced = await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Register the slash commands: to the test guild (instant) or globally."""
        guild_id = self.settings.test_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (may take up to an hour to appear)",
                     len(synced))
        return synced

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s (%s)", self.user, getattr(self.user, "id", "?"))


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot to a server with the scopes and permissions it needs."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def run_discord(config: Config, engine: Any) -> None:
    """Connect to Discord and serve slash commands until interrupted. Blocking."""
    token = config.secret(config.bot.token_env)
    if token is None:
        raise MissingToken(f"set {config.bot.token_env} to the bot token to connect to Discord")
    bot = LorekeeperBot(engine, config)
    bot.run(token, root_logger=True)
