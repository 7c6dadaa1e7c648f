"""LoRA training of one faction's voice, on CPU or CUDA.

    python -m training.train --faction orcish                     # the shipped adapter
    python -m training.train --faction elvish --max-steps 5 --output /tmp/smoke
    python -m training.train --faction orcish --set lora_r=8 --learning-rate 5e-4

Settings come from `[training]` in config.toml; every key can be overridden with `--KEY VALUE`
or `--set KEY=VALUE`, and an unknown key is an error. Only the answer tokens are trained on (the
prompt is masked in the labels). The adapter folder receives the peft adapter
(`adapter_config.json`, `adapter_model.safetensors`), `training_meta.json` (the resolved
configuration, the data hash, the facts layout, the base model id), `metrics.json` and
`loss.png`. A run that stops early resumes from `<output>/checkpoints/` when started again with
the same configuration and data; `--fresh` ignores the checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from characters.config import REPO_ROOT, ConfigError, TrainingConfig, get_config
from characters.voices import voiced_factions
from characters.world import World, get_world
from training.adapter_files import (
    ADAPTER_DTYPE,
    convert_for_llama,
    load_checkpoint,
    plot_loss,
    save_adapter,
    save_checkpoint,
)
from training.dialogue_data import (
    DIALOGUE_DIR,
    DialogueError,
    Example,
    data_hash,
    data_layout,
    data_path,
    load_examples,
)
from training.prompt import build_chat_messages, build_messages

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

IGNORE = -100
PAD_MULTIPLE = 32


class TrainingError(RuntimeError):
    """Training cannot start or continue."""


@dataclass(frozen=True)
class Encoded:
    """One tokenized conversation: input ids and labels with the prompt masked."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]


def apply_overrides(base: TrainingConfig, overrides: dict[str, str]) -> TrainingConfig:
    """A copy of `base` with string overrides converted to each key's type."""
    fields = {f.name: f for f in dataclasses.fields(TrainingConfig)}
    values = {}
    for key, text in overrides.items():
        if key not in fields:
            raise ConfigError(f"unknown training key {key!r} (known: {', '.join(sorted(fields))})")
        current = getattr(base, key)
        try:
            if isinstance(current, tuple):
                values[key] = tuple(part.strip() for part in text.split(",") if part.strip())
            elif isinstance(current, bool):
                values[key] = text.lower() in ("1", "true", "yes")
            else:
                values[key] = type(current)(text)
        except ValueError as exc:
            raise ConfigError(f"training.{key}: cannot read {text!r} as {type(current).__name__}"
                              ) from exc
    config = dataclasses.replace(base, **values)
    if config.bf16 not in ("auto", "yes", "no"):
        raise ConfigError("training.bf16 must be 'auto', 'yes' or 'no'")
    return config


def encode(tokenizer: PreTrainedTokenizerBase, world: World, example: Example) -> Encoded:
    """Tokenize one example with the shared prompt format; only the answer carries labels."""
    character = world.character(example.character_id)
    faction = world.faction(example.faction)
    prompt = tokenizer.apply_chat_template(
        build_messages(character, faction, example.facts, example.question),
        tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        build_chat_messages(character, faction, example.facts, example.question, example.answer),
        tokenize=False).rstrip("\n")
    if not full.startswith(prompt):
        raise TrainingError(f"{example.id}: the chat template does not extend the prompt")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    ids = (*prompt_ids, *answer_ids)
    return Encoded(ids, (IGNORE,) * len(prompt_ids) + tuple(answer_ids))


