"""Roster integrity, patch history sanity and the generator's reproducibility."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from characters.generate import generate
from characters.meanings import MeaningsError, parse_meanings
from characters.resolve import compact
from characters.world import DEFAULT_WORLD_DIR


def test_roster_ids_names_and_counts(world):
    ids = [c.id for c in world.characters]
    names = [compact(c.name) for c in world.characters]
    assert len(world.characters) == 500
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)
    counts = Counter(c.faction for c in world.characters)
    assert counts["orcish"] >= 150 and counts["elvish"] >= 150
    assert set(counts) == {"orcish", "elvish", "human", "dwarvish"}


def test_every_character_is_complete(world):
    for c in world.characters:
        assert c.faction in world.faction_by_id
        assert c.role and c.region
        assert 0 <= len(c.aliases) <= 3
        sentences = [s for s in c.lore.split(". ") if s]
        assert 2 <= len(sentences) <= 4, c.lore


def test_aliases_never_name_another_character(world):
    owners: dict[str, str] = {}
    names = {compact(c.name): c.id for c in world.characters}
    for c in world.characters:
        for alias in c.aliases:
            key = compact(alias)
            assert owners.setdefault(key, c.id) == c.id, alias
            assert names.get(key, c.id) == c.id, alias


def test_factions_and_voices(world):
    assert {f.id for f in world.factions if f.adapter} == {"orcish", "elvish", "dwarvish",
                                                           "human"}
    assert set(world.lexicons) == {f.id for f in world.factions}  # every faction has a voice
    words = [entry.word for lexicon in world.lexicons.values() for entry in lexicon]
    assert len(words) == len(set(words))  # no word is shared by two voices
    for lexicon in world.lexicons.values():
        assert len(lexicon) >= 20
        assert all(entry.word and entry.gloss for entry in lexicon)


def test_schema_has_ten_typed_stats_with_synonyms(world):
    assert len(world.schema.stats) >= 10
    for stat in world.schema.stats:
        assert stat.type in ("int", "float")
        assert stat.minimum < stat.maximum
        assert stat.label and stat.synonyms


def _load_patches(world):
    return [json.loads(p.read_text()) for p in world.patch_files()]


def test_patch_history_reads_like_a_live_game(world):
    patches = _load_patches(world)
    assert patches[0]["kind"] == "full"
    deltas = [p for p in patches if p["kind"] == "delta"]
    assert len(deltas) >= 7
    released = [p["released"] for p in patches]
    assert released == sorted(released)
    notes = " ".join(p["notes"].lower() for p in patches)
    assert "revert" in notes and "hotfix" in notes
    assert any(any("faction" in e for e in p["characters"]) for p in deltas), "no release patch"


def test_every_patch_value_is_inside_the_schema(world):
    roster = world.by_id
    seen: set[str] = set()
    for patch in _load_patches(world):
        ids = [e["id"] for e in patch["characters"]]
        assert len(ids) == len(set(ids)), patch["patch"]
        for entry in patch["characters"]:
            assert entry["id"] in roster
            if "faction" not in entry:
                assert entry["id"] in seen or patch["kind"] == "full"
            seen.add(entry["id"])
            for name, value in entry["stats"].items():
                assert world.schema[name].check(value) is None, (patch["patch"], entry["id"], name)
    assert seen == set(roster)


def test_revert_restores_the_exact_values(world):
    patches = {p["patch"]: p for p in _load_patches(world)}
    cut = {e["id"]: e["stats"]["attack_range"] for e in patches["2026-W43"]["characters"]
           if "attack_range" in e["stats"]}
    back = {e["id"]: e["stats"]["attack_range"] for e in patches["2026-W45"]["characters"]
            if "attack_range" in e["stats"]}
    assert cut and set(cut) == set(back)
    assert all(back[c] == cut[c] + 50 for c in cut)


# Written by hand beside the generated files: what players' words mean (question understanding).
HAND_WRITTEN = {"meanings.json", "intents.json"}


def test_generator_reproduces_the_files_byte_for_byte(tmp_path):
    generate(tmp_path)
    shipped = sorted(p.relative_to(DEFAULT_WORLD_DIR) for p in DEFAULT_WORLD_DIR.rglob("*.json")
                     if p.name not in HAND_WRITTEN)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    assert shipped == made
    for rel in shipped:
        assert (tmp_path / rel).read_bytes() == (DEFAULT_WORLD_DIR / rel).read_bytes(), rel


def test_a_term_for_a_stat_the_game_lacks_may_not_name_a_real_one(world):
    data = json.loads((world.root / "meanings.json").read_text(encoding="utf-8"))
    assert parse_meanings(data, world.schema).absent_terms  # the shipped list is valid
    data["absent_stat_terms"] = [*data["absent_stat_terms"], "Armour"]
    with pytest.raises(MeaningsError, match="'Armour' is a term of defense"):
        parse_meanings(data, world.schema)
    data["absent_stat_terms"] = "lifesteal"
    with pytest.raises(MeaningsError, match="absent_stat_terms"):
        parse_meanings(data, world.schema)
