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
def torch_generator(adapters_dir):
    import torch

    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir, dtype=torch.float32, max_queue=8,
                         engine="torch")
    yield gen
    gen.close()


@pytest.fixture(scope="module")
def llama_generator(adapters_dir):
    from bot.generation.local import LocalGenerator

    # the seeded random adapters are converted once into the model cache, named by their hash
    gen = LocalGenerator(adapters_dir=adapters_dir, max_queue=8, engine="llama.cpp")
    yield gen
    gen.close()


@pytest.fixture(scope="module")
def native_generator(adapters_dir):
    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir, max_queue=8, engine="native")
    yield gen
    gen.close()


FIXTURES = {"torch": "torch_generator", "llama.cpp": "llama_generator",
            "native": "native_generator"}


@pytest.fixture(scope="module", params=list(FIXTURES))
def generator(request):
    return request.getfixturevalue(FIXTURES[request.param])


@pytest.fixture(scope="module", params=["llama.cpp", "native"])
def quantized_generator(request):
    """The engines that run the shipped GGUF's 4-bit weights."""
    return request.getfixturevalue(FIXTURES[request.param])


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
def test_generator_matches_peft_generate(torch_generator, reference, adapter):
    _, tokenizer, _ = reference
    expected = tokenizer.decode(_reference_ids(reference, ORC, adapter, 12),
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
    assert rows[0].token_ids == _reference_ids(reference, ORC, "orcish", 12)
    assert rows[1].token_ids == _reference_ids(reference, STORY, "orcish", 12)


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


# llama.cpp and native against peft: the prompt's next-token logits, with and without each
# adapter. Measured on these random adapters: llama.cpp's logits (its prompts are read on the
# f16 copy) within 0.6 of peft's; native reads prompts on the 4-bit weights with activations
# quantized to 8 bits, as llama.cpp's own Q4_1 decoder does, and both were measured within 0.59
# to 1.31 of peft's on three prompts and three adapter states (one session, side by side), the
# same top token, and the adapter's effect (adapter minus base logits) correlated
# above 0.99 with peft's and of the same size within 5%: a wrong row order of a query or key
# LoRA, a lost scale or a missing module would break the last two.
LOGIT_TOLERANCE = {"llama.cpp": 1.0, "native": 1.5}
# The adapter effect's size against peft's: within 5% on llama.cpp (f16 prompts); on the 4-bit
# prompt path both native and llama.cpp's own Q4_1 decoder measured 0.94-1.08 (correlation
# 0.990-0.997) over three prompts and both adapters, so 10% there. A lost or doubled scale is
# off by 2x.
EFFECT_SIZE_TOLERANCE = {"llama.cpp": 0.05, "native": 0.10}
DELTA_CORRELATION_MIN = 0.99


def _peft_logits(reference, messages, adapter):
    import torch

    model, tokenizer, _ = reference
    ids = torch.tensor([tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                      return_dict=False)])
    with torch.inference_mode():
        if adapter is None:
            with model.disable_adapter():
                return model(input_ids=ids).logits[0, -1].float().numpy()
        model.set_adapter(adapter)
        return model(input_ids=ids).logits[0, -1].float().numpy()


def _engine_logits(generator, messages, adapter):
    model = generator.engine.model
    prompt = list(generator.tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=False))
    return model.prompt_logits(prompt, adapter)


@pytest.mark.parametrize("adapter", ["orcish", "elvish"])
def test_converted_adapter_logits_match_peft(quantized_generator, reference, adapter):
    import numpy as np

    peft_base = _peft_logits(reference, ORC, None)
    peft = _peft_logits(reference, ORC, adapter)
    llama_base = _engine_logits(quantized_generator, ORC, None)
    llama = _engine_logits(quantized_generator, ORC, adapter)
    assert np.abs(llama - peft).max() < LOGIT_TOLERANCE[quantized_generator.engine_name]
    assert llama.argmax() == peft.argmax()
    effect, expected = llama - llama_base, peft - peft_base
    assert np.abs(expected).max() > 1.0  # the adapter changes the logits: the check means something
    assert np.corrcoef(effect, expected)[0, 1] > DELTA_CORRELATION_MIN
    assert np.linalg.norm(effect) / np.linalg.norm(expected) == pytest.approx(
        1.0, abs=EFFECT_SIZE_TOLERANCE[quantized_generator.engine_name])


def test_mixed_batch_rows_equal_each_row_alone(quantized_generator):
    """Rows of three adapter states in one batch equal each row decoded alone."""
    from bot.generation.decode import Row

    engine = quantized_generator.engine
    jobs = [(ORC, "orcish"), (STORY, "elvish"), (ELF, None), (ELF, "orcish"),
            (ORC, "elvish"), (STORY, "orcish"), (ORC, None), (ELF, "elvish")]
    prompts = [list(quantized_generator.tokenizer.apply_chat_template(
        m, add_generation_prompt=True, return_dict=False)) for m, _ in jobs]
    rows = [Row(p, 12, on_piece=lambda _: None, adapter=a)
            for p, (_, a) in zip(prompts, jobs, strict=True)]
    engine.decode(rows, Sampling())
    for row, prompt, (_, adapter) in zip(rows, prompts, jobs, strict=True):
        alone = Row(prompt, 12, on_piece=lambda _: None, adapter=adapter)
        engine.decode([alone], Sampling())
        assert row.token_ids == alone.token_ids
        assert len(row.token_ids) > 0


def test_a_corrupt_adapter_gguf_names_its_file(tmp_path):
    from bot.generation.llama import LlamaCppModel
    from training.base_model import find_source

    source = find_source("smollm2-135m-instruct")
    broken = tmp_path / "orcish.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(GenerationError, match=r"orcish\.gguf"):
        LlamaCppModel(source.folder / source.gguf_file, {"orcish": broken})


