"""The exact step of question understanding: stat terms (longest first, typo tolerant, the
abbreviations of meanings.json), patch ids and names as written. Pure."""

from __future__ import annotations

import pytest

from bot.questions import (
    ABSENT,
    find_all_terms,
    find_patch,
    find_stats,
    find_terms,
    match_stat,
    name_prefixes,
    narrower_stats,
    narrower_terms,
    normalize_patch,
    split_quoted,
)

KNOWN = ["2026-W44", "2026-W45", "2026-W45-hotfix", "2026-W46", "2026-W47", "2026-W48"]


@pytest.mark.parametrize(
    ("text", "stats"),
    [
        ("what is your attack speed?", ("attack_speed",)),
        ("what is your attack?", ("attack",)),
        ("your movement speed and attack range", ("speed", "attack_range")),
        ("What's your AS", ("attack_speed",)),
        ("tell me about yourself as a warrior", ()),
        ("what is your atack", ("attack",)),
        ("helth and mana please", ("health", "mana")),
        ("crit chance?", ("crit_chance",)),
        ("critical strike chance", ("crit_chance",)),
        ("how much gold do you cost", ("cost",)),
        ("how much health do you have?", ("health",)),
        ("hp regen", ("health_regen",)),
        ("what's your hp", ("health",)),
        ("ability power", ("ability_power",)),
        ("Attack_Speed", ("attack_speed",)),
        ("what is your favourite colour", ()),
        # the abbreviations of meanings.json
        ("spd?", ("speed",)),
        ("attack spd?", ("attack_speed",)),
        ("how much dps do you do", ("attack",)),
        ("helth regen?", ("health_regen",)),
        ("hp regeneration please", ("health_regen",)),
        ("spell damage?", ("ability_power",)),
        # a word that is a term itself is never another term's typo
        ("your attack rate", ("attack_speed",)),
        ("AS OF W43 your MS", ("speed",)),
    ],
)
def test_find_stats(world, text, stats):
    assert find_stats(text, world.schema, world.meanings) == stats


def test_a_stat_the_game_lacks_takes_its_words_from_the_real_stats(world):
    # "armor penetration" is matched before "armor", "life steal" before "life"
    assert find_stats("is your armor penetration any good", world.schema, world.meanings) == ()
    assert find_stats("your life steal?", world.schema, world.meanings) == ()
    assert find_stats("armour pen and hp?", world.schema, world.meanings) == ("health",)
    found = find_all_terms("armor penetration and hp", world.schema, world.meanings)
    assert [(h.stat, h.raw) for h in found] == [(ABSENT, "armor penetration"), ("health", "hp")]
    # ... as written: "swing rate" is no typo of "win rate"
    assert find_all_terms("your swing rate", world.schema, world.meanings) == []


def test_phrasal_synonyms_are_left_to_the_meaning_step(world):
    # "how fast", "how much" and "power" named a stat by words alone: "how fast do you attack"
    # was Speed and Attack, "what's your power level" Ability power and Level
    assert find_stats("how much?", world.schema) == ()
    assert find_stats("what's your power level", world.schema) == ("level",)


def test_longest_term_wins_over_its_parts(world):
    assert find_stats("attack speed", world.schema) == ("attack_speed",)
    assert find_stats("speed of attack", world.schema) == ("speed", "attack")


def test_narrower_stats_are_those_whose_terms_hold_a_terms_words(world):
    narrower = narrower_stats(world.schema, world.meanings)
    assert "health_regen" in narrower["health"]  # "hp regen" holds "hp"
    assert {"attack_speed", "attack_range"} <= narrower["attack"]
    assert "attack_speed" in narrower["speed"]
    assert "health" not in narrower.get("health_regen", ())
    assert "cost" not in narrower


def test_narrower_terms_hold_the_term_as_written(world):
    by_term = narrower_terms(world.schema, world.meanings)
    assert "health_regen" in by_term["hp"]
    assert {"attack_speed", "attack_range"} <= by_term["atk"]
    # "damage reduction" (Defense) holds "damage", a word for Attack, but not "atk"
    assert "defense" in by_term["damage"] and "defense" not in by_term["atk"]


def test_superlatives_with_a_word_inside_and_the_longest_first(world):
    from bot.roster_words import RosterWords

    words = RosterWords(world)
    softest = words.signals("who hits the softest")
    assert (softest.sup_stat, softest.lowest, softest.superlative) == ("attack", True, True)
    assert words.signals("which dwarf heals the fastest").sup_stat == "health_regen"
    assert words.signals("who is the fastest attacker").sup_stat == "attack_speed"
    # the word inside may not be a stat word: "most attack speed" is no "most speed"
    assert words.signals("who has the most attack speed").sup_stat is None
    assert words.signals("who is the frailest ranger").lowest


def test_real_words_and_roster_names_are_no_typos_of_a_term(world):
    def stats(text, known=(), names=()):
        return [h.stat for h in find_terms(text, world.schema, world.meanings, known, names)]

    # without word lists, a near match is taken as a typo
    assert stats("how much health do you regain each second") == ["health", "attack_range"]
    assert stats("why did you become a ranger") == ["attack_range"]
    english = {"each", "ranger", "ranged", "levels", "attacks"}
    assert stats("how much health do you regain each second", english) == ["health"]
    assert stats("why did you become a ranger", english, {"ranger"}) == []
    # another form of the term still names it; a typo no one knows does too
    assert stats("are you melee or ranged", english, {"ranger"}) == ["attack_range"]
    assert stats("how many levels have you gained", english) == ["level"]
    assert stats("what is your atack", english) == ["attack"]


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


def test_weeks_and_hotfixes():
    assert find_patch("what was it during week 44", KNOWN) == "2026-W44"
    assert find_patch("after the W45 hotfix", KNOWN) == "2026-W45-hotfix"
    assert find_patch("did the hotfix change you", KNOWN) == "2026-W45-hotfix"


def test_name_prefixes_longest_first_and_quotes():
    assert name_prefixes("hagga grim-eye what is your attack", keep=1)[0] == (
        "hagga grim-eye what is your", "attack")
    assert name_prefixes("hagga's attack?", keep=0)[-1] == ("hagga", "attack?")
    assert split_quoted('"Hagga Grim-Eye" what is your attack') == (
        "Hagga Grim-Eye", "what is your attack")
    assert name_prefixes('"Hagga" hi') == [("Hagga", "hi")]


def test_clauses_split_outside_the_terms(world):
    from bot.example_bank import CLAUSE_RE
    from bot.question_text import split_clauses

    text = "hp/s and attacks/sec, then mana"
    hits = find_terms(text, world.schema, world.meanings)
    assert split_clauses(text, CLAUSE_RE, hits) == ["hp/s", "attacks/sec", "then mana"]
    assert split_clauses("hp/mana", CLAUSE_RE, find_terms("hp/mana", world.schema)) == \
        ["hp", "mana"]


def test_a_term_of_several_words_runs_across_no_list_mark_nor_takes_a_real_word(world):
    def stats(text, known=()):
        return [h.stat for h in find_terms(text, world.schema, world.meanings, known)]

    assert stats("atk spd") == ["attack_speed"]
    assert stats("atk, spd") == ["attack", "speed"]
    assert stats("attack; speed") == ["attack", "speed"]
    # "plus" is a real word, far from "hp": no typo of "hp regeneration"
    assert stats("mana plus regeneration", {"plus"}) == ["mana", "health_regen"]
    # a real word near its own word still is ("heath" of "health")
    assert stats("heath regen", {"heath"}) == ["health_regen"]
