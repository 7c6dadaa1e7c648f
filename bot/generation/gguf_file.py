"""Reading a GGUF file's metadata and tensors, memory-mapped, for the native engine.

Written here because gguf.GGUFReader builds an object per tokenizer entry (about 8 s for this
model's 49,152), while start-up needs none of them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.generation.base import GenerationError

_TYPES = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
          8: ("Q8_0", 32, 34)}  # ggml type id -> name, values per block, bytes per block
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
            11: "<q", 12: "<d"}


@dataclass(frozen=True)
class Tensor:
    """One tensor of a GGUF file: its type, shape (rows first) and bytes (memory-mapped)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    data: np.ndarray  # rows x bytes per row (quantized) or the values (F32/F16)


def read_gguf(path: Path) -> tuple[dict[str, object], dict[str, Tensor]]:
    """A GGUF file's scalar and string metadata (arrays are skipped) and its tensors."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    view = memoryview(raw)
    offset = 0

    def take(fmt: str) -> object:
        nonlocal offset
        value = struct.unpack_from(fmt, view, offset)[0]
        offset += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal offset
        size = take("<Q")
        value = bytes(view[offset:offset + size]).decode("utf-8", errors="replace")
        offset += size
        return value

    def value(kind: int) -> object:
        if kind == 8:
            return text()
        if kind == 9:  # an array: skipped
            item, count = take("<I"), take("<Q")
            for _ in range(count):
                value(item)
            return None
        return take(_SCALARS[kind])

    magic, version = take("<4s"), take("<I")
    if magic != b"GGUF" or version not in (2, 3):
        raise GenerationError(f"{path}: not a GGUF file (version 2 or 3)")
    n_tensors, n_fields = take("<Q"), take("<Q")
    meta: dict[str, object] = {}
    for _ in range(n_fields):
        key = text()
        meta[key] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = text()
        dims = [take("<Q") for _ in range(take("<I"))]
        infos.append((name, dims, take("<I"), take("<Q")))
    align = int(meta.get("general.alignment") or 32)
    start = -(-offset // align) * align
    tensors = {}
    for name, dims, kind, at in infos:
        if kind not in _TYPES:
            tensors[name] = Tensor(name, f"type {kind}", tuple(dims[::-1]), raw[:0])
            continue
        label, per_block, block_bytes = _TYPES[kind]
        row_bytes = dims[0] // per_block * block_bytes
        rows = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        data = raw[start + at:start + at + rows * row_bytes]
        if label in ("F32", "F16"):
            data = data.view(np.float32 if label == "F32" else np.float16).reshape(dims[::-1])
        else:
            data = data.reshape(rows, row_bytes)
        tensors[name] = Tensor(name, label, tuple(dims[::-1]), data)
    return meta, tensors


def gguf_field(meta: dict[str, object], key: str, default: object = None) -> object:
    """A metadata value; `default` where it is missing, else an error naming the key."""
    if meta.get(key) is None:
        if default is None:
            raise GenerationError(f"the GGUF lacks {key}")
        return default
    return meta[key]
