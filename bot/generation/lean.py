"""A lean LLaMA forward for decoding: fewer, larger ops than the Hugging Face forward.

Per layer: one fused QKV matmul and one fused gate/up matmul, `F.rms_norm`, rotary tables
computed once, a preallocated KV cache written in place, and `scaled_dot_product_attention` with
grouped KV heads. Only the last position's logits are computed.

Weights are read from the model's modules as they are now, so every `AdapterSet` state is
honoured: base, one merged adapter, or per-row adapters (`MixedLoraLinear`). Fused tensors are
cached by the identity of their source weights, so each state pays for its own fused copies only
in the layers its adapter changed. In a mixed batch each fused projection adds its rows' LoRA
terms with two small matmuls: x @ A (every adapter's A, stacked) masked to each row's own
adapter, then @ B (the B blocks laid out under their projection's output columns).

This is the torch engine's forward (the fp32 reference path, and the engine for a base model
that is not a GGUF file); the bot serves the shipped GGUF on llama.cpp (bot.generation.llama).
Other architectures are not supported: see `supports`. This module imports torch: import it
lazily.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from bot.generation.adapters import MixedLoraLinear

_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
_MLP = ("gate_proj", "up_proj", "down_proj")
_LEANS: weakref.WeakKeyDictionary[nn.Module, LeanLlama] = weakref.WeakKeyDictionary()

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: A fused projection: its weight, and for a mixed batch (A stacked, B laid out, mixed modules).
Projection = tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, tuple[MixedLoraLinear, ...]]
                   | None]


def supports(model: nn.Module) -> bool:
    """Whether `model` is a plain LLaMA (no biases, plain linear layers) the lean forward runs."""
    from transformers import LlamaForCausalLM

    if not isinstance(model, LlamaForCausalLM):
        return False
    config = model.config
    if config.model_type != "llama" or config.hidden_act != "silu":
        return False
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        return False
    if getattr(config, "pretraining_tp", 1) != 1 or type(model.lm_head) is not nn.Linear:
        return False
    for layer in model.model.layers:
        for parent, names in ((layer.self_attn, _ATTENTION), (layer.mlp, _MLP)):
            for name in names:
                linear = _linear(getattr(parent, name, None))
                if type(linear) is not nn.Linear or linear.bias is not None:
                    return False
    return model.lm_head.bias is None


def lean_for(model: nn.Module) -> LeanLlama:
    """The model's `LeanLlama`, made once and kept while the model lives."""
    lean = _LEANS.get(model)
    if lean is None:
        lean = _LEANS[model] = LeanLlama(model)
    return lean


