"""The store end to end: real SQLite, LanceDB and MiniLM on a small slice of the shipped world."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from stats_db.datafolder import open_store
from stats_db.errors import UnknownCharacter, UnknownPatch, UnknownStat
from stats_db.ingest import import_paths
from tests.test_stats_db_helpers import delta, shared_minilm, write_json, write_mini_world


class CountingEmbedder:
    """The real MiniLM, counting how many texts it embeds."""

    def __init__(self) -> None:
        self.inner = shared_minilm()
        self.dim = self.inner.dim
        self.count = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.count += len(texts)
        return self.inner.embed(texts)


def replay(world) -> dict[str, dict[str, dict]]:
    """patch id -> character id -> stats, computed straight from the patch files."""
    state: dict[str, dict] = {}
    out = {}
    for path in world.patch_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        for entry in doc["characters"]:
            if doc["kind"] == "full":
                state[entry["id"]] = {n: entry["stats"].get(n) for n in world.schema.names}
            else:
                state.setdefault(entry["id"], dict.fromkeys(world.schema.names))
                state[entry["id"]].update(entry["stats"])
        out[doc["patch"]] = json.loads(json.dumps(state))
    return out


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeded")
    world = write_mini_world(root / "world")
    store = open_store(root / "home", embedder=shared_minilm(), world=world)
    results = import_paths(store, world.patch_files())
    assert [r.status for r in results] == ["imported"] * len(results)
    return store


@pytest.fixture
def fresh(tmp_path):
    world = write_mini_world(tmp_path / "world")
    embedder = CountingEmbedder()
    store = open_store(tmp_path / "home", embedder=embedder, world=world)
    return store, embedder


def test_status_is_healthy_after_import(seeded):
    status = seeded.status()
    assert status == {"patch": "2026-W48", "patches": 10, "characters": 23,
                      "index_rows": len(seeded.desired_rows()), "healthy": True,
                      "state": "healthy", "problems": []}
    assert [p.id for p in seeded.patches()][-3:] == ["2026-W46", "2026-W47", "2026-W48"]
    assert all(p.status == "done" for p in seeded.patches())


def test_show_and_diff_match_a_replay_of_the_files(seeded):
    expected = replay(seeded.world)
    ids = [p.id for p in seeded.patches()]
    for patch_id in ids:
        for cid, stats in expected[patch_id].items():
            assert seeded.show(cid, patch_id).stats == stats
    for cid in expected["2026-W48"]:
        diff = seeded.diff(cid)
        assert (diff.from_patch, diff.to_patch) == ("2026-W47", "2026-W48")
        old, new = expected["2026-W47"].get(cid, {}), expected["2026-W48"][cid]
        want = {s: (old.get(s), new[s]) for s in new if old.get(s) != new[s]}
        assert diff.changes == want
    cid = next(iter(expected["2026-W40"]))
    full = seeded.diff(cid, "2026-W40", "2026-W45-hotfix")
    assert full.changes == {s: (expected["2026-W40"][cid][s], v) for s, v in
                            expected["2026-W45-hotfix"][cid].items()
                            if v != expected["2026-W40"][cid][s]}


def test_show_renders_the_shared_stat_card(seeded):
    snap = seeded.show("brugzag-war-eye")
    assert snap.card.splitlines()[0].endswith("Patch 2026-W48.")
    assert f"Health: {snap.stats['health']} hp" in snap.card
    with pytest.raises(UnknownCharacter, match="arrived in patch 2026-W46; patch 2026-W41 has no"):
        seeded.show("brugzag-war-eye", "2026-W41")


def test_history_of_one_stat(seeded):
    expected = replay(seeded.world)
    cid = "brugzag-war-eye"
    rows = seeded.history(cid, "health")
    assert [r[0] for r in rows] == [p.id for p in seeded.patches()]
    assert [r[2] for r in rows] == [expected[p].get(cid, {}).get("health") for p, _, _ in rows]
    with pytest.raises(UnknownStat):
        seeded.history(cid, "charisma")


def test_patch_summary(seeded):
    summary = seeded.patch_summary("2026-W46")
    assert summary.new_characters == ["brug-zul-dreadhide", "brugzag-war-eye"]
    latest = seeded.patch_summary()
    assert latest.patch == "2026-W48" and latest.changed >= 1
    moves = latest.buffs + latest.nerfs
    assert moves and all(abs(a[4]) >= abs(b[4]) for a, b in itertools.pairwise(moves)
                         if (a[4] > 0) == (b[4] > 0))
    for cid, stat, old, new, pct in latest.nerfs:
        assert new < old and pct < 0 and seeded.diff(cid).changes[stat] == (old, new)


def test_unknown_patch_and_character(seeded):
    with pytest.raises(UnknownPatch, match="unknown patch '2026-W99'"):
        seeded.show("brugzag-war-eye", "2026-W99")
    with pytest.raises(UnknownPatch):
        seeded.diff("brugzag-war-eye", "nope")
    with pytest.raises(UnknownCharacter):
        seeded.show("nobody")


def test_hybrid_search_filters_by_character(seeded):
    hits = seeded.search("how much health does he have", "brugzag-war-eye")
    assert hits and {h.character_id for h in hits} == {"brugzag-war-eye"}
    assert hits[0].kind == "stats" and "Health:" in hits[0].text
    lore = seeded.search(seeded.character("brugzag-war-eye").lore.split(".")[0], k=3)
    assert any(h.kind == "lore" and h.character_id == "brugzag-war-eye" for h in lore)
    assert seeded.search("???", "brugzag-war-eye")


def test_search_as_of_a_patch_uses_the_tag(seeded):
    cid = "aedros-glimmerbrook"
    old = seeded.show(cid, "2026-W41")
    assert "2026-W41" in seeded.index.tags()
    hits = seeded.search("health and mana", cid, patch="2026-W41", k=2)
    card = next(h.text for h in hits if h.kind == "stats")
    assert f"Mana: {old.stats['mana']} mp" in card


def test_reads_from_many_threads(seeded):
    errors: list[BaseException] = []
    ids = [c.id for c in seeded.characters()]

    def work(i: int) -> None:
        try:
            for cid in ids[i::4]:
                assert seeded.show(cid).stats
                seeded.diff(cid)
            seeded.search("attack speed", ids[i])
            assert seeded.status()["healthy"]
        except BaseException as exc:  # reported below with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_only_changed_cards_are_reembedded_and_reimport_is_a_noop(fresh, tmp_path):
    store, embedder = fresh
    import_paths(store, store.world.patch_files()[:3])
    first = embedder.count
    a, b = sorted(c.id for c in store.characters())[:2]
    path = write_json(tmp_path / "w49.json", delta("2026-W49", "2026-12-01", [
        {"id": a, "stats": {"health": 1234}}, {"id": b, "stats": {"attack": 77}}]))
    [result] = import_paths(store, [path])
    assert result.status == "imported" and result.counts["embedded"] == 2
    assert embedder.count == first + 2
    assert store.index.tags()["2026-W49"] == store.index.table().version
    before = store.index.table().version
    [again] = import_paths(store, [path])
    assert again.status == "unchanged" and embedder.count == first + 2
    assert store.index.table().version == before
    assert store.status()["healthy"]


def test_fts_finds_new_rows_before_and_after_the_index_is_refreshed(fresh, tmp_path):
    """New rows stay outside the FTS index until the next optimize ([stats_db].optimize_every
    writes later), and the full-text search still finds them (LanceDB scans unindexed rows)."""
    store, _ = fresh
    import_paths(store, store.world.patch_files()[:1])
    newcomer = {"id": "zyxquor-the-new", "name": "Zyxquor Newblood", "faction": "orcish",
                "role": "Brute", "region": "Ashen Steppes", "lore": "Zyxquor hunts glimmerworms.",
                "stats": {"health": 2000, "attack": 80}}
    path = write_json(tmp_path / "w49.json", delta("2026-W49", "2026-12-01", [newcomer]))
    assert import_paths(store, [path])[0].status == "imported"
    table = store.index.table()
    for refreshed in (False, True):
        if refreshed:
            store.index.optimize(dt.timedelta(days=store.settings.keep_versions_days))
            assert store.index.unindexed_fts_rows() == 0
        found = table.search("glimmerworms", query_type="fts").limit(5).to_list()
        assert [r["key"] for r in found] == ["lore:zyxquor-the-new:0"]
    assert store.resolver().resolve("Zyxquor Newbld").character.id == "zyxquor-the-new"
    assert store.show("zyxquor-the-new").stats["health"] == 2000
    assert store.show("zyxquor-the-new").stats["mana"] is None


def test_merge_insert_with_a_scalar_index_on_the_key(fresh, tmp_path):
    """LanceDB pitfall: upserts keyed on an indexed column must update, never duplicate."""
    store, _ = fresh
    import_paths(store, store.world.patch_files()[:1])
    kinds = {ix.index_type for ix in store.index.table().list_indices()}
    assert "BTree" in kinds
    cid = sorted(c.id for c in store.characters())[0]
    for week, health in ((49, 1111), (50, 2222), (51, 3333)):
        entries = [{"id": cid, "stats": {"health": health}}]
        doc = delta(f"2026-W{week}", f"2026-12-{week - 48:02d}", entries)
        path = write_json(tmp_path / f"w{week}.json", doc)
        assert import_paths(store, [path])[0].status == "imported"
    keys = store.index.table().search().select(["key"]).limit(None).to_arrow()["key"].to_pylist()
    assert len(keys) == len(set(keys)) == len(store.desired_rows())
    rows = store.index.table().search().where(f"key = 'stats:{cid}'").limit(None).to_list()
    assert len(rows) == 1 and rows[0]["stat_health"] == 3333.0
    assert store.status()["healthy"]


def test_backfill_and_full_patches(fresh, tmp_path):
    store, _ = fresh
    files = store.world.patch_files()
    import_paths(store, [files[0], files[2]])
    [rejected] = import_paths(store, [files[1]])
    assert rejected.status == "rejected" and "--backfill" in rejected.errors[0]
    [ok] = import_paths(store, [files[1]], backfill=True)
    assert ok.status == "imported"
    assert [p.id for p in store.patches()] == ["2026-W40", "2026-W41", "2026-W42"]
    expected = replay(store.world)
    for patch_id in ("2026-W40", "2026-W41", "2026-W42"):
        for cid, stats in expected[patch_id].items():
            assert store.show(cid, patch_id).stats == stats
    assert store.status()["healthy"]
    ids = sorted(c.id for c in store.characters())
    # a backfill re-tags every patch from it on, so each one reads the index, as the record says
    tags = store.index.tags()
    assert {"2026-W40", "2026-W41", "2026-W42"} <= set(tags)
    assert tags["2026-W40"] < tags["2026-W41"] < tags["2026-W42"]
    for patch_id in ("2026-W40", "2026-W41", "2026-W42"):
        for cid in ids[:40]:
            assert store.index.stat_row(cid, patch_id) is not None
            assert store.facts(cid, patch_id).stats == store.show(cid, patch_id).stats
    hits = store.search("health", ids[0], patch="2026-W41", k=8)
    assert store.show(ids[0], "2026-W41").card.split("\n", 1)[1] in [
        h.text.split("\n", 1)[1] for h in hits if h.kind == "stats"]
    full = {"patch": "2026-W49", "released": "2026-12-01", "kind": "full", "notes": "reset",
            "characters": [{"id": ids[0], "stats": {"health": 999, "attack": None}}]}
    before_other = store.show(ids[1]).stats
    assert import_paths(store, [write_json(tmp_path / "full.json", full)])[0].status == "imported"
    snap = store.show(ids[0]).stats
    assert snap["health"] == 999 and snap["attack"] is None and snap["mana"] is None
    assert store.show(ids[1]).stats == before_other
    assert store.status()["healthy"]


def test_rebuild_restores_a_lost_index(fresh):
    from stats_db.ingest import rebuild_index

    store, _ = fresh
    import_paths(store, store.world.patch_files()[:2])
    store.index.drop()
    assert not store.status()["healthy"]
    rebuild_index(store)
    assert store.status()["healthy"]
    assert set(store.index.tags()) == {p.id for p in store.patches()}  # every patch, not one


def test_data_files_live_under_the_data_folder(seeded):
    assert Path(seeded.sqlite_path).parent == seeded.data_dir
    assert (seeded.data_dir / "lance").is_dir()
