"""The Discord bot under a burst: 50 concurrent /ask through the real discord.py client.

The bot talks to the loopback stand-in for Discord (tests/discord_standin.py) and answers from
the seeded data folder (`make setup`); the model is a ScriptedGenerator paced at 30 ms per
8 characters. Targets: every ask answered or told "busy"; the event loop never stalls 100 ms;
every interaction acknowledged well inside Discord's 3 s.

    python -m bench overload
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from collections import Counter

CONCURRENT_ASKS = 50
QUESTIONS = ["how hard do you hit?", "what is your health?", "tell me about your home",
             "how fast are you?", "what changed for you lately?"]


async def _burst() -> dict[str, object]:
    import pytest

    from bot.discord_app import LorekeeperBot
    from bot.discord_app.constants import BUSY_TEXT
    from bot.engine import Engine
    from characters.config import get_config
    from stats_db.datafolder import open_store
    from tests.discord_standin import (
        GUILD_ID,
        DiscordStandIn,
        PacedGenerator,
        point_discord_at,
        run_overload,
        running_bot,
    )

    config = get_config()
    config = dataclasses.replace(
        config, bot=dataclasses.replace(config.bot, test_guild_id=GUILD_ID),
        schedule=dataclasses.replace(config.schedule, enabled=False))
    store = open_store(config.data_dir)
    generator = PacedGenerator(["Hrrm, strong I am, puny one, my axe is hungry."], delay=0.03)
    engine = Engine(store, generator, config=config, voice_scorer=None)
    standin = DiscordStandIn()
    await standin.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            point_discord_at(standin, patch)
            bot = LorekeeperBot(engine, config, guild_ready_timeout=0.1)
            who = store.world.characters[0]
            questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(CONCURRENT_ASKS)]
            async with running_bot(bot, standin):
                outcomes, probe = await run_overload(standin, who.id, questions, BUSY_TEXT,
                                                     "Patch ")
    finally:
        await standin.close()
        store.close()
    counts = Counter(o.verdict for o in outcomes)
    first = sorted(o.defer_s for o in outcomes)
    answered = sorted(o.done_s for o in outcomes if o.verdict == "answered")
    return {
        "concurrent_asks": CONCURRENT_ASKS,
        "queue_size": config.bot.queue_size,
        "answered": counts["answered"],
        "busy": counts["busy"],
        "lost_or_error": CONCURRENT_ASKS - counts["answered"] - counts["busy"],
        "first_reply_p50_ms": round(statistics.median(first) * 1000, 1),
        "first_reply_max_ms": round(first[-1] * 1000, 1),
        "answer_p50_s": round(statistics.median(answered), 2) if answered else None,
        "answer_max_s": round(answered[-1], 2) if answered else None,
        "max_loop_lag_ms": round(probe.max_lag * 1000, 1),
        "loop_lag_samples": probe.samples,
    }


def run() -> dict[str, object]:
    started = time.perf_counter()
    figures = asyncio.run(_burst())
    figures["burst_wall_s"] = round(time.perf_counter() - started, 2)
    return figures
