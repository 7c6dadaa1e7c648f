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


WORDS = {"up": ("up", "rose", "climb"), "down": ("down", "drop", "fell", "cut")}


def test_a_change_told_the_wrong_way_is_found_by_its_clause():
    from characters.numbers import wrong_direction

    rise, fall = (43.0, 47.0), (1.30, 1.24)
    assert wrong_direction("Me attack drop 43 to 47! Skarn.", [rise], WORDS) == (
        "Me attack drop 43 to 47",)
    assert wrong_direction("Attack rose from 43 to 47, speed fell 1.30 to 1.24.", [rise, fall],
                           WORDS) == ()
    # each clause is judged on its own: a word of another clause does not count
    assert wrong_direction("Speed 1.30 to 1.24 now, we wrote it down", [fall], WORDS) == ()
    assert wrong_direction("attack up 47 to 43, speed down", [(47.0, 43.0)], WORDS) == (
        "attack up 47 to 43",)
    # no direction word, or only one of the two values: nothing to judge
    assert wrong_direction("Attack was 43, now 47.", [rise], WORDS) == ()
    assert wrong_direction("Attack drop. Now 47.", [rise], WORDS) == ()
