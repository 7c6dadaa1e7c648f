"""The committed adapters: trained by the default configuration on the data as it stands, and
their committed evaluation report meets the targets of the training issue."""

from __future__ import annotations

import dataclasses
import json

import pytest

from characters.config import REPO_ROOT, get_config
from training.dialogue_data import data_hash
from training.evaluate import TARGETS

TRAINING = get_config().training
ADAPTERS = REPO_ROOT / TRAINING.adapters_dir


@pytest.mark.parametrize("faction", TRAINING.factions)
def test_adapter_was_trained_on_the_current_data_with_the_default_config(faction):
    meta = json.loads((ADAPTERS / faction / "training_meta.json").read_text())
    # a change to the data or to [training] needs the adapters retrained (README, "Training")
    assert meta["data_sha256"] == data_hash(faction), f"{faction}: retrain, the data changed"
    default = json.loads(json.dumps(dataclasses.asdict(TRAINING)))
    # which factions have voices does not change how one of them is trained
    used = {k: v for k, v in meta["config"].items() if k != "factions"}
    assert used == {k: v for k, v in default.items() if k != "factions"}, \
        f"{faction}: retrain, the default [training] changed"


# Targets an adapter still misses, as the committed report measured them (README,
# "Evaluation"): (faction, LoRA figure) -> value. In service, verification regenerates a reply
# without the asked value and then answers from the template. Strict: a test fails once the
# target is met, so the entry must then go.
SHORTFALLS = {("elvish", "number_accuracy"): 0.914, ("dwarvish", "number_accuracy"): 0.865,
              ("human", "number_accuracy"): 0.926}
LORA_MINIMUMS = {"voice_score": "lora_voice_min", "number_accuracy": "lora_number_accuracy_min"}


def _report(faction: str) -> dict:
    return json.loads((ADAPTERS / "eval_report.json").read_text())["factions"][faction]


@pytest.mark.parametrize("faction", TRAINING.factions)
def test_committed_report_meets_the_targets(faction):
    report = _report(faction)
    lora, plain, prompted = report["lora"], report["base_plain"], report["base_prompted"]
    assert plain["voice_score"] <= TARGETS["base_plain_voice_max"]
    assert lora["voice_score"] - prompted["voice_score"] >= TARGETS["lora_lead_over_prompted_min"]
    assert prompted["prompt_tokens"] >= TARGETS["prompt_shorter_min"] * lora["prompt_tokens"]
    assert lora["number_questions"] >= 100  # every held-out value question, not a sample


@pytest.mark.parametrize(("faction", "figure"), [
    pytest.param(f, k, marks=pytest.mark.xfail(
        strict=True, reason=f"{f}: {k} {SHORTFALLS[f, k]} is under its target"))
    if (f, k) in SHORTFALLS else (f, k)
    for f in TRAINING.factions for k in LORA_MINIMUMS])
def test_committed_lora_figures_meet_their_minimums(faction, figure):
    assert _report(faction)["lora"][figure] >= TARGETS[LORA_MINIMUMS[figure]]


def test_each_known_shortfall_is_the_committed_figure():
    for (faction, figure), value in SHORTFALLS.items():
        assert _report(faction)["lora"][figure] == value, (faction, figure)


# The served engines keep the quality: the LoRA setup evaluated on the native kernel (the
# bot's default: Q4_1 weights, activations quantized to 8 bits) and on llama.cpp (the same, with
# prompts on its f16 copy) stays within 0.02 of the fp32 reference report on every held-out
# question (the decode issue; README, "Decode").
SERVED = {"native": ADAPTERS / "native" / "eval_report.json",
          "llama.cpp": ADAPTERS / "llama_cpp" / "eval_report.json"}
SERVED_TOLERANCE = 0.02
# Where a served engine is further off than that, as committed: (engine, faction, figure) ->
# its figure. llama.cpp's Elvish answers are 3 of 139 better than the reference's (0.021).
# Strict, like SHORTFALLS.
SERVED_SHORTFALLS = {("llama.cpp", "elvish", "number_accuracy"): 0.935}


@pytest.mark.parametrize(("engine", "faction", "figure"), [
    pytest.param(e, f, k, marks=pytest.mark.xfail(
        strict=True, reason=f"{e} {f}: {k} {SERVED_SHORTFALLS[e, f, k]} is off the reference"))
    if (e, f, k) in SERVED_SHORTFALLS else (e, f, k)
    for e in SERVED for f in TRAINING.factions for k in ("voice_score", "number_accuracy")])
def test_served_engine_stays_within_tolerance_of_the_reference(engine, faction, figure):
    served = json.loads(SERVED[engine].read_text())
    assert served["engine"] == engine
    lora = served["factions"][faction]["lora"]
    reference = _report(faction)["lora"]
    assert lora["answers"] == reference["answers"]  # the same held-out questions, all of them
    assert abs(lora[figure] - reference[figure]) <= SERVED_TOLERANCE


def test_each_served_shortfall_is_the_committed_figure():
    for (engine, faction, figure), value in SERVED_SHORTFALLS.items():
        served = json.loads(SERVED[engine].read_text())
        assert served["factions"][faction]["lora"][figure] == value, (engine, faction, figure)
