"""The voice judge: the hand-written voice scores high, plain English scores low."""

from __future__ import annotations

import statistics

import pytest

from characters.voices import voiced_factions
from training.dialogue_data import load_examples
from training.voice import NoVoiceError, voice_report, voice_score

FACTIONS = voiced_factions()

PLAIN = (
    "My attack is 43.",
    "Hello! I am Hagga Grim-Eye, a Spear-thrower of the Orcish clans. My attack is 43.",
    "I have 468 hp of health.",
    "As an Orcish Spear-thrower, I have a level of 1 and an attack of 43.",
    "I don't have information about my stealth.",
    "My stats in patch 2026-W48 are: Level 1, Health 468 hp, Mana 257 mp.",
    "The facts do not mention my luck, so I cannot tell you.",
    "As a Moonblade of the Silverwood, my attack is 91, which makes me a formidable fighter.",
    "My crit chance is 9.3%, which is quite good for a Ranger.",
    "Since the last patch, my speed went from 398 to 367 and my health rose to 2999.",
)


@pytest.mark.parametrize("faction", FACTIONS)
def test_plain_english_scores_low(faction):
    assert statistics.mean(voice_score(t, faction) for t in PLAIN) <= 0.1


@pytest.mark.parametrize("faction", FACTIONS)
def test_the_hand_written_voice_scores_high(faction):
    answers = [e.answer for e in load_examples(faction, "heldout")]
    assert statistics.mean(voice_score(a, faction) for a in answers) >= 0.85


def test_each_voice_is_its_own():
    orc = "Me attack 91! Hrokk hungry, puny snikk."
    elf = "Thou askest well, friend; my attack doth measure 91, as the aelith have written it."
    assert voice_score(orc, "orcish") >= 0.9 > voice_score(orc, "elvish")
    assert voice_score(elf, "elvish") >= 0.9 > voice_score(elf, "orcish")


def test_numbers_are_not_penalised():
    for faction, text in (("orcish", "Me attack {}! Hrokk hungry."),
                          ("elvish", "My speed doth measure {}, traveller, swift as the river.")):
        scores = {voice_score(text.format(v), faction) for v in ("91", "12.5%", "0.97 /s", "1250")}
        assert len(scores) == 1


def test_report_explains_the_score():
    report = voice_report("My attack is 91. I hit the enemy.", "orcish")
    assert report["self_as_me"] == 0.0
    assert report["no_articles"] < 1.0
    assert report["score"] == 0.0
    assert set(report) >= {"lexicon", "short_sentences", "raw", "score"}


@pytest.mark.parametrize("faction", FACTIONS)
def test_other_voices_score_low_under_each_judge(faction):
    # each judge hears its own voice: the other factions' held-out answers score well below it
    # (the most: 0.19, Dwarvish under the Orcish judge, for its short plain sentences)
    own = statistics.mean(voice_score(e.answer, faction) for e in load_examples(faction, "heldout"))
    for other in FACTIONS:
        if other != faction:
            answers = [e.answer for e in load_examples(other, "heldout")]
            mean = statistics.mean(voice_score(a, faction) for a in answers)
            assert mean <= 0.25 and own - mean >= 0.6, other


def test_dwarvish_and_human_traits():
    dwarf = "We Runeshields hold health 1189. Good iron, that, from our brannoch."
    human = "I'm sitting on health 1189, bricker. Worth the pay, isn't it?"
    assert voice_score(dwarf, "dwarvish") >= 0.9 > voice_score(dwarf, "human")
    assert voice_score(human, "human") >= 0.9 > voice_score(human, "dwarvish")
    loud = voice_report("Me health 1189! We strong, brannoch!", "dwarvish")
    assert loud["no_exclamation"] == 0.0 and loud["no_me_as_subject"] == 0.0
    assert voice_report("Thou hast health 1189, friend.", "dwarvish")["no_archaic_forms"] == 0.0
    plain = voice_report("I am here to help you with your quest.", "human")
    assert plain["no_assistant_voice"] == 0.0 and plain["score"] == 0.0


def test_a_faction_without_a_voice_raises():
    with pytest.raises(NoVoiceError):
        voice_score("Well met, traveller.", "goblin")


def test_empty_text_scores_zero():
    assert voice_score("", "elvish") == 0.0
