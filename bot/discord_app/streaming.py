"""Streams generated text into one Discord message, edited at most once per interval."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

import discord

from bot.discord_app.limits import MESSAGE_LIMIT
from bot.render import clip, sanitize

log = logging.getLogger(__name__)

TYPING_MARK = " …"

Edit = Callable[[str], Awaitable[object]]


class StreamedReply:
    """Shows text as it streams, throttled to one edit per `interval` seconds.

    `on_text` is called from the engine's worker thread with the text so far; it hands the text
    to the event loop with `call_soon_threadsafe` and never blocks. `finish` makes the last edit.
    """

    def __init__(self, edit: Edit, interval: float) -> None:
        self._edit = edit
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._latest: str | None = None
        self._shown: str | None = None
        self._new_text = asyncio.Event()
        self._closed = False
        self._last_edit = -math.inf
        self._pump: asyncio.Task[None] | None = None
        self.edits = 0

    def on_text(self, text: str) -> None:
        """Take the accumulated text from any thread."""
        self._loop.call_soon_threadsafe(self._offer, text)

    def _offer(self, text: str) -> None:
        if self._closed:
            return
        self._latest = text
        self._new_text.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._closed:
            await self._new_text.wait()
            if self._closed:
                return
            await self._wait_turn()
            if self._closed:
                return
            self._new_text.clear()
            text = self._latest or ""
            if text != self._shown:
                await self._send(clip(sanitize(text), MESSAGE_LIMIT - len(TYPING_MARK))
                                 + TYPING_MARK)
                self._shown = text

    async def _wait_turn(self) -> None:
        delay = self._last_edit + self._interval - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _send(self, content: str) -> None:
        self._last_edit = self._loop.time()
        try:
            await self._edit(content)
            self.edits += 1
        except discord.HTTPException as exc:
            log.warning("a streaming edit failed: %s", exc)

    async def close(self) -> None:
        """Stop streaming without a final edit (an in-flight edit is allowed to finish)."""
        self._closed = True
        self._new_text.set()
        if self._pump is not None:
            await self._pump

    async def finish(self, final: Callable[[], Awaitable[object]]) -> None:
        """Stop streaming, then make the final edit, still keeping to the interval."""
        await self.close()
        await self._wait_turn()
        self._last_edit = self._loop.time()
        await final()
        self.edits += 1
