"""The answer engine over a real seeded store (SQLite, LanceDB, MiniLM) and a scripted generator."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from bot.engine import RETRY_HINT, Answer, Engine
from bot.errors import Busy, UnknownAdapter, UnknownCharacter, UnknownPatch, UnknownStat
from bot.generation.base import GeneratorBusy
from characters.numbers import invented_numbers
from tests.bot_fixtures import make_engine
from training.prompt import build_messages

ORC = "hagga-grim-eye"
NERFED = "bal-zul-skullgnaw"  # attack and crit chance changed in 2026-W48


def _value(store, cid: str, stat: str, patch: str | None = None):
    return store.show(cid, patch).stats[stat]


def _facts_of(messages) -> str:
    return messages[1]["content"]


def test_grounded_reply_is_returned_as_is(seeded_store, world):
    attack = _value(seeded_store, ORC, "attack")
    engine = make_engine(seeded_store, [f"Me attack {attack}! Hagga strong."])
    answer = engine.ask("Hagga Grim-Eye", "what is your attack?")
    assert answer.answer == f"Me attack {attack}! Hagga strong."
    assert (answer.grounded, answer.fallback, answer.regenerated) == (True, False, False)
    assert answer.facts == {"attack": attack} and answer.stats_shown == ("attack",)
    assert answer.adapter == "orcish" and answer.patch == seeded_store.current_patch()
    (messages, adapter), = engine.generator.calls
    character = world.by_id[ORC]
    card = seeded_store.show(ORC).card.split("\n")
    facts = "\n".join([card[0], f"Attack: {attack}"])
    assert list(messages) == build_messages(character, world.faction("orcish"), facts,
                                            "what is your attack?")
    assert adapter == "orcish"


def test_wrong_number_regenerates_once(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    engine = make_engine(seeded_store, [f"Me attack {attack + 1}!", f"Me attack {attack}!"])
    answer = engine.ask(ORC, "what is your attack?")
    assert answer.answer == f"Me attack {attack}!"
    assert answer.regenerated and not answer.fallback and answer.grounded
    assert len(engine.generator.calls) == 2
    assert engine.generator.calls[1][0][1]["content"].endswith(RETRY_HINT.strip())


def test_wrong_number_twice_falls_back_to_the_template(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    engine = make_engine(seeded_store, [f"Me attack {attack + 7}!", "Me attack 9999!"])
    answer = engine.ask(ORC, "atack?")
    assert answer.fallback and answer.grounded and len(engine.generator.calls) == 2
    assert f"Me attack {attack}!" in answer.answer and "9999" not in answer.answer
    assert not invented_numbers(answer.answer, seeded_store.show(ORC).card)


def test_streaming_never_shows_an_invented_number(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    shown: list[str] = []
    engine = make_engine(seeded_store, [f"Grr! Me attack is {attack + 100} today, puny one."])
    answer = engine.ask(ORC, "attack?", on_text=shown.append)
    assert shown and all(str(attack + 100) not in s for s in shown)
    assert shown[-1].startswith("Grr!") and answer.fallback


def test_streaming_a_good_reply(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    reply = f"Me attack {attack}! Me crush puny elf-thing, yarg."
    shown: list[str] = []
    answer = make_engine(seeded_store, [reply]).ask(ORC, "attack?", on_text=shown.append)
    assert answer.answer == reply and len(shown) > 2
    assert reply.startswith(shown[-1])
    assert all(b.startswith(a) for a, b in itertools.pairwise(shown))


def test_adapters(seeded_store, world):
    human = next(c for c in world.characters if c.faction == "human")
    dwarf = next(c for c in world.characters if c.faction == "dwarvish")
    engine = make_engine(seeded_store, ["Hello."])
    assert engine.ask(human.id, "hi").adapter == "human"
    assert engine.ask(dwarf.id, "hi").adapter == "dwarvish"
    assert engine.ask(ORC, "hi", adapter="none").adapter is None
    assert engine.ask(ORC, "hi", adapter="elvish").adapter == "elvish"
    with pytest.raises(UnknownAdapter, match="auto, none, orcish, elvish, dwarvish, human"):
        engine.ask(ORC, "hi", adapter="goblin")


def test_a_faction_without_its_own_adapter_speaks_the_common_tongue(seeded_store, world):
    from bot.generation.base import ScriptedGenerator

    dwarf = next(c for c in world.characters if c.faction == "dwarvish")
    generator = ScriptedGenerator(["Hello."], adapters=("orcish", "elvish", "human"))
    engine = make_engine(seeded_store, ["Hello."])
    engine.generator = generator
    assert engine.ask(dwarf.id, "hi").adapter == "human"  # never the raw base model
    assert engine.ask(dwarf.id, "hi", adapter="none").adapter is None


def test_as_of_patch(seeded_store):
    old = _value(seeded_store, ORC, "speed", "2026-W46")
    engine = make_engine(seeded_store, lambda messages, adapter: _facts_of(messages))
    answer = engine.ask(ORC, "as of W46 how fast were you?")
    assert answer.patch == "2026-W46" and answer.facts == {"speed": old}
    assert engine.ask(ORC, "how fast?", patch="2026-W46").facts == {"speed": old}
    with pytest.raises(UnknownPatch, match="2026-W48"):
        engine.ask(ORC, "attack in W99?")


def test_unknown_character_suggests(seeded_store):
    engine = make_engine(seeded_store, ["x"])
    with pytest.raises(UnknownCharacter) as info:
        engine.ask("Hgaga Grim-Eey zz", "hi")
    assert "Did you mean" in str(info.value) and "Hagga Grim-Eye" in info.value.suggestions
    assert engine.resolve("hagga grim eye").id == ORC
    assert engine.suggest("hagga gr", 3)[0].id == ORC


def test_changes_lore_and_compare_feed_the_prompt(seeded_store):
    engine = make_engine(seeded_store, ["Grr."])
    changes = engine.changes(NERFED, from_patch="2026-W47")
    prompt = _facts_of(engine.generator.calls[-1][0])
    assert changes.kind == "changes" and "Changed since patch 2026-W47:\nAttack: " in prompt
    assert "attack" in changes.stats_shown
    unchanged = engine.changes(ORC, from_patch="2026-W47", to_patch="2026-W47")
    assert "No stat changed since patch 2026-W47" in _facts_of(engine.generator.calls[-1][0])
    assert unchanged.stats_shown == ()
    asked = engine.ask(NERFED, "what changed since W47?")
    assert asked.kind == "changes" and "attack" in asked.stats_shown
    assert "Changed since patch 2026-W47" in _facts_of(engine.generator.calls[-1][0])
    lore = engine.ask(ORC, "who are you? tell me your story")
    assert lore.kind == "lore" and "Hagga" in _facts_of(engine.generator.calls[-1][0])
    compare = engine.ask(ORC, "is your attack higher than Rukka's?")
    other = compare.compared
    assert compare.kind == "compare" and other is not None and set(other["facts"]) == {"attack"}
    assert f"Attack: {other['facts']['attack']}" in _facts_of(engine.generator.calls[-1][0])


def test_answer_json(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    data = make_engine(seeded_store, [f"Me attack {attack}!"]).ask(ORC, "attack?").to_json()
    for key in ("character_id", "name", "faction", "adapter", "patch", "answer", "facts",
                "grounded", "fallback", "latency_s"):
        assert key in data
    assert json.loads(json.dumps(data))["facts"] == {"attack": attack}


def test_busy_generator(seeded_store):
    class Full:
        adapters = ("orcish",)

        def generate(self, messages, adapter, max_new_tokens=None):
            raise GeneratorBusy("full")

        def stream(self, messages, adapter, max_new_tokens=None):
            raise GeneratorBusy("full")

    engine = Engine(seeded_store, Full(), voice_scorer=None)
    with pytest.raises(Busy):
        engine.ask(ORC, "attack?")
    with pytest.raises(Busy):
        engine.ask(ORC, "attack?", on_text=print)


def test_views(seeded_store):
    engine = make_engine(seeded_store, ["x"])
    card = engine.stats(ORC)
    assert ("Attack", str(_value(seeded_store, ORC, "attack"))) in card.rows
    comparison = engine.compare(ORC, "Rukka")
    assert set(comparison.better) == {label for label, _ in card.rows}
    history = engine.history(ORC, "atk")
    assert history.png.startswith(b"\x89PNG") and len(history.points) == len(engine.patch_ids())
    with pytest.raises(UnknownStat):
        engine.history(ORC, "charisma")
    view = engine.patch_summary("W48")
    assert view.patch == "2026-W48" and view.changed > 0 and view.nerfs
    assert "Gorefang Pass" in engine.whois(ORC).text
    status = engine.status()
    assert status["healthy"] and status["adapters"] == ["orcish", "elvish", "dwarvish", "human"]
    assert status["queue_depth"] == 0


def test_import_is_seen_without_restart(fresh_store, tmp_path):
    def reply(messages, adapter) -> str:
        return "Me attack " + re.search(r"Attack: (\d+)", _facts_of(messages)).group(1) + "!"

    engine = make_engine(fresh_store, reply)
    before = engine.ask(ORC, "attack?")
    new_attack = 42 if before.facts["attack"] != 42 else 43
    patch = {"patch": "2026-W49", "released": "2026-12-01", "kind": "delta", "notes": "Test.",
             "characters": [{"id": ORC, "stats": {"attack": new_attack}}]}
    path = tmp_path / "w49.json"
    path.write_text(json.dumps(patch))
    (result,) = engine.import_files([path])
    assert result.status == "imported"
    after = engine.ask(ORC, "attack?")
    assert after.patch == "2026-W49" and after.facts == {"attack": new_attack}
    assert after.answer == f"Me attack {new_attack}!" and not after.fallback
    assert engine.changes(ORC).facts == {"attack": new_attack}


def test_answer_is_frozen(seeded_store):
    answer = make_engine(seeded_store, ["Grr."]).ask(ORC, "attack?")
    assert isinstance(answer, Answer)
    with pytest.raises(AttributeError):
        answer.answer = "changed"  # type: ignore[misc]


def test_a_reply_without_the_asked_value_is_regenerated(seeded_store):
    attack = _value(seeded_store, ORC, "attack")
    engine = make_engine(seeded_store, ["Me strong! Grr.", f"Me attack {attack}!"])
    answer = engine.ask(ORC, "what is your attack?")
    assert answer.regenerated and answer.answer == f"Me attack {attack}!"
    assert not make_engine(seeded_store, ["Me strong! Grr."]).ask(ORC, "hello").regenerated


def _facts_block(messages) -> str:
    """The facts block of a prompt's user message (training.prompt.build_messages)."""
    return _facts_of(messages).split("Facts:\n", 1)[1].split("\n\nQuestion:", 1)[0]


