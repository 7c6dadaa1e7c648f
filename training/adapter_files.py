"""The files a training run writes: the adapter in bf16, its loss curve, the checkpoints it
resumes from, and the GGUF LoRA the bot's llama.cpp engine serves."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from characters.config import get_config

if TYPE_CHECKING:
    import torch

ADAPTER_DTYPE = "bfloat16"  # adapter weights are stored in bf16: half the size, same quality


def save_adapter(model: torch.nn.Module, folder: Path, base_id: str | None = None) -> None:
    """Save the adapter in ADAPTER_DTYPE, rounding the live weights the same way.

    `base_id` replaces the base model's path in adapter_config.json with a portable name.
    """
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    dtype = getattr(torch, ADAPTER_DTYPE)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(p.to(dtype).to(p.dtype))
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(dtype).contiguous().cpu()
             for k, v in get_peft_model_state_dict(model).items()}
    peft_config = model.peft_config["default"]
    if base_id:
        peft_config.base_model_name_or_path = base_id
    peft_config.save_pretrained(str(folder))
    save_file(state, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})


def plot_loss(history: list[tuple[int, float]], path: Path, title: str) -> None:
    """The loss curve as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s for s, _ in history], [v for _, v in history], lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("answer-token loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_checkpoint(model, optimizer, folder: Path, step: int, history, skipped: list[int],
                    signature: dict) -> None:
    """The trainable weights, the optimizer and the loss so far, written whole or not at all
    (a `.partial` folder renamed into place)."""
    import torch

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    torch.save({"step": step, "history": history, "skipped": skipped, "signature": signature,
                "params": trainable,
                "optimizer": optimizer.state_dict()}, partial / "state.pt")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_checkpoint(model, optimizer, folder: Path, signature: dict) -> tuple[int, list, list]:
    """The step, loss history and skipped examples to resume from: (0, [], []) when there is
    no checkpoint, or one of another configuration or data."""
    import torch

    path = folder / "state.pt"
    if not path.exists():
        return 0, [], []
    state = torch.load(path, weights_only=False)
    if state["signature"] != signature:
        print("checkpoint is from another configuration or data: starting afresh",
              file=sys.stderr)
        return 0, [], []
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in state["params"]:
                param.copy_(state["params"][name])
    optimizer.load_state_dict(state["optimizer"])
    print(f"resuming from step {state['step']}", file=sys.stderr)
    return state["step"], state["history"], state.get("skipped", [])


def convert_for_llama(folder: Path) -> None:
    """The GGUF LoRA the bot's llama.cpp engine serves, converted now into the model cache
    (bot.generation.gguf_lora; a base model that is not a GGUF file has none)."""
    from bot.generation.gguf_lora import ensure_converted
    from training.base_model import find_source

    source = find_source(get_config().training.base_model)
    if source.gguf_file is None:
        return
    path = ensure_converted(folder, source.folder / source.gguf_file, get_config().cache_dir)
    print(f"llama.cpp adapter: {path}", file=sys.stderr)
