"""The engine's facts come from the index; roster questions; names in replies are verified;
follow-ups remember the character (SQLite, across a restart); fuzzy names say how they were
read. Real SQLite, LanceDB and MiniLM; the generator is scripted where a reply must be exact."""

from __future__ import annotations

from bot.memory import ConversationMemory
from bot.render import render_answer
from tests.bot_fixtures import make_engine

ORC = "hagga-grim-eye"


def _facts_of(messages) -> str:
    return messages[1]["content"].split("\n\nQuestion:")[0]


def _leader_of(messages) -> tuple[str, str]:
    """The first ranked name and its value in the prompt ("1. Name, Elvish Role: Speed 430")."""
    first = _facts_of(messages).splitlines()[2]
    return first.split(". ", 1)[1].split(",")[0], first.rsplit(" ", 1)[1]


def test_an_answers_facts_come_from_the_index_not_the_record(fresh_store):
    store = fresh_store
    patch = store.current_patch()
    record = store.show(ORC).stats["attack"]
    table = store.index.table()
    table.update(where=f"key = 'stats:{ORC}'", values={"stat_attack": float(record + 7)})
    store.index.tag(patch)  # the current patch's tag now points at the edited version
    engine = make_engine(store, [f"Me attack {record + 7}!"])
    answer = engine.ask(ORC, "what is your attack?")
    assert answer.facts == {"attack": record + 7} and store.show(ORC).stats["attack"] == record
    assert f"Attack: {record + 7}" in _facts_of(engine.generator.calls[-1][0])
    assert answer.grounded and not answer.fallback


def test_a_roster_question_is_answered_from_one_ranked_query(seeded_store):
    store = seeded_store
    stats = store.stats_at()
    elves = [c for c in store.characters() if c.faction == "elvish"]
    value = max(stats[c.id]["speed"] for c in elves)

    def reply(messages, adapter):
        leader, value = _leader_of(messages)
        return f"{leader} is the fastest, speed {value}."

    engine = make_engine(store, reply)
    answer = engine.ask(ORC, "who is the fastest elf?")
    assert answer.kind == "roster" and not answer.fallback, answer
    assert answer.ranking[0]["value"] == value
    assert store.stats_at()[answer.ranking[0]["id"]]["speed"] == value  # a real leader
    assert answer.ranking[0]["name"] in answer.answer and str(value) in answer.answer
    facts = _facts_of(engine.generator.calls[-1][0])
    assert "Ranking by Speed among Elvish, highest first. Patch 2026-W48." in facts


def test_an_invented_name_fails_verification(seeded_store):
    engine = make_engine(seeded_store, ["Roston is the fastest orc.", "Roston, surely."])
    answer = engine.ask(ORC, "who is the fastest orc?")
    assert answer.kind == "roster" and answer.fallback and answer.regenerated
    assert "Roston" not in answer.answer and answer.ranking[0]["name"] in answer.answer
    other = next(c for c in seeded_store.characters() if c.faction == "elvish")
    named = make_engine(seeded_store, [f"Me attack 91. {other.name} weaker."] * 2)
    assert named.ask(ORC, "what is your attack?").fallback  # a real name not in the facts


def test_a_roster_reply_must_name_the_leader_in_full(seeded_store):
    """A first name does not say who leads (several characters share one): the reply fails
    verification, and the answer that goes out names the leader in full."""
    def first_name_only(messages, adapter):
        leader, value = _leader_of(messages)
        return f"{leader.split()[0]}: speed {value}."

    engine = make_engine(seeded_store, first_name_only)
    answer = engine.ask(ORC, "who is the fastest elf?")
    leader = answer.ranking[0]["name"]
    assert answer.kind == "roster" and answer.regenerated and answer.fallback
    assert leader in answer.answer and str(answer.ranking[0]["value"]) in answer.answer


def test_follow_ups_go_to_the_last_character_and_survive_a_restart(fresh_store):
    engine = make_engine(fresh_store, lambda messages, adapter: "Grr.")
    first = engine.ask(ORC, "what was your attack as of W44?", conversation="chan:1")
    assert first.patch == "2026-W44"
    nxt = engine.ask(None, "and your defense?", conversation="chan:1")
    assert (nxt.character_id, nxt.patch, nxt.stats_shown, nxt.follow_up) == (
        ORC, "2026-W44", ("defense",), True)
    restarted = make_engine(fresh_store, lambda messages, adapter: "Grr.")
    again = restarted.ask(None, "what about as of W46?", conversation="chan:1")
    assert (again.character_id, again.patch, again.stats_shown) == (ORC, "2026-W46",
                                                                     ("defense",))
    compared = restarted.ask(None, "and compared to Thalriel?", conversation="chan:1")
    assert compared.kind == "compare" and compared.compared["name"].startswith("Thalriel")
    from bot.errors import NoConversation

    try:
        restarted.ask(None, "and your mana?", conversation="chan:2")
    except NoConversation as exc:
        assert "Name a character" in str(exc)
    else:
        raise AssertionError("a question without a name in a new conversation must fail")


def test_a_remembered_conversation_expires(tmp_path):
    from bot.understand import Understanding

    memory = ConversationMemory(tmp_path / "db.sqlite", ttl_s=900)
    memory.remember("c", ORC, Understanding(text="hp?", kind="stats", stats=("health",)),
                    now=1000.0)
    assert memory.recall("c", now=1899.0).character_id == ORC
    assert memory.recall("c", now=1901.0) is None


def test_a_fuzzy_name_says_how_it_was_read(seeded_store):
    engine = make_engine(seeded_store, lambda messages, adapter: "Grr.")
    answer = engine.ask("grukk", "what is your attack")
    assert answer.name == "Rukka Blackcleaver" and answer.resolved_from == "grukk"
    shown = render_answer(answer, seeded_store.world.schema)
    assert "(read 'grukk' as Rukka Blackcleaver)" in shown
    assert answer.to_json()["resolved_from"] == "grukk"
    exact = engine.ask("Rukka Blackcleaver", "what is your attack")
    assert exact.resolved_from is None and "read '" not in render_answer(exact)


def test_top_is_one_ordered_query_with_filters(seeded_store):
    engine = make_engine(seeded_store, ["unused"])
    view = engine.top("hp", faction="dwarves", count=5)
    stats = seeded_store.stats_at()
    dwarves = sorted((c for c in seeded_store.characters() if c.faction == "dwarvish"),
                     key=lambda c: (-stats[c.id]["health"], c.name))
    assert [r[1] for r in view.rows] == [c.id for c in dwarves[:5]]
    healers = engine.top("cost", role="healer", lowest=True, count=3)
    assert all(r[4] in ("Cleric", "Druid", "Shaman", "Witch-doctor", "Brewmaster")
               for r in healers.rows)
    values = [r[6] for r in healers.rows]
    assert values == sorted(values)
    rows = view.to_json()
    assert {"id", "name", "value"} <= set(rows[0])
