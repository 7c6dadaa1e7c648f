"""Patch day on Discord: announce each new patch in the servers' channels, DM the followers.

One asyncio task looks for new patches every `patch_poll_s` seconds (and at once when /import
wakes it), so it sees the bot's own scheduler runs, /import, and imports by other processes.
Each patch is taken up once: what was posted to which server and told to which follower is
recorded in SQLite before the patch is marked seen, so a restart repeats nothing and resumes
what a crash cut short. Everything blocking (SQLite, generation) runs in worker threads, one
call at a time and outside the request gate, so /ask answers never wait for patch day.
Discord's rate limits are kept by discord.py (it reads the headers); on top, direct messages
go out at most one per `dm_interval_s`, and all of a patch's within `notify_budget_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.announce import Announcement, ChangeNote, build_announcement, change_note
from bot.discord_app.constants import NO_MENTIONS
from bot.discord_app.embeds import colour_for, limited_embed, patch_embed
from bot.discord_app.limits import EMBEDS_PER_MESSAGE
from bot.render import sanitize

if TYPE_CHECKING:
    from bot.community import Community
    from bot.discord_app.client import LorekeeperBot

log = logging.getLogger(__name__)

# The longest one Discord request may take before patch day gives up on it.
SEND_TIMEOUT_S = 30.0


def announcement_embed(announcement: Announcement) -> discord.Embed:
    """The patch embed, with the biggest movers' own words."""
    words = "\n".join(f"**{sanitize(v.name)}**: {v.text}" for v in announcement.voices)
    extra = [("In their own words", words, False)] if words else []
    return patch_embed(announcement.view, extra)


def note_embed(note: ChangeNote) -> discord.Embed:
    """What changed for one followed character, old → new, told in its voice."""
    changes = "\n".join(f"{label}: {old} → {new}" for label, old, new in note.changes)
    return limited_embed(
        f"{sanitize(note.name)} changed in patch {note.patch}",
        note.voice.text if note.voice else "", colour=colour_for(note.faction),
        fields=[("Changes", changes, False)],
        footer=f"Since patch {note.from_patch} · /unfollow {note.name} to stop these messages",
    )