def test_a_corrupt_model_gguf_stops_start_up_with_a_clear_message(tmp_path):
    from bot.generation.llama import LlamaCppModel

    broken = tmp_path / "model.gguf"
    broken.write_bytes(b"not a gguf file at all")
    with pytest.raises(GenerationError, match=r"model\.gguf: llama\.cpp cannot load"):
        LlamaCppModel(broken, {})


def test_a_batch_too_big_for_the_kv_cells_is_decoded_in_turns(llama_generator, adapters_dir):
    """Rows whose prompts and replies need more KV cells than an adapter's context holds are
    decoded in turns, each row as it would be alone."""
    from bot.generation.decode import Row
    from bot.generation.llama import LlamaCppModel

    engine = llama_generator.engine
    small = LlamaCppModel(engine.model_path, engine.adapter_paths, prompt_model=engine.prompt_path,
                          max_rows=4, context_tokens=96)  # 192 cells per adapter
    try:
        prompts = [list(llama_generator.tokenizer.apply_chat_template(
            m, add_generation_prompt=True, return_dict=False)) for m in (ORC, ELF, STORY, ORC)]
        assert sum(len(p) + 12 for p in prompts) > small.capacity
        rows = [Row(p, 12, on_piece=lambda _: None, adapter="orcish") for p in prompts]
        assert len(small._chunks(rows)) > 1
        small.decode(rows, llama_generator.tokenizer, engine.eos_ids, Sampling())
        for row, prompt in zip(rows, prompts, strict=True):
            alone = Row(prompt, 12, on_piece=lambda _: None, adapter="orcish")
            engine.decode([alone], Sampling())
            assert row.token_ids == alone.token_ids
    finally:
        small.close()


def test_native_prompts_split_over_calls_equal_each_row_alone(native_generator):
    """Prompts that do not fit one native call are read in several; each row still equals
    itself decoded alone."""
    from bot.generation.decode import Row
    from bot.generation.native import NativeModel

    engine = native_generator.engine
    small = NativeModel(engine.model_path, engine.adapter_paths, cache=_cache(),
                        max_rows=4, context_tokens=128)
    try:
        prompts = [list(native_generator.tokenizer.apply_chat_template(
            m, add_generation_prompt=True, return_dict=False)) for m in (ORC, ELF, STORY, ORC)]
        assert sum(len(p) for p in prompts) > small.max_tokens
        rows = [Row(p, 12, on_piece=lambda _: None, adapter=a)
                for p, a in zip(prompts, ("orcish", "elvish", None, "elvish"), strict=True)]
        small.decode(rows, native_generator.tokenizer, engine.eos_ids, Sampling())
        for row in rows:
            alone = Row(row.prompt_ids, 12, on_piece=lambda _: None, adapter=row.adapter)
            engine.decode([alone], Sampling())
            assert row.token_ids == alone.token_ids
    finally:
        small.close()


def test_native_counts_the_multiply_adds_of_the_base_matrices(native_generator, reference):
    """bench decode's prompt compute figure rests on `macs_per_token`: every weight of the
    decoder layers' linear maps once (the base weights of the peft reference, its LoRA matrices
    and the lm_head left out)."""
    model, _, _ = reference
    base = sum(p.numel() for n, p in model.named_parameters()
               if ".layers." in n and "_proj." in n and "lora_" not in n)
    native = native_generator.engine.model
    assert native.macs_per_token == base
    peak = native.vnni_peak_gmacs(iters=10_000)
    assert (peak > 0) if native.vectorized else (peak is None)


def test_native_portable_loops_match_peft_like_the_vector_kernel(native_generator, reference):
    """The loops a CPU without AVX-512 VNNI runs (built here with AVX-512 left out) are as close
    to peft as the vector kernel. They are not bit-equal to it: their floats are summed in
    another order, and a last-bit difference can round an 8-bit activation the other way."""
    import numpy as np

    from bot.generation.native import NativeModel

    engine = native_generator.engine
    portable = NativeModel(engine.model_path, engine.adapter_paths, cache=_cache(),
                           max_rows=2, context_tokens=128, portable=True)
    try:
        assert not portable.vectorized
        assert portable.vnni_peak_gmacs() is None
        prompt = list(native_generator.tokenizer.apply_chat_template(
            ORC, add_generation_prompt=True, return_dict=False))
        for adapter in (None, "orcish"):
            peft = _peft_logits(reference, ORC, adapter)
            logits = portable.prompt_logits(prompt, adapter)
            assert np.abs(logits - peft).max() < LOGIT_TOLERANCE["native"]
            assert logits.argmax() == peft.argmax()
    finally:
        portable.close()


def test_native_errors_name_the_file(tmp_path, native_generator):
    from bot.generation.native import NativeModel

    engine = native_generator.engine
    broken = tmp_path / "model.gguf"
    broken.write_bytes(b"not a gguf file at all")
    with pytest.raises(GenerationError, match=r"model\.gguf: .*GGUF"):
        NativeModel(broken, {}, cache=_cache())
    adapter = tmp_path / "orcish.gguf"
    adapter.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(GenerationError, match=r"adapter 'orcish': cannot read .*orcish\.gguf"):
        NativeModel(engine.model_path, {"orcish": adapter}, cache=_cache())


def test_native_refuses_rows_past_its_limits(native_generator):
    from bot.generation.decode import Row

    engine = native_generator.engine
    with pytest.raises(GenerationError, match="context_tokens"):
        engine.decode([Row([1] * 600, 8, on_piece=lambda _: None)], Sampling())
    with pytest.raises(GenerationError, match="out of range"):
        engine.model.forward([10**6], [0], [0], [-1], [0])


def _cache():
    from characters.config import get_config

    return get_config().cache_dir
