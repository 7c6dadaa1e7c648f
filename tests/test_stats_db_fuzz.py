"""Fuzz: hundreds of generated malformed patches, each rejected with a message naming the fault,
while the stored data stays byte-identical."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from stats_db.datafolder import open_store
from stats_db.ingest import import_paths
from tests.test_stats_db_helpers import shared_minilm, write_mini_world

MAX_BYTES = 20_000
PER_KIND = 10


def _base(ids: list[str], rng: random.Random) -> dict:
    chosen = rng.sample(ids, 3)
    return {"patch": "2026-W49", "released": "2026-12-01", "kind": "delta", "notes": "fuzz",
            "characters": [{"id": c, "stats": {"health": rng.randint(200, 9000)}}
                           for c in chosen]}


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


def _mutations(world, ids: list[str]):
    """(name, make(rng) -> (file suffix, bytes), expected fragment) for each kind of fault."""
    schema = world.schema
    int_stats = [s for s in schema.stats if s.type == "int"]

    def with_entry(rng, **stats):
        doc = _base(ids, rng)
        doc["characters"][0]["stats"].update(stats)
        return ".json", _json(doc)

    def header(rng, **fields):
        doc = _base(ids, rng)
        doc.update(fields)
        return ".json", _json(doc)

    def new_char(rng, **fields):
        doc = _base(ids, rng)
        entry = {"id": f"fresh-{rng.randint(0, 999)}", "name": "Fresh One", "faction": "orcish",
                 "role": "Brute", "region": "Nowhere", "lore": "Fresh.",
                 "stats": {"health": 900}}
        entry.update(fields)
        doc["characters"].append(entry)
        return ".json", _json(doc)

    def duplicate(rng):
        doc = _base(ids, rng)
        doc["characters"].append(dict(doc["characters"][rng.randrange(3)]))
        return ".json", _json(doc)

    def truncated(rng):
        data = _json(_base(ids, rng))
        return ".json", data[: rng.randint(5, len(data) - 2)]

    def csv_cells(rng):
        cid = rng.choice(ids)
        return ".csv", (f"# patch: 2026-W49\n# released: 2026-12-01\nid,health\n"
                        f"{cid},1000,{rng.randint(1, 9)}\n").encode()

    def csv_value(rng):
        cid = rng.choice(ids)
        word = rng.choice(["lots", "12abc", "1,5", "--"])
        return ".csv", (f"# patch: 2026-W49\n# released: 2026-12-01\nid,health\n"
                        f'{cid},"{word}"\n').encode()

    def out_of_range(rng):
        stat = rng.choice(schema.stats)
        value = stat.maximum + rng.randint(1, 1000) if rng.random() < 0.5 else stat.minimum - 1
        return with_entry(rng, **{stat.name: value})

    float_stats = [s for s in schema.stats if s.type == "float"]

    def too_precise(rng):
        stat = rng.choice(float_stats)
        step = 10.0 ** -(stat.decimals + rng.randint(1, 3))
        middle = round((stat.minimum + stat.maximum) / 2, stat.decimals)
        value = round(middle + step * rng.randint(1, 9), 12)
        return with_entry(rng, **{stat.name: value})

    return [
        ("too many decimals", too_precise, "decimal places"),
        ("unknown character", lambda r: (".json", _json({**_base(ids, r), "characters": [
            {"id": f"ghost-{r.randint(0, 10**6)}", "stats": {"health": 500}}]})),
         "unknown character"),
        ("unknown stat", lambda r: with_entry(r, **{f"mojo{r.randint(0, 99)}": 3}),
         "unknown stat"),
        ("wrong type", lambda r: with_entry(r, **{r.choice(schema.names): r.choice(
            ["12", [1], {"v": 1}, True])}), "expected a number"),
        ("out of range", out_of_range, "outside the range"),
        ("not finite", lambda r: with_entry(r, **{r.choice(schema.names): r.choice(
            [float("nan"), float("inf"), float("-inf")])}), "not a finite number"),
        ("fractional int", lambda r: with_entry(r, **{r.choice(int_stats).name: 100.5}),
         "whole number"),
        ("duplicate", duplicate, "appears twice"),
        ("bad patch id", lambda r: header(r, patch=r.choice(["", " ", "a/b", 7, None])),
         "expected a patch id"),
        ("bad date", lambda r: header(r, released=r.choice(["2026-13-01", "tuesday", 20261201,
                                                           "2026-2-1"])), "expected a date"),
        ("bad kind", lambda r: header(r, kind=r.choice(["partial", "", None, "FULL"])),
         "expected 'delta' or 'full'"),
        ("no entries", lambda r: header(r, characters=r.choice([[], None, {}])),
         "non-empty list"),
        ("other content", lambda r: header(r, patch="2026-W40", released="2026-09-29"),
         "already imported with different content"),
        ("older", lambda r: header(r, patch=f"2026-W3{r.randint(0, 9)}", released="2026-08-01"),
         "older than the current patch"),
        ("empty", lambda r: (".json", r.choice([b"", b" ", b"\n\n", b"\t "])), "file is empty"),
        ("truncated", truncated, "JSON"),
        ("binary", lambda r: (".json", bytes(r.randrange(256) for _ in range(64)) + b"\x00"),
         "binary"),
        ("not utf-8", lambda r: (".json", _json(_base(ids, r)).replace(b"fuzz", b"f\xffzz")),
         "not UTF-8"),
        ("too big", lambda r: (".json", b" " * MAX_BYTES + _json(_base(ids, r))),
         "over the limit"),
        ("roster field missing", lambda r: new_char(r, **{r.choice(["name", "role", "lore"]): ""}),
         "needs a non-empty"),
        ("unknown faction", lambda r: new_char(r, faction=r.choice(["gnomish", "Orcish"])),
         "unknown faction"),
        ("not an object", lambda r: (".json", _json(r.choice([[1, 2], "patch", 5]))),
         "expected a JSON object"),
        ("csv cells", csv_cells, "cells"),
        ("csv value", csv_value, "expected a number"),
        ("stats not object", lambda r: (".json", _json({**_base(ids, r), "characters": [
            {"id": ids[0], "stats": r.choice([[1], 5, "x"])}]})), "expected an object of stat"),
    ]


def _fingerprint(folder: Path) -> dict[str, str]:
    """A hash of every stored file (the WAL's shared-memory index is scratch, not data)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    world = write_mini_world(root / "world")
    store = open_store(root / "home", embedder=shared_minilm(), world=world)
    results = import_paths(store, world.patch_files()[:1])
    assert results[0].status == "imported"
    object.__setattr__(store, "settings", type(store.settings)(max_patch_bytes=MAX_BYTES))
    return store


def test_fuzzed_patches_are_all_rejected_and_nothing_changes(fuzz_store, tmp_path):
    store = fuzz_store
    ids = sorted(c.id for c in store.world.characters if c.released_in is None)
    mutations = _mutations(store.world, ids)
    before = _fingerprint(store.data_dir)
    rng = random.Random(20261126)
    n = 0
    for name, make, fragment in mutations:
        for i in range(PER_KIND):
            suffix, data = make(rng)
            path = tmp_path / f"{name.replace(' ', '_')}_{i}{suffix}"
            path.write_bytes(data)
            [result] = import_paths(store, [path])
            assert result.status == "rejected", (name, data[:200])
            text = "\n".join(result.errors)
            assert fragment in text, (name, text)
            assert all(e.startswith(str(path)) for e in result.errors), text
            n += 1
    assert n >= 200
    assert _fingerprint(store.data_dir) == before
    assert store.status()["healthy"]


def test_import_file_raises_patch_rejected_with_every_error(fuzz_store, tmp_path):
    from stats_db.ingest import PatchRejected, import_file

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"patch": "2026-W49", "released": "2026-12-01", "kind": "delta",
                                "characters": [{"id": "ghost", "stats": {"health": -1}}]}))
    with pytest.raises(PatchRejected) as exc:
        import_file(fuzz_store, path)
    assert len(exc.value.errors) == 2 and "unknown character 'ghost'" in str(exc.value)
