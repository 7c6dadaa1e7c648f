"""Patch day end to end: the real discord.py client against the loopback stand-in for Discord.

Server settings, follows, the announcement after an import (by /import and by another process),
direct messages to followers (a closed DM refused with 403), rate limits, a restart. The store
is a private copy of the seeded one (real SQLite, LanceDB and MiniLM); only the model is a
ScriptedGenerator that speaks the new value from its facts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
from pathlib import Path

import pytest

from bot.community import Community
from bot.discord_app import LorekeeperBot
from bot.discord_app.streaming import TYPING_MARK
from bot.engine import Engine
from bot.generation.base import ScriptedGenerator
from characters.config import get_config
from stats_db.datafolder import open_store
from stats_db.ingest import import_paths
from tests.discord_standin import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    DiscordStandIn,
    point_discord_at,
    running_bot,
)

EPHEMERAL = 64
ADMIN = MEMBER_PERMISSIONS | MANAGE_GUILD
ANNOUNCE_CHANNEL = CHANNEL_ID + 7
OTHER_GUILD, OTHER_CHANNEL = GUILD_ID + 1, CHANNEL_ID + 8
FOLLOWER_A, FOLLOWER_B, UNCHANGED_FAN, CLOSED_DMS = 101, 102, 103, 104
ATTACK_RE = re.compile(r"Attack:? (\d+(?:\.\d+)?)")


def speaks_new_attack(messages, adapter) -> str:
    """A reply that states the attack value of the stat card (the current one), in a voice."""
    found = ATTACK_RE.findall(messages[1]["content"])
    return f"Hrrm! Attack {found[0]} now, puny one." if found else "Hrrm, nothing changed."


def make_config(**bot_settings):
    config = get_config()
    bot = dataclasses.replace(config.bot, **{"cooldown_s": 0.0, "test_guild_id": GUILD_ID,
                                             "patch_poll_s": 60.0, "dm_interval_s": 0.0,
                                             **bot_settings})
    return dataclasses.replace(config, bot=bot,
                               schedule=dataclasses.replace(config.schedule, enabled=False))


@pytest.fixture
async def standin(monkeypatch):
    server = DiscordStandIn(heartbeat_interval_s=0.5, rate_limit=3, rate_window_s=0.5)
    await server.start()
    point_discord_at(server, monkeypatch)
    yield server
    await server.close()


def build_bot(store, **bot_settings) -> LorekeeperBot:
    config = make_config(**bot_settings)
    engine = Engine(store, ScriptedGenerator(speaks_new_attack), config=config, voice_scorer=None)
    return LorekeeperBot(engine, config, guild_ready_timeout=0.1)


def delta_patch(store, patch_id: str, character_id: str, released: str) -> dict:
    old = store.show(character_id).stats["attack"]
    new = old + 3 if old + 3 <= store.world.schema["attack"].maximum else old - 3
    return {"patch": patch_id, "released": released, "kind": "delta",
            "notes": f"Patch day test {patch_id}.",
            "characters": [{"id": character_id, "stats": {"attack": new}}]}


async def until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Wait until `condition()` (run in a thread: it may read SQLite) holds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def command(standin, name: str, **kwargs):
    """Send a command and wait for its final reply: an edit of the deferred message, a refusal
    (a message callback) or a private error (a followup)."""
    sent = await standin.send_command(name, **kwargs)
    return await standin.wait_for(
        lambda r: r.token == sent.token and (r.kind in ("edit", "followup") or (
            r.kind == "callback" and r.payload["type"] == 4)), timeout=30)


async def test_setup_is_gated_like_import(standin, fresh_store):
    bot = build_bot(fresh_store)
    async with running_bot(bot, standin):
        registered = {c["name"]: c for c in standin.commands[GUILD_ID]}
        refused = await command(standin, "setup", subcommand=("announce",),
                                channels={"channel": ANNOUNCE_CHANNEL})
        allowed = await command(standin, "setup", subcommand=("announce",), permissions=ADMIN,
                                channels={"channel": ANNOUNCE_CHANNEL})
        shown = await command(standin, "setup", subcommand=("announce",), permissions=ADMIN)
        off = await command(standin, "setup", subcommand=("announce",), permissions=ADMIN,
                            off=True)
    assert int(registered["setup"]["default_member_permissions"]) == MANAGE_GUILD
    (announce,) = registered["setup"]["options"]
    assert announce["name"] == "announce"
    channel_option = next(o for o in announce["options"] if o["name"] == "channel")
    assert channel_option["channel_types"] == [0, 5]  # text and announcement channels
    assert {"follow", "unfollow", "following"} <= set(registered)
    assert registered["follow"].get("default_member_permissions") is None
    assert refused.payload["type"] == 4 and refused.payload["data"]["flags"] & EPHEMERAL
    assert "Manage Server" in refused.payload["data"]["content"]
    assert allowed.kind == "edit", allowed.payload
    (deferred,) = [r for r in standin.requests_for(allowed.token) if r.kind == "callback"]
    assert deferred.payload["data"]["flags"] & EPHEMERAL, "settings are answered privately"
    assert f"<#{ANNOUNCE_CHANNEL}>" in allowed.content
    assert f"<#{ANNOUNCE_CHANNEL}>" in shown.content
    assert "off" in off.content
    assert bot.community.announce_channel(GUILD_ID) is None


async def test_import_announces_once_per_server_and_tells_each_follower_once(
        standin, fresh_store, caplog):
    store = fresh_store
    changed, unchanged = store.world.characters[0], store.world.characters[1]
    patch = delta_patch(store, "2026-W60", changed.id, "2027-02-22")
    new = patch["characters"][0]["stats"]["attack"]
    old = store.show(changed.id).stats["attack"]
    standin.closed_dms.add(CLOSED_DMS)
    caplog.set_level(logging.INFO, logger="bot.discord_app.announcer")
    bot = build_bot(store)
    async with running_bot(bot, standin):
        await asyncio.wait_for(bot.announcer.looked.wait(), 30)
        await command(standin, "setup", subcommand=("announce",), permissions=ADMIN,
                      channels={"channel": ANNOUNCE_CHANNEL})
        await asyncio.to_thread(bot.community.set_announce_channel, OTHER_GUILD, OTHER_CHANNEL)
        for user in (FOLLOWER_A, FOLLOWER_B, CLOSED_DMS):
            followed = await command(standin, "follow", user_id=user, character=changed.name)
        fan = await command(standin, "follow", user_id=UNCHANGED_FAN, character=unchanged.id)
        listed = await command(standin, "following", user_id=FOLLOWER_A)
        report = await command(standin, "import", permissions=ADMIN, attachment=(
            "file", "2027-02-22_2026-W60.json", json.dumps(patch).encode()))
        await until(lambda: "2026-W60" in bot.community.seen_patches(), what="patch day")
    assert "You now follow" in followed.content
    assert unchanged.name in fan.content
    assert changed.name in listed.content and "1 of at most 25" in listed.content
    assert "imported" in report.content

    posts = {channel: standin.messages_posted(channel)
             for channel in (ANNOUNCE_CHANNEL, OTHER_CHANNEL)}
    assert [len(p) for p in posts.values()] == [1, 1], "one announcement per server"
    embed = posts[ANNOUNCE_CHANNEL][0].payload["embeds"][0]
    assert embed["title"] == "Patch 2026-W60" and embed["description"] == patch["notes"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    moved = fields["Biggest buffs"] if new > old else fields["Biggest nerfs"]
    assert f"{changed.name}: Attack {old} → {new}" in moved
    assert f"**{changed.name}**: Hrrm! Attack {new} now" in fields["In their own words"]
    assert posts[ANNOUNCE_CHANNEL][0].payload["allowed_mentions"] == {"parse": []}

    for user in (FOLLOWER_A, FOLLOWER_B):
        (dm,) = standin.direct_messages(user)
        (note,) = dm.payload["embeds"]
        assert note["title"] == f"{changed.name} changed in patch 2026-W60"
        assert note["description"] == f"Hrrm! Attack {new} now, puny one."
        assert note["fields"][0]["value"] == f"Attack: {old} → {new}"
    assert standin.direct_messages(UNCHANGED_FAN) == []
    refused_channel = standin.dm_channels[CLOSED_DMS]
    assert len(standin.messages_posted(refused_channel)) == 1, "a refused DM is not retried"
    assert bot.community.notices("2026-W60") == {
        FOLLOWER_A: "sent", FOLLOWER_B: "sent", CLOSED_DMS: "refused"}
    assert any(f"user {CLOSED_DMS} refused the message" in r.getMessage()
               for r in caplog.records)
    assert bot.community.announcements("2026-W60") == {GUILD_ID: "posted",
                                                       OTHER_GUILD: "posted"}

    before = len(standin.requests)
    restarted = build_bot(store)
    async with running_bot(restarted, standin):
        await asyncio.wait_for(restarted.announcer.looked.wait(), 30)
        assert await restarted.announcer.take_up_new_patches() == []
    after = [r.kind for r in standin.requests[before:]]
    assert "message" not in after and "dm_open" not in after, "a restart repeated patch day"


async def test_an_import_by_another_process_is_announced_within_a_poll(
        standin, fresh_store, tmp_path):
    store = fresh_store
    who = store.world.characters[2]
    bot = build_bot(store, patch_poll_s=0.3)
    async with running_bot(bot, standin):
        await command(standin, "setup", subcommand=("announce",), permissions=ADMIN,
                      channels={"channel": ANNOUNCE_CHANNEL})
        await asyncio.wait_for(bot.announcer.looked.wait(), 30)
        assert standin.messages_posted() == [], "patches already there are not announced"
        path = Path(tmp_path) / "2027-03-01_2026-W61.json"
        path.write_text(json.dumps(delta_patch(store, "2026-W61", who.id, "2027-03-01")))

        def import_elsewhere() -> None:
            other = open_store(store.data_dir, embedder=store.embedder)
            try:
                (result,) = import_paths(other, [path])
                assert result.status == "imported", result.errors
            finally:
                other.close()

        await asyncio.to_thread(import_elsewhere)
        imported = time.monotonic()
        posted = await standin.wait_for(lambda r: r.kind == "message", timeout=30)
    assert posted.payload["embeds"][0]["title"] == "Patch 2026-W61"
    assert posted.t - imported < 10


async def test_direct_messages_keep_to_the_rate_limits_and_the_time_budget(
        standin, fresh_store):
    store = fresh_store
    who = store.world.characters[3]
    followers = list(range(2000, 2010))
    community = Community(store.sqlite_path)
    for user in followers:
        community.follow(user, who.id)
    bot = build_bot(store)
    async with running_bot(bot, standin):
        await asyncio.wait_for(bot.announcer.looked.wait(), 30)
        await asyncio.to_thread(import_paths, store, [_write(store, who.id, "2026-W62")])
        started = time.monotonic()
        assert await bot.announcer.take_up_new_patches() == ["2026-W62"]
        took = time.monotonic() - started
    opens = [r for r in standin.requests if r.kind == "dm_open"]
    assert len(opens) == len(followers)
    assert standin.rate_limited == [], "the bot ran into a 429 instead of reading the headers"
    assert all(len(standin.direct_messages(u)) == 1 for u in followers)
    # 3 DM channels per 0.5 s window: ten opens span at least three full windows.
    assert opens[-1].t - opens[0].t >= 3 * 0.5 * 0.9
    assert took < 30

    budget = build_bot(store, dm_interval_s=0.3, notify_budget_s=0.5)
    async with running_bot(budget, standin):
        await asyncio.wait_for(budget.announcer.looked.wait(), 30)
        await asyncio.to_thread(import_paths, store, [_write(store, who.id, "2026-W63")])
        started = time.monotonic()
        await budget.announcer.take_up_new_patches()
        took = time.monotonic() - started
    statuses = community.notices("2026-W63")
    assert set(statuses) == set(followers)
    assert 0 < list(statuses.values()).count("sent") < len(followers)
    assert set(statuses.values()) == {"sent", "late"}
    assert took < 5
    assert "2026-W63" in community.seen_patches(), "an out-of-time patch is not retried"


async def test_patch_day_never_stalls_an_answer(standin, fresh_store):
    store = fresh_store
    who = store.world.characters[0]
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_changes(messages, adapter) -> str:
        if "What changed for you" in messages[-1]["content"]:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)
        return speaks_new_attack(messages, adapter)

    config = make_config()
    engine = Engine(store, ScriptedGenerator(slow_changes), config=config, voice_scorer=None)
    bot = LorekeeperBot(engine, config, guild_ready_timeout=0.1)
    async with running_bot(bot, standin):
        await command(standin, "setup", subcommand=("announce",), permissions=ADMIN,
                      channels={"channel": ANNOUNCE_CHANNEL})
        await asyncio.to_thread(import_paths, store, [_write(store, who.id, "2026-W64")])
        bot.announcer.wake()
        await asyncio.sleep(0.3)  # patch day is now waiting on the model
        asked = await standin.send_command("ask", character=who.id, question="your attack?")
        answer = await standin.wait_for(lambda r: r.token == asked.token and r.kind == "edit"
                                        and not r.content.endswith(TYPING_MARK), timeout=30)
        assert standin.messages_posted() == [], "the announcement was not held up"
        release.set()
        await standin.wait_for(lambda r: r.kind == "message", timeout=30)
    assert answer.t - asked.t < 5
    assert "Patch 2026-W64" in answer.content


def _write(store, character_id: str, patch_id: str) -> Path:
    """A delta patch file for `patch_id` in the data folder's scratch area."""
    week = int(patch_id.rsplit("W", 1)[1])
    released = f"2027-04-{week - 50:02d}"
    path = store.data_dir / "scratch" / f"{released}_{patch_id}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(delta_patch(store, patch_id, character_id, released)))
    return path
