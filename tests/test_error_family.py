"""One error family: every error a player or a moderator can cause reaches each front end as a
clear message. The console keeps running, the CLI exits 2 (3 for a busy generator, as
documented), Discord answers privately.

Kinds: unknown character, unknown patch, a character asked about before its release, unknown
stat, busy, rejected patch.
"""

from __future__ import annotations

import io
import json

import pytest

from bot import cli as bot_cli
from bot.console import Console
from bot.discord_app import LorekeeperBot
from bot.engine import Engine
from bot.generation.base import GeneratorBusy, ScriptedGenerator
from tests.bot_fixtures import make_engine
from tests.discord_standin import (
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    DiscordStandIn,
    point_discord_at,
    running_bot,
)
from tests.test_discord_e2e import EPHEMERAL, ORC_REPLY, make_config

BAD_PATCH = {"patch": "2026-W60", "released": "2027-02-22", "kind": "delta",
             "characters": [{"id": "hagga-grim-eye", "stats": {"health_regen": 11.97}}]}


class BusyGenerator(ScriptedGenerator):
    """A generator whose queue is always full."""

    def generate(self, messages, adapter, max_new_tokens=None):
        raise GeneratorBusy("queue full")


def _say(console: Console, line: str) -> str:
    console.out.seek(0)
    console.out.truncate()
    assert console.handle(line)  # the console keeps running
    return console.out.getvalue()


@pytest.mark.parametrize(("line", "expected"), [
    ("/stats Zzqx Vvbnq", "No character called"),
    ("/stats hagga grim-eye 2026-W99", "No patch called"),
    ("/stats brugzag war-eye 2026-W40", "Brugzag War-Eye arrived in patch 2026-W46; patch "
                                        "2026-W40 has no stats"),
    ("/history hagga grim-eye charisma", "No stat called"),
])
def test_console_explains_each_error_and_keeps_running(seeded_store, tmp_path, line, expected):
    console = Console(make_engine(seeded_store, ["Grr."]), io.StringIO(), tmp_path)
    assert expected in _say(console, line)
    assert "Hagga Grim-Eye" in _say(console, "/stats hagga grim-eye")


def test_console_busy_and_rejected_patch(seeded_store, fresh_store, tmp_path):
    engine = Engine(seeded_store, BusyGenerator(["x"]), voice_scorer=None)
    busy = Console(engine, io.StringIO(), tmp_path)
    assert "The lorekeeper is busy" in _say(busy, "/ask hagga grim-eye what is your attack?")
    console = Console(make_engine(fresh_store, ["Grr."]), io.StringIO(), tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(BAD_PATCH))
    out = _say(console, f"/import {bad}")
    assert "rejected" in out and "11.97 has 2 decimal places" in out
    assert "Hagga Grim-Eye" in _say(console, "/stats hagga grim-eye")


@pytest.mark.parametrize(("argv", "code", "expected"), [
    (["ask", "Zzqx Vvbnq", "hi"], 2, "No character called"),
    (["ask", "hagga grim-eye", "hi", "--patch", "2026-W99"], 2, "No patch called"),
    (["ask", "brugzag war-eye", "what is your attack?", "--patch", "2026-W40"], 2,
     "arrived in patch 2026-W46"),
    (["ask", "hagga grim-eye", "hi", "--adapter", "gnomish"], 2, "No voice adapter"),
])
def test_bot_cli_exits_2_with_the_message(seeded_store, argv, code, expected):
    engine = make_engine(seeded_store, ["Grr."])
    out, err = io.StringIO(), io.StringIO()
    assert bot_cli.main(argv, engine_factory=lambda: engine, out=out, err=err) == code
    assert expected in err.getvalue() and "Traceback" not in err.getvalue()