def _engine_with_layouts(store, tmp_path, layouts: dict[str, object]) -> Engine:
    """An engine whose adapters' training_meta.json record these facts layouts (None: no
    record, as before the layouts)."""
    import dataclasses

    from characters.config import get_config

    for name, layout in layouts.items():
        (tmp_path / name).mkdir()
        meta = {} if layout is None else {"facts_layout": layout}
        (tmp_path / name / "training_meta.json").write_text(json.dumps(meta))
    config = get_config()
    config = dataclasses.replace(config, training=dataclasses.replace(
        config.training, adapters_dir=str(tmp_path)))
    return make_engine(store, ["Hello."], config=config)


def test_small_talk_gets_the_facts_layout_its_adapter_learned(seeded_store, world, tmp_path):
    engine = _engine_with_layouts(seeded_store, tmp_path, {"orcish": 2, "elvish": None})
    card = seeded_store.show(ORC).card
    header = card.split("\n")[0]
    talk = engine.ask(ORC, "hello there!")
    assert talk.kind == "smalltalk" and talk.stats_shown == () and talk.facts == {}
    assert _facts_block(engine.generator.calls[-1][0]) == header  # layout 2: the header line only
    old = engine.ask(ORC, "hello there!", adapter="elvish")  # no record: it learned layout 1
    assert old.stats_shown == world.schema.names
    assert _facts_block(engine.generator.calls[-1][0]) == card
    # a stat question is laid out the same in both: the header and the asked line
    attack = _value(seeded_store, ORC, "attack")
    engine.generator.replies = [f"Me attack {attack}!"] * 2
    for adapter in ("orcish", "elvish"):
        engine.ask(ORC, "what is your attack?", adapter=adapter)
        assert _facts_block(engine.generator.calls[-1][0]) == f"{header}\nAttack: {attack}"


