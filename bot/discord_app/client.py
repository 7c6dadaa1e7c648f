"""The Discord client: cogs, the request gate, the scheduler, command sync and `run_discord`."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.community import Community
from bot.discord_app.announcer import Announcer
from bot.discord_app.cogs import EXTENSIONS
from bot.discord_app.constants import NO_MENTIONS
from bot.discord_app.errors import LorekeeperTree
from bot.discord_app.gate import RequestGate, UserCooldown
from bot.discord_app.limits import (
    ENGINE_WORKERS,
    GIL_SWITCH_INTERVAL_S,
    HTTP_CONNECTIONS,
    WORKER_THREADS,
)
from bot.errors import LorekeeperError

if TYPE_CHECKING:
    from bot.engine import Engine
    from characters.config import Config

log = logging.getLogger(__name__)

# The Discord permissions the bot needs in a channel, for the invite link (see README).
INVITE_PERMISSIONS = discord.Permissions(
    send_messages=True, embed_links=True, attach_files=True, read_message_history=True
)

# Touches name resolution, stat and lore retrieval (embedder and index) and the model.
WARM_UP_QUESTION = "Who are you, and where is your home?"


class MissingToken(RuntimeError):
    """The environment variable that should hold the Discord bot token is unset."""


class LorekeeperBot(commands.Bot):
    """The Lorekeeper bot: slash commands only, no message content, no mentions ever."""

    def __init__(self, engine: Engine, config: Config, **options: Any) -> None:
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
        self.community = Community(engine.store.sqlite_path, config.bot.max_follows)
        self.announcer = Announcer(self, self.community)
        self.synced: list[app_commands.AppCommand] = []
        self._switch_interval: float | None = None

    async def login(self, token: str) -> None:
        """Log in over a bounded pool of reused HTTP connections.

        Unbounded, a burst of interactions opens a new connection per reply, and opening them
        (TCP, TLS) is work done on the event loop.
        """
        if self.http.connector is discord.utils.MISSING:
            self.http.connector = aiohttp.TCPConnector(limit=HTTP_CONNECTIONS)
        await super().login(token)

    async def setup_hook(self) -> None:
        """Load the cogs, warm the engine, start the scheduler in this loop, sync the commands,
        then start looking for new patches to announce."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.start_worker_threads()
        # Engine threads are CPU-bound; the loop thread gives up the GIL at every socket call
        # and, by default, waits up to 5 ms to get it back each time. Hand it back sooner.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        await asyncio.to_thread(self.warm_up)
        # Everything loaded so far lives as long as the bot: keep it out of the collector's
        # full passes, which otherwise stall the loop for a few hundred ms under load.
        gc.collect()
        gc.freeze()
        self.engine.start_scheduler(asyncio.get_running_loop())
        self.synced = await self.sync_commands()
        self.announcer.start()

    async def start_worker_threads(self) -> None:
        """Give the loop its own thread pool, with every thread started now.

        A pool starts threads lazily, and starting one waits for it on the event loop: under a
        burst that is tens of milliseconds the loop cannot spend on anything else.
        """
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(WORKER_THREADS, "lorekeeper-worker"))
        await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.02)
                               for _ in range(WORKER_THREADS)))

    def warm_up(self) -> None:
        """Answer one question before serving, so the first player does not wait for the
        embedder, the search index and the model to load (and the loop never waits on imports).
        """
        started = time.perf_counter()
        try:
            first = self.engine.world.characters[0]
            self.engine.ask(first.id, WARM_UP_QUESTION)
        except LorekeeperError as exc:
            log.warning("warm-up question failed: %s", exc)
        log.info("engine warmed up in %.1f s", time.perf_counter() - started)

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

    async def close(self) -> None:
        """Stop patch day, disconnect, then restore the interpreter's thread switch interval."""
        await self.announcer.close()
        await super().close()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s (%s)", self.user, getattr(self.user, "id", "?"))


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot to a server with the scopes and permissions it needs."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def run_discord(config: Config, engine: Engine) -> None:
    """Connect to Discord and serve slash commands until interrupted. Blocking."""
    token = config.secret(config.bot.token_env)
    if token is None:
        raise MissingToken(f"set {config.bot.token_env} to the bot token to connect to Discord")
    bot = LorekeeperBot(engine, config)
    bot.run(token, root_logger=True)
