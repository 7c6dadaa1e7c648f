"""The in-process generator: one base model, every faction adapter, one batching worker thread.

Callers (worker threads of the bot) put requests on a bounded queue and read text pieces from
their own queue. The worker takes the requests that arrive together (waiting up to
`batch_wait_ms` for more, up to `max_batch_size`) and decodes them as one batch on one of three
engines (`[generation].engine`, bot.generation.engines):
- "native" (the default where a C compiler is found): the shipped GGUF on Lorekeeper's own
  kernel (bot.generation.native), every adapter a GGUF LoRA; all rows of a step, whatever their
  adapters, in one pass over the 4-bit weights;
- "llama.cpp": the shipped GGUF on llama.cpp's kernels, every adapter a GGUF LoRA loaded once,
  one llama_decode per row and step (bot.generation.llama);
- "torch": the fp32 reference path. A batch whose rows share one adapter runs on weights merged
  for that adapter; `batching="mixed"` runs rows of different adapters in one batch, each row
  with its own LoRA (adapters.MixedLoraLinear); `batching="grouped"` splits them into one merged
  batch per adapter, run one after the other.
`bench/bench_decode.py` measures both engines and both batchings side by side.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.generation.base import GenerationError, GeneratorBusy, Message, StreamingGenerator
from bot.generation.decode import Row, Sampling
from bot.generation.engines import (
    Engine,
    EngineName,
    LlamaEngine,
    NativeEngine,
    TorchEngine,
    pick_engine,
)
from characters.config import REPO_ROOT, Config, get_config

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Batching = Literal["mixed", "grouped"]


class _Done:
    """Marks the end of a request's pieces."""


_DONE = _Done()
_STOP = object()


@dataclass
class _Request:
    """One accepted request: its row for the decode loop and the queue its pieces go to."""

    messages: tuple[Message, ...]
    row: Row
    pieces: queue.SimpleQueue[str | _Done | BaseException] = field(
        default_factory=queue.SimpleQueue
    )
    cancelled: threading.Event = field(default_factory=threading.Event)


