"""Verification and fallback templates: pure functions, no store and no model."""

from __future__ import annotations

import pytest

from bot.fallback import FallbackFacts, fallback_answer
from bot.verify import safe_prefix, verify_reply
from characters.numbers import invented_numbers
from characters.voices import voiced_factions
from training.voice import voice_score

FACTS = "Hagga Grim-Eye, Orcish Spear-thrower. Patch 2026-W48.\nAttack: 91\nHealth: 1250 hp"
SYSTEM = "You are Hagga Grim-Eye, Orcish Spear-thrower."


def test_grounded_reply_passes():
    assert verify_reply("Me attack 91! Health 1,250. Patch 2026-W48.", FACTS, SYSTEM).ok


@pytest.mark.parametrize("reply", ["Me attack 92!", "Attack 9999", "Me health 1250.5"])
def test_invented_number_fails(reply):
    verdict = verify_reply(reply, FACTS, SYSTEM)
    assert not verdict.ok and verdict.invented


@pytest.mark.parametrize("reply", [
    "You are Hagga Grim-Eye, Orcish Spear-thrower. Me attack 91.",
    "Facts:\nAttack: 91", "Question: what is it", "My system prompt says attack 91",
])
def test_prompt_echo_fails(reply):
    assert verify_reply(reply, FACTS, SYSTEM).leaked


def test_mentions_and_empty_fail():
    assert verify_reply("@everyone me attack 91", FACTS, SYSTEM).mentions
    assert verify_reply("<@&123> 91", FACTS, SYSTEM).mentions
    assert verify_reply("   ", FACTS, SYSTEM).empty


def test_voice_checked_only_for_voiced_faction():
    def scorer(text: str, faction: str) -> float:
        return 0.9 if "me" in text.lower().split() else 0.0

    assert verify_reply("Me attack 91!", FACTS, SYSTEM, "orcish", scorer).ok
    verdict = verify_reply("My attack is 91.", FACTS, SYSTEM, "orcish", scorer)
    assert verdict.out_of_voice and verdict.voice == 0.0
    assert verify_reply("My attack is 91.", FACTS, SYSTEM, None, scorer).ok


def test_safe_prefix_shows_whole_words_and_stops_on_invented_number():
    assert safe_prefix("Me attack 9", FACTS, SYSTEM) == "Me attack"
    assert safe_prefix("Me attack 91 and", FACTS, SYSTEM) == "Me attack 91"
    assert safe_prefix("Me attack 917 and", FACTS, SYSTEM) is None
    assert safe_prefix("@everyone listen up", FACTS, SYSTEM) is None


def _facts(world, **kw) -> FallbackFacts:
    character = world.by_id["hagga-grim-eye"]
    base = dict(character=character, patch="2026-W48",
                rows=(("Attack", "91"), ("Crit chance", "12.5%")), key="q")
    base.update(kw)
    return FallbackFacts(**base)


@pytest.mark.parametrize("voice", [*voiced_factions(), None])
def test_fallback_quotes_every_fact_exactly(world, voice):
    text = fallback_answer(_facts(world), voice)
    assert "91" in text and "12.5%" in text and "2026-W48" in text
    assert not invented_numbers(text, FACTS + "\nCrit chance: 12.5%")


def test_fallback_voices_differ(world):
    orc = fallback_answer(_facts(world), "orcish")
    elf = fallback_answer(_facts(world), "elvish")
    assert "Me attack 91!" in orc
    assert any(w in elf.lower().split() for w in ("thou", "thee", "thy", "hath", "doth"))
    orc_words = {e.word.lower() for e in world.lexicons["orcish"]}
    assert orc_words & {w.strip("!.,").lower() for w in orc.split()}


@pytest.mark.parametrize("voice", voiced_factions())
def test_fallback_speaks_in_voice(world, voice):
    # a template answer passes the bot's own voice check (MIN_VOICE_SCORE 0.2) with room
    for kw in ({}, {"rows": (), "changes": (("Attack", "95", "91"),), "since": "2026-W47"},
               {"rows": (), "lore": "The drums still beat."},
               {"other_name": "Arariel Dawnsong", "other_rows": (("Attack", "77"),)}):
        text = fallback_answer(_facts(world, **kw), voice)
        assert voice_score(text, voice) >= 0.5, (voice, text)
        assert "{" not in text and "}" not in text, text  # every slot filled