class Announcer:
    """Takes up every new patch once: posts it to the servers, tells the followers."""

    def __init__(self, bot: LorekeeperBot, community: Community) -> None:
        self.bot = bot
        self.community = community
        self.settings = bot.settings
        self._wake = asyncio.Event()
        self._busy = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.looked = asyncio.Event()  # set after each look for new patches

    def start(self) -> None:
        """Start looking for new patches in the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="lorekeeper-patch-day")

    def wake(self) -> None:
        """Look for new patches now (after /import) rather than at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        """Stop looking; what was not yet recorded is taken up at the next start."""
        if self._task is not None:
            # The flag as well as the cancel: on Python 3.11 an asyncio.wait_for that finishes
            # as the cancel arrives swallows it, and the task would go on looking for ever.
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.to_thread(self._first_look)
        while not self._stopping:
            try:
                await self.take_up_new_patches()
            except Exception:  # a bad patch day must not end the task; the next look retries
                log.exception("patch day failed; trying again at the next look")
            self.looked.set()
            await self._pause()

    async def _pause(self) -> None:
        """Sleep until the next poll, or until woken.

        Not asyncio.wait_for, which on Python 3.11 can swallow a cancellation.
        """
        woken = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=self.settings.patch_poll_s)
        finally:
            woken.cancel()
        self._wake.clear()

    def _first_look(self) -> None:
        """On the very first start, the patches already there count as announced."""
        if not self.community.seen_patches():
            patches = self._done_patches()
            self.community.mark_seen(patches)
            log.info("patch day starts after patch %s", patches[-1] if patches else "none")

    def _done_patches(self) -> list[str]:
        return [p.id for p in self.bot.engine.store.patches() if p.status == "done"]

    def _new_patches(self) -> list[str]:
        seen = self.community.seen_patches()
        return [p for p in self._done_patches() if p not in seen]

    async def take_up_new_patches(self) -> list[str]:
        """Announce and tell every patch not yet taken up, oldest first; their ids."""
        async with self._busy:
            new = await asyncio.to_thread(self._new_patches)
            for patch in new:
                log.info("patch day for %s", patch)
                await self.announce(patch)
                await self.notify_followers(patch)
                await asyncio.to_thread(self.community.mark_seen, [patch])
            return new

    # --- announcements ----------------------------------------------------------------------

    async def announce(self, patch: str) -> None:
        """Post the patch embed to each configured server that has not had it."""
        channels = await asyncio.to_thread(self.community.announce_channels)
        done = await asyncio.to_thread(self.community.announced_guilds, patch)
        todo = {guild: channel for guild, channel in channels.items() if guild not in done}
        if not todo:
            return
        announcement = await asyncio.to_thread(build_announcement, self.bot.engine, patch)
        embed = announcement_embed(announcement)
        for guild_id, channel_id in todo.items():
            target = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
            status, message_id = await self._send(target, [embed], f"server {guild_id}")
            await asyncio.to_thread(self.community.record_announcement, guild_id, patch,
                                    channel_id, status, message_id)

    # --- followers --------------------------------------------------------------------------

    def _followers_to_tell(self, patch: str) -> dict[int, list[str]]:
        """User id -> the followed characters that `patch` changed, for users not yet told."""
        followed = self.community.followers_of_any()
        store = self.bot.engine.store
        changed = [c for c in followed if store.diff(c, to_patch=patch).changes]
        told = self.community.notified_users(patch)
        return {user: ids for user, ids in self.community.followers(changed).items()
                if user not in told}

    async def notify_followers(self, patch: str) -> None:
        """One direct message per follower of a character `patch` changed, paced and bounded."""
        to_tell = await asyncio.to_thread(self._followers_to_tell, patch)
        if not to_tell:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.notify_budget_s
        notes: dict[str, ChangeNote | None] = {}
        sent = 0
        for position, (user_id, character_ids) in enumerate(to_tell.items()):
            if loop.time() >= deadline:
                late = list(to_tell)[position:]
                log.warning("patch %s: out of time, %d followers not told", patch, len(late))
                for user in late:
                    await asyncio.to_thread(self.community.record_notice, patch, user, "late")
                break
            for cid in character_ids:
                if cid not in notes:
                    notes[cid] = await asyncio.to_thread(change_note, self.bot.engine, cid, patch)
            embeds = [note_embed(n) for cid in character_ids if (n := notes[cid]) is not None]
            if not embeds:
                continue
            status = await self._direct_message(user_id, embeds, patch)
            await asyncio.to_thread(self.community.record_notice, patch, user_id, status)
            sent += status == "sent"
            await asyncio.sleep(self.settings.dm_interval_s)
        log.info("patch %s: told %d of %d followers", patch, sent, len(to_tell))

    async def _direct_message(self, user_id: int, embeds: list[discord.Embed],
                              patch: str) -> str:
        """Send one follower their note: sent, refused (DMs closed) or failed."""
        try:
            channel = await asyncio.wait_for(self.bot.create_dm(discord.Object(user_id)),
                                             SEND_TIMEOUT_S)
        except discord.Forbidden:
            log.info("user %s accepts no direct messages; skipped for patch %s", user_id, patch)
            return "refused"
        except (discord.HTTPException, TimeoutError) as exc:
            log.warning("could not open a DM with user %s: %s", user_id, exc)
            return "failed"
        content = f"Patch {patch} changed {'a character' if len(embeds) == 1 else 'characters'}" \
                  " you follow."
        status, _ = await self._send(channel, embeds, f"user {user_id}", content)
        return "sent" if status == "posted" else status

    async def _send(self, target: discord.abc.Messageable, embeds: Sequence[discord.Embed],
                    who: str, content: str | None = None) -> tuple[str, int | None]:
        """Post embeds (split into messages of at most ten); (status, first message id)."""
        first: int | None = None
        try:
            for start in range(0, len(embeds), EMBEDS_PER_MESSAGE):
                chunk = list(embeds[start:start + EMBEDS_PER_MESSAGE])
                message = await asyncio.wait_for(
                    target.send(content if start == 0 else None, embeds=chunk,
                                allowed_mentions=NO_MENTIONS), SEND_TIMEOUT_S)
                first = first or message.id
        except discord.Forbidden as exc:
            log.info("%s refused the message (%s); skipped, not retried", who, exc.text)
            return "refused", first
        except (discord.HTTPException, TimeoutError) as exc:
            log.warning("could not post to %s: %s", who, exc)
            return "failed", first
        return "posted", first
