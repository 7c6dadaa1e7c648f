"""Question understanding by meaning, with the real MiniLM embedder: the questions the phrase
lists misread, comparisons only with a real name, roster questions, and follow-ups."""

from __future__ import annotations

import json

import pytest

from bot.intents import IntentsError, load_intents
from bot.understand import QuestionReader
from characters.resolve import NameResolver, find_named
from stats_db.embed import MiniLMEmbedder

PATCHES = ["2026-W44", "2026-W45", "2026-W45-hotfix", "2026-W46", "2026-W47", "2026-W48"]
SPEAKER = "hagga-grim-eye"


@pytest.fixture(scope="module")
def reader(world, tmp_path_factory):
    return QuestionReader(world, MiniLMEmbedder(threads=1).embed,
                          tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def read(reader, world):
    resolver = NameResolver(world.characters)

    def read(text, previous=None):
        return reader.read(text, PATCHES, lambda t: find_named(t, resolver, SPEAKER), previous)

    return read


@pytest.mark.parametrize(("question", "kind", "stats"), [
    # as near a stat's own phrasing as the meaning is sure of, with no word of the past: the
    # stat, though a change example is near ("are you cheaper than you were")
    ("are you cheap", "stats", ("cost",)),
    ("how expensive are you", "stats", ("cost",)),
    # the same stat with a word of the past, or a word of change: what changed
    ("are you cheaper than you used to be", "changes", ("cost",)),
    ("did they make you cheaper", "changes", ("cost",)),
])
def test_a_sure_stat_is_no_change_without_a_word_of_one(read, question, kind, stats):
    got = read(question)
    assert (got.kind, got.stats) == (kind, stats)


@pytest.mark.parametrize(("question", "kind", "stats"), [
    # a stat word in a question of change stays that stat: the change words pulled the meaning
    # nearer Health regen, the narrower stat ("did your health go down" read Health regen)
    ("did your health go down last patch", "changes", ("health",)),
    ("has your hp dropped since last week", "changes", ("health",)),
    # outside one, the narrower stat the meaning is surer of still wins
    ("hp per second?", "stats", ("health_regen",)),
    ("hp per sec?", "stats", ("health_regen",)),  # a standard term (meanings.json)
])
def test_a_stat_word_of_a_change_stays_its_stat(read, question, kind, stats):
    got = read(question)
    assert (got.kind, got.stats) == (kind, stats)


@pytest.mark.parametrize(("question", "stats"), [
    # the stat questions the phrase lists found no stat in
    ("can you take a beating?", ("health",)),
    ("how far do your arrows fly?", ("attack_range",)),
    ("how many swings per second?", ("attack_speed",)),
    ("what would it set me back to recruit you?", ("cost",)),
    ("are you quick?", ("speed",)),
    ("how deep is your pool of magic?", ("mana",)),
    ("how hard do your spells hit?", ("ability_power",)),
    ("how seasoned are you?", ("level",)),
    ("do you heal fast?", ("health_regen",)),
    ("spd?", ("speed",)),
    # ... and those it read as the wrong stat
    ("attack spd?", ("attack_speed",)),
    ("how much dps do you do", ("attack",)),
    ("what's your power level", ("level",)),
    # words not in any example
    ("how thick is the steel you wear?", ("defense",)),
    ("how many coins would your contract run me", ("cost",)),
])
def test_a_stat_in_the_players_words(read, question, stats):
    got = read(question)
    assert got.kind == "stats" and got.stats == stats, (got.kind, got.stats)


@pytest.mark.parametrize("question", [
    "are you weaker now than before?", "how did the last patch treat you?", "did they nerf you",
    "are you stronger than last week?",
])
def test_what_changed_in_any_phrasing(read, question):
    got = read(question)
    assert got.kind == "changes" and got.other is None, got.kind


def test_a_comparison_needs_a_real_name(read):
    got = read("is your hp higher than Rukka's?")
    assert got.kind == "compare" and got.other.first_name == "Rukka" and got.stats == ("health",)
    assert read("are you faster than before?").kind == "changes"  # "before" is nobody


@pytest.mark.parametrize(("question", "stat", "faction", "lowest", "count"), [
    ("who is the fastest elf?", "speed", "elvish", False, 3),
    ("which orc hits hardest?", "attack", "orcish", False, 3),
    ("top 5 dwarves by health", "health", "dwarvish", False, 5),
    ("the cheapest human healer", "cost", "human", True, 3),
    ("who has the longest range?", "attack_range", None, False, 3),
    # a stat's own superlative of several words outweighs the role's pull ("shaman": magic)
    ("which orc shaman hits hardest", "attack", "orcish", False, 3),
    # ... but one word of it may be said of another stat
    ("who swings fastest among the dwarves", "attack_speed", "dwarvish", False, 3),
    ("who can shoot the farthest", "attack_range", None, False, 3),
    # ... unless it is said of who is ranked
    ("the slowest characters in the game", "speed", None, True, 3),
    # "by" puts even an everyday stat word as the order
    ("top 4 orcish shamans by range", "attack_range", "orcish", False, 4),
])
def test_roster_questions(read, question, stat, faction, lowest, count):
    got = read(question)
    assert got.kind == "roster", got.kind
    assert (got.roster.stat, got.roster.faction, got.roster.lowest, got.roster.count) == (
        stat, faction, lowest, count)


def test_the_healer_group_is_a_role_filter(read):
    roles = read("the cheapest human healer").roster.roles
    assert "Cleric" in roles and "Knight" not in roles


def test_kinds_without_a_stat(read):
    assert read("hello there").kind == "smalltalk"
    assert read("tell me about your homeland").kind == "lore"
    assert read("what's your stealth?").kind == "unknown_stat"
    assert read("all your stats pls").kind == "all"


def test_as_of_a_patch(read):
    got = read("what was your attack as of W44?")
    assert (got.kind, got.stats, got.patch) == ("stats", ("attack",), "2026-W44")
    since = read("what changed since W45?")
    assert (since.kind, since.since, since.patch) == ("changes", "2026-W45", None)


def test_follow_ups_take_the_rest_from_the_question_before(read):
    first = read("what was your attack as of W44?")
    nxt = read("and your defense?", previous=first)
    assert (nxt.kind, nxt.stats, nxt.patch) == ("stats", ("defense",), "2026-W44")
    assert nxt.follow_up
    again = read("what about as of W46?", previous=read("what's your attack?"))
    assert (again.kind, again.stats, again.patch) == ("stats", ("attack",), "2026-W46")
    compared = read("and compared to Thalriel?", previous=read("what's your mana?"))
    assert compared.kind == "compare" and compared.stats == ("mana",)
    assert compared.other.first_name == "Thalriel"
    # a whole new question is not a follow-up
    assert not read("tell me about your homeland", previous=first).follow_up


@pytest.mark.parametrize(("question", "kind", "stats"), [
    # filler around the question is left out
    ("real quick, what's your attack? no rush", "stats", ("attack",)),
    ("sorry if this is a dumb one but how tough are you?", "stats", ("defense",)),
    # typos of the data's words, three and four letters too
    ("how much mna do you have", "stats", ("mana",)),
    ("how hadr do you hit", "stats", ("attack",)),
    # an everyday stat word gives way to the meaning; a listed one counts
    ("how much damage can you take before you fall", "stats", ("health",)),
    ("toughness, reach and speed", "stats", ("defense", "attack_range", "speed")),
    # the game's place and role names read as lore, not as stat words
    ("what's life like in Varnholt?", "lore", ()),
    ("what does a ranger do", "lore", ()),
    # no stat the game has, though its words sound like one
    ("how far can you see?", "unknown_stat", ()),
    ("are you faster than a wolf?", "smalltalk", ()),
])
def test_the_ways_players_wrap_and_misspell_a_question(read, question, kind, stats):
    got = read(question)
    assert (got.kind, got.stats) == (kind, stats), (got.kind, got.stats)


def test_a_patch_measured_against_asks_what_changed_since(read):
    got = read("are your spells weaker than in W44")
    assert (got.kind, got.stats, got.since, got.patch) == (
        "changes", ("ability_power",), "2026-W44", None)
    spelled = read("what's different sincce W45")
    assert (spelled.kind, spelled.since) == ("changes", "2026-W45")


def test_a_roster_ranks_by_the_plain_stat_word(read):
    got = read("rank the dwarves by armour, top 3")  # "rank" is also a word for Level
    assert got.kind == "roster"
    assert (got.roster.stat, got.roster.faction, got.roster.count) == ("defense", "dwarvish", 3)


@pytest.mark.parametrize(("question", "stats"), [
    # one stat word whose narrower stat the meaning prefers ("hp" and "hp regen")
    ("your attack distance?", ("attack_range",)),
    ("what's your attack frequency", ("attack_speed",)),
    ("health recovery rate?", ("health_regen",)),
    # ... but the plain word alone stays itself
    ("hp?", ("health",)),
    ("whats ur helth", ("health",)),
    # ... and a term of several words as written stays itself ("hp/s" holds "hp"; "attack
    # power" is no "spell damage", though both hold a word for Attack)
    ("your hp/s pls", ("health_regen",)),
    ("right, you're a legend, sure. so how big is your attack power", ("attack",)),
    # ... and only a stat whose term holds the word as written is narrower ("damage
    # reduction" holds "damage", not "atk")
    ("how good is your atk", ("attack",)),
])
def test_narrower_stats(read, question, stats):
    got = read(question)
    assert (got.kind, got.stats) == ("stats", stats)


@pytest.mark.parametrize("question", ["mana regen?", "crit damage?"])
def test_two_stat_words_run_together_may_be_a_stat_the_game_lacks(read, question):
    assert read(question).kind == "unknown_stat"


@pytest.mark.parametrize("question", [
    "is your life steal any good", "how often can you block a hit",
    "how much armour penetration have you got", "whats your parry like", "tenacity?"])
def test_a_stat_the_game_lacks_is_no_real_stat_its_words_hold(read, question):
    assert read(question).kind == "unknown_stat"


@pytest.mark.parametrize(("question", "kind", "stats"), [
    ("lifesteal and hp?", "stats", ("health",)),  # a real stat named beside it is asked
    ("good luck out there", "smalltalk", ()),  # an everyday word only where it names a stat
    ("show me your whole stat block", "all", ()),
])
def test_a_stat_the_game_lacks_beside_other_words(read, question, kind, stats):
    got = read(question)
    assert (got.kind, got.stats) == (kind, stats)


@pytest.mark.parametrize(("question", "kind", "stats"), [
    # measured against its own past: what changed
    ("do you swing faster than you used to?", "changes", ("attack_speed",)),
    ("is your armour thicker than before or what", "changes", ("defense",)),
    ("how's your mana now vs last patch", "changes", ("mana",)),
    # ... against someone else: no change
    ("are you stronger than my uncle", "smalltalk", ()),
    ("are you quicker than a horse", "smalltalk", ()),
    # ... nor a "before" that is no time of the game, where a stat is far nearer
    ("how many spells before you run dry", "stats", ("mana",)),
])
def test_a_comparison_with_the_past_asks_what_changed(read, question, kind, stats):
    got = read(question)
    assert (got.kind, got.stats) == (kind, stats)


@pytest.mark.parametrize(("question", "stats"), [
    # the last clause's everyday word ("damage") means another stat there: that stat is asked
    ("how far can your arrows reach and how quick are you across the field and how much "
     "damage can you take before going down", {"attack_range", "speed", "health"}),
    # ... and "attacks", read by each clause as its own stat, is no Attack question
    ("how rapid are your swings and how much distance can your attacks cover and how hard "
     "are you to hurt through that armor", {"attack_speed", "attack_range", "defense"}),
    # a clause sure of its stat keeps the whole question a stat question
    ("what's your mana and how fast does your health refill and how potent is your magic",
     {"mana", "health_regen", "ability_power"}),
])
def test_each_clause_of_a_long_question_names_its_own_stat(read, question, stats):
    got = read(question)
    assert (got.kind, set(got.stats)) == ("stats", stats)


@pytest.mark.parametrize("question", [
    "what was your life like as a boy", "how was life back home"])
def test_an_everyday_word_that_names_no_stat_is_read_as_written(read, question):
    # "life" masked as a stat word made these stat questions
    assert read(question).kind == "lore"


@pytest.mark.parametrize(("question", "kind"), [
    # the faction's name is masked when the kind is read: the frame of the question decides
    ("what is human culture like", "lore"), ("what are the humans all about", "lore"),
    ("honestly what do you make of the elves", "smalltalk"),
])
def test_a_question_about_a_faction_is_read_by_its_frame(read, question, kind):
    assert read(question).kind == kind


def test_each_clause_confirms_its_own_everyday_stat_word(read):
    got = read("your mana reserves and life total?")  # "life" alone is an everyday word
    assert (got.kind, set(got.stats)) == ("stats", {"mana", "health"})


def test_a_superlative_with_a_word_inside(read):
    got = read("who hits the softest")
    assert got.kind == "roster"
    assert (got.roster.stat, got.roster.lowest) == ("attack", True)


def test_the_examples_are_embedded_once_and_cached(world, tmp_path):
    calls = []
    embedder = MiniLMEmbedder(threads=1)

    def embed(texts):
        calls.append(len(texts))
        return embedder.embed(texts)

    QuestionReader(world, embed, tmp_path)
    QuestionReader(world, embed, tmp_path)
    assert len(calls) == 1 and calls[0] > 300  # the second reader loads the cached bank


def test_the_past_comparison_words_are_checked(world, tmp_path):
    data = json.loads((world.root / "intents.json").read_text(encoding="utf-8"))
    assert load_intents(world.root).comparing_words == tuple(data["past_comparison"]["comparing"])
    data["past_comparison"] = {"comparing": ["than"], "past": []}
    (tmp_path / "intents.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IntentsError, match="past_comparison needs both lists"):
        load_intents(tmp_path)


def test_a_gapped_how_takes_the_rest_of_the_clause_after_it():
    from bot.question_text import complete_gapped

    assert complete_gapped(["how hard", "how often do you hit"], lambda tail: True) == [
        "how hard do you hit", "how often do you hit"]
    # a tail that names a stat of its own is not shared
    assert complete_gapped(["how big", "how fast does your mana refill"],
                           lambda tail: "mana" not in tail) == [
        "how big", "how fast does your mana refill"]
    assert complete_gapped(["hp", "how fast do you run"], lambda tail: True) == [
        "hp", "how fast do you run"]


@pytest.mark.parametrize(("question", "stats"), [
    ("how fast and how far can you go?", ("speed", "attack_range")),
    ("how hard and how fast do you swing?", ("attack", "attack_speed")),
])
def test_two_hows_on_one_verb_read_both_stats(read, question, stats):
    assert set(read(question).stats) == set(stats)


def test_a_bare_verb_takes_the_head_of_the_how_clause_before_it():
    from bot.question_text import complete_gapped

    assert complete_gapped(["how fast do you run", "attack"], lambda tail: True) == [
        "how fast do you run", "how fast do you attack"]
    # only a bare word, and only after a "how ... do you ..." clause
    assert complete_gapped(["what's your speed", "attack"], lambda tail: True) == [
        "what's your speed", "attack"]
    assert complete_gapped(["how fast do you run", "your attack"], lambda tail: True) == [
        "how fast do you run", "your attack"]


@pytest.mark.parametrize(("question", "stats"), [
    # a list mark ends a term of several words: "atk spd" is one stat, "atk, spd" two
    ("atk, spd, def", ("attack", "speed", "defense")),
    ("atk spd?", ("attack_speed",)),
    # a real word is no typo of one word of a longer term ("plus" of "hp")
    ("what's your magic reserve plus regeneration like, mate", ("mana", "health_regen")),
    # a list joined by words
    ("damage along with crit chance", ("attack", "crit_chance")),
    ("hp as well as mana", ("health", "mana")),
    # a bare verb shares the head of the clause before it
    ("how fast do you run and attack", ("speed", "attack_speed")),
])
def test_the_items_of_a_list_of_stats(read, question, stats):
    assert set(read(question).stats) == set(stats)


@pytest.mark.parametrize(("question", "stats"), [
    # two stat words in one clause: the one the meaning is sure of is asked, the other is
    # what the question is about
    ("how far does your attack reach", ("attack_range",)),
    ("how often does your attack crit", ("crit_chance",)),
    # ... but a run of stat words with no meaning of its own asks them all
    ("hp mp?", ("health", "mana")),
    ("hp atk def spd", ("health", "attack", "defense", "speed")),
    # a weak stat word ("attacks") gives way to the narrower stat the meaning prefers
    ("how snappy are your attacks", ("attack_speed",)),
])
def test_one_stat_asked_about_another(read, question, stats):
    assert read(question).stats == stats


def test_a_week_number_is_a_patch_not_a_meaning(read):
    got = read("how much health did you have back in week 45")
    assert (got.kind, got.stats, got.patch) == ("stats", ("health",), "2026-W45")
    got = read("in the week 45 hotfix, what did your chance to crit read?")
    assert (got.kind, got.stats, got.patch) == ("stats", ("crit_chance",), "2026-W45-hotfix")


def test_a_patch_by_its_week_number_alone(read):
    got = read("what was your hp in patch 46")
    assert (got.kind, got.stats, got.patch) == ("stats", ("health",), "2026-W46")


@pytest.mark.parametrize(("question", "stats"), [
    # a short "not X" clause sets a stat aside, by its word or by its meaning
    ("how hard do you hit, not your spells", ("attack",)),
    ("not the hp, i mean how quickly it refills", ("health_regen",)),
    # ... unless nothing else is asked; "not only" adds
    ("not fast, are you?", ("speed",)),
])
def test_a_stat_set_aside_is_not_asked(read, question, stats):
    assert read(question).stats == stats
