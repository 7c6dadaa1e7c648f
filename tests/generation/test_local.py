"""The local generator on the real base model, with two small random LoRA adapters, on all
three engines: native (our kernel over the shipped GGUF), llama.cpp (the shipped GGUF, the
adapters converted to GGUF LoRA) and torch (fp32).

The adapters are random (peft `init_lora_weights=False`), so they change the output: the tests
check mechanics, not voice. Every mechanics test runs on every engine. The torch engine equals
peft's `generate` token for token (fp32 keeps batched and single results bit-for-bit
comparable); native and llama.cpp multiply the 4-bit weights with activations quantized to 8
bits, so their logits are checked against peft's within a stated tolerance instead.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.generation.base import GenerationError, Generator, GeneratorBusy
from bot.generation.decode import Row, Sampling, decode_batch
from tests.generation.common import ELF, ORC, STORY, reference_ids

pytestmark = pytest.mark.slow


def test_is_a_generator_with_the_adapters_found(generator):
    assert isinstance(generator, Generator)
    assert generator.adapters == ("elvish", "orcish")


@pytest.mark.parametrize("adapter", [None, "orcish"])
def test_decode_loop_equals_generate_token_for_token(reference, adapter):
    model, tokenizer, _ = reference
    expected = reference_ids(reference, ORC, adapter, 12)
    prompt = tokenizer.apply_chat_template(ORC, add_generation_prompt=True, return_dict=False)
    row = Row(prompt, 12, on_piece=lambda _: None)
    if adapter is None:
        with model.disable_adapter():
            decode_batch(model, tokenizer, [row], {tokenizer.eos_token_id})
    else:
        model.set_adapter(adapter)
        decode_batch(model, tokenizer, [row], {tokenizer.eos_token_id})
    assert row.token_ids == expected


def test_left_padded_batch_equals_each_prompt_alone(reference):
    model, tokenizer, _ = reference
    prompts = [
        tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=False)
        for m in (ORC, STORY)
    ]
    assert len(prompts[0]) != len(prompts[1])
    rows = [Row(p, 12, on_piece=lambda _: None) for p in prompts]
    with model.disable_adapter():
        decode_batch(model, tokenizer, rows, {tokenizer.eos_token_id})
    assert rows[0].token_ids == reference_ids(reference, ORC, None, 12)
    assert rows[1].token_ids == reference_ids(reference, STORY, None, 12)


@pytest.mark.parametrize("adapter", [None, "orcish", "elvish"])
def test_generator_matches_peft_generate(torch_generator, reference, adapter):
    _, tokenizer, _ = reference
    expected = tokenizer.decode(reference_ids(reference, ORC, adapter, 12),
                                skip_special_tokens=True)
    assert torch_generator.generate(ORC, adapter, max_new_tokens=12) == expected


def test_lean_path_runs_a_left_padded_merged_batch_like_generate(torch_generator, reference):
    generator = torch_generator
    from bot.generation.lean import supports

    _, tokenizer, _ = reference
    model = generator.engine._set.use("orcish")  # the worker is idle between requests
    assert supports(model)  # so decode_batch takes the lean forward
    prompts = [
        tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=False)
        for m in (ORC, STORY)
    ]
    rows = [Row(p, 12, on_piece=lambda _: None) for p in prompts]
    decode_batch(model, tokenizer, rows, {tokenizer.eos_token_id})
    assert rows[0].token_ids == reference_ids(reference, ORC, "orcish", 12)
    assert rows[1].token_ids == reference_ids(reference, STORY, "orcish", 12)


def test_lean_path_runs_a_mixed_adapter_batch_like_each_merged_adapter(torch_generator,
                                                                      reference):
    generator = torch_generator
    from bot.generation.adapters import MIXED
    from bot.generation.lean import supports

    _, tokenizer, _ = reference
    # 8 rows: the decode steps run on the MKL-packed weights (bot.generation.lean.PACK_ROWS)
    jobs = [(ORC, "orcish"), (STORY, "elvish"), (ELF, None), (ELF, "orcish"),
            (ORC, "elvish"), (STORY, "orcish"), (ORC, None), (ELF, "elvish")]
    model = generator.engine._set.use(MIXED, [adapter for _, adapter in jobs])
    assert supports(model)  # per-row LoRA runs on the lean forward too
    prompts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=False)
               for m, _ in jobs]
    rows = [Row(p, 12, on_piece=lambda _: None, adapter=a)
            for p, (_, a) in zip(prompts, jobs, strict=True)]
    decode_batch(model, tokenizer, rows, {tokenizer.eos_token_id})
    for row, (messages, adapter) in zip(rows, jobs, strict=True):
        assert row.token_ids == reference_ids(reference, messages, adapter, 12)


def test_adapters_change_the_reply_reproducibly(generator):
    replies = {a: generator.generate(ORC, a, max_new_tokens=12) for a in (None, "orcish", "elvish")}
    assert len(set(replies.values())) == 3
    assert generator.generate(ORC, "elvish", max_new_tokens=12) == replies["elvish"]


def test_faction_without_adapter_uses_the_base_model(generator):
    assert generator.generate(ORC, "dwarvish", 8) == generator.generate(ORC, None, 8)


def test_streamed_pieces_join_to_the_reply(generator):
    pieces = list(generator.stream(STORY, "orcish", max_new_tokens=20))
    assert len(pieces) > 1
    assert "".join(pieces) == generator.generate(STORY, "orcish", max_new_tokens=20)
    assert all("\ufffd" not in piece for piece in pieces)


JOBS = [(ORC, "orcish"), (ELF, "elvish"), (STORY, None), (ELF, "orcish"), (ORC, "elvish"),
        (STORY, "elvish")]


@pytest.fixture(scope="module")
def sequential(generator):
    """The replies to JOBS, asked one at a time."""
    return [generator.generate(m, a, max_new_tokens=8) for m, a in JOBS]


@pytest.mark.parametrize("batching", ["mixed", "grouped"])
def test_concurrent_requests_get_their_own_replies(generator, sequential, monkeypatch, batching):
    monkeypatch.setattr(generator, "batching", batching)
    jobs = JOBS
    generator.batch_sizes.clear()
    barrier = threading.Barrier(len(jobs))

    def ask(job):
        barrier.wait()
        return generator.generate(job[0], job[1], max_new_tokens=8)

    with ThreadPoolExecutor(len(jobs)) as pool:
        concurrent = list(pool.map(ask, jobs))
    assert concurrent == sequential
    assert max(generator.batch_sizes) > 1, "the requests were never batched"
    assert generator.queue_depth == 0


def test_max_new_tokens_is_capped(generator, monkeypatch):
    monkeypatch.setattr(generator, "max_new_tokens", 6)
    capped = generator.generate(STORY, None, max_new_tokens=50)
    assert capped == generator.generate(STORY, None, max_new_tokens=6)
    monkeypatch.setattr(generator, "max_new_tokens", 10)
    longer = generator.generate(STORY, None, max_new_tokens=10)
    assert longer.startswith(capped) and len(longer) > len(capped)
    assert generator.generate(STORY, None, max_new_tokens=0) == ""


def test_full_queue_raises_busy_at_once(generator):
    accepted, busy = [], 0
    started = time.perf_counter()
    for _ in range(generator.max_batch_size + 8 + 4):  # one batch running, the queue (8) full
        try:
            accepted.append(generator.stream(STORY, None, max_new_tokens=4))
        except GeneratorBusy:
            busy += 1
    assert busy > 0
    assert time.perf_counter() - started < 2.0
    assert generator.queue_depth > 0
    assert all("".join(pieces) for pieces in accepted)
    assert generator.queue_depth == 0


def test_sampling_is_seeded(generator, monkeypatch):
    greedy = generator.generate(STORY, "orcish", max_new_tokens=10)
    monkeypatch.setattr(generator, "sampling", Sampling(True, temperature=1.0, top_p=0.95))
    monkeypatch.setattr(generator, "seed", 1234)
    first = generator.generate(STORY, "orcish", max_new_tokens=10)
    assert generator.generate(STORY, "orcish", max_new_tokens=10) == first
    assert first != greedy
    monkeypatch.setattr(generator, "seed", 99)
    assert generator.generate(STORY, "orcish", max_new_tokens=10) != first


def test_reader_leaving_early_frees_the_worker(generator):
    pieces = generator.stream(STORY, "elvish", max_new_tokens=40)
    assert next(pieces)
    pieces.close()
    assert generator.generate(ORC, None, max_new_tokens=4)
    assert generator.queue_depth == 0


def test_warmup_and_close(adapters_dir):
    import torch

    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir / "none", dtype=torch.float32)
    assert gen.adapters == ()
    gen.warmup()
    gen.close()
    with pytest.raises(GenerationError, match="closed"):
        gen.generate(ORC, None)
