"""Training speed: tokens per second over a few steps of the default configuration (on the CPU,
and on CUDA too where there is a GPU), and the wall time of the shipped adapters' default run,
read from their metrics.json.

Only a few steps run here (BENCH_STEPS); the full run's figures come from training itself. The
default run timed on an H100 is kept in bench/train_cuda_h100.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from characters.config import REPO_ROOT, get_config

BENCH_STEPS = 3
TARGET_WALL_S = 20 * 60


def run() -> dict[str, object]:
    import torch

    from training.train import train

    torch.set_num_threads(os.cpu_count() or 1)  # as training runs; another bench may have set 1
    config = get_config().training
    figures: dict[str, object] = {}
    short = dataclasses.replace(config, max_steps=BENCH_STEPS,
                                warmup_steps=min(config.warmup_steps, BENCH_STEPS))
    with tempfile.TemporaryDirectory() as tmp:  # untimed: the process's first step pays set-up
        train(config.factions[0], dataclasses.replace(short, max_steps=1), Path(tmp) / "warm",
              device="cpu", fresh=True, quiet=True)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    figures["bench_steps"] = BENCH_STEPS
    for device in devices:
        with tempfile.TemporaryDirectory() as tmp:
            metrics = train(config.factions[0], short, Path(tmp) / "bench", device=device,
                            fresh=True, quiet=True)
        prefix = "bench" if device == "cpu" else "cuda_bench"
        figures[f"{prefix}_tokens_per_s"] = metrics["tokens_per_s"]
        figures[f"{prefix}_s_per_step"] = round(metrics["wall_s"] / BENCH_STEPS, 2)
        figures[f"{prefix}_dtype"] = metrics["dtype"]
    figures["threads"] = metrics["threads"]
    # the same steps with LoRA dropout 0.05, the earlier default: its masks cost CPU time
    with tempfile.TemporaryDirectory() as tmp:
        dropout = train(config.factions[0], dataclasses.replace(short, lora_dropout=0.05),
                        Path(tmp) / "bench", device="cpu", fresh=True, quiet=True)
    figures["with_dropout_0.05_s_per_step"] = round(dropout["wall_s"] / BENCH_STEPS, 2)
    figures["dropout_0.05_x_slower"] = round(
        figures["with_dropout_0.05_s_per_step"] / figures["bench_s_per_step"], 2)
    if len(devices) == 1:
        figures["cuda"] = "no GPU here; bench/train_cuda_h100.json holds an H100 run"
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
