"""The decode loop: one prefill of a left-padded batch, then one token per row per step.

Written out rather than `model.generate` so that batching, per-row adapters, streaming and
early stopping are under our control. Greedy by default; temperature and top-p sampling with a
per-row random generator otherwise. Text comes out incrementally: a piece is released only when
it no longer ends in a partial UTF-8 character, so the joined pieces equal the decoded reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Sampling:
    """How the next token is picked: greedy, or temperature and nucleus (top-p) sampling."""

    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.9


class IncrementalDecoder:
    """Turns a growing list of token ids into text pieces that never split a character."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self.text = ""

    def push(self, token_id: int) -> str:
        """Add one token; return the new text that is complete so far (maybe empty)."""
        self._ids.append(token_id)
        return self._release(final=False)

    def flush(self) -> str:
        """The text still held back (a trailing partial character, as the tokenizer decodes it)."""
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        if not final and text.endswith(REPLACEMENT):
            return ""
        if not text.startswith(self.text):
            # Decoding re-read earlier bytes differently; keep what was sent and send the rest.
            return ""
        piece = text[len(self.text) :]
        self.text = text
        return piece


@dataclass
class Row:
    """One request inside a batch: its prompt and limits, and where its text goes."""

    prompt_ids: list[int]
    max_new_tokens: int
    on_piece: Callable[[str], None]
    is_cancelled: Callable[[], bool] = lambda: False
    adapter: str | None = None
    rng: torch.Generator | None = None
    token_ids: list[int] = field(default_factory=list)


def decode_batch(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    rows: Sequence[Row],
    eos_ids: set[int],
    sampling: Sampling = Sampling(),
) -> None:
    """Generate for every row together; each row's pieces go to its `on_piece` as they come."""
    import torch
    from transformers import DynamicCache

    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids)
    width = max(len(r.prompt_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row.prompt_ids) :] = torch.tensor(row.prompt_ids)
        mask[i, width - len(row.prompt_ids) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    decoders = [IncrementalDecoder(tokenizer) for _ in rows]
    live = [r.max_new_tokens > 0 for r in rows]
    cache = DynamicCache()
    steps = max(r.max_new_tokens for r in rows)
    with torch.inference_mode():
        for _ in range(steps):
            out = model(
                input_ids=ids, attention_mask=mask, position_ids=positions,
                cache=cache, use_cache=True, logits_to_keep=1,
            )
            logits = out.logits[:, -1, :]
            chosen = _pick(logits, rows, sampling)
            for i, row in enumerate(rows):
                if not live[i]:
                    continue
                token = chosen[i]
                if token in eos_ids or row.is_cancelled():
                    live[i] = False
                    continue
                row.token_ids.append(token)
                piece = decoders[i].push(token)
                if piece:
                    row.on_piece(piece)
                if len(row.token_ids) >= row.max_new_tokens:
                    live[i] = False
            if not any(live):
                break
            ids = torch.tensor(chosen, dtype=torch.long, device=device).unsqueeze(-1)
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=-1)
            positions = positions[:, -1:] + 1
    for row, decoder in zip(rows, decoders, strict=True):
        tail = decoder.flush()
        if tail:
            row.on_piece(tail)


def _pick(logits: torch.Tensor, rows: Sequence[Row], sampling: Sampling) -> list[int]:
    """The next token of every row: argmax, or a draw from the top-p share at the temperature."""
    import torch

    if not sampling.do_sample:
        return logits.argmax(dim=-1).tolist()
    probs = torch.softmax(logits.float() / max(sampling.temperature, 1e-5), dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    # Keep the smallest set of tokens whose mass reaches top_p (always at least the first).
    drop = sorted_probs.cumsum(-1) - sorted_probs >= sampling.top_p
    sorted_probs = sorted_probs.masked_fill(drop, 0.0)
    chosen = []
    for i, row in enumerate(rows):
        index = torch.multinomial(sorted_probs[i], 1, generator=row.rng)
        chosen.append(int(order[i, index]))
    return chosen
