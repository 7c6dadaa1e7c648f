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


@pytest.mark.parametrize("faction", TRAINING.factions)
def test_committed_report_meets_the_targets(faction):
    report = json.loads((ADAPTERS / "eval_report.json").read_text())["factions"][faction]
    lora, plain, prompted = report["lora"], report["base_plain"], report["base_prompted"]
    assert lora["voice_score"] >= TARGETS["lora_voice_min"]
    assert plain["voice_score"] <= TARGETS["base_plain_voice_max"]
    assert lora["voice_score"] - prompted["voice_score"] >= TARGETS["lora_lead_over_prompted_min"]
    assert lora["number_accuracy"] >= TARGETS["lora_number_accuracy_min"]
    assert prompted["prompt_tokens"] >= TARGETS["prompt_shorter_min"] * lora["prompt_tokens"]
    assert lora["number_questions"] >= 100  # every held-out value question, not a sample