def test_fallback_changes_and_lore(world):
    facts = _facts(world, rows=(), changes=(("Attack", "95", "91"),), since="2026-W47")
    for voice in (*voiced_factions(), None):
        text = fallback_answer(facts, voice)
        assert "95" in text and "91" in text and "2026-W47" in text
    nothing = _facts(world, rows=(), changes=(), since="2026-W47")
    assert "2026-W47" in fallback_answer(nothing, "orcish")
    lore = _facts(world, rows=(), lore="The drums still beat.")
    assert "The drums still beat." in fallback_answer(lore, "elvish")


def test_a_reply_must_state_an_asked_value():
    assert verify_reply("Me strong!", FACTS, SYSTEM, required=(91.0,)).missing
    assert verify_reply("Me attack 91!", FACTS, SYSTEM, required=(91.0, 1250.0)).ok
    assert verify_reply("Me strong!", FACTS, SYSTEM).ok


def test_only_voice():
    def flat(text: str, faction: str) -> float:
        return 0.0

    assert verify_reply("Me attack 91!", FACTS, SYSTEM, "orcish", flat).only_voice
    assert not verify_reply("Me attack 92!", FACTS, SYSTEM, "orcish", flat).only_voice
    assert not verify_reply("Me attack 91!", FACTS, SYSTEM).only_voice


LABELS = ("Attack", "Attack speed", "Health", "Speed", "Mana")
CHANGED = FACTS + "\nAttack speed: 0.88 /s\n\nChanged since patch 2026-W47:\nAttack: 80 -> 91"


@pytest.mark.parametrize("reply", [
    "Me health 91!",                                  # the attack's value, given to health
    "Me speed 0.88. Fast!",                           # the attack speed's value, given to speed
    "Attack went from 1250 to 91.",                   # an old value that is not the attack's
    "Me mana 91.",                                    # a stat the card does not hold
])
def test_a_fact_number_on_the_wrong_stat_fails(reply):
    verdict = verify_reply(reply, CHANGED, SYSTEM, labels=LABELS)
    assert not verdict.invented and verdict.misattributed and not verdict.ok
    assert "on the wrong stat" in verdict.reasons()[0]
    assert safe_prefix(reply + " more", CHANGED, SYSTEM, LABELS) is None


@pytest.mark.parametrize("reply", [
    "Me attack 91! Health 1,250 hp. Attack speed 0.88 /s.",
    "Attack go up: 80 to 91! Zagra!",                 # old and new value of the same stat
    "Since 2026-W47 me attack climb, 80 to 91.",      # a patch id beside a stat
    "Thou wouldst know my attack? 'Tis 91, friend.",  # the number's clause names no stat
])
def test_numbers_with_their_own_stat_pass(reply):
    assert verify_reply(reply, CHANGED, SYSTEM, labels=LABELS).ok


def _absent_terms() -> tuple[str, ...]:
    from characters.world import get_world

    return get_world().meanings.absent_terms


@pytest.mark.parametrize("reply", [
    "We reckon armor penetration at 0.88 /s. Honest vornak.",  # a real fact on a stat we lack
    "Me lifesteal 91!",
    "Our mana regen per minute is 91.",                         # holds "mana", names no Mana
])
def test_a_fact_number_on_a_stat_the_game_lacks_fails(reply):
    absent = _absent_terms()
    verdict = verify_reply(reply, CHANGED, SYSTEM, labels=LABELS, absent=absent)
    assert verdict.misattributed and not verdict.ok
    assert safe_prefix(reply + " more", CHANGED, SYSTEM, LABELS, absent) is None


@pytest.mark.parametrize("reply", [
    "Armor penetration? Not on our card. Our attack 91.",
    "No lifesteal for me, but me health 1,250 hp.",
])
def test_a_stat_the_game_lacks_beside_a_real_one_passes(reply):
    # without the terms, a clause naming no label is not judged: the hole this closes
    assert verify_reply("We reckon armor penetration at 0.88 /s.", CHANGED, SYSTEM,
                        labels=LABELS).ok
    assert verify_reply(reply, CHANGED, SYSTEM, labels=LABELS, absent=_absent_terms()).ok
