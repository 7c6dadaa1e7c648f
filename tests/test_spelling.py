"""Typo tolerance (bot.spelling): pure, no model."""

from __future__ import annotations

from bot.spelling import Speller, vocabulary_words, words_of

DATA = words_of([
    "how much mana do you have", "how big is your mana pool", "how hard do you hit",
    "what is your ability power",
    "how many hits per second", "how fast do you heal", "tell me the history of your people",
    "what does a man do", "how much power", "are you weaker than before", "what is your weak spot",
])


def test_a_typo_becomes_the_data_word_one_slip_away():
    speller = Speller(DATA, known={"coat", "bat", "mate"})
    assert speller.correct("whats the histoory of ur pepole") == \
        "what the history of ur people"
    assert speller.word("mna") == "mana"  # not "man": the data uses "mana" far more
    assert speller.word("hadr") == "hard"  # a swap, not "had" with a letter added
    assert speller.word("pwer") == "power"  # a dropped letter put back, not "per"
    assert speller.word("weakr") == "weaker"
    assert speller.word("HELTH") == "HELTH"  # two slips from "heal": left alone


def test_real_words_short_words_and_contractions_are_left_alone():
    speller = Speller(DATA, known={"coat", "bat", "mate"})
    assert speller.correct("coat bat mate") == "coat bat mate"  # real words, not typos
    assert speller.correct("r u ok") == "r u ok"  # too short to correct
    assert speller.correct("don't") == "don't"
    assert speller.word("zzzzqx") == "zzzzqx"  # nothing near


def test_capitals_stay_capitals():
    assert Speller(DATA).word("MNA") == "MANA"


def test_vocabulary_words_are_the_whole_lower_case_words(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\nthe\ncoat\n##ing\nParis\n42\ncafé\nbat\n", encoding="utf-8")
    assert vocabulary_words(vocab) == frozenset({"the", "coat", "bat"})


def test_a_short_word_is_corrected_only_to_a_word_of_its_first_letter():
    speller = Speller(words_of(["dmg per hit", "how much mana", "def and atk"]))
    assert speller.word("omg") == "omg"  # chat, one slip from "dmg" but not a typo of it
    assert speller.word("dng") == "dmg"
    assert speller.word("mna") == "mana"
    assert speller.word("atl") == "atk"
