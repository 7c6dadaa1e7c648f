"""The decode loop: prompts first, then one token per row per step, streamed as text.

`stream_rows` is the loop every engine shares (llama.cpp's in bot.generation.llama, torch's in
`decode_batch`: one prefill of a left-padded batch, then one token per row per step). Written
out rather than `model.generate` so that batching, per-row adapters, streaming and early
stopping are under our control. Greedy by default; temperature and top-p sampling with a
per-row random generator otherwise. Text comes out incrementally: a piece is released only when
it no longer ends in a partial UTF-8 character, so the joined pieces equal the decoded reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.generation.base import GenerationError

if TYPE_CHECKING:
    import numpy as np
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


Step = Callable[[list[int] | None, list[bool]], "torch.Tensor | np.ndarray"]


def check_rows(rows: Sequence[Row], max_rows: int, context_tokens: int,
               adapters: Sequence[str]) -> None:
    """Refuse a batch an engine with fixed KV cells cannot hold, saying which limit it passes."""
    if len(rows) > max_rows:
        raise GenerationError(f"{len(rows)} rows exceed the {max_rows} a batch holds")
    for row in rows:
        if row.adapter is not None and row.adapter not in adapters:
            raise GenerationError(f"unknown adapter {row.adapter!r}")
        if len(row.prompt_ids) + row.max_new_tokens > context_tokens:
            raise GenerationError(
                f"a prompt of {len(row.prompt_ids)} tokens and {row.max_new_tokens} new ones "
                f"exceed [generation].context_tokens = {context_tokens}"
            )


def stream_rows(
    rows: Sequence[Row],
    tokenizer: PreTrainedTokenizerBase,
    eos_ids: set[int],
    sampling: Sampling,
    step: Step,
) -> None:
    """The loop every engine shares: pick each row's next token from `step`'s logits, stream it.

    `step(None, live)` runs the prompts; `step(chosen, live)` feeds each live row its token
    (rows that are no longer live may be skipped). It returns one row of logits per row.
    """
    decoders = [IncrementalDecoder(tokenizer) for _ in rows]
    live = [r.max_new_tokens > 0 for r in rows]
    chosen: list[int] | None = None
    for _ in range(max((r.max_new_tokens for r in rows), default=0)):
        if not any(live):
            break
        chosen = _pick(step(chosen, live), rows, sampling)
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
    for row, decoder in zip(rows, decoders, strict=True):
        tail = decoder.flush()
        if tail:
            row.on_piece(tail)


def decode_batch(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    rows: Sequence[Row],
    eos_ids: set[int],
    sampling: Sampling = Sampling(),
    lean: bool = True,
) -> None:
    """Generate for every row together on a torch model (one prefill of a left-padded batch,
    then one token per row per step); each row's pieces go to its `on_piece` as they come.

    `lean=False` forces the Hugging Face forward even where the lean one could run (benches).
    """
    import torch

    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids)
    width = max(len(r.prompt_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row.prompt_ids) :] = torch.tensor(row.prompt_ids)
        mask[i, width - len(row.prompt_ids) :] = 1
    prompt, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    steps = max(r.max_new_tokens for r in rows)

    with torch.inference_mode():
        forward = choose_forward(model, mask, steps) if lean else hf_forward(model, mask)

        def step(chosen: list[int] | None, live: list[bool]) -> torch.Tensor:
            nonlocal positions
            if chosen is None:
                return forward(prompt, positions)
            positions = positions[:, -1:] + 1
            return forward(torch.tensor(chosen, dtype=torch.long, device=device).unsqueeze(-1),
                           positions)

        stream_rows(rows, tokenizer, eos_ids, sampling, step)


def choose_forward(
    model: torch.nn.Module, attention_mask: torch.Tensor, max_new_tokens: int
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The per-step forward for one batch: (ids, positions) -> last-position logits.

    The lean forward (bot.generation.lean) for a plain LLaMA, whatever the adapter state (base,
    one merged adapter, per-row adapters); the Hugging Face forward with a DynamicCache for
    other models.
    """
    from bot.generation.lean import lean_for, supports

    if supports(model):
        return lean_for(model).start(attention_mask, max_new_tokens)
    return hf_forward(model, attention_mask)


def hf_forward(
    model: torch.nn.Module, attention_mask: torch.Tensor
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The Hugging Face forward over a DynamicCache, for a left-padded batch's prefill and steps."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    mask, prefilled = attention_mask, False

    def forward(ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        nonlocal mask, prefilled
        if prefilled:
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], ids.shape[1]))], dim=-1)
        prefilled = True
        out = model(
            input_ids=ids, attention_mask=mask, position_ids=positions,
            cache=cache, use_cache=True, logits_to_keep=1,
        )
        return out.logits[:, -1, :]

    return forward


def _pick(logits: torch.Tensor | np.ndarray, rows: Sequence[Row], sampling: Sampling
          ) -> list[int]:
    """The next token of every row: argmax, or a draw from the top-p share at the temperature."""
    import torch

    if not sampling.do_sample:
        return logits.argmax(-1).tolist()
    logits = torch.as_tensor(logits)
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