class LeanLlama:
    """The lean forward over a `LlamaForCausalLM`'s current weights."""

    def __init__(self, model: nn.Module) -> None:
        config = model.config
        self.model = model
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        rotary = model.model.rotary_emb
        self._inv_freq = rotary.inv_freq.float()
        self._rope_scale = float(getattr(rotary, "attention_scaling", 1.0))
        self._tables: tuple[torch.Tensor, torch.Tensor] | None = None
        # identity of the source weights -> (the sources, kept alive so ids stay unique; fused)
        self._fused: dict[tuple[int, ...], tuple[tuple[torch.Tensor, ...], torch.Tensor]] = {}
        # identity of a projection's modules -> (the modules, kept alive; its LoRA terms)
        self._loras: dict[tuple[int, ...], tuple[tuple[nn.Module, ...], tuple]] = {}

    def _fuse(self, *weights: torch.Tensor) -> torch.Tensor:
        """The row-wise concatenation of `weights`, transposed, cached by identity and version."""
        # The version and storage catch weights changed in place (a training step, a reload).
        key = tuple(part for w in weights for part in (id(w), w.data_ptr(), _version(w)))
        hit = self._fused.get(key)
        if hit is None:
            # Stored transposed, (in, out) contiguous: x @ W.T reads it row by row, which runs
            # faster than F.linear's layout for the few rows of a decode step (bench_decode).
            hit = self._fused[key] = (weights, torch.cat(weights).t().contiguous())
        return hit[1]

    def _rotary(self, length: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin tables for positions 0..length-1 (at least), as the HF rotary makes them."""
        if self._tables is None or self._tables[0].shape[0] < length:
            size = max(length, 2 * (self._tables[0].shape[0] if self._tables else 256))
            t = torch.arange(size, dtype=torch.float32, device=self._inv_freq.device)
            freqs = torch.outer(t, self._inv_freq)
            emb = torch.cat([freqs, freqs], dim=-1)
            self._tables = (emb.cos() * self._rope_scale, emb.sin() * self._rope_scale)
        cos, sin = self._tables
        return cos.to(like), sin.to(like)

    def _lora(self, modules: tuple[nn.Module, ...]):
        """The stacked A and laid-out B of the mixed modules among `modules` (None if none)."""
        mixed = tuple(m for m in modules if type(m) is MixedLoraLinear)
        if not mixed:
            return None
        key = tuple(map(id, modules))
        hit = self._loras.get(key)
        if hit is None:
            outs = [_linear(m).weight.shape[0] for m in modules]
            ranks = [m.a_cat.shape[0] for m in mixed]
            b = mixed[0].b_cat.new_zeros(sum(outs), sum(ranks))
            row, col = 0, 0
            for module, out in zip(modules, outs, strict=True):
                if type(module) is MixedLoraLinear:
                    b[row : row + out, col : col + module.a_cat.shape[0]] = module.b_cat
                    col += module.a_cat.shape[0]
                row += out
            a = torch.cat([m.a_cat for m in mixed])
            # transposed like the fused weights: x @ A.T then @ B.T
            hit = self._loras[key] = (modules, (a.t().contiguous(), b.t().contiguous(), mixed))
        return hit[1]

    def _projection(self, *modules: nn.Module) -> Projection:
        """The fused base weight of `modules` and, in a mixed batch, their LoRA terms."""
        return self._fuse(*(_linear(m).weight for m in modules)), self._lora(modules)

    def layers(self) -> list[tuple[torch.Tensor | Projection, ...]]:
        """Per layer: norm, QKV, o, norm, gate/up, down for the model's current state."""
        out = []
        for layer in self.model.model.layers:
            attn, mlp = layer.self_attn, layer.mlp
            out.append((
                layer.input_layernorm.weight,
                self._projection(attn.q_proj, attn.k_proj, attn.v_proj),
                self._projection(attn.o_proj),
                layer.post_attention_layernorm.weight,
                self._projection(mlp.gate_proj, mlp.up_proj),
                self._projection(mlp.down_proj),
            ))
        return out

    def start(self, attention_mask: torch.Tensor, max_new_tokens: int) -> Forward:
        """A forward for one left-padded batch: prefill first, then one token per row per call.

        `attention_mask` is the prompt's (batch, width) 0/1 mask; the KV cache holds
        width + max_new_tokens positions. Each call takes ids and positions, both (batch, T),
        and returns the last position's logits, (batch, vocab).
        """
        model = self.model
        layers = [
            tuple(_with_mask(part) if isinstance(part, tuple) else part for part in layer)
            for layer in self.layers()
        ]
        embed = model.model.embed_tokens.weight
        norm, head = model.model.norm.weight, self._fuse(model.lm_head.weight)
        batch, width = attention_mask.shape
        size = width + max_new_tokens
        device, dtype = embed.device, embed.dtype
        shape = (batch, self.kv_heads, size, self.head_dim)
        cache = [
            (torch.zeros(shape, dtype=dtype, device=device),
             torch.zeros(shape, dtype=dtype, device=device))
            for _ in layers
        ]
        cos_table, sin_table = self._rotary(size, embed)
        real = torch.ones((batch, size), dtype=torch.bool, device=device)
        real[:, :width] = attention_mask.bool()
        padded = not bool(real.all())
        filled = 0
        nq, nkv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        heads, kv_heads, head_dim, eps = self.heads, self.kv_heads, self.head_dim, self.eps

        def forward(ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
            nonlocal filled
            b, t = ids.shape
            start, end = filled, filled + t
            if end > size:
                raise ValueError(f"the KV cache holds {size} positions; {end} asked for")
            mask, causal = None, False
            if padded and t == 1:
                mask = real[:, None, None, :end]
            elif padded:
                # causal AND key-not-padding; each query also sees itself, so a padding query's
                # row is never all masked (NaN): no real query ever reads a padding position.
                tril = torch.ones(t, end, dtype=torch.bool, device=device).tril(start)
                mask = tril & real[:, None, None, :end]
                index = torch.arange(t, device=device)
                mask[:, :, index, start + index] = True
            elif t > 1 and start == 0:
                causal = True
            elif t > 1:
                mask = torch.ones(t, end, dtype=torch.bool, device=device).tril(start)
            cos = cos_table[positions].unsqueeze(1)
            sin = sin_table[positions].unsqueeze(1)
            x = F.embedding(ids, embed)
            for (n1, qkv, o, n2, gate_up, down), (k_cache, v_cache) in zip(
                layers, cache, strict=True
            ):
                h = F.rms_norm(x, (x.shape[-1],), n1, eps)
                q, k, v = _project(h, qkv).split([nq, nkv, nkv], dim=-1)
                q = q.view(b, t, heads, head_dim).transpose(1, 2)
                k = k.view(b, t, kv_heads, head_dim).transpose(1, 2)
                k_cache[:, :, start:end] = k * cos + _rotate_half(k) * sin
                v_cache[:, :, start:end] = v.view(b, t, kv_heads, head_dim).transpose(1, 2)
                a = F.scaled_dot_product_attention(
                    q * cos + _rotate_half(q) * sin, k_cache[:, :, :end], v_cache[:, :, :end],
                    attn_mask=mask, is_causal=causal, enable_gqa=True,
                )
                x = x + _project(a.transpose(1, 2).reshape(b, t, nq), o)
                h = F.rms_norm(x, (x.shape[-1],), n2, eps)
                gate, up = _project(h, gate_up).chunk(2, dim=-1)
                x = x + _project(F.silu(gate) * up, down)
            filled = end
            return F.rms_norm(x[:, -1], (x.shape[-1],), norm, eps) @ head

        return forward


Masked = tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None]


def _with_mask(projection: Projection) -> Masked:
    """A projection for this batch: its LoRA terms carry the rows' adapter mask, fixed now."""
    weight, lora = projection
    if lora is None:
        return weight, None
    a, b, mixed = lora
    return weight, (a, b, torch.cat([m.mask for m in mixed], dim=-1))


def _project(x: torch.Tensor, projection: Masked) -> torch.Tensor:
    """x @ W.T (W is stored transposed), plus each row's own LoRA term in a mixed batch."""
    weight, lora = projection
    out = x @ weight
    if lora is not None:
        a, b, mask = lora
        out = out + ((x @ a) * mask) @ b
    return out


def _linear(module: nn.Module | None) -> nn.Module | None:
    """The plain linear layer under a module: the base of a per-row LoRA layer, else itself."""
    return module.base if type(module) is MixedLoraLinear else module


def _version(weight: torch.Tensor) -> int:
    """The tensor's in-place change counter (inference tensors have none: they cannot change)."""
    try:
        return weight._version
    except RuntimeError:
        return 0


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    """The rotary partner of each element: (-second half, first half)."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)
