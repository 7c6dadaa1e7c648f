"""The pieces of the local generator that need no real model: text streaming, adapter files,
per-row LoRA, and token picking. A tiny random LLaMA stands in for the base model."""

from __future__ import annotations

import json

import pytest

from bot.generation.base import GenerationError
from bot.generation.decode import IncrementalDecoder, Row, Sampling, _pick
from training.base_model import load_tokenizer

# torch, transformers and peft are imported inside the tests, so collecting the suite stays fast.


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def tiny_model():
    """A two-layer random LLaMA with a 128-token vocabulary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(3)
    config = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


@pytest.fixture
def tiny_adapters(tmp_path):
    """Two random adapters for `tiny_model()`, with different ranks and targets."""
    from peft import LoraConfig, get_peft_model

    model = tiny_model()
    orc = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                     init_lora_weights=False)
    elf = LoraConfig(r=2, lora_alpha=8, target_modules=["q_proj", "up_proj"],
                     init_lora_weights=False, use_rslora=True)
    peft_model = get_peft_model(model, orc, adapter_name="orcish")
    peft_model.add_adapter("elvish", elf)
    peft_model.save_pretrained(str(tmp_path))
    return tmp_path


def test_incremental_decoder_never_splits_a_character(tokenizer):
    text = "Grüße, Kriegerin! 🐗🏹 Angriff: 91 — 攻撃"
    ids = tokenizer.encode(text, add_special_tokens=False)
    decoder = IncrementalDecoder(tokenizer)
    pieces = [decoder.push(i) for i in ids] + [decoder.flush()]
    assert "".join(pieces) == tokenizer.decode(ids) == text
    assert all("\ufffd" not in p for p in pieces)
    assert sum(1 for p in pieces if p) > 5
    assert "" in pieces  # some tokens held back a partial character


def test_discover_adapters(tiny_adapters, tmp_path):
    from bot.generation.adapters import discover_adapters

    (tiny_adapters / "notes").mkdir()
    assert list(discover_adapters(tiny_adapters)) == ["elvish", "orcish"]
    assert discover_adapters(tmp_path / "missing") == {}


def test_read_adapter_scales_and_rejects_what_it_cannot_run(tiny_adapters):
    import torch
    from safetensors.torch import save_file

    from bot.generation.adapters import read_adapter

    orc = read_adapter(tiny_adapters / "orcish")
    assert orc["model.layers.0.self_attn.q_proj"][2] == 8 / 4
    assert read_adapter(tiny_adapters / "elvish")["model.layers.1.mlp.up_proj"][2] == 8 / 2**0.5
    config = json.loads((tiny_adapters / "orcish" / "adapter_config.json").read_text())
    (tiny_adapters / "orcish" / "adapter_config.json").write_text(
        json.dumps({**config, "use_dora": True}))
    with pytest.raises(GenerationError, match="use_dora"):
        read_adapter(tiny_adapters / "orcish")
    save_file({"model.layers.0.q_proj.lora_A.weight": torch.zeros(2, 32)},
              str(tiny_adapters / "elvish" / "adapter_model.safetensors"))
    with pytest.raises(GenerationError, match="lacks lora_A or lora_B"):
        read_adapter(tiny_adapters / "elvish")


def test_merged_mixed_and_peft_agree_per_row(tiny_adapters):
    import torch
    from peft import PeftModel

    from bot.generation.adapters import MIXED, AdapterSet, discover_adapters

    reference = PeftModel.from_pretrained(tiny_model(), str(tiny_adapters / "orcish"), "orcish")
    reference.load_adapter(str(tiny_adapters / "elvish"), "elvish")
    model = tiny_model()
    adapters = AdapterSet(model, discover_adapters(tiny_adapters))
    ids = torch.randint(0, 128, (3, 7))
    rows = ["orcish", None, "elvish"]
    with torch.inference_mode():
        mixed = adapters.use(MIXED, rows)(input_ids=ids).logits
        for i, name in enumerate(rows):
            merged = adapters.use(name)(input_ids=ids[i : i + 1]).logits
            if name is None:
                with reference.disable_adapter():
                    expected = reference(input_ids=ids[i : i + 1]).logits
            else:
                reference.set_adapter(name)
                expected = reference(input_ids=ids[i : i + 1]).logits
            torch.testing.assert_close(merged, expected, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(mixed[i : i + 1], expected, rtol=1e-4, atol=1e-5)
        base = adapters.use(None)(input_ids=ids[:1]).logits
    assert not torch.allclose(base, mixed[:1])
    with pytest.raises(GenerationError, match="unknown adapter"):
        adapters.use("dwarvish")


def test_pick_greedy_and_nucleus():
    import torch

    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0], [9.0, 0.0, 0.0, 0.0]])
    rows = [Row([1], 4, on_piece=print, rng=torch.Generator().manual_seed(s)) for s in (1, 2)]
    assert _pick(logits, rows, Sampling()) == [1, 0]
    narrow = Sampling(do_sample=True, temperature=1.0, top_p=0.01)
    assert all(_pick(logits, rows, narrow) == [1, 0] for _ in range(20))
    wide = Sampling(do_sample=True, temperature=5.0, top_p=1.0)
    drawn = {tuple(_pick(logits, rows, wide)) for _ in range(50)}
    assert len(drawn) > 1


def _hf_and_lean_logits(model, prompts, steps):
    """Last-position logits of the HF and lean forwards, prefill then `steps` greedy steps."""
    import torch

    from bot.generation.decode import hf_forward
    from bot.generation.lean import lean_for

    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt) :] = torch.tensor(prompt)
        mask[i, width - len(prompt) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    pairs = []
    with torch.inference_mode():
        hf, lean = hf_forward(model, mask), lean_for(model).start(mask, steps + 1)
        for _ in range(steps + 1):
            expected, got = hf(ids, positions), lean(ids, positions)
            pairs.append((expected, got))
            ids = expected.argmax(-1, keepdim=True)
            positions = positions[:, -1:] + 1
    return pairs


@pytest.mark.parametrize("adapter", [None, "orcish", "elvish"])
def test_lean_forward_equals_hf_on_a_left_padded_batch(tiny_adapters, adapter):
    import torch

    from bot.generation.adapters import MIXED, AdapterSet, discover_adapters
    from bot.generation.lean import lean_for, supports

    model = tiny_model()
    adapters = AdapterSet(model, discover_adapters(tiny_adapters))
    assert supports(adapters.use(adapter))
    prompts = [[5, 9, 17, 33, 2, 70, 11, 4, 99], [8, 21, 3, 60]]
    for expected, got in _hf_and_lean_logits(model, prompts, steps=5):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert supports(adapters.use(MIXED, ["orcish", "elvish"]))  # per-row LoRA runs lean too
    lean = lean_for(adapters.use(adapter))
    for name in (None, "orcish", "elvish"):
        adapters.use(name)
        lean.layers()
    # Layers an adapter leaves alone share the base's fused weights: orcish touches q, v and
    # down in both layers (2 new QKV, 2 new down), elvish q and up (2 new QKV, 2 new gate/up);
    # the base has QKV, o, gate/up and down in each of 2 layers, and the lm_head.
    assert len(lean._fused) == 9 + 4 + 4


def test_lean_forward_equals_hf_on_a_mixed_adapter_batch(tiny_adapters):
    import torch

    from bot.generation.adapters import MIXED, AdapterSet, discover_adapters

    model = tiny_model()
    adapters = AdapterSet(model, discover_adapters(tiny_adapters))
    adapters.use(MIXED, ["orcish", None, "elvish"])
    prompts = [[5, 9, 17, 33, 2, 70, 11, 4, 99], [8, 21, 3, 60], [7, 7, 40, 2, 19]]
    for expected, got in _hf_and_lean_logits(model, prompts, steps=5):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # and each row equals that row decoded alone on its merged adapter's weights
    mixed = _hf_and_lean_logits(model, prompts, steps=0)[0][1]
    for row, name in enumerate(["orcish", None, "elvish"]):
        adapters.use(name)
        alone = _hf_and_lean_logits(model, [prompts[row]], steps=0)[0][1]
        torch.testing.assert_close(mixed[row : row + 1], alone, rtol=1e-4, atol=1e-4)


def test_lean_greedy_decode_equals_generate():
    import torch

    from bot.generation.decode import decode_batch

    class Ids:
        pad_token_id = 0

        def decode(self, ids, skip_special_tokens=True):
            return " ".join(map(str, ids))

    model = tiny_model()
    prompts = [[5, 9, 17, 33, 2, 70, 11], [8, 21, 3]]
    rows = [Row(p, 10, on_piece=lambda _: None) for p in prompts]
    decode_batch(model, Ids(), rows, eos_ids=set())
    for row, prompt in zip(rows, prompts, strict=True):
        ids = torch.tensor([prompt])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=10, min_new_tokens=10, do_sample=False,
                                 pad_token_id=0)
        assert row.token_ids == out[0, len(prompt) :].tolist()
