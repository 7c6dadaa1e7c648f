"""The engines that decode a batch of rows for LocalGenerator: which one to use
(`pick_engine`), and each over its model: the native kernel and llama.cpp over the shipped GGUF,
and torch, the fp32 reference path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from bot.generation.base import GenerationError
from bot.generation.decode import Row, Sampling, decode_batch
from characters.config import Config

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

    from bot.generation.llama import LlamaCppModel
    from bot.generation.native import NativeModel

log = logging.getLogger(__name__)

EngineName = Literal["native", "llama.cpp", "torch"]


class Engine(Protocol):
    """What decodes a batch of rows: the adapters it holds, its tokenizer and end tokens."""

    names: tuple[str, ...]
    tokenizer: PreTrainedTokenizerBase
    eos_ids: set[int]

    def decode(self, rows: Sequence[Row], sampling: Sampling) -> None: ...

    def close(self) -> None: ...



def pick_engine(config: Config, engine: str) -> EngineName:
    """The engine `engine` names; "auto": for a GGUF base model the native kernel where a C
    compiler is found, else llama.cpp where it is installed; torch otherwise."""
    from bot.generation.llama import available
    from bot.generation.native_build import build, compiler
    from training.base_model import find_source

    gguf = find_source(config.training.base_model).gguf_file is not None
    if engine == "auto":
        if gguf and compiler() is not None:
            try:
                build(config.cache_dir)  # compiled once per CPU; a failure falls back, loudly
                return "native"
            except GenerationError as exc:
                log.warning("the native engine is unavailable, falling back: %s", exc)
        return "llama.cpp" if gguf and available() else "torch"
    if engine == "native" and not gguf:
        raise GenerationError("[generation].engine is native, but the base model is not a "
                              "GGUF file; use engine = \"torch\" for a Hugging Face folder")
    if engine == "llama.cpp" and not available():
        raise GenerationError("[generation].engine is llama.cpp, but llama-cpp-python is not "
                              "installed: run `make setup`, which builds it once")
    if engine == "llama.cpp" and not gguf:
        raise GenerationError("[generation].engine is llama.cpp, but the base model is not a "
                              "GGUF file; use engine = \"torch\" for a Hugging Face folder")
    if engine not in ("native", "llama.cpp", "torch"):
        raise ValueError(f"engine must be 'auto', 'native', 'llama.cpp' or 'torch', not "
                         f"{engine!r}")
    return engine  # type: ignore[return-value]


class TorchEngine:
    """The fp32 reference path: the base model in torch, adapters merged or mixed per batch."""

    def __init__(self, config: Config, folder: Path, device: str | None,
                 dtype: torch.dtype | None, num_threads: int) -> None:
        import torch

        from bot.generation.adapters import AdapterSet, discover_adapters
        from training.base_model import load_base_model, pick_device, pick_dtype

        gen = config.generation
        device = pick_device(device)
        if num_threads and device == "cpu":
            # One thread by default: on a CPU shared with other work, torch's threads wait on
            # each other at every op and decode runs ~10x slower (bench_decode, 2 threads).
            torch.set_num_threads(num_threads)
        if dtype is None and gen.dtype != "auto":
            dtype = torch.float32 if gen.dtype == "fp32" else torch.bfloat16
        if dtype is None:
            # On a CPU without AMX, bf16 matmuls are no faster than fp32 with one thread and
            # far slower with two (bench_decode); fp32 keeps adapters' merged weights exact too.
            dtype = torch.float32 if device == "cpu" else pick_dtype(device)
        model, self.tokenizer = load_base_model(config, device=device, dtype=dtype)
        self._set = AdapterSet(model, discover_adapters(folder))
        self.names = self._set.names
        self.eos_ids = _eos_ids(model, self.tokenizer)

    def decode(self, rows: Sequence[Row], sampling: Sampling) -> None:
        from bot.generation.adapters import MIXED

        names = {row.adapter for row in rows}
        if len(names) == 1:
            model = self._set.use(names.pop())
        else:
            model = self._set.use(MIXED, [row.adapter for row in rows])
        decode_batch(model, self.tokenizer, rows, self.eos_ids, sampling)

    def close(self) -> None:
        pass


def _gguf_adapters(config: Config, folder: Path) -> tuple[Path, dict[str, Path]]:
    """The base GGUF and every adapter of `folder` as a GGUF LoRA (converted if missing)."""
    from bot.generation.adapters import discover_adapters
    from bot.generation.gguf_lora import ensure_converted
    from training.base_model import find_source

    source = find_source(config.training.base_model)
    base = source.folder / (source.gguf_file or "")
    adapters = {}
    for name, path in discover_adapters(folder).items():
        try:
            adapters[name] = ensure_converted(path, base, config.cache_dir)
        except (OSError, ValueError) as exc:
            raise GenerationError(f"adapter {name!r} ({path}): cannot convert it to GGUF: "
                                  f"{exc}") from exc
    return base, adapters


class _GgufEngine:
    """What the two engines over the shipped GGUF share: the base file, every adapter as a
    GGUF LoRA (cached), the tokenizer, and a model object that decodes rows."""

    model: NativeModel | LlamaCppModel

    def __init__(self, config: Config, folder: Path) -> None:
        from training.base_model import load_tokenizer

        self.model_path, self.adapter_paths = _gguf_adapters(config, folder)
        self.tokenizer = load_tokenizer(config)
        self.eos_ids = _eos_ids(None, self.tokenizer)

    @property
    def names(self) -> tuple[str, ...]:
        return self.model.names

    def decode(self, rows: Sequence[Row], sampling: Sampling) -> None:
        self.model.decode(rows, self.tokenizer, self.eos_ids, sampling)

    def close(self) -> None:
        self.model.close()


class NativeEngine(_GgufEngine):
    """The shipped GGUF on Lorekeeper's own kernel (bot.generation.native)."""

    def __init__(self, config: Config, folder: Path) -> None:
        from bot.generation.native import NativeModel

        super().__init__(config, folder)
        gen = config.generation
        self.model = NativeModel(self.model_path, self.adapter_paths, cache=config.cache_dir,
                                 max_rows=gen.max_batch_size, context_tokens=gen.context_tokens)


class LlamaEngine(_GgufEngine):
    """The shipped GGUF on llama.cpp (bot.generation.llama)."""

    def __init__(self, config: Config, folder: Path, num_threads: int) -> None:
        from bot.generation.llama import LlamaCppModel, f16_copy

        super().__init__(config, folder)
        gen = config.generation
        self.prompt_path = f16_copy(self.model_path, config.cache_dir)
        self.model = LlamaCppModel(self.model_path, self.adapter_paths,
                                   prompt_model=self.prompt_path, threads=num_threads or 1,
                                   max_rows=gen.max_batch_size,
                                   context_tokens=gen.context_tokens)


def _eos_ids(model: torch.nn.Module | None, tokenizer: object) -> set[int]:
    """Token ids that end a reply: the tokenizer's EOS and the generation config's."""
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (getattr(tokenizer, "eos_token_id", None), configured):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(int(v) for v in value)
    if not ids:
        raise GenerationError("the tokenizer names no end-of-sequence token")
    return ids
