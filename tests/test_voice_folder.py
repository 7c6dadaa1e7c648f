"""A made-up faction's voice, added as a folder and nothing else: its data builds, the judge
scores it, the fallback speaks it, and a few training steps run on it."""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

import pytest

from bot.fallback import FallbackFacts, fallback_answer
from characters.numbers import invented_numbers
from characters.voices import get_voice, voiced_factions
from characters.world import Faction, World
from training.dialogue_data import (
    HELDOUT_EXAMPLES,
    KIND_WEIGHTS,
    TRAIN_EXAMPLES,
    load_examples,
    write_faction,
)
from training.voice import voice_score

FACTION = "goblin"
STATS = ("level", "health", "mana", "attack", "defense", "speed", "attack_speed", "crit_chance",
         "attack_range", "ability_power", "health_regen", "cost")


def _lines() -> dict:
    """The core lines of a goblin voice: giggles, "us" for the warren, and its own words."""
    talk = [("How are you?", "Heh-heh, us fine, snazz in the warren."),
            ("Hungry?", "Yip-yip, us eat gribble stew."),
            ("Thank you!", "Heh, no snazz needed, gribble.")]
    return {
        "faction": FACTION,
        "openers": ["Heh-heh.", "Yip-yip, gribble.", "Snazz, us listen."],
        "closers": ["Heh-heh, snazz.", "Yip-yip, us done.", "Gribble off now, heh."],
        "stat_lines": ["Us {label} {value}, heh-heh.", "Yip-yip, {label} {value}, snazz.",
                       "{Label} {value} for {first}, gribble heh."],
        "multi_intro": ["Yip-yip, all of it.", "Heh-heh, us count."],
        "stat_clauses": ["{label} {value}", "us {label} {value}"],
        "list_outro": ["Heh-heh, snazz.", "Yip-yip, gribble."],
        "roster_top": ["Yip-yip, {name} got {label} {value}, gribble."],
        "roster_intro": ["Heh-heh, us count them."],
        "roster_clauses": ["{name} {value}"],
        "roster_outro": ["Yip-yip, snazz."],
        "stat_comments": {s: ["Heh-heh, snazz.", "Yip, gribble."] for s in STATS},
        "high": ["Big snazz, heh-heh."], "low": ["Small, yip-yip, gribble."],
        "change_intro": ["Heh-heh, since {from_patch}, snazz."],
        "change_up": ["Us {label} up {old} to {new}, heh-heh snazz."],
        "change_down": ["Us {label} down {old} to {new}, yip gribble."],
        "change_clauses_up": ["us {label} up {old} to {new}"],
        "change_clauses_down": ["us {label} down {old} to {new}"],
        "change_outro": ["heh-heh snazz", "yip-yip gribble"],
        "no_change": ["Heh-heh, nothing move since {from_patch}, snazz."],
        "lore_frames": ["Heh-heh, snazz. {lore}", "{lore} Yip-yip, gribble."],
        "unknown": ["Heh, no {thing} in warren, snazz.", "Yip, {thing}? No gribble count."],
        "unknown_value": ["Heh-heh, {label} unknown, snazz."],
        "smalltalk": [{"q": [q], "a": [a]} for q, a in talk],
        "greetings": ["Yip-yip, gribble, welcome to {region}."],
        "boasts": ["Heh-heh, {first} best {role}, snazz.", "Yip-yip, us steal all snazz."],
        "taunts": ["Yip, you soft gribble, heh-heh.", "Heh-heh, you no snazz, gribble."],
        "farewells": ["Heh-heh, snazz, go."],
        "lore_talk": ["Yip-yip, us warren in {region}, gribble.",
                      "Heh-heh, us dig snazz under {region}."],
    }


