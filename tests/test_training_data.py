"""The dialogue data: sizes, splits without leakage, exact numbers, variety; and the pure parts
of the training script (configuration overrides, label masking, batching, schedule)."""

from __future__ import annotations

import pytest

from characters.config import ConfigError, TrainingConfig
from characters.numbers import invented_numbers, mentions_value
from characters.voices import voiced_factions
from training.dialogue_data import (
    KIND_WEIGHTS,
    TRAIN_EXAMPLES,
    build_split,
    data_layout,
    data_path,
    load_examples,
    split_characters,
    variety,
)
from training.train import IGNORE, apply_overrides, batch_schedule, lr_at

FACTIONS = tuple(voiced_factions())


def test_every_faction_of_the_game_has_a_voice(world):
    assert set(FACTIONS) == {f.id for f in world.factions}


@pytest.fixture(scope="module", params=FACTIONS)
def splits(request):
    faction = request.param
    return faction, load_examples(faction, "train"), load_examples(faction, "heldout")


def test_split_sizes(splits):
    _faction, train, heldout = splits
    assert len(train) >= 1500
    assert len(heldout) >= 200


def test_no_heldout_character_in_training(splits, world):
    _faction, train, heldout = splits
    held_ids = {e.character_id for e in heldout}
    assert held_ids.isdisjoint({e.character_id for e in train})
    train_text = "\n".join(e.facts + "\n" + e.answer for e in train)
    for character_id in held_ids:
        assert world.character(character_id).name not in train_text


def test_no_heldout_value_in_training(splits):
    _faction, train, heldout = splits
    seen = {(stat, value) for e in train for stat, value in e.values.items()}
    held = {(stat, value) for e in heldout for stat, value in e.values.items()}
    assert held and seen
    assert not held & seen


def test_character_split_covers_the_faction(world):
    train, heldout = split_characters(world, "orcish")
    members = {c.id for c in world.characters if c.faction == "orcish"}
    assert {c.id for c in train} | {c.id for c in heldout} == members
    assert len(heldout) >= 0.15 * len(members)


def test_answers_quote_the_facts_exactly(splits):
    _faction, train, heldout = splits
    for example in train + heldout:
        assert invented_numbers(example.answer, example.facts) == [], example.id
        for value in example.asked.values():
            assert mentions_value(example.answer, value), example.id


def test_every_kind_is_covered_and_answers_are_short(splits):
    _faction, train, _heldout = splits
    assert {e.kind for e in train} == set(KIND_WEIGHTS)
    words = [len(e.answer.split()) for e in train]
    assert sum(words) / len(words) <= 30 and max(words) <= 90
    assert any("Changed since patch" in e.facts for e in train)
    assert any(": unknown" in e.facts for e in train)


def test_answers_read_the_card_top_to_bottom(splits, world):
    _faction, train, _heldout = splits
    order = world.schema.names
    listed = [e for e in train if e.kind in ("multi_stat", "changes") and len(e.asked) > 1]
    assert len(listed) > 100
    for example in listed:
        # each asked value appears after the one before it in the card's stat order (two stats
        # may hold the same value, so each search starts where the last one ended)
        end = 0
        for name in sorted(example.asked, key=order.index):
            end = _end_of(example.answer, world.schema[name].format(example.asked[name]), end)
            assert end >= 0, (example.id, name)


def test_several_changes_are_one_list_of_clauses(splits):
    # One form for any number of changes: an Elvish adapter trained on sentences for two
    # changes and clauses for three answered three with two sentences, and stopped.
    _faction, train, heldout = splits
    several = [e for e in train + heldout if e.kind == "changes" and len(e.asked) > 1]
    assert len(several) > 50
    for example in several:
        assert example.answer.count("; ") == len(example.asked) - 1, example.id


def _end_of(answer: str, value: str, start: int) -> int:
    """Where `value`, as a whole number, first ends in `answer` at or after `start` (-1: never)."""
    import re

    match = re.compile(rf"(?<![\d.]){re.escape(value)}(?![\d])").search(answer, start)
    return match.end() if match else -1


def test_the_data_carries_the_voice_the_judge_measures(splits):
    from training.voice import voice_score

    faction, train, _heldout = splits
    scores = [voice_score(e.answer, faction) for e in train]
    assert sum(scores) / len(scores) >= 0.9  # an adapter cannot sound stronger than its data


def test_data_is_varied(splits):
    _faction, train, _heldout = splits
    figures = variety(train)
    assert figures["templates_used"] >= 300
    assert figures["distinct_answers"] >= 0.8 * len(train)
    assert figures["distinct_2"] >= 0.08