def batch_schedule(lengths: list[int], batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Which examples each step trains on: shuffled epochs, batches of similar length."""
    rng = random.Random(seed)
    schedule: list[list[int]] = []
    while len(schedule) < steps:
        order = list(range(len(lengths)))
        rng.shuffle(order)
        window = batch_size * 16
        batches = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
            batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        schedule += [b for b in batches if len(b) == batch_size] or batches
    return schedule[:steps]


def collate(items: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded tensors: input_ids, attention_mask, labels."""
    import torch

    width = max(len(e.input_ids) for e in items)
    width = -(-width // PAD_MULTIPLE) * PAD_MULTIPLE  # few distinct shapes: kernels are reused
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, e in enumerate(items):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def answer_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean next-token loss over the answer tokens, projecting only those to the vocabulary."""
    import torch.nn.functional as F

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = inner.model(input_ids=batch["input_ids"],
                         attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = inner.get_output_embeddings()(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def lr_at(step: int, config: TrainingConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.max_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def target_modules(config: TrainingConfig) -> list[str] | str:
    """The modules LoRA wraps: module names, or one `re:` regular expression over full names.

    A regex such as `re:.*layers\\.(1[8-9]|2[0-9])\\..*_proj` puts LoRA on the projections of the
    top layers only, so the backward pass stops there: the cheap setting for a small CPU.
    """
    names = list(config.target_modules)
    if len(names) == 1 and names[0].startswith("re:"):
        return names[0][3:]
    return names


def lora_model(base: torch.nn.Module, config: TrainingConfig) -> torch.nn.Module:
    """The base model wrapped with fresh LoRA adapters on the configured projections."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=target_modules(config),
                      task_type="CAUSAL_LM", bias="none")
    return get_peft_model(base, lora)


def train(faction: str, config: TrainingConfig, output: Path, device: str | None = None,
          fresh: bool = False, quiet: bool = False, base: tuple | None = None,
          world: World | None = None, data_dir: Path = DIALOGUE_DIR) -> dict[str, object]:
    """Train one faction's adapter into `output`; return the metrics.

    `base` is an already loaded (model, tokenizer) to wrap instead of loading one; the trained
    peft model is then left in `metrics["model"]`. `world` and `data_dir` default to the shipped
    world and `characters/dialogue`.
    """
    import torch
    from tqdm import tqdm

    from training.base_model import load_base_model, model_id, pick_device, pick_dtype

    world = world or get_world()
    examples = load_examples(faction, "train", data_dir)
    full_config = dataclasses.replace(get_config(), training=config)
    device = pick_device(device)
    dtype = pick_dtype(device, config.bf16)
    given = False
    if base is None:
        base, tokenizer = load_base_model(full_config, device, dtype)
    else:
        (base, tokenizer), given = base, True
        dtype = next(base.parameters()).dtype
    encoded = [encode(tokenizer, world, e) for e in examples]
    kept = [e for e in encoded if len(e.input_ids) <= config.max_seq_len]
    if not kept:
        raise TrainingError(f"no example fits max_seq_len={config.max_seq_len}")
    torch.manual_seed(config.seed)
    model = lora_model(base, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    schedule = batch_schedule([len(e.input_ids) for e in kept], config.batch_size,
                              config.max_steps, config.seed)
    signature = {"config": dataclasses.asdict(config), "data": data_hash(faction, data_dir),
                 "dtype": str(dtype)}
    checkpoint = output / "checkpoints" / "latest"
    # skipped: steps whose loss or gradient was not finite, so no update was made
    step, history, skipped = ((0, [], []) if fresh else
                              load_checkpoint(model, optimizer, checkpoint, signature))
    tokens = supervised = 0
    started = time.perf_counter()
    bar = tqdm(range(step, config.max_steps), initial=step, total=config.max_steps,
               desc=f"train {faction}", disable=quiet, dynamic_ncols=True)
    for step in bar:
        torch.manual_seed(config.seed * 100_003 + step)
        batch = {k: v.to(device) for k, v in collate(
            [kept[i] for i in schedule[step]], tokenizer.pad_token_id).items()}
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        loss = answer_loss(model, batch)
        loss.backward()
        loss = float(loss.detach())
        norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
        if math.isfinite(loss) and math.isfinite(norm):
            optimizer.step()
        else:  # one overflowing batch must not turn every adapter weight into NaN
            skipped.append(step + 1)
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
        supervised += int((batch["labels"] != IGNORE).sum())
        history.append((step + 1, round(loss, 4)))
        bar.set_postfix(loss=f"{loss:.3f}")
        if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.max_steps:
            save_checkpoint(model, optimizer, checkpoint, step + 1, history, skipped, signature)
    wall = time.perf_counter() - started
    base_id = model_id(config.base_model)
    save_adapter(model, output, base_id)
    tail = [v for _, v in history[-max(1, config.log_every):] if math.isfinite(v)] or [math.nan]
    metrics = {
        "faction": faction, "steps": config.max_steps, "wall_s": round(wall, 1),
        "tokens": tokens, "tokens_per_s": round(tokens / wall, 1) if wall else None,
        "supervised_tokens": supervised, "final_loss": round(sum(tail) / len(tail), 4),
        "skipped_nonfinite_steps": skipped,
        "examples_available": len(examples), "examples_skipped_too_long": len(encoded) - len(kept),
        "examples_seen": config.max_steps * config.batch_size, "device": device,
        "dtype": str(dtype).removeprefix("torch."), "threads": torch.get_num_threads(),
        "loss_history": history,
    }
    meta = {
        "faction": faction, "base_model": config.base_model,
        "base_model_id": base_id,
        "data_file": _shown_path(data_path(faction, "train", data_dir)),
        "data_sha256": data_hash(faction, data_dir), "facts_layout": data_layout(faction),
        "adapter_dtype": ADAPTER_DTYPE,
        "config": dataclasses.asdict(config), "torch": torch.__version__,
    }
    (output / "training_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    (output / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    plot_loss(history, output / "loss.png", f"{faction} LoRA, r={config.lora_r}")
    shutil.rmtree(output / "checkpoints", ignore_errors=True)
    return {**metrics, "model": model} if given else metrics


def _shown_path(path: Path) -> str:
    """`path` relative to the repository when it lies inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train one faction's LoRA voice adapter.")
    parser.add_argument("--faction", required=True,
                        help="a faction with a voice folder in characters/voices, e.g. orcish")
    parser.add_argument("--output", type=Path, help="adapter folder (default: adapters_dir/F)")
    parser.add_argument("--device", help="cpu or cuda (default: CUDA when present)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="CPU threads for torch")
    parser.add_argument("--fresh", action="store_true", help="ignore any checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any [training] key")
    for f in dataclasses.fields(TrainingConfig):
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f"key_{f.name}",
                            metavar="VALUE", help=f"override training.{f.name}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set if "=" in item)
    overrides |= {k[4:]: v for k, v in vars(args).items() if k.startswith("key_") and v}
    try:
        config = apply_overrides(get_config().training, overrides)
        # A voice folder is enough to train; [training].factions lists the adapters that ship.
        if args.faction not in voiced_factions():
            raise ConfigError(f"faction {args.faction!r} has no voice folder in "
                              f"characters/voices (voiced: {', '.join(voiced_factions())})")
        import torch

        torch.set_num_threads(max(1, args.threads))
        output = args.output or REPO_ROOT / config.adapters_dir / args.faction
        metrics = train(args.faction, config, Path(output), args.device, args.fresh)
    except (ConfigError, DialogueError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved {output}: {metrics['steps']} steps in {metrics['wall_s']} s, "
          f"{metrics['tokens_per_s']} tokens/s, final loss {metrics['final_loss']}")
    if metrics["skipped_nonfinite_steps"]:
        steps = metrics["skipped_nonfinite_steps"]
        print(f"warning: {len(steps)} steps made no update (loss or gradient not finite): "
              f"{steps[:10]}{' ...' if len(steps) > 10 else ''}", file=sys.stderr)
    convert_for_llama(Path(output))  # so the bot's next start finds its llama.cpp adapter
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
