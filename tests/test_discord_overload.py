"""Overload: 50 concurrent /ask through the real client; none lost, the loop never blocked."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter

import pytest

from bot.discord_app import LorekeeperBot
from bot.discord_app.constants import BUSY_TEXT
from bot.discord_app.limits import INTERACTION_DEADLINE_S
from bot.engine import Engine
from characters.config import get_config
from tests.discord_standin import (
    GUILD_ID,
    DiscordStandIn,
    PacedGenerator,
    point_discord_at,
    run_overload,
    running_bot,
)

CONCURRENT_ASKS = 50
MAX_LOOP_LAG_S = 0.100
QUESTIONS = ["how hard do you hit?", "what is your health?", "tell me about your home",
             "how fast are you?", "what changed for you lately?"]


@pytest.fixture
async def standin(monkeypatch):
    server = DiscordStandIn()
    await server.start()
    point_discord_at(server, monkeypatch)
    yield server
    await server.close()


async def test_fifty_concurrent_asks_are_answered_or_told_busy(standin, seeded_store):
    config = get_config()
    config = dataclasses.replace(
        config, bot=dataclasses.replace(config.bot, test_guild_id=GUILD_ID),
        schedule=dataclasses.replace(config.schedule, enabled=False))
    generator = PacedGenerator(["Hrrm, strong I am, puny one, my axe is hungry."], delay=0.03)
    engine = Engine(seeded_store, generator, config=config, voice_scorer=None)
    bot = LorekeeperBot(engine, config, guild_ready_timeout=0.1)
    who = seeded_store.world.characters[0]
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(CONCURRENT_ASKS)]
    async with running_bot(bot, standin):
        outcomes, probe = await run_overload(standin, who.id, questions, BUSY_TEXT, "Patch ")
        depth_after = bot.gate.depth
    counts = Counter(o.verdict for o in outcomes)
    defer = [o.defer_s for o in outcomes]
    worst = sorted(probe.spikes, key=lambda spike: -spike[1])[:3]
    print(f"\n{dict(counts)}; worst loop stalls {[round(lag * 1000) for _, lag in worst]} ms; "
          f"defer/first reply p50 {statistics.median(defer) * 1000:.0f} ms, "
          f"max {max(defer) * 1000:.0f} ms; max loop lag {probe.max_lag * 1000:.1f} ms "
          f"over {probe.samples} samples; slowest answer {max(o.done_s for o in outcomes):.1f} s")
    assert len(outcomes) == CONCURRENT_ASKS
    assert set(counts) <= {"answered", "busy"}, counts
    assert counts["answered"] >= config.bot.queue_size
    assert counts["busy"] == CONCURRENT_ASKS - counts["answered"]
    assert counts["busy"] > 0, "50 asks at once should overflow a queue of 32"
    assert max(defer) < INTERACTION_DEADLINE_S
    assert probe.samples > 50
    assert probe.max_lag < MAX_LOOP_LAG_S, f"the event loop blocked for {probe.max_lag:.3f} s"
    assert depth_after == 0