def test_an_adapter_of_an_unknown_facts_layout_is_refused_by_name(seeded_store, tmp_path):
    from bot.generation.base import GenerationError

    engine = _engine_with_layouts(seeded_store, tmp_path, {"orcish": 9})
    with pytest.raises(GenerationError, match=r"orcish.training_meta\.json: unknown facts layout"):
        engine.ask(ORC, "hello there!")


def test_a_change_told_the_wrong_way_is_never_the_answer(seeded_store):
    old = _value(seeded_store, NERFED, "attack", "2026-W47")
    new = _value(seeded_store, NERFED, "attack")
    assert new < old  # nerfed in 2026-W48
    wrong = f"Me attack up {old} to {new}! Zagra!"
    engine = make_engine(seeded_store, [wrong, wrong])
    answer = engine.changes(NERFED, from_patch="2026-W47")
    assert answer.regenerated and answer.fallback and str(new) in answer.answer
    assert "up" not in answer.answer.lower().split()
    right = f"Me attack drop {old} to {new}. Skarn!"
    engine = make_engine(seeded_store, [right])
    answer = engine.changes(NERFED, from_patch="2026-W47")
    assert answer.answer == right and not answer.regenerated
    # while it streams, a clause is shown only once it is whole and told the right way
    engine = make_engine(seeded_store, [wrong, wrong])
    shown: list[str] = []
    engine.changes(NERFED, from_patch="2026-W47", on_text=shown.append)
    assert not any(" up " in f" {text.lower()} " for text in shown), shown