class LocalGenerator(StreamingGenerator):
    """Generates with the base model and its faction LoRA adapters, batching concurrent requests."""

    def __init__(
        self,
        config: Config | None = None,
        adapters_dir: Path | str | None = None,
        device: str | None = None,
        dtype: torch.dtype | None = None,
        batching: Batching | None = None,
        max_queue: int | None = None,
        seed: int | None = None,
        num_threads: int | None = None,
        engine: str | None = None,
    ) -> None:
        """Load the model and adapters; arguments left None come from `[generation]`."""
        config = config or get_config()
        gen = config.generation
        batching = batching or gen.batching  # type: ignore[assignment]
        max_queue = max_queue or gen.max_queue
        seed = gen.seed if seed is None else seed
        num_threads = gen.torch_threads if num_threads is None else num_threads
        if batching not in ("mixed", "grouped"):
            raise ValueError(f"batching must be 'mixed' or 'grouped', not {batching!r}")
        folder = Path(adapters_dir) if adapters_dir else config.adapters_dir
        folder = folder if folder.is_absolute() else REPO_ROOT / folder
        self.max_new_tokens = gen.max_new_tokens
        self.max_batch_size = gen.max_batch_size
        self.batch_wait_s = gen.batch_wait_ms / 1000
        self.sampling = Sampling(gen.do_sample, gen.temperature, gen.top_p)
        self.batching: Batching = batching
        self.seed = seed
        self.engine_name: EngineName = pick_engine(config, engine or gen.engine)
        if self.engine_name == "native":
            self.engine: Engine = NativeEngine(config, folder)
        elif self.engine_name == "llama.cpp":
            self.engine = LlamaEngine(config, folder, num_threads)
        else:
            self.engine = TorchEngine(config, folder, device, dtype, num_threads)
        self.tokenizer = self.engine.tokenizer
        self._queue: queue.Queue[_Request | object] = queue.Queue(maxsize=max_queue)
        self._unfinished = 0
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent batches, for tests and bench
        self._lock = threading.Lock()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="local-generator", daemon=True)
        self._worker.start()

    @property
    def adapters(self) -> tuple[str, ...]:
        """The adapter names this generator can use."""
        return self.engine.names

    @property
    def queue_depth(self) -> int:
        """Requests accepted and not finished yet (waiting or being decoded)."""
        with self._lock:
            return self._unfinished

    def stream(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        """The reply, piece by piece; raises GeneratorBusy at once when the queue is full."""
        request = self._submit(messages, adapter, max_new_tokens)
        return self._pieces(request)

    def warmup(self) -> None:
        """Run one tiny request per adapter so that the first real requests are fast.

        On llama.cpp this makes each adapter's contexts and plans their graphs; on torch it
        fuses each adapter state's weights for the lean forward. The plain base model is warmed
        only where there is no adapter: the bot answers every faction through one.
        """
        messages = [{"role": "user", "content": "Hello"}]
        for adapter in self.adapters or (None,):
            for _ in self._pieces(self._submit(messages, adapter, 2)):
                pass

    def close(self) -> None:
        """Stop the worker once the requests already accepted are done."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._worker.join()
        self.engine.close()
        while not self._queue.empty():  # accepted while closing: tell their callers
            item = self._queue.get_nowait()
            if isinstance(item, _Request):
                with self._lock:
                    self._unfinished -= 1
                item.pieces.put(GenerationError("the local generator is closed"))

    def __enter__(self) -> LocalGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None
    ) -> _Request:
        import torch

        if self._closed:
            raise GenerationError("the local generator is closed")
        if adapter is not None and adapter not in self.adapters:
            adapter = None  # a faction without an adapter speaks through the base model
        limit = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        rng = None
        if self.sampling.do_sample:
            rng = torch.Generator()
            if self.seed is None:
                rng.seed()
            else:
                rng.manual_seed(self.seed)
        request = _Request(tuple(messages), Row([], max(0, min(limit, self.max_new_tokens)),
                                                on_piece=lambda _: None, adapter=adapter, rng=rng))
        request.row.on_piece = request.pieces.put
        request.row.is_cancelled = request.cancelled.is_set
        with self._lock:
            try:
                self._queue.put_nowait(request)
            except queue.Full:
                raise GeneratorBusy(
                    f"{self._queue.maxsize} requests are already waiting; try again shortly"
                ) from None
            self._unfinished += 1
        return request

    def _pieces(self, request: _Request) -> Iterator[str]:
        try:
            while True:
                try:
                    item = request.pieces.get(timeout=1.0)
                except queue.Empty:
                    if not self._worker.is_alive():
                        raise GenerationError("the local generator's worker stopped") from None
                    continue
                if isinstance(item, _Done):
                    return
                if isinstance(item, BaseException):
                    raise GenerationError(f"local generation failed: {item}") from item
                yield item
        finally:
            request.cancelled.set()  # the reader left early: the worker drops this row

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = self._gather(batch)
            self.batch_sizes.append(len(batch))
            self._decode(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _gather(self, batch: list[object]) -> bool:
        """Add requests arriving within the wait window; True when a stop marker came."""
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.max_batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _decode(self, batch: list[_Request]) -> None:
        names = {r.row.adapter for r in batch}
        if len(names) == 1 or self.batching == "mixed":
            groups = [batch]
        else:
            groups = [[r for r in batch if r.row.adapter == n] for n in sorted(names, key=str)]
        for group in groups:
            try:
                self._decode_group(group)
            except Exception as exc:  # every waiting caller must hear about the failure
                log.exception("local generation failed for a batch of %d", len(group))
                ends: list[_Done | BaseException] = [exc] * len(group)
            else:
                ends = [_DONE] * len(group)
            with self._lock:
                self._unfinished -= len(group)
            for request, end in zip(group, ends, strict=True):
                request.pieces.put(end)

    def _decode_group(self, group: list[_Request]) -> None:
        for request in group:
            # Tokenized here, on the one worker thread: a fast tokenizer is not safe to share.
            request.row.prompt_ids = list(self.tokenizer.apply_chat_template(
                list(request.messages), add_generation_prompt=True, tokenize=True,
                return_dict=False,
            ))
        self.engine.decode([r.row for r in group], self.sampling)
