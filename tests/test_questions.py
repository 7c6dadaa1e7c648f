"""Question understanding: stats (longest term first, typo tolerant), patches, kinds. Pure."""

from __future__ import annotations

import pytest

from bot.questions import (
    find_patch,
    find_stats,
    match_stat,
    name_prefixes,
    normalize_patch,
    parse_question,
    split_quoted,
)

KNOWN = ["2026-W44", "2026-W45", "2026-W45-hotfix", "2026-W46", "2026-W47", "2026-W48"]


@pytest.mark.parametrize(
    ("text", "stats"),
    [
        ("what is your attack speed?", ("attack_speed",)),
        ("what is your attack?", ("attack",)),
        ("how fast are you", ("speed",)),
        ("your movement speed and attack range", ("speed", "attack_range")),
        ("What's your AS", ("attack_speed",)),
        ("tell me about yourself as a warrior", ()),
        ("what is your atack", ("attack",)),
        ("helth and mana please", ("health", "mana")),
        ("crit chance?", ("crit_chance",)),
        ("critical strike chance", ("crit_chance",)),
        ("how much gold do you cost", ("cost",)),
        ("how much health do you have?", ("health",)),
        ("how much?", ("cost",)),
        ("hp regen", ("health_regen",)),
        ("what's your hp", ("health",)),
        ("ability power", ("ability_power",)),
        ("Attack_Speed", ("attack_speed",)),
        ("what is your favourite colour", ()),
        # phrases with no stat term: before, the first named no stat (the full card, and "not
        # recorded" from the adapter), "swing" was speed and "how much magic" was cost
        ("How tough are you?", ("defense",)),
        ("How fast do you swing?", ("attack_speed",)),
        ("how fast do you heal", ("health_regen",)),
        ("How quick do you move?", ("speed",)),
        ("How hard do you hit?", ("attack",)),
        ("How much can you take before you fall?", ("health",)),
        ("How much magic have you got?", ("mana",)),
        ("how much magic power do you have", ("ability_power",)),
        ("How powerful are your spells?", ("ability_power",)),
        ("how fast do you swing and how tough are you?", ("attack_speed", "defense")),
    ],
)
def test_find_stats(world, text, stats):
    assert find_stats(text, world.schema) == stats


def test_every_stat_phrase_of_the_training_questions_is_understood(world):
    from training.questions import STAT_PHRASES

    for stat, phrases in STAT_PHRASES.items():
        for phrase in phrases:
            assert find_stats(phrase, world.schema) == (stat,), phrase


def test_longest_term_wins_over_its_parts(world):
    assert find_stats("attack speed", world.schema) == ("attack_speed",)
    assert find_stats("speed of attack", world.schema) == ("speed", "attack")


def test_match_stat_for_history(world):
    assert match_stat("atk", world.schema) == "attack"
    assert match_stat("as", world.schema) == "attack_speed"
    assert match_stat("swing speed", world.schema) == "attack_speed"
    assert match_stat("charisma", world.schema) is None


def test_patches():
    assert find_patch("as of patch W47, your attack?", KNOWN) == "2026-W47"
    assert find_patch("in 2026-w46 what was it", KNOWN) == "2026-W46"
    assert find_patch("attack in W45", KNOWN) == "2026-W45"
    assert find_patch("attack in W45-hotfix", KNOWN) == "2026-W45-hotfix"
    assert find_patch("what is your attack", KNOWN) is None
    assert normalize_patch("w99", KNOWN) == "W99"


def test_parse_changes_since():
    q = parse_question("what changed since W45?", _schema(), KNOWN)
    assert q.wants_changes and q.since == "2026-W45" and q.patch is None


def test_parse_compare():
    q = parse_question("is your hp higher than Hagga Grim-Eye's?", _schema(), KNOWN)
    assert q.stats == ("health",)
    assert q.compare_text == "Hagga Grim-Eye's"


def test_parse_lore_and_all():
    assert parse_question("who are you?", _schema(), KNOWN).wants_lore
    assert parse_question("tell me about your clan", _schema(), KNOWN).wants_lore
    assert parse_question("show all your stats", _schema(), KNOWN).wants_all
    assert not parse_question("what is your attack", _schema(), KNOWN).wants_lore


def test_name_prefixes_longest_first_and_quotes():
    assert name_prefixes("hagga grim-eye what is your attack", keep=1)[0] == (
        "hagga grim-eye what is your", "attack")
    assert name_prefixes("hagga's attack?", keep=0)[-1] == ("hagga", "attack?")
    assert split_quoted('"Hagga Grim-Eye" what is your attack') == (
        "Hagga Grim-Eye", "what is your attack")
    assert name_prefixes('"Hagga" hi') == [("Hagga", "hi")]


def _schema():
    from characters.world import get_world

    return get_world().schema