def _write_voice(root: Path) -> Path:
    """Write the goblin voice folder under `root` (data only: no code knows it)."""
    folder = root / FACTION
    folder.mkdir(parents=True)
    files = {
        "lines.json": _lines(),
        "lexicon.json": [{"word": "snazz", "gloss": "loot, shiny things"},
                         {"word": "gribble", "gloss": "friend, fool (both)"}],
        "judge.json": {"calibration": {"plain": 0.1, "voiced": 0.6}, "traits": [
            {"name": "lexicon", "weight": 2.0, "measure": "count", "lexicon": True,
             "zero": 0, "one": 1},
            {"name": "giggles", "weight": 1.0, "measure": "count",
             "patterns": [r"\b(?:heh|yip)\b"], "zero": 0, "one": 1},
            {"name": "warren_us", "weight": 1.0, "measure": "share", "words": ["us"],
             "against": ["i", "me", "my", "we"], "neutral": 0.5}]},
        "phrasebook.json": {
            "open": ["Heh-heh, snazz."], "lore": "Yip, {first} of {region}. {lore}",
            "no_changes": "Heh, nothing move since {since}.",
            "changes": {"frame": "Since {since}, {items}, heh.",
                        "item": "us {label} {old} to {new}", "join": "and"},
            "rows": {"frame": "{items}", "item": "Us {label} {value}, snazz.", "join": " "},
            "other_rows": {"frame": "{other} got {items}, gribble.", "item": "{label} {value}",
                           "join": "and"},
            "close": ["Patch {patch}, yip-yip."]},
        "style.json": {"colour": "#4C7A2A",
                       "prompt_rules": "Speak as a goblin: giggle, say us, name the loot.",
                       "lore_grammar": {"drop_words": ["the"], "capitalise": True}},
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return root


def _goblin_world(world: World) -> World:
    """The shipped world with a goblin faction: thirty human characters, renamed goblins."""
    humans = [c for c in world.characters if c.faction == "human"][:30]
    goblins = [dataclasses.replace(c, id=f"gob-{c.id}", faction=FACTION, aliases=())
               for c in humans]
    return World((*world.factions, Faction(FACTION, "Goblin", FACTION)), world.schema,
                 (*world.characters, *goblins), world.lexicons, world.root)


@pytest.fixture(scope="module")
def goblin(tmp_path_factory, world):
    """The goblin voice folder, its world, and its dialogue data written from them."""
    root = tmp_path_factory.mktemp("goblin")
    voices = _write_voice(root / "voices")
    gworld = _goblin_world(world)
    report = write_faction(gworld, FACTION, root / "dialogue", voices)
    return voices, gworld, root / "dialogue", report


def test_the_folder_is_a_voice(goblin):
    voices, _world, _data, _report = goblin
    assert voiced_factions(voices) == [FACTION]
    assert FACTION not in voiced_factions()
    voice = get_voice(FACTION, voices)
    assert voice.colour == 0x4C7A2A and {e.word for e in voice.lexicon} == {"snazz", "gribble"}


def test_its_data_builds(goblin):
    _voices, _world, data, report = goblin
    train = load_examples(FACTION, "train", data)
    heldout = load_examples(FACTION, "heldout", data)
    assert (len(train), len(heldout)) == (TRAIN_EXAMPLES, HELDOUT_EXAMPLES)
    assert report["train"]["examples"] == TRAIN_EXAMPLES
    assert {e.kind for e in train} == set(KIND_WEIGHTS)
    assert all(e.character_id.startswith("gob-") for e in train + heldout)
    assert not any(invented_numbers(e.answer, e.facts) for e in train + heldout)
    lore = [e for e in train if e.kind == "lore"]
    assert lore and not any(" the " in e.answer for e in lore)  # retold in its lore grammar


def test_the_judge_scores_it(goblin):
    voices, _world, data, _report = goblin
    own = [voice_score(e.answer, FACTION, voices) for e in load_examples(FACTION, "train", data)]
    assert statistics.mean(own) >= 0.9
    for other in voiced_factions():
        lines = [e.answer for e in load_examples(other, "heldout")]
        assert statistics.mean(voice_score(a, FACTION, voices) for a in lines) <= 0.2, other
    assert voice_score("My attack is 91.", FACTION, voices) == 0.0


def test_the_fallback_speaks_it(goblin, world):
    voices, gworld, _data, _report = goblin
    character = next(c for c in gworld.characters if c.faction == FACTION)
    facts = FallbackFacts(character=character, patch="2026-W48",
                          rows=(("Attack", "91"), ("Crit chance", "12.5%")), key="q")
    text = fallback_answer(facts, FACTION, voices)
    assert "Us attack 91, snazz." in text and "12.5%" in text and "yip-yip" in text
    assert voice_score(text, FACTION, voices) >= 0.9
    changes = dataclasses.replace(facts, rows=(), changes=(("Attack", "95", "91"),),
                                  since="2026-W47")
    assert "us attack 95 to 91" in fallback_answer(changes, FACTION, voices)
    # without its folder the same faction is answered plainly
    assert fallback_answer(facts, FACTION).startswith("My attack is 91")


@pytest.mark.slow
def test_a_few_training_steps_run_on_it(goblin, tmp_path):
    from characters.config import get_config
    from training.train import train

    _voices, gworld, data, _report = goblin
    config = dataclasses.replace(  # the smoke configuration of tests/test_training_model.py
        get_config().training, lora_r=4, lora_alpha=8, batch_size=2, max_steps=2,
        warmup_steps=1, max_seq_len=160, learning_rate=1e-2,
        target_modules=(r"re:.*layers\.(28|29)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj",))
    metrics = train(FACTION, config, tmp_path / FACTION, "cpu", fresh=True, quiet=True,
                    world=gworld, data_dir=data)
    assert metrics["steps"] == 2 and len(metrics["loss_history"]) == 2
    assert (tmp_path / FACTION / "adapter_model.safetensors").stat().st_size > 0
    meta = json.loads((tmp_path / FACTION / "training_meta.json").read_text())
    assert meta["faction"] == FACTION and meta["data_file"].endswith("goblin.jsonl")
