"""Real data: Dota 2 hero base stats for 7.39, 7.40 and 7.41, imported as three full patches.

A small adapter below turns the OpenDota files into a `World` (roster, factions, stat schema) and
patch files; the store must take that world as it takes the shipped one. The data is copied in
tests/fixtures_stats_db/dota2 (MIT, see its LICENSE file); LOREKEEPER_REALDATA or the shared
folder beside the repository are used when the copy is missing.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path

import pytest

from characters.schema import Stat, StatSchema, decimal_places
from characters.world import Character, Faction, World
from stats_db.datafolder import open_store
from stats_db.ingest import import_paths
from tests.test_stats_db_helpers import shared_minilm

pytestmark = pytest.mark.slow  # embeds about 370 cards with MiniLM; CI runs it too

HERE = Path(__file__).resolve().parent
RELEASES = (("7.39", "2025-05-22", "heroes_7.39_*.json"),
            ("7.40", "2025-12-16", "heroes_7.40_*.json"),
            ("7.41", "2026-03-24", "heroes_7.41_*.json"))
ATTRIBUTES = {"str": "Strength", "agi": "Agility", "int": "Intelligence", "all": "Universal"}
SKIP = {"id", "cm_enabled"}


def find_dota2() -> Path | None:
    """The folder holding the three hero files: the test copy, LOREKEEPER_REALDATA, or ../shared."""
    candidates = [HERE / "fixtures_stats_db" / "dota2"]
    if os.environ.get("LOREKEEPER_REALDATA"):
        candidates.append(Path(os.environ["LOREKEEPER_REALDATA"]) / "dota2")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "realdata" / "dota2")
    for folder in candidates:
        if all(list(folder.glob(pattern)) for _, _, pattern in RELEASES):
            return folder
    return None


def hero_id(raw: dict) -> str:
    return re.sub(r"[^a-z0-9]+", "-", raw["name"].removeprefix("npc_dota_hero_").lower())


def hero_stats(raw: dict, names: tuple[str, ...]) -> dict:
    return {n: raw.get(n) for n in names}


def load_releases(folder: Path) -> list[tuple[str, str, dict]]:
    out = []
    for patch, released, pattern in RELEASES:
        data = json.loads(next(folder.glob(pattern)).read_text(encoding="utf-8"))
        out.append((patch, released, {hero_id(h): h for h in data.values()}))
    return out


def dota_schema(releases) -> StatSchema:
    """Every numeric field of the files; int when every value seen is whole.

    A float stat allows the most decimal places any release gives it: the store keeps values
    exactly and rejects finer ones, so the schema states the precision the data has.
    """
    values: dict[str, list] = {}
    for _, _, heroes in releases:
        for hero in heroes.values():
            for key, value in hero.items():
                if key in SKIP or isinstance(value, bool | str | list):
                    continue
                values.setdefault(key, []).append(value)
    stats = []
    for name in sorted(values):
        seen = [v for v in values[name] if v is not None]
        kind = "int" if all(isinstance(v, int) for v in seen) else "float"
        places = max((decimal_places(v) for v in seen), default=0)
        stats.append(Stat(name, kind, "", -1000.0, 100000.0, name.replace("_", " ").capitalize(),
                          decimals=places))
    return StatSchema(tuple(stats))


def character_for(hero: dict, hid: str, released_in: str | None = None) -> Character:
    roles = hero.get("roles") or ["Hero"]
    lore = (f"{hero['localized_name']} is a {hero['attack_type'].lower()} "
            f"{ATTRIBUTES[hero['primary_attr']]} hero: {', '.join(roles)}.")
    return Character(hid, hero["localized_name"], hero["primary_attr"], roles[0],
                     hero["attack_type"], lore, (), released_in)


def build_world(releases, root: Path) -> World:
    """The adapter: a World whose roster is 7.39's heroes, and three full patch files."""
    schema = dota_schema(releases)
    factions = tuple(Faction(k, v, None) for k, v in ATTRIBUTES.items())
    first = releases[0][2]
    roster = tuple(character_for(first[h], h) for h in sorted(first))
    (root / "patches").mkdir(parents=True)
    for patch, released, heroes in releases:
        entries = []
        for hid in sorted(heroes):
            entry = {"id": hid, "stats": hero_stats(heroes[hid], schema.names)}
            if hid not in first:
                c = character_for(heroes[hid], hid, patch)
                entry.update({"name": c.name, "faction": c.faction, "role": c.role,
                              "region": c.region, "lore": c.lore})
            entries.append(entry)
        doc = {"patch": patch, "released": released, "kind": "full",
               "notes": f"Dota 2 {patch}", "characters": entries}
        (root / "patches" / f"{released}_{patch}.json").write_text(json.dumps(doc, indent=1))
    return World(factions, schema, roster, {}, root)


