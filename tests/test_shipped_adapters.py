"""The committed adapters: trained by the default configuration on the data as it stands, and
their committed evaluation report meets the targets of the training issue."""

from __future__ import annotations

import dataclasses
import json

import pytest

from characters.config import REPO_ROOT, get_config
from training.dialogue_data import data_hash, data_layout
from training.evaluate import TARGETS

TRAINING = get_config().training
ADAPTERS = REPO_ROOT / TRAINING.adapters_dir


@pytest.mark.parametrize("faction", TRAINING.factions)
def test_adapter_was_trained_on_the_current_data_with_the_default_config(faction):
    meta = json.loads((ADAPTERS / faction / "training_meta.json").read_text())
    # a change to the data or to [training] needs the adapters retrained (README, "Training")
    assert meta["data_sha256"] == data_hash(faction), f"{faction}: retrain, the data changed"
    # the bot serves an adapter the facts layout its meta names: the one its data is written in
    assert meta.get("facts_layout", 1) == data_layout(faction), f"{faction}: layout differs"
    default = json.loads(json.dumps(dataclasses.asdict(TRAINING)))
    # which factions have voices does not change how one of them is trained
    used = {k: v for k, v in meta["config"].items() if k != "factions"}
    assert used == {k: v for k, v in default.items() if k != "factions"}, \
        f"{faction}: retrain, the default [training] changed"


# Targets an adapter still misses, as the committed report measured them (README,
# "Evaluation"): (faction, LoRA figure) -> value. In service, verification regenerates a reply
# without the asked value and then answers from the template. Strict: a test fails once the
# target is met, so the entry must then go.
SHORTFALLS: dict[tuple[str, str], float] = {}
LORA_MINIMUMS = {"voice_score": "lora_voice_min", "number_accuracy": "lora_number_accuracy_min"}


def _report(faction: str) -> dict:
    return json.loads((ADAPTERS / "eval_report.json").read_text())["factions"][faction]


@pytest.mark.parametrize("faction", TRAINING.factions)
def test_committed_report_meets_the_targets(faction):
    report = _report(faction)
    lora, plain, prompted = report["lora"], report["base_plain"], report["base_prompted"]
    assert plain["voice_score"] <= TARGETS["base_plain_voice_max"]
    assert lora["voice_score"] - prompted["voice_score"] >= TARGETS["lora_lead_over_prompted_min"]
    assert lora["number_questions"] >= 100  # every held-out value question, not a sample


# Where the prompt is not yet 3x shorter than the prompted base's, as committed: faction ->
# the ratio. (Facts layout 1, which gives small talk the full card, left Orcish at 2.94 and
# Elvish at 2.995; layout 2 gives it the header line: README, "Evaluation".) Strict, like
# SHORTFALLS.
SHORT_PROMPT_SHORTFALLS: dict[str, float] = {}


def _prompt_ratio(faction: str) -> float:
    report = _report(faction)
    return report["base_prompted"]["prompt_tokens"] / report["lora"]["prompt_tokens"]


@pytest.mark.parametrize("faction", [
    pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=f"{f}: prompt ratio "
                 f"{SHORT_PROMPT_SHORTFALLS[f]} is under 3"))
    if f in SHORT_PROMPT_SHORTFALLS else f for f in TRAINING.factions])
def test_committed_lora_prompt_is_shorter_by_the_target(faction):
    assert _prompt_ratio(faction) >= TARGETS["prompt_shorter_min"]


def test_each_prompt_shortfall_is_the_committed_ratio():
    for faction, ratio in SHORT_PROMPT_SHORTFALLS.items():
        assert round(_prompt_ratio(faction), 2) == ratio, faction


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
# its figure.
# Strict, like SHORTFALLS.
SERVED_SHORTFALLS: dict[tuple[str, str, str], float] = {}


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
