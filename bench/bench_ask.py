"""`/ask` speed: engine.ask end to end with the real LocalGenerator and the shipped adapters.

Typical one-stat questions to characters of every faction, asked one at a time after a warm-up:
p50/p95 latency, time to the first streamed text, and how often regeneration or the template
was needed. Also the bot's start to ready (a fresh `python -m bot run --console` process, model
cached, OMP_NUM_THREADS=BENCH_TORCH_THREADS) as its ready line reports it and as the wall clock
sees it. BENCH_TORCH_THREADS (default 1) sets the torch threads of both.
`peak_rss_gb` is that bot process's peak resident memory (after its warm-up).
Targets (the decode issue): p50 <= 0.8 s, first text <= 0.3 s, start to ready <= 8 s, resident
memory <= 1.5 GB.

Uses the data folder of the config (LOREKEEPER_HOME) when it is seeded, else seeds a temporary one.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = ["What is your attack?", "How much health do you have?", "What is your speed?",
             "What's your crit chance?", "What is your attack speed?", "What level are you?"]
N_CHARACTERS = 8
# torch threads for the generator: on a shared 2-core machine, 2 threads run ~10x slower.
THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "1"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _data_dir() -> tuple[Path, Path | None]:
    """A seeded data folder (the configured one, else a temporary seeded one)."""
    from characters.config import get_config
    from stats_db.datafolder import open_store
    from stats_db.ingest import seed

    configured = get_config().data_dir
    if configured.exists():
        store = open_store(configured)
        if store.patches():
            return configured, None
    temp = Path(tempfile.mkdtemp(prefix="lorekeeper-bench-"))
    seed(open_store(temp / "data"))
    return temp / "data", temp


def _start_to_ready(data_dir: Path) -> dict[str, float | None]:
    env = {**os.environ, "LOREKEEPER_HOME": str(data_dir), "OMP_NUM_THREADS": str(THREADS)}
    env.pop("DISCORD_TOKEN", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--console"], input="/quit\n",
                          capture_output=True, text=True, timeout=300, env=env)
    wall = time.perf_counter() - started
    match = re.search(r"ready in ([\d.]+) s", done.stdout)
    import resource

    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the only child so far
    return {"start_to_ready_reported_s": float(match.group(1)) if match else None,
            "start_to_ready_wall_s": round(wall, 2),
            "peak_rss_gb": round(peak_kib * 1024 / 1e9, 2)}


def run() -> dict[str, object]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.engine import Engine
    from bot.generation.local import LocalGenerator
    from stats_db.datafolder import open_store

    data_dir, temp = _data_dir()
    try:
        figures: dict[str, object] = dict(_start_to_ready(data_dir))
        store = open_store(data_dir)
        generator = LocalGenerator(num_threads=THREADS)
        engine = Engine(store, generator)
        engine.warmup()
        by_faction: dict[str, list[str]] = {}
        for character in store.characters():
            by_faction.setdefault(character.faction, []).append(character.id)
        per = max(1, N_CHARACTERS // len(by_faction))
        cast = [cid for ids in by_faction.values() for cid in ids[:per]]
        latencies, first_text, fallbacks, regenerated = [], [], 0, 0
        for i, cid in enumerate(cast):
            question = QUESTIONS[i % len(QUESTIONS)]
            first: list[float] = []
            started = time.perf_counter()
            answer = engine.ask(cid, question, on_text=lambda _t, f=first, s=started:
                                f.append(time.perf_counter() - s) if not f else None)
            latencies.append(time.perf_counter() - started)
            first_text.append(first[0] if first else latencies[-1])
            fallbacks += answer.fallback
            regenerated += answer.regenerated
        generator.close()
        figures.update({
            "questions": len(cast),
            "adapters": ",".join(generator.adapters) or "none",
            "engine": generator.engine_name,
            "ask_p50_s": round(statistics.median(latencies), 3),
            "ask_p95_s": round(_percentile(latencies, 0.95), 3),
            "first_text_p50_s": round(statistics.median(first_text), 3),
            "first_text_p95_s": round(_percentile(first_text, 0.95), 3),
            "regenerated": regenerated,
            "fallback": fallbacks,
            "cpu_count": os.cpu_count(), "torch_threads": THREADS,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "target_p50_s": 0.8, "target_first_text_s": 0.3, "target_ready_s": 8.0,
            "target_rss_gb": 1.5,
        })
        return figures
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
