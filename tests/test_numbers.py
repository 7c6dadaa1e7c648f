"""Number checking shared by the bot's verification and the evaluation."""

from characters.numbers import invented_numbers, mentions_value, numbers_in

FACTS = "Grukk Ironjaw, Orcish Berserker. Patch 2026-W48.\nAttack: 91\nHealth: 1250 hp\nCrit: 12.5%"


def test_grounded_reply_has_no_invented_numbers():
    assert invented_numbers("Me attack 91! Health 1250. Crit 12.50%. Patch 2026-W48.", FACTS) == []


def test_invented_numbers_are_reported():
    assert invented_numbers("Me attack 9999 and 3 friends", FACTS) == ["9999", "3"]


def test_thousands_separator_is_one_number():
    assert invented_numbers("Health 1,250 hp", FACTS) == []
    assert invented_numbers("Health 1,999 hp", FACTS) == ["1", "999", "1999"]


def test_numbers_in_and_mentions_value():
    assert numbers_in("a 1.5 b 20") == ["1.5", "20"]
    assert mentions_value("attack 91.0", 91)
    assert not mentions_value("attack 910", 91)
