"""The clocks of the decode bench (bench/bench_decode.py): the read bandwidth that bounds a
decode step, a batch's prompt and step times through our loop and through the served engines,
llama.cpp's own bare decode (`Peer`), naive `generate`, and concurrent requests through the
generator."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from bot.generation.llama import LlamaCppModel
    from bot.generation.local import Batching, LocalGenerator
    from bot.generation.native import NativeModel

TOKENS = int(os.environ.get("BENCH_DECODE_TOKENS", "32"))
THREADS = int(os.environ.get("BENCH_DECODE_THREADS", "1"))
ROUNDS = 7  # peer and ours measured in turns
PROMPT = [
    {"role": "system", "content": "You are Grukk Ironjaw, Orcish berserker."},
    {"role": "user", "content": "Facts:\nattack: 91\nhealth: 1250\nspeed: 7\n\n"
                                "Question: Tell me about yourself and your strength."},
]


def read_bandwidth_gbs(tries: int = 5) -> float:
    """Best timed sum over a 512 MiB fp32 tensor, in GB/s."""
    import torch

    x = torch.ones(128 * 1024 * 1024)
    x.sum()
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - started)
    return x.numel() * 4 / best / 1e9


def weight_bytes_per_token(model: torch.nn.Module) -> int:
    """Bytes of weights one decode step reads (shared tensors once, plus one embedding row)."""
    seen, total = set(), 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel() * p.element_size()
    embed = model.get_input_embeddings().weight
    return total + embed.shape[1] * embed.element_size()


def peak_rss_gb() -> float:
    """This process's peak resident memory so far, in GB (Linux reports KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 2)


def timed_batch(
    model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, rows: int = 1,
    tokens: int = TOKENS, lean: bool = True,
) -> tuple[float, float]:
    """Prefill seconds and mean decode-step milliseconds of our loop over `rows` copies of the
    prompt, in the model's current adapter state; EOS ignored."""
    from bot.generation.decode import Row, decode_batch

    prompt = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_dict=False)
    stamps: list[float] = []
    stamp = stamper(stamps)  # asked once per step for the first row: a clock after each token
    batch = [Row(list(prompt), tokens, on_piece=lambda _: None,
                 is_cancelled=stamp if i == 0 else (lambda: False)) for i in range(rows)]
    started = time.perf_counter()
    decode_batch(model, tokenizer, batch, eos_ids=set(), lean=lean)
    return stamps[0] - started, 1000 * (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def timed_engine(model: LlamaCppModel | NativeModel, tokenizer: PreTrainedTokenizerBase,
                  adapters: list[str | None], tokens: int = TOKENS, tries: int = 3,
                  ) -> tuple[float, float]:
    """Prompt seconds and mean decode-step milliseconds (every row one token) of the llama.cpp
    or native engine over one copy of the prompt per adapter in `adapters`; EOS ignored. Best
    of `tries`."""
    from bot.generation.decode import Row, Sampling

    prompt = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_dict=False)
    best = (float("inf"), float("inf"))
    for _ in range(tries):
        stamps: list[float] = []
        stamp = stamper(stamps)
        rows = [Row(list(prompt), tokens, on_piece=lambda _: None, adapter=a,
                    is_cancelled=stamp if i == 0 else (lambda: False))
                for i, a in enumerate(adapters)]
        started = time.perf_counter()
        model.decode(rows, tokenizer, set(), Sampling())
        # the first row's first token comes after every row's prompt was read
        result = (stamps[0] - started, 1000 * (stamps[-1] - stamps[0]) / (len(stamps) - 1))
        best = min(best, result, key=lambda r: r[1])
    return best


def stamper(stamps: list[float]) -> Callable[[], bool]:
    """A clock read once per step (asked as `is_cancelled`)."""
    def stamp() -> bool:
        stamps.append(time.perf_counter())
        return False

    return stamp


class Peer:
    """llama.cpp's own bare decode of the GGUF through llama-cpp-python's `Llama` (what the
    decode issue measured), EOS banned."""

    def __init__(self, model_path: Path, tokenizer: PreTrainedTokenizerBase) -> None:
        from llama_cpp import Llama

        self.llm = Llama(str(model_path), n_threads=THREADS, n_threads_batch=THREADS,
                         n_ctx=1024, verbose=False)
        self.text = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True,
                                                  tokenize=False)
        self.ban = {int(i): -1e9 for i in (tokenizer.eos_token_id,) if i is not None}

    def rate(self, tokens: int = TOKENS) -> float:
        """Tokens/s after the first token: (time for tokens + 1) - (time for 1)."""
        timings = []
        for n in (1, tokens + 1):
            self.llm.reset()
            started = time.perf_counter()
            self.llm.create_completion(self.text, max_tokens=n, temperature=0.0,
                                       logit_bias=self.ban)
            timings.append(time.perf_counter() - started)
        return tokens / (timings[1] - timings[0])

    def close(self) -> None:
        self.llm.close()


def decode_rate(
    model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, tokens: int = TOKENS,
    lean: bool = True,
) -> float:
    """Single-stream decode tokens/s (after the first token) of our loop."""
    return 1000 / timed_batch(model, tokenizer, tokens=tokens, lean=lean)[1]


def generate_rate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, tokens: int
) -> float:
    """Naive `model.generate` greedy tokens/s, prefill included (as a caller sees it)."""
    import torch

    prompt = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_dict=False)
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=2,
                       do_sample=False)
        started = time.perf_counter()
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens,
                       min_new_tokens=tokens, do_sample=False)
    return tokens / (time.perf_counter() - started)


def concurrent_rate(gen: LocalGenerator, batching: Batching, requests: int = 8,
                     tries: int = 3) -> tuple[float, float]:
    """Aggregate tokens/s of `requests` sent together, spread over every faction's adapter,
    prefill included (the median of `tries`: one try is at the mercy of a shared machine); and
    the mean batch size."""
    from concurrent.futures import ThreadPoolExecutor

    gen.batching = batching
    gen.batch_sizes.clear()
    jobs = (list(gen.adapters) * requests)[:requests]  # spread over every faction
    rates = []
    for _ in range(tries):
        started = time.perf_counter()
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(lambda a: gen.generate(PROMPT, a, TOKENS), jobs))
        rates.append(len(jobs) * TOKENS / (time.perf_counter() - started))
    return statistics.median(rates), sum(gen.batch_sizes) / len(gen.batch_sizes)
