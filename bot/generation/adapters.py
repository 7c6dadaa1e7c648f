"""Faction LoRA adapters (peft's saved format) over one base model, switched per batch.

Adapters are read straight from `adapter_config.json` and `adapter_model.safetensors` (importing
peft alone costs seconds of start-up). Two ways to run a batch:
- one adapter (or none): every target layer is a plain `nn.Linear` whose weight is precomputed as
  W + scale * B @ A for that adapter, so an adapter decodes exactly as fast as the base model;
- several: every target layer becomes a `MixedLoraLinear` over the base weight that adds each
  row's own adapter, for all adapters at once (two small matmuls and a row mask).
Switching only reassigns module attributes and parameters; nothing is copied.
This module imports torch: import it lazily.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bot.generation.base import GenerationError

MIXED = "__mixed__"
_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$"
)


def discover_adapters(folder: Path | str) -> dict[str, Path]:
    """Adapter name -> folder, for every subfolder of `folder` holding adapter_config.json."""
    root = Path(folder)
    if not root.is_dir():
        return {}
    return {
        child.name: child
        for child in sorted(root.iterdir())
        if child.is_dir() and (child / "adapter_config.json").is_file()
    }


def read_adapter(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """One saved peft LoRA adapter: module name -> (A, B, scale)."""
    from safetensors.torch import load_file

    try:
        config = json.loads((path / "adapter_config.json").read_text())
        tensors = load_file(str(path / "adapter_model.safetensors"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"cannot read LoRA adapter {path}: {exc}") from exc
    unsupported = [
        key for key, ok in (
            ("use_dora", not config.get("use_dora")),
            ("alpha_pattern", not config.get("alpha_pattern")),
            ("modules_to_save", not config.get("modules_to_save")),
            ("bias", config.get("bias", "none") == "none"),
            ("fan_in_fan_out", not config.get("fan_in_fan_out")),
            ("peft_type", config.get("peft_type", "LORA") == "LORA"),
        ) if not ok
    ]
    if unsupported:
        raise GenerationError(f"{path}: unsupported adapter settings: {', '.join(unsupported)}")
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise GenerationError(f"{path}: unexpected tensor {key!r} in the adapter")
        pairs.setdefault(match["module"], {})[match["ab"]] = tensor
    alpha = float(config.get("lora_alpha", 8))
    out = {}
    for module, ab in pairs.items():
        if set(ab) != {"A", "B"}:
            raise GenerationError(f"{path}: {module} lacks lora_A or lora_B")
        rank = ab["A"].shape[0]
        scale = alpha / rank**0.5 if config.get("use_rslora") else alpha / rank
        out[module] = (ab["A"], ab["B"], scale)
    return out


class MixedLoraLinear(nn.Module):
    """A linear layer that adds a different LoRA adapter to each row of the batch."""

    def __init__(
        self, base: nn.Linear, parts: Sequence[tuple[str, torch.Tensor, torch.Tensor, float]]
    ) -> None:
        super().__init__()
        self.base = base
        self.names = [name for name, *_ in parts]
        self.ranks = [a.shape[0] for _, a, _, _ in parts]
        like = {"dtype": base.weight.dtype, "device": base.weight.device}
        self.a_cat = torch.cat([a for _, a, _, _ in parts]).to(**like)
        self.b_cat = torch.cat([b.float() * s for _, _, b, s in parts], dim=1).to(**like)
        self.mask = torch.zeros(1, 1, sum(self.ranks), **like)

    def set_rows(self, adapters: Sequence[str | None]) -> None:
        """Which adapter each row of the coming batch uses (None: none)."""
        mask = torch.zeros(len(adapters), 1, self.a_cat.shape[0])
        for i, name in enumerate(adapters):
            start = 0
            for own, rank in zip(self.names, self.ranks, strict=True):
                if own == name:
                    mask[i, 0, start : start + rank] = 1
                start += rank
        self.mask = mask.to(dtype=self.a_cat.dtype, device=self.a_cat.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The base output plus each row's own adapter."""
        low = F.linear(x, self.a_cat) * self.mask
        return torch.addmm(
            F.linear(x, self.base.weight, self.base.bias).flatten(0, -2),
            low.flatten(0, -2), self.b_cat.T,
        ).view(*x.shape[:-1], -1)


class AdapterSet:
    """A base model with several LoRA adapters, set up per batch: merged or mixed."""

    def __init__(self, model: nn.Module, adapters: dict[str, Path]) -> None:
        self.model = model
        self.names: tuple[str, ...] = tuple(adapters)
        loaded = {name: read_adapter(path) for name, path in adapters.items()}
        targets = sorted({module for parts in loaded.values() for module in parts})
        modules = dict(model.named_modules())
        self._slots = []
        for target in targets:
            linear = modules.get(target)
            if not isinstance(linear, nn.Linear):
                raise GenerationError(f"adapter target {target!r} is not a linear layer")
            base = linear.weight
            weights = {None: base}
            parts = []
            for name, adapter in loaded.items():
                if target not in adapter:
                    weights[name] = base
                    continue
                a, b, scale = adapter[target]
                a, b = a.to(base.device), b.to(base.device)
                if a.shape[1] != base.shape[1] or b.shape[0] != base.shape[0]:
                    raise GenerationError(f"adapter {name!r} does not fit {target} of this model")
                merged = torch.addmm(base.float(), b.float(), a.float(), alpha=scale)
                weights[name] = nn.Parameter(merged.to(base.dtype), requires_grad=False)
                parts.append((name, a, b, scale))
            parent_name, _, attr = target.rpartition(".")
            mixed = MixedLoraLinear(linear, parts)
            self._slots.append((modules[parent_name], attr, linear, mixed, weights))
        self._state: str | None = None

    def use(self, state: str | None, rows: Sequence[str | None] = ()) -> nn.Module:
        """Set up the model for one adapter (merged), None (base), or MIXED with `rows`."""
        if state not in (MIXED, None) and state not in self.names:
            raise GenerationError(f"unknown adapter {state!r}; known: {', '.join(self.names)}")
        for parent, attr, linear, mixed, weights in self._slots:
            if state == MIXED:
                mixed.set_rows(rows)
            if state == self._state:
                continue
            linear._parameters["weight"] = weights[None if state == MIXED else state]
            setattr(parent, attr, mixed if state == MIXED else linear)
        self._state = state
        return self.model
