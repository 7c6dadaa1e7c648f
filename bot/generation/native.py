"""Decoding on Lorekeeper's own kernel (native.c): the shipped GGUF, every adapter, mixed batches.

llama.cpp decodes one adapter per call: it applies every attached LoRA to every token of a
call, and on x86 it has no batched kernel for Q4_1, so rows of different factions cost one
pass over the weights each (bench_decode). native.c runs all rows of a step in one call, each
row with its own adapter: the 4-bit weights are read once for the whole batch and multiplied
with AVX-512 VNNI, and each row adds its own LoRA terms in f32. A row's arithmetic does not
depend on its batch, so a row batched with others equals that row decoded alone.

The C file is compiled once per CPU and compiler into the model cache, with `-march=native`
(bot.generation.native_build). The model is read from the GGUF (bot.generation.gguf_file) and
repacked in memory (`pack`); adapters are the GGUF LoRA files of bot.generation.gguf_lora.
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.generation.base import GenerationError
from bot.generation.decode import Row, Sampling, check_rows, stream_rows
from bot.generation.gguf_file import Tensor, gguf_field, read_gguf
from bot.generation.native_build import build, load_library

MATRICES = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def pack(raw: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A quantized GGUF matrix (rows x bytes per row) as native.c's tiles: the values, scale d
    and offset m (f16) per 16 outputs and block of 32 inputs, and the bits per value."""
    rows = raw.shape[0]
    if rows % 16:
        raise GenerationError(f"a matrix of {rows} rows: the native engine needs a multiple of 16")
    size = {"Q4_0": 18, "Q4_1": 20, "Q8_0": 34}[kind]
    blocks = raw.reshape(rows, -1, size)
    nb = blocks.shape[1]
    d = blocks[:, :, 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    if kind == "Q8_0":
        q = (blocks[:, :, 2:].view(np.int8).astype(np.int16) + 128).astype(np.uint8)
        m = -128.0 * d
    else:
        start = 4 if kind == "Q4_1" else 2
        qs = blocks[:, :, start:start + 16]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
        m = blocks[:, :, 2:4].copy().view(np.float16)[..., 0].astype(np.float32) \
            if kind == "Q4_1" else -8.0 * d
    # value (g*16 + i, b*32 + 4j + c) goes to lane i, byte c of the tile's vector j
    tiles = q.reshape(rows // 16, 16, nb, 8, 4).transpose(0, 2, 3, 1, 4)
    if kind == "Q8_0":
        values, bits = np.ascontiguousarray(tiles).reshape(-1), 8
    else:
        values = np.ascontiguousarray(tiles[:, :, 0::2] | (tiles[:, :, 1::2] << 4)).reshape(-1)
        bits = 4

    def per_tile(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(
            x.astype(np.float16).reshape(rows // 16, 16, nb).transpose(0, 2, 1)).reshape(-1)

    return values, per_tile(d), per_tile(m), bits


def _bf16_bits(values: np.ndarray) -> np.ndarray | None:
    """The bfloat16 bits of f32 values when bfloat16 holds them exactly (peft saves its LoRA
    weights in bf16: half the bytes a row's LoRA terms read), else None."""
    top = (values.view(np.uint32) >> 16).astype(np.uint16)
    return top if np.array_equal(top.astype(np.uint32) << 16, values.view(np.uint32)) else None


def _lora_layout(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A ([rank][cols]) and B ([rows][rank]) as native.c reads them: A transposed, [cols][pad],
    and B in tiles of 16 outputs, [rows / 16][pad][16]; pad is the rank rounded up to 16, the
    extra ranks zero."""
    rank, rows = a.shape[0], b.shape[0]
    pad = -(-rank // 16) * 16
    at = np.zeros((a.shape[1], pad), np.float32)
    at[:, :rank] = a.T
    bt = np.zeros((rows // 16, pad, 16), np.float32)
    bt[:, :rank, :] = b.reshape(rows // 16, 16, rank).transpose(0, 2, 1)
    return at, bt


class NativeModel:
    """The GGUF model and its adapters in native.c, decoding batches of Rows in one pass."""

    def __init__(self, model_path: Path, adapters: dict[str, Path], *, cache: Path,
                 max_rows: int = 8, context_tokens: int = 512, portable: bool = False) -> None:
        self._lib = load_library(cache, portable)
        self.vectorized = bool(self._lib.lk_has_vnni())
        self._handle = None
        self._keep: list[np.ndarray] = []  # native.c points into these arrays
        # bytes one decode step reads: the packed matrices (lm_head included), and per adapter
        # its LoRA matrices (bench_decode's bandwidth bound)
        self.weight_bytes = 0
        self.adapter_bytes: dict[str, int] = {}
        # multiply-adds of a token's base matrix products, the lm_head left out (a prompt's
        # tokens but its last need no logits): bench decode's compute figure for prompts
        self.macs_per_token = 0
        self.max_rows, self.context_tokens = max_rows, context_tokens
        self.max_tokens = max(context_tokens, max_rows)
        try:
            meta, tensors = read_gguf(Path(model_path))
        except (OSError, ValueError, struct.error) as exc:
            raise GenerationError(f"{model_path}: cannot read this GGUF file ({exc})") from exc
        arch = str(gguf_field(meta, "general.architecture"))
        if arch != "llama":
            raise GenerationError(f"{model_path}: the native engine runs llama models, not {arch}")
        self.n_layer = int(gguf_field(meta, "llama.block_count"))
        n_embd = int(gguf_field(meta, "llama.embedding_length"))
        heads = int(gguf_field(meta, "llama.attention.head_count"))
        kv_heads = int(gguf_field(meta, "llama.attention.head_count_kv", heads))
        n_ff = int(gguf_field(meta, "llama.feed_forward_length"))
        if "token_embd.weight" not in tensors:
            raise GenerationError(f"{model_path}: no token_embd.weight")
        embd = tensors["token_embd.weight"]
        self.n_vocab = int(embd.data.shape[0])
        eps = float(gguf_field(meta, "llama.attention.layer_norm_rms_epsilon"))
        rope_base = float(gguf_field(meta, "llama.rope.freq_base", 10000.0))
        if gguf_field(meta, "llama.rope.scaling.type", "none") not in ("none", b"none"):
            raise GenerationError(f"{model_path}: the native engine has no rope scaling")
        self.names = tuple(adapters)
        dims = np.array([self.n_layer, n_embd, heads, kv_heads, n_ff, self.n_vocab, max_rows,
                         context_tokens, self.max_tokens, len(adapters)], dtype=np.int32)
        self._handle = self._lib.lk_create(dims.ctypes.data, eps, rope_base)
        if not self._handle:
            raise GenerationError("the native engine could not allocate its buffers")
        try:
            self._load_base(model_path, tensors, embd)
            for index, (name, path) in enumerate(adapters.items()):
                self._load_lora(index, name, Path(path))
        except BaseException:
            self.close()
            raise
        self._logits = np.zeros((max_rows, self.n_vocab), dtype=np.float32)

    def _quantized(self, path: Path, tensor: Tensor
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if tensor.kind not in ("Q4_0", "Q4_1", "Q8_0"):
            raise GenerationError(f"{path}: {tensor.name} is {tensor.kind}; the native engine "
                                  "reads Q4_0, Q4_1 and Q8_0 (set [generation].engine = "
                                  "\"llama.cpp\")")
        values, d, m, bits = pack(tensor.data, tensor.kind)
        self._keep += [values, d, m]
        self.weight_bytes += values.nbytes + d.nbytes + m.nbytes
        return values, d, m, bits

    def _load_base(self, path: Path, tensors: dict[str, Tensor], embd: Tensor) -> None:
        lib, handle = self._lib, self._handle
        for layer in range(self.n_layer):
            for index, name in enumerate(MATRICES):
                tensor = tensors.get(f"blk.{layer}.{name}.weight")
                if tensor is None:
                    raise GenerationError(f"{path}: no blk.{layer}.{name}.weight")
                values, d, m, bits = self._quantized(path, tensor)
                rows, cols = tensor.shape
                self.macs_per_token += rows * cols
                lib.lk_set_matrix(handle, layer, index, rows, cols, bits, values.ctypes.data,
                                  d.ctypes.data, m.ctypes.data)
            norms = [np.ascontiguousarray(tensors[f"blk.{layer}.{n}.weight"].data, np.float32)
                     for n in ("attn_norm", "ffn_norm")]
            self._keep += norms
            lib.lk_set_norms(handle, layer, norms[0].ctypes.data, norms[1].ctypes.data)
        out_norm = np.ascontiguousarray(tensors["output_norm.weight"].data, np.float32)
        self._keep.append(out_norm)
        lib.lk_set_norms(handle, -1, out_norm.ctypes.data, None)
        head = tensors.get("output.weight", embd)
        values, d, m, bits = self._quantized(path, head)
        rows, cols = head.shape
        lib.lk_set_matrix(handle, -1, 0, rows, cols, bits, values.ctypes.data,
                          d.ctypes.data, m.ctypes.data)
        if embd.kind != "Q8_0":
            raise GenerationError(f"{path}: token_embd.weight is {embd.kind}; the "
                                  "native engine reads a Q8_0 embedding")
        rows_q8 = np.ascontiguousarray(embd.data)
        self._keep.append(rows_q8)
        lib.lk_set_embedding(handle, rows_q8.ctypes.data)

    def _load_lora(self, index: int, name: str, path: Path) -> None:
        try:
            meta, tensors = read_gguf(path)
            alpha = float(gguf_field(meta, "adapter.lora.alpha"))
        except (OSError, ValueError, struct.error, GenerationError) as exc:
            raise GenerationError(f"adapter {name!r}: cannot read {path} ({exc}); delete it and "
                                  "start again to convert it anew") from exc
        for layer in range(self.n_layer):
            for mat, matrix in enumerate(MATRICES):
                key = f"blk.{layer}.{matrix}.weight"
                if f"{key}.lora_a" not in tensors:
                    continue
                a = np.ascontiguousarray(tensors[f"{key}.lora_a"].data, np.float32)
                b = np.asarray(tensors[f"{key}.lora_b"].data, np.float32)
                rank = a.shape[0]
                if b.ndim != 2 or a.ndim != 2 or b.shape[1] != rank:
                    raise GenerationError(f"adapter {name!r}: {path}: {key} has LoRA shapes "
                                          f"{a.shape} and {b.shape}")
                at, bt = _lora_layout(a, b)
                a16, bt16 = _bf16_bits(at), _bf16_bits(bt)
                bf16 = a16 is not None and bt16 is not None
                if bf16:
                    at, bt = a16, bt16
                self._keep += [at, bt]
                self.adapter_bytes[name] = self.adapter_bytes.get(name, 0) + at.nbytes + bt.nbytes
                if self._lib.lk_set_lora(self._handle, index, layer, mat, rank, at.shape[1],
                                         alpha / rank, int(bf16), at.ctypes.data,
                                         bt.ctypes.data) != 0:
                    raise GenerationError(f"adapter {name!r}: {path}: rank {rank} of {key} is "
                                          "over the native engine's 64")

    def forward(self, tokens: Sequence[int], slots: Sequence[int], positions: Sequence[int],
                adapters: Sequence[int], want: Sequence[int]) -> np.ndarray:
        """One native.c call: every token at its row's position under its adapter (-1: none);
        the next-token logits after the tokens indexed by `want` (a view, valid until the next
        call)."""
        arrays = [np.ascontiguousarray(x, dtype=np.int32)
                  for x in (tokens, slots, positions, adapters, want)]
        if len(arrays[4]) > self.max_rows:
            raise GenerationError(f"logits for {len(arrays[4])} rows; a call holds {self.max_rows}")
        logits = self._logits[:len(arrays[4])]
        code = self._lib.lk_forward(self._handle, len(tokens), *(a.ctypes.data for a in arrays[:4]),
                                    len(want), arrays[4].ctypes.data, logits.ctypes.data)
        if code != 0:
            raise GenerationError("the native engine refused a call (a token, position or row "
                                  "out of range)")
        return logits

    def vnni_peak_gmacs(self, iters: int = 20_000_000) -> float | None:
        """This core's integer-product bound in G multiply-adds/s: vpdpbusd chains with nothing
        else in the way, the best of three (None without AVX-512 VNNI)."""
        if not self.vectorized:
            return None
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            self._lib.lk_vnni_loop(iters)
            best = min(best, time.perf_counter() - started)
        return iters * 12 * 64 / best / 1e9

    def adapter_index(self, adapter: str | None) -> int:
        if adapter is None:
            return -1
        if adapter not in self.names:
            raise GenerationError(f"unknown adapter {adapter!r}")
        return self.names.index(adapter)

    def prompt_logits(self, prompt_ids: Sequence[int], adapter: str | None) -> np.ndarray:
        """The next-token logits after a prompt under one adapter (for checks against peft)."""
        n = len(prompt_ids)
        return self.forward(prompt_ids, [0] * n, range(n), [self.adapter_index(adapter)] * n,
                            [n - 1])[0].copy()

    def decode(
        self, rows: Sequence[Row], tokenizer: object, eos_ids: set[int], sampling: Sampling,
    ) -> None:
        """Generate for every row (each under its own adapter); pieces go to `on_piece`."""
        check_rows(rows, self.max_rows, self.context_tokens, self.names)
        index = [self.adapter_index(row.adapter) for row in rows]
        positions = [len(row.prompt_ids) for row in rows]
        logits = np.zeros((len(rows), self.n_vocab), dtype=np.float32)

        def step(chosen: list[int] | None, live: list[bool]) -> np.ndarray:
            if chosen is None:
                self._prompts(rows, index, logits)
                return logits
            todo = [i for i in range(len(rows)) if live[i]]
            out = self.forward([chosen[i] for i in todo], todo, [positions[i] for i in todo],
                               [index[i] for i in todo], range(len(todo)))
            for i in todo:
                positions[i] += 1
            if len(todo) == len(rows):
                return out  # every row live: the call's logits are the rows' logits
            logits[todo] = out
            return logits

        stream_rows(rows, tokenizer, eos_ids, sampling, step)

    def _prompts(self, rows: Sequence[Row], index: list[int], logits: np.ndarray) -> None:
        """Every row's prompt, as many prompts per call as `max_tokens` holds."""
        tokens: list[int] = []
        slots: list[int] = []
        positions: list[int] = []
        adapters: list[int] = []
        ends: list[int] = []
        owners: list[int] = []

        def flush() -> None:
            if tokens:
                out = self.forward(tokens, slots, positions, adapters, ends)
                for j, i in enumerate(owners):
                    logits[i] = out[j]
            for part in (tokens, slots, positions, adapters, ends, owners):
                part.clear()

        for i, row in enumerate(rows):
            n = len(row.prompt_ids)
            if n == 0:
                raise GenerationError("an empty prompt")
            if len(tokens) + n > self.max_tokens:
                flush()
            tokens += row.prompt_ids
            slots += [i] * n
            positions += range(n)
            adapters += [index[i]] * n
            ends.append(len(tokens) - 1)
            owners.append(i)
        flush()

    def close(self) -> None:
        if self._handle:
            self._lib.lk_free(self._handle)
            self._handle = None
        self._keep.clear()


def main() -> int:
    """`python -m bot.generation.native`: build the kernel for this CPU now (make setup)."""
    from characters.config import get_config

    try:
        vectorized = bool(load_library(get_config().cache_dir).lk_has_vnni())
        path = build(get_config().cache_dir)  # already built: its path
    except GenerationError as exc:
        print(f"native engine unavailable: {exc}", file=sys.stderr)
        return 1
    kind = "AVX-512 VNNI" if vectorized else "portable loops (no AVX-512 VNNI on this CPU)"
    print(f"native decode kernel: {path} ({kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
