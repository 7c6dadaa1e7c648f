"""Training speed: tokens per second over a few steps of the default configuration, and the wall
time of the shipped adapters' default run, read from their metrics.json.

Only a few steps run here (BENCH_STEPS); the full run's figures come from training itself.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

from characters.config import REPO_ROOT, get_config

BENCH_STEPS = 3
TARGET_WALL_S = 20 * 60


def run() -> dict[str, object]:
    from training.train import train

    config = get_config().training
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        short = dataclasses.replace(config, max_steps=BENCH_STEPS,
                                    warmup_steps=min(config.warmup_steps, BENCH_STEPS))
        metrics = train(config.factions[0], short, Path(tmp) / "bench", fresh=True, quiet=True)
    figures["bench_steps"] = BENCH_STEPS
    figures["bench_tokens_per_s"] = metrics["tokens_per_s"]
    figures["bench_s_per_step"] = round(metrics["wall_s"] / BENCH_STEPS, 2)
    figures["dtype"] = metrics["dtype"]
    figures["threads"] = metrics["threads"]
    for faction in config.factions:
        path = REPO_ROOT / config.adapters_dir / faction / "metrics.json"
        if not path.exists():
            figures[f"{faction}_default_run"] = "no shipped metrics.json"
            continue
        shipped = json.loads(path.read_text())
        figures[f"{faction}_default_run_wall_s"] = shipped["wall_s"]
        figures[f"{faction}_default_run_steps"] = shipped["steps"]
        figures[f"{faction}_default_run_tokens_per_s"] = shipped["tokens_per_s"]
    figures["target_wall_s"] = TARGET_WALL_S
    return figures
