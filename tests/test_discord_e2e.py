"""The bot end to end: the real discord.py client against the loopback stand-in for Discord.

The engine is real (SQLite, LanceDB, MiniLM over a slice of the shipped world); only the
language model is a ScriptedGenerator, paced like a model where the test needs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import time

import pytest

from bot.discord_app import LorekeeperBot
from bot.discord_app.constants import APOLOGY, BUSY_TEXT
from bot.discord_app.streaming import TYPING_MARK
from bot.engine import Engine
from bot.generation.base import ScriptedGenerator
from characters.config import get_config
from tests.discord_standin import (
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    DiscordStandIn,
    PacedGenerator,
    RecordedRequest,
    point_discord_at,
    running_bot,
)

EPHEMERAL = 64
DEFER_BUDGET_S = 0.100
ORC_REPLY = "Hrrm, strong I am, puny one, and my axe is hungry today."
EXPECTED_COMMANDS = {"ask", "stats", "compare", "changes", "history", "patch", "whois",
                     "import", "rollback", "status", "setup", "follow", "unfollow", "following",
                     "top"}


class RaisingGenerator(ScriptedGenerator):
    """A generator that fails the way a broken backend would."""

    def stream(self, messages, adapter, max_new_tokens=None):
        raise RuntimeError("model backend exploded")


@pytest.fixture
def store(seeded_store):
    """The shared seeded store (read-only)."""
    return seeded_store


@pytest.fixture
async def standin(monkeypatch):
    server = DiscordStandIn(heartbeat_interval_s=0.2)
    await server.start()
    point_discord_at(server, monkeypatch)
    yield server
    await server.close()


def make_config(**bot_settings):
    config = get_config()
    bot = dataclasses.replace(config.bot, **{"cooldown_s": 0.0, "test_guild_id": GUILD_ID,
                                             **bot_settings})
    schedule = dataclasses.replace(config.schedule, enabled=False)
    return dataclasses.replace(config, bot=bot, schedule=schedule)


@pytest.fixture
def make_bot(store):
    """Build a bot over the seeded store with a given generator and bot settings."""
    engines: list[Engine] = []

    def build(generator=None, *, config=None, on=None, **bot_settings) -> LorekeeperBot:
        config = config or make_config(**bot_settings)
        engine = Engine(on or store, generator or ScriptedGenerator([ORC_REPLY]),
                        config=config, voice_scorer=None)
        engines.append(engine)
        return LorekeeperBot(engine, config, guild_ready_timeout=0.1)

    yield build
    for engine in engines:
        if engine.scheduler is not None:
            engine.scheduler.shutdown(wait=False)


def first_character(store, faction: str | None = None):
    return next(c for c in store.world.characters if faction in (None, c.faction))


def mentions_blocked(request: RecordedRequest) -> bool:
    """A request that could ping someone carries allowed_mentions with nothing to parse."""
    payload = request.payload if isinstance(request.payload, dict) else {}
    payload = payload.get("data", payload) if request.kind == "callback" else payload
    if not (payload.get("content") or payload.get("embeds")):
        return True
    mentions = payload.get("allowed_mentions")
    return mentions is not None and mentions.get("parse") == [] and not mentions.get("users") \
        and not mentions.get("roles")


async def test_connects_identifies_and_heartbeats(standin, make_bot):
    bot = make_bot()
    async with running_bot(bot, standin):
        assert standin.identify is not None
        assert standin.identify["token"] == standin.token
        assert standin.identify["intents"] == bot.intents.value
        start = len(standin.heartbeats)
        deadline = time.monotonic() + 5
        while len(standin.heartbeats) < start + 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(standin.heartbeats) >= start + 3, "the client stopped heartbeating"
        assert standin.acks_sent >= 3
        assert bot.latency < 1.0


@pytest.mark.parametrize("guild_id", [GUILD_ID, 0])
async def test_sync_registers_every_command_with_descriptions(standin, make_bot, guild_id):
    async with running_bot(make_bot(test_guild_id=guild_id), standin):
        registered = standin.commands[guild_id or None]
    assert {c["name"] for c in registered} == EXPECTED_COMMANDS
    for command in registered:
        assert command["description"].strip(), command["name"]
        for option in command.get("options", []):
            assert option["description"].strip(), (command["name"], option["name"])
    admin = {c["name"]: c for c in registered
             if c["name"] in ("import", "rollback", "status", "setup")}
    assert {int(c["default_member_permissions"]) for c in admin.values()} == {MANAGE_GUILD}
    assert all(c.get("default_member_permissions") is None
               for c in registered if c["name"] not in admin)
    ask = next(c for c in registered if c["name"] == "ask")
    assert {o["name"]: o.get("autocomplete", False) for o in ask["options"]} == {
        "character": True, "question": False, "patch": True}


async def test_stats_defers_at_once_and_shows_the_current_card(standin, make_bot, store):
    who = first_character(store)
    expected = store.show(who.id).stats
    async with running_bot(make_bot(), standin):
        sent = await standin.send_command("stats", character=who.name)
        defer = await standin.wait_for_kind(sent, "callback")
        edit = await standin.wait_for_kind(sent, "edit")
    assert defer.payload["type"] == 5
    assert defer.t - sent.t < DEFER_BUDGET_S, f"deferred after {defer.t - sent.t:.3f} s"
    embed = edit.payload["embeds"][0]
    assert embed["title"] == who.name
    assert embed["footer"]["text"] == f"Patch {store.current_patch()}"
    attack = next(f["value"] for f in embed["fields"] if f["name"] == "Attack")
    assert attack == str(expected["attack"])
    assert edit.payload["allowed_mentions"] == {"parse": []}


async def test_character_autocomplete_is_typo_tolerant(standin, make_bot, store):
    who = first_character(store)
    typo = who.name[:-2] + who.name[-1] + who.name[-2]  # swap the last two letters
    async with running_bot(make_bot(), standin):
        sent = await standin.send_autocomplete("ask", "character", character=typo, question="")
        answer = await standin.wait_for_kind(sent, "callback")
        empty = await standin.send_autocomplete("stats", "character", character="")
        all_names = await standin.wait_for_kind(empty, "callback")
    assert answer.payload["type"] == 8
    choices = answer.payload["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert choices[0] == {"name": who.name, "value": who.id}
    assert answer.t - sent.t < 0.5
    assert 0 < len(all_names.payload["data"]["choices"]) <= 25


async def test_stat_and_patch_options_autocomplete(standin, make_bot, store):
    async with running_bot(make_bot(), standin):
        stat = await standin.send_autocomplete("history", "stat", character="x", stat="att")
        stat_answer = await standin.wait_for_kind(stat, "callback")
        patch = await standin.send_autocomplete("patch", "id", id="W4")
        patch_answer = await standin.wait_for_kind(patch, "callback")
    stat_names = [c["name"] for c in stat_answer.payload["data"]["choices"]]
    assert "Attack" in stat_names and "Health" not in stat_names
    patches = [c["value"] for c in patch_answer.payload["data"]["choices"]]
    assert patches[0] == store.current_patch()
    assert all("W4" in p for p in patches)


async def test_unknown_name_gets_did_you_mean_privately(standin, make_bot, store):
    who = first_character(store)
    async with running_bot(make_bot(), standin):
        sent = await standin.send_command("whois", character=who.name.split()[0] + " Qqqzzz")
        followup = await standin.wait_for_kind(sent, "followup")
    kinds = [r.kind for r in standin.requests_for(sent.token)]
    assert kinds == ["callback", "delete", "followup"]
    assert followup.payload["flags"] & EPHEMERAL
    assert "Did you mean" in followup.content
    assert followup.payload["allowed_mentions"] == {"parse": []}


async def test_streamed_answer_edits_at_most_once_a_second(standin, make_bot, store):
    reply = " ".join([ORC_REPLY] * 5)
    bot = make_bot(PacedGenerator([reply], delay=0.1))
    who = first_character(store, "orcish")
    async with running_bot(bot, standin):
        sent = await standin.send_command("ask", character=who.id, question="tell me of yourself")
        final = await standin.wait_for(
            lambda r: r.token == sent.token and r.kind == "edit"
            and not r.content.endswith(TYPING_MARK), timeout=20)
    edits = [r for r in standin.requests_for(sent.token) if r.kind == "edit"]
    assert len(edits) >= 3, "the answer was not streamed"
    gaps = [b.t - a.t for a, b in itertools.pairwise(edits)]
    assert min(gaps) >= 0.9 * bot.settings.stream_edit_interval_s, gaps
    assert all(len(r.content) <= 2000 for r in edits)
    assert final is edits[-1]
    assert final.content.startswith(reply)
    assert f"Patch {store.current_patch()}" in final.content
    assert all(reply.startswith(r.content[: -len(TYPING_MARK)]) for r in edits[:-1])


async def test_admin_commands_are_refused_to_members_and_allowed_to_admins(standin, make_bot):
    async with running_bot(make_bot(), standin):
        refused = await standin.send_command("status", permissions=MEMBER_PERMISSIONS)
        refusal = await standin.wait_for_kind(refused, "callback")
        allowed = await standin.send_command("status",
                                             permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
        status = await standin.wait_for_kind(allowed, "edit")
    assert refusal.payload["type"] == 4
    assert refusal.payload["data"]["flags"] & EPHEMERAL
    assert "Manage Server" in refusal.payload["data"]["content"]
    assert [r.kind for r in standin.requests_for(refused.token)] == ["callback"]
    fields = {f["name"]: f["value"] for f in status.payload["embeds"][0]["fields"]}
    assert fields["Request queue"] == "1 of 32"
    assert fields["Waiting for the model"] == "0"
    assert fields["Next import"] == "scheduler off"  # these tests turn the weekly job off
    assert "orcish" in fields["Adapters loaded"]


async def test_import_then_answers_show_new_values_without_restart(
        standin, make_bot, fresh_store):
    store = fresh_store
    who = first_character(store, "elvish")
    old = store.show(who.id).stats["attack"]
    new = old + 3 if old + 3 <= store.world.schema["attack"].maximum else old - 3
    patch = {"patch": "2026-W60", "released": "2027-02-22", "kind": "delta",
             "notes": "Discord import test.", "characters": [{"id": who.id,
                                                             "stats": {"attack": new}}]}
    admin = MEMBER_PERMISSIONS | MANAGE_GUILD
    async with running_bot(make_bot(on=store), standin):
        sent = await standin.send_command(
            "import", permissions=admin,
            attachment=("file", "2027-02-22_2026-W60.json", json.dumps(patch).encode()))
        report = await standin.wait_for_kind(sent, "edit", timeout=60)
        again = await standin.send_command("import", permissions=admin,
                                           attachment=("file", "again.json", b"{not json"))
        rejected = await standin.wait_for_kind(again, "followup")
        shown = await standin.send_command("stats", character=who.id)
        card = await standin.wait_for_kind(shown, "edit")
        asked = await standin.send_command("ask", character=who.id, question="what is your attack?")
        answer = await standin.wait_for(lambda r: r.token == asked.token and r.kind == "edit"
                                        and not r.content.endswith(TYPING_MARK))
    assert "2026-W60" in report.content and "imported" in report.content
    assert "rejected" in rejected.content and "again.json" in rejected.content
    assert rejected.payload["flags"] & EPHEMERAL
    fields = {f["name"]: f["value"] for f in card.payload["embeds"][0]["fields"]}
    assert fields["Attack"] == str(new)
    assert card.payload["embeds"][0]["footer"]["text"] == "Patch 2026-W60"
    assert f"Attack {new} · Patch 2026-W60" in answer.content


async def test_scheduler_runs_inside_the_bots_loop(standin, make_bot, fresh_store):
    config = make_config()
    config = dataclasses.replace(config, schedule=dataclasses.replace(config.schedule,
                                                                      enabled=True))
    bot = make_bot(config=config, on=fresh_store)
    ran_in: list[asyncio.AbstractEventLoop] = []

    async def probe_job() -> None:
        ran_in.append(asyncio.get_running_loop())

    async with running_bot(bot, standin):
        scheduler = bot.engine.scheduler
        assert scheduler is not None and scheduler.running
        assert any("import" in job.name for job in scheduler.get_jobs())
        assert bot.engine.status()["next_import"].endswith("T10:00+00:00")  # Tuesdays, UTC
        scheduler.add_job(probe_job, "date")
        for _ in range(100):
            if ran_in:
                break
            await asyncio.sleep(0.02)
        assert ran_in == [asyncio.get_running_loop()]


async def test_hostile_question_never_pings_anyone(standin, make_bot, store):
    hostile = "@everyone @here <@123456789012345678> <@&223456789012345678> listen!"
    bot = make_bot(ScriptedGenerator([f"Hear me {hostile} hrrm"]))
    who = first_character(store, "orcish")
    async with running_bot(bot, standin):
        asked = await standin.send_command("ask", character=who.id, question=hostile)
        await standin.wait_for(lambda r: r.token == asked.token and r.kind == "edit"
                               and not r.content.endswith(TYPING_MARK))
        named = await standin.send_command("stats", character=hostile)
        await standin.wait_for_kind(named, "followup")
    sent = standin.requests_for(asked.token) + standin.requests_for(named.token)
    assert all(mentions_blocked(r) for r in sent)
    text = json.dumps([r.payload for r in sent], ensure_ascii=False)
    for raw in ("@everyone", "@here", "<@1", "<@&"):
        assert raw not in text


async def test_cooldown_answers_politely(standin, make_bot, store):
    who = first_character(store)
    async with running_bot(make_bot(cooldown_s=30.0), standin):
        first = await standin.send_command("ask", character=who.id, question="who are you")
        await standin.wait_for_kind(first, "callback")
        second = await standin.send_command("ask", character=who.id, question="and now?")
        refusal = await standin.wait_for_kind(second, "callback")
        other_user = await standin.send_command("ask", user_id=7, character=who.id,
                                                question="who are you")
        other = await standin.wait_for_kind(other_user, "callback")
    assert refusal.payload["type"] == 4
    assert refusal.payload["data"]["flags"] & EPHEMERAL
    assert "again in" in refusal.payload["data"]["content"]
    assert other.payload["type"] == 5


async def test_unexpected_failure_is_logged_and_apologised_for(standin, make_bot, store, caplog):
    who = first_character(store)
    async with running_bot(make_bot(RaisingGenerator(["unused"])), standin):
        with caplog.at_level(logging.ERROR, logger="bot.discord_app.errors"):
            sent = await standin.send_command("ask", user_id=99, character=who.id,
                                              question="what is your attack?")
            apology = await standin.wait_for_kind(sent, "followup")
    assert apology.content == APOLOGY
    assert apology.payload["flags"] & EPHEMERAL
    record = next(r for r in caplog.records if "slash command failed" in r.getMessage())
    assert "'command': 'ask'" in record.getMessage() and "'user_id': 99" in record.getMessage()
    assert who.id in record.getMessage()
    assert record.exc_info is not None and "exploded" in str(record.exc_info[1])


@pytest.mark.parametrize(("command", "options", "check"), [
    ("compare", lambda s, a, b: {"a": a.id, "b": b.name}, "vs"),
    ("whois", lambda s, a, b: {"character": a.name}, "Faction"),
    ("patch", lambda s, a, b: {}, "Biggest buffs"),
    ("history", lambda s, a, b: {"character": a.id, "stat": "atk"}, "Attack"),
    ("changes", lambda s, a, b: {"character": a.id}, "Patch"),
])
async def test_every_view_command_answers(standin, make_bot, store, command, options, check):
    a, b = store.world.characters[0], store.world.characters[1]
    async with running_bot(make_bot(), standin):
        sent = await standin.send_command(command, **options(store, a, b))
        reply = await standin.wait_for(
            lambda r: r.token == sent.token and r.kind in ("edit", "followup")
            and not (r.content or "").endswith(TYPING_MARK))
    assert reply.kind == "edit", reply.payload
    assert check in json.dumps(reply.payload)
    if command == "history":
        (name, png), = reply.files
        assert name == "history.png" and png.startswith(b"\x89PNG")
        assert reply.payload["embeds"][0]["image"]["url"] == "attachment://history.png"


async def test_busy_reply_when_the_queue_is_full(standin, make_bot, store):
    bot = make_bot(PacedGenerator([ORC_REPLY], delay=0.2), queue_size=1)
    who = first_character(store)
    async with running_bot(bot, standin):
        first = await standin.send_command("ask", user_id=1, character=who.id, question="hi")
        await standin.wait_for_kind(first, "callback")
        second = await standin.send_command("ask", user_id=2, character=who.id, question="hi")
        busy = await standin.wait_for_kind(second, "callback")
    assert busy.payload["type"] == 4
    assert busy.payload["data"]["content"] == BUSY_TEXT
    assert busy.payload["data"]["flags"] & EPHEMERAL


async def test_failing_autocomplete_is_logged_and_answers_nothing(standin, make_bot, caplog):
    bot = make_bot()

    def broken(text: str, limit: int = 25) -> list:
        raise RuntimeError("roster unavailable")

    bot.engine.suggest = broken
    async with running_bot(bot, standin):
        with caplog.at_level(logging.ERROR, logger="bot.discord_app.errors"):
            sent = await standin.send_autocomplete("whois", "character", character="gru")
            ok = await standin.send_autocomplete("patch", "id", id="W4")
            await standin.wait_for_kind(ok, "callback")
            await asyncio.sleep(0.2)
    assert standin.requests_for(sent.token) == []
    assert any("roster unavailable" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


async def test_top_shows_a_ranking_embed_without_generation(standin, make_bot, store):
    generator = ScriptedGenerator([ORC_REPLY])
    async with running_bot(make_bot(generator), standin):
        before = len(generator.calls)  # (start-up may warm the model up)
        sent = await standin.send_command("top", stat="speed", faction="elvish", count=5)
        shown = await standin.wait_for_kind(sent, "edit")
        generated = len(generator.calls) - before
        bad = await standin.send_command("top", stat="stamina")
        refused = await standin.wait_for_kind(bad, "followup")
    embed = shown.payload["embeds"][0]
    lines = embed["description"].splitlines()
    assert len(lines) == 5 and lines[0].startswith("**1.**") and "Elvish" in embed["title"]
    assert embed["footer"]["text"].startswith("Speed, highest first · Patch 2026-W48")
    assert generated == 0  # no generation
    assert "No stat called" in refused.content and refused.payload["flags"] & EPHEMERAL


async def test_ask_without_a_character_asks_the_last_one_in_that_channel(
        standin, make_bot, fresh_store):
    who = first_character(fresh_store, "orcish")
    async with running_bot(make_bot(ScriptedGenerator(["Grr."] * 4), on=fresh_store), standin):
        first = await standin.send_command("ask", character=who.id, question="what is your hp?")
        await standin.wait_for(lambda r: r.token == first.token and r.kind == "edit"
                               and not r.content.endswith(TYPING_MARK))
        nxt = await standin.send_command("ask", question="and your defense?")
        answer = await standin.wait_for(lambda r: r.token == nxt.token and r.kind == "edit"
                                        and not r.content.endswith(TYPING_MARK))
    defense = fresh_store.show(who.id).stats["defense"]
    assert f"Defense {defense} · Patch 2026-W48" in answer.content