def test_bot_cli_busy_exits_3(seeded_store):
    engine = Engine(seeded_store, BusyGenerator(["x"]), voice_scorer=None)
    out, err = io.StringIO(), io.StringIO()
    argv = ["ask", "hagga grim-eye", "what is your attack?", "--json"]
    assert bot_cli.main(argv, engine_factory=lambda: engine, out=out, err=err) == 3
    assert json.loads(out.getvalue())["kind"] == "Busy"


# --- Discord: the real discord.py client against the loopback stand-in -----------------------

@pytest.fixture
async def standin(monkeypatch):
    server = DiscordStandIn(heartbeat_interval_s=0.2)
    await server.start()
    point_discord_at(server, monkeypatch)
    yield server
    await server.close()


@pytest.fixture
def make_bot(seeded_store):
    """A bot over the seeded store (or `on`), with a given generator."""

    def build(generator=None, *, on=None) -> LorekeeperBot:
        config = make_config()
        engine = Engine(on or seeded_store, generator or ScriptedGenerator([ORC_REPLY]),
                        config=config, voice_scorer=None)
        return LorekeeperBot(engine, config, guild_ready_timeout=0.1)

    return build


@pytest.mark.parametrize(("command", "options", "expected"), [
    ("stats", {"character": "Zzqx Vvbnq"}, "No character called"),
    ("stats", {"character": "hagga-grim-eye", "patch": "2026-W99"}, "No patch called"),
    ("stats", {"character": "brugzag-war-eye", "patch": "2026-W40"}, "arrived in patch 2026-W46"),
    ("history", {"character": "hagga-grim-eye", "stat": "charisma"}, "No stat called"),
])
async def test_discord_answers_each_error_privately(standin, make_bot, command, options,
                                                    expected):
    async with running_bot(make_bot(), standin):
        sent = await standin.send_command(command, **options)
        reply = await standin.wait_for_kind(sent, "followup")
    assert reply.payload["flags"] & EPHEMERAL
    assert expected in reply.content


async def test_discord_busy_rejected_patch_and_rollback_refusal(standin, make_bot, fresh_store):
    admin = MEMBER_PERMISSIONS | MANAGE_GUILD
    async with running_bot(make_bot(BusyGenerator(["x"])), standin):
        asked = await standin.send_command("ask", character="hagga-grim-eye", question="hi")
        busy = await standin.wait_for_kind(asked, "followup")
    assert busy.payload["flags"] & EPHEMERAL and "busy" in busy.content
    async with running_bot(make_bot(on=fresh_store), standin):
        sent = await standin.send_command(
            "import", permissions=admin,
            attachment=("file", "bad.json", json.dumps(BAD_PATCH).encode()))
        rejected = await standin.wait_for_kind(sent, "followup", timeout=60)
        refused = await standin.send_command("rollback", permissions=admin, patch="2026-W47",
                                             confirm="2026-W47")
        refusal = await standin.wait_for_kind(refused, "followup")
    assert rejected.payload["flags"] & EPHEMERAL
    assert "rejected" in rejected.content and "decimal places" in rejected.content
    assert refusal.payload["flags"] & EPHEMERAL and "is not the latest" in refusal.content


async def test_discord_rollback_asks_first_then_rolls_back(standin, make_bot, fresh_store):
    admin = MEMBER_PERMISSIONS | MANAGE_GUILD
    latest = fresh_store.current_patch()
    async with running_bot(make_bot(on=fresh_store), standin):
        asked = await standin.send_command("rollback", permissions=admin, patch=latest)
        question = await standin.wait_for_kind(asked, "callback")
        assert fresh_store.current_patch() == latest  # nothing happens before confirming
        sent = await standin.send_command("rollback", permissions=admin, patch=latest,
                                          confirm=latest)
        done = await standin.wait_for_kind(sent, "edit", timeout=60)
    data = question.payload["data"]
    assert data["flags"] & EPHEMERAL and f"confirm:{latest}" in data["content"]
    assert f"Patch `{latest}` was rolled back" in done.content
    assert fresh_store.current_patch() != latest and fresh_store.check_index() == []