def test_every_change_is_told_the_way_it_went(splits, world):
    """The data's change answers say "up" for a rise and "down" for a fall (and the check the
    bot's verification uses finds no fault in any of them)."""
    from characters.cards import changes_in
    from characters.numbers import wrong_direction

    _, train, heldout = splits
    changed = [e for e in train + heldout if e.kind == "changes" and changes_in(e.facts)]
    assert len(changed) > 150
    words = world.meanings.change_words
    assert [e.id for e in changed if wrong_direction(e.answer, changes_in(e.facts), words)] == []


TALK = ("smalltalk", "greeting", "boast", "taunt", "farewell")


def test_small_talk_gets_the_card_its_facts_layout_gives(splits, world):
    """Layout 1 gives small talk the full card, layout 2 the header line (characters.cards),
    as the bot serves an adapter of that layout (`Engine._plan`)."""
    faction, train, heldout = splits
    layout = data_layout(faction)
    talk = [e for e in train + heldout if e.kind in TALK]
    assert len(talk) > 100
    lines = {len(e.facts.splitlines()) for e in talk}
    assert lines == ({1} if layout == 2 else {1 + len(world.schema.names)}), (faction, layout)
    assert all(e.facts.splitlines()[0].startswith(world.by_id[e.character_id].name) for e in talk)


def test_files_match_the_generator(world):
    for faction in FACTIONS:
        built = build_split(world, faction, "train", TRAIN_EXAMPLES, layout=data_layout(faction))
        text = "".join(e.to_json() + "\n" for e in built)
        assert text == data_path(faction).read_text(encoding="utf-8"), (
            f"{faction}: stale, run python -m training.dialogue_data")


def test_overrides_convert_types_and_reject_unknown_keys():
    base = TrainingConfig()
    config = apply_overrides(base, {"lora_r": "8", "learning_rate": "5e-4",
                                    "target_modules": "q_proj,v_proj"})
    assert (config.lora_r, config.learning_rate) == (8, 5e-4)
    assert config.target_modules == ("q_proj", "v_proj")
    with pytest.raises(ConfigError, match="unknown training key"):
        apply_overrides(base, {"lora_rank": "8"})
    with pytest.raises(ConfigError, match="lora_r"):
        apply_overrides(base, {"lora_r": "eight"})
    with pytest.raises(ConfigError, match="bf16"):
        apply_overrides(base, {"bf16": "maybe"})


def test_batch_schedule_is_deterministic_and_full():
    lengths = [10 + (i * 7) % 50 for i in range(37)]
    first = batch_schedule(lengths, 4, 30, seed=3)
    assert first == batch_schedule(lengths, 4, 30, seed=3)
    assert first != batch_schedule(lengths, 4, 30, seed=4)
    assert len(first) == 30 and all(len(b) == 4 for b in first)
    assert {i for batch in first[:9] for i in batch} <= set(range(37))


def test_learning_rate_warms_up_then_decays():
    config = TrainingConfig(learning_rate=1e-3, warmup_steps=4, max_steps=20)
    rates = [lr_at(s, config) for s in range(20)]
    assert rates[0] < rates[3] == pytest.approx(1e-3)
    assert rates[-1] < rates[5] and rates[-1] >= 1e-4


@pytest.mark.slow
def test_encode_masks_the_prompt(world):
    from training.base_model import load_tokenizer
    from training.train import encode

    tokenizer = load_tokenizer()
    example = load_examples("orcish", "train")[0]
    encoded = encode(tokenizer, world, example)
    assert len(encoded.input_ids) == len(encoded.labels)
    supervised = [t for t in encoded.labels if t != IGNORE]
    assert encoded.labels[0] == IGNORE
    assert tokenizer.decode(supervised) == example.answer + "<|im_end|>"


@pytest.mark.slow
def test_every_answer_ends_inside_the_bots_token_budget():
    """The bot stops at [generation].max_new_tokens: an answer trained longer than that would be
    cut off in serving (and its last numbers lost), so every answer and its end-of-turn token
    fit."""
    from characters.config import get_config
    from training.base_model import load_tokenizer

    tokenizer = load_tokenizer()
    budget = get_config().generation.max_new_tokens
    for faction in FACTIONS:
        for split in ("train", "heldout"):
            for example in load_examples(faction, split):
                used = len(tokenizer(example.answer, add_special_tokens=False)["input_ids"]) + 1
                assert used <= budget, (example.id, used, example.answer)
