"""The engines that run the shipped GGUF's 4-bit weights (llama.cpp and native) against peft:
logits within a stated tolerance, mixed batches row for row, and clear errors for a corrupt
file or a request past their limits. The adapters are the package's two random ones
(conftest.py)."""

from __future__ import annotations

import pytest

from bot.generation.base import GenerationError
from bot.generation.decode import Row, Sampling
from tests.generation.common import ELF, ORC, STORY

pytestmark = pytest.mark.slow


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

    engine = native_generator.engine
    with pytest.raises(GenerationError, match="context_tokens"):
        engine.decode([Row([1] * 600, 8, on_piece=lambda _: None)], Sampling())
    with pytest.raises(GenerationError, match="out of range"):
        engine.model.forward([10**6], [0], [0], [-1], [0])


def _cache():
    from characters.config import get_config

    return get_config().cache_dir
