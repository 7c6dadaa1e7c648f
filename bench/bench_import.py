"""Import and query speed of stats_db, on a private data folder.

    .venv/bin/python -m bench import

- a delta touching 50 characters, end to end (validate, SQLite, embed 50 cards with MiniLM,
  merge_insert, FTS refresh, tag, check); target under 2 s;
- the same file again, a no-op; target under 0.5 s;
- hybrid query (vector plus full text, RRF) p50 and p95 over the shipped index (500 characters:
  500 stat cards and 500 lore rows); target p50 under 20 ms;
- the same at 50,000 synthetic rows; target p50 under 50 ms.

The 500-character history is seeded with the hash embedder to keep the bench short; every timed
embedding uses the real all-MiniLM-L6-v2.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from characters.world import get_world
from stats_db.datafolder import open_store
from stats_db.embed import HashEmbedder, MiniLMEmbedder
from stats_db.index import LanceIndex, text_hash
from stats_db.ingest import import_paths

QUERIES = ("how much health does he have", "attack speed and crit chance", "what is the cost",
           "mana and ability power", "who is this warrior", "how far can she attack",
           "defense rating", "where does he come from")
SYNTHETIC_ROWS = 50_000
REPEATS = 60
WORDS = ["health", "mana", "attack", "defense", "speed", "crit", "range", "ability", "regen",
         "cost", "orc", "elf", "dwarf", "human", "warrior", "mage", "archer", "steppes", "forest",
         "hold", "river", "fire", "frost", "storm", "iron"]


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return round(statistics.median(ordered) * 1000, 2), round(p95 * 1000, 2)


def _delta(world, store, n: int, patch: str, released: str) -> dict:
    rng = random.Random(7)
    chosen = rng.sample(sorted(c.id for c in store.characters()), n)
    current = store.stats_at()
    entries = []
    for cid in chosen:
        health = current[cid]["health"] or 1000
        entries.append({"id": cid, "stats": {"health": min(12000, int(health) + 17)}})
    return {"patch": patch, "released": released, "kind": "delta", "notes": "bench",
            "characters": entries}


def _time_queries(fn, repeats: int = REPEATS) -> list[float]:
    fn(0)  # warm up
    samples = []
    for i in range(repeats):
        started = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - started)
    return samples


def _synthetic_index(folder: Path, world, minilm_dim: int) -> tuple[LanceIndex, list[str]]:
    import pyarrow as pa

    from stats_db.index import arrow_schema, stat_column

    rng = np.random.default_rng(0)
    words = WORDS
    index = LanceIndex(folder, world.schema, minilm_dim)
    table = index.table(create=True)
    ids = [f"char-{i:05d}" for i in range(SYNTHETIC_ROWS // 2)]
    vectors = rng.standard_normal((SYNTHETIC_ROWS, minilm_dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows: dict[str, list] = {name: [] for name in arrow_schema(world.schema, minilm_dim).names}
    for i in range(SYNTHETIC_ROWS):
        cid = ids[i // 2]
        text = " ".join(rng.choice(words, 12)) + f" {cid}"
        kind = "stats" if i % 2 == 0 else "lore"
        for key, value in (("key", f"{kind}:{cid}"), ("kind", kind), ("character_id", cid),
                           ("faction", "orcish"), ("patch", "bench"), ("text", text),
                           ("content_hash", text_hash(text))):
            rows[key].append(value)
        for stat in world.schema.names:
            rows[stat_column(stat)].append(float(rng.integers(1, 100)))
    rows["vector"] = list(vectors)
    table.add(pa.Table.from_pydict(rows, schema=table.schema))
    index.refresh_fts()
    return index, ids


def run() -> dict[str, object]:
    world = get_world()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        store = open_store(tmp_path / "home", embedder=HashEmbedder(), world=world)
        started = time.perf_counter()
        import_paths(store, world.patch_files())
        figures["seed_history_hash_embedder_s"] = round(time.perf_counter() - started, 2)
        minilm = MiniLMEmbedder(batch_size=64, threads=1)  # as the CLI does; see stats_db.cli
        started = time.perf_counter()
        minilm.embed(["warm up"])
        figures["minilm_load_s"] = round(time.perf_counter() - started, 2)
        store.embedder = minilm

        path = tmp_path / "delta50.json"
        path.write_text(json.dumps(_delta(world, store, 50, "2026-W49", "2026-12-01")))
        started = time.perf_counter()
        [result] = import_paths(store, [path])
        figures["delta_50_import_s"] = round(time.perf_counter() - started, 3)
        figures["delta_50_embedded"] = result.counts.get("embedded")
        cards = [store.show(e["id"]).card for e in json.loads(path.read_text())["characters"]]
        started = time.perf_counter()
        minilm.embed(cards)
        figures["delta_50_embedding_part_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        [again] = import_paths(store, [path])
        figures["noop_reimport_s"] = round(time.perf_counter() - started, 3)
        assert again.status == "unchanged"
        figures["index_rows"] = store.index.count()
        figures["healthy"] = store.status()["healthy"]

        ids = [c.id for c in store.characters()]
        vectors = minilm.embed(list(QUERIES))
        figures["hybrid_1k_rows_index_p50_ms"], figures["hybrid_1k_rows_index_p95_ms"] = _ms(
            _time_queries(lambda i: store.index.search(
                vectors[i % len(QUERIES)], QUERIES[i % len(QUERIES)], 4, ids[i % len(ids)])))
        figures["hybrid_1k_rows_end_to_end_p50_ms"], figures[
            "hybrid_1k_rows_end_to_end_p95_ms"] = _ms(_time_queries(lambda i: store.search(
                QUERIES[i % len(QUERIES)], ids[i % len(ids)])))

        started = time.perf_counter()
        big, big_ids = _synthetic_index(tmp_path / "synthetic", world, minilm.dim)
        figures["synthetic_50k_build_s"] = round(time.perf_counter() - started, 2)
        figures["hybrid_50k_rows_filtered_p50_ms"], figures["hybrid_50k_rows_filtered_p95_ms"] = (
            _ms(_time_queries(lambda i: big.search(
                vectors[i % len(QUERIES)], QUERIES[i % len(QUERIES)], 4,
                big_ids[(i * 7919) % len(big_ids)]))))
        figures["hybrid_50k_rows_unfiltered_p50_ms"], figures[
            "hybrid_50k_rows_unfiltered_p95_ms"] = _ms(_time_queries(lambda i: big.search(
                vectors[i % len(QUERIES)], QUERIES[i % len(QUERIES)], 4)))
    figures["targets"] = "delta_50 < 2 s; noop < 0.5 s; p50 1k < 20 ms; p50 50k < 50 ms"
    return figures