@pytest.fixture(scope="module")
def dota(tmp_path_factory):
    folder = find_dota2()
    if folder is None:
        pytest.skip("Dota 2 data not found: tests/fixtures_stats_db/dota2, LOREKEEPER_REALDATA "
                    "or ../shared/realdata/dota2")
    root = tmp_path_factory.mktemp("dota2")
    releases = load_releases(folder)
    world = build_world(releases, root / "world")
    store = open_store(root / "home", embedder=shared_minilm(), world=world)
    results = import_paths(store, world.patch_files())
    assert [(r.patch, r.status) for r in results] == [
        ("7.39", "imported"), ("7.40", "imported"), ("7.41", "imported")], results
    return store, releases


def test_every_hero_diff_equals_the_raw_change(dota):
    store, releases = dota
    names = store.world.schema.names
    for (old_patch, _, old), (new_patch, _, new) in itertools.pairwise(releases):
        changed = 0
        for hid in new:
            before = hero_stats(old[hid], names) if hid in old else dict.fromkeys(names)
            after = hero_stats(new[hid], names)
            want = {n: (before[n], after[n]) for n in names if before[n] != after[n]}
            assert store.diff(hid, old_patch, new_patch).changes == want, hid
            changed += bool(want)
        assert 40 <= changed <= 80  # "about 56 heroes change between each release"
    for patch, _, heroes in releases:
        for hid, hero in heroes.items():
            assert store.show(hid, patch).stats == hero_stats(hero, names)


def test_the_new_hero_is_there(dota):
    store, releases = dota
    new = sorted(set(releases[1][2]) - set(releases[0][2]))
    assert new == ["largo"]
    assert store.patch_summary("7.40").new_characters == ["largo"]
    assert store.resolver().resolve("Largo").character.id == "largo"
    assert store.status() == {"patch": "7.41", "patches": 3, "characters": 127,
                              "index_rows": 254, "healthy": True, "state": "healthy",
                              "problems": []}
    hits = store.search("how much armor does largo have", "largo", k=2)
    assert hits[0].character_id == "largo"


def test_nulls_stay_unknown(dota):
    store, releases = dota
    _, _, latest = releases[-1]
    null_turn = [hid for hid, h in latest.items() if h.get("turn_rate") is None]
    assert null_turn
    for hid in null_turn:
        snap = store.show(hid)
        assert snap.stats["turn_rate"] is None
        assert "Turn rate: unknown" in snap.card
    known = [hid for hid, h in latest.items() if h.get("turn_rate") is not None]
    assert all(store.show(h).stats["turn_rate"] == latest[h]["turn_rate"] for h in known)
    assert [v for _, _, v in store.history(null_turn[0], "turn_rate")] == [None, None, None]


def test_the_schema_states_the_precision_the_data_has(dota):
    store, releases = dota
    floats = {s.name: s.decimals for s in store.world.schema.stats if s.type == "float"}
    assert floats and max(floats.values()) >= 1
    _, _, latest = releases[-1]
    for hid, hero in latest.items():
        for name, places in floats.items():
            value = hero.get(name)
            assert value is None or decimal_places(value) <= places, (hid, name, value)
