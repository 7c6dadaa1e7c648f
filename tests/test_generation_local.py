"""The local generator on the real base model, with two small random LoRA adapters.

The adapters are random (peft `init_lora_weights=False`), so they change the output: the tests
check mechanics, not voice. fp32 keeps batched and single results bit-for-bit comparable.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.generation.base import GenerationError, Generator, GeneratorBusy
from bot.generation.decode import Row, Sampling, decode_batch

pytestmark = pytest.mark.slow

ORC = [
    {"role": "system", "content": "You are Grukk Ironjaw, Orcish berserker."},
    {"role": "user", "content": "Facts:\nattack: 91\nhealth: 1250\n\nQuestion: How strong?"},
]
ELF = [
    {"role": "system", "content": "You are Lirael, Elvish archer."},
    {"role": "user", "content": "Facts:\nrange: 40\n\nQuestion: Tell me about your bow."},
]
STORY = [{"role": "user", "content": "Tell me a long story about a dragon and a knight."}]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared, busy CPU two threads wait on each other many times over."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def adapters_dir(tmp_path_factory):
    """Two random LoRA adapters, `orcish` and `elvish`, saved the way peft saves them."""
    import torch
    from peft import LoraConfig, get_peft_model

    from training.base_model import load_base_model

    folder = tmp_path_factory.mktemp("adapters")
    model, _ = load_base_model(dtype=torch.float32)
    torch.manual_seed(0)
    config = LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, init_lora_weights=False)
    peft_model = get_peft_model(model, config, adapter_name="orcish")
    peft_model.add_adapter("elvish", config)
    peft_model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def reference(adapters_dir):
    """A peft model holding both adapters, for `generate` references."""
    import torch
    from peft import PeftModel

    from training.base_model import load_base_model

    model, tokenizer = load_base_model(dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(model, str(adapters_dir / "orcish"), "orcish")
    peft_model.load_adapter(str(adapters_dir / "elvish"), "elvish")
    peft_model.eval()
    return peft_model, tokenizer, {}


@pytest.fixture(scope="module")
def generator(adapters_dir):
    import torch

    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir, dtype=torch.float32, max_queue=8)
    yield gen
    gen.close()


def _reference_ids(reference, messages, adapter, max_new_tokens) -> list[int]:
    """Greedy `generate` of the peft model (remembered: it is the slow part of these tests)."""
    import torch

    model, tokenizer, memo = reference
    key = (repr(messages), adapter, max_new_tokens)
    if key in memo:
        return memo[key]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        if adapter is None:
            with model.disable_adapter():
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                     max_new_tokens=max_new_tokens, do_sample=False)
        else:
            model.set_adapter(adapter)
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=max_new_tokens, do_sample=False)
    tokens = out[0, len(prompt) :].tolist()
    memo[key] = [t for t in tokens if t != tokenizer.eos_token_id]
    return memo[key]


def test_is_a_generator_with_the_adapters_found(generator):
    assert isinstance(generator, Generator)
    assert generator.adapters == ("elvish", "orcish")


@pytest.mark.parametrize("adapter", [None, "orcish"])
def test_decode_loop_equals_generate_token_for_token(reference, adapter):
    model, tokenizer, _ = reference
    expected = _reference_ids(reference, ORC, adapter, 12)
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
    assert rows[0].token_ids == _reference_ids(reference, ORC, None, 12)
    assert rows[1].token_ids == _reference_ids(reference, STORY, None, 12)


@pytest.mark.parametrize("adapter", [None, "orcish", "elvish"])
def test_generator_matches_peft_generate(generator, reference, adapter):
    _, tokenizer, _ = reference
    expected = tokenizer.decode(_reference_ids(reference, ORC, adapter, 12),
                                skip_special_tokens=True)
    assert generator.generate(ORC, adapter, max_new_tokens=12) == expected


def test_lean_path_runs_a_left_padded_merged_batch_like_generate(generator, reference):
    from bot.generation.lean import supports

    _, tokenizer, _ = reference
    model = generator._set.use("orcish")  # the worker is idle between requests
    assert supports(model)  # so decode_batch takes the lean forward
    prompts = [
        tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=False)
        for m in (ORC, STORY)
    ]
    rows = [Row(p, 12, on_piece=lambda _: None) for p in prompts]
    decode_batch(model, tokenizer, rows, {tokenizer.eos_token_id})
    assert rows[0].token_ids == _reference_ids(reference, ORC, "orcish", 12)
    assert rows[1].token_ids == _reference_ids(reference, STORY, "orcish", 12)


def test_lean_path_runs_a_mixed_adapter_batch_like_each_merged_adapter(generator, reference):
    from bot.generation.adapters import MIXED
    from bot.generation.lean import supports

    _, tokenizer, _ = reference
    # 8 rows: the decode steps run on the MKL-packed weights (bot.generation.lean.PACK_ROWS)
    jobs = [(ORC, "orcish"), (STORY, "elvish"), (ELF, None), (ELF, "orcish"),
            (ORC, "elvish"), (STORY, "orcish"), (ORC, None), (ELF, "elvish")]
    model = generator._set.use(MIXED, [adapter for _, adapter in jobs])
    assert supports(model)  # per-row LoRA runs on the lean forward too
    prompts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, return_dict=False)
               for m, _ in jobs]
    rows = [Row(p, 12, on_piece=lambda _: None, adapter=a)
            for p, (_, a) in zip(prompts, jobs, strict=True)]
    decode_batch(model, tokenizer, rows, {tokenizer.eos_token_id})
    for row, (messages, adapter) in zip(rows, jobs, strict=True):
        assert row.token_ids == _reference_ids(reference, messages, adapter, 12)


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
