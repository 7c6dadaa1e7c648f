"""Part 4 in small: 12 simulated weeks (bench/bench_history.py's generator, hash embedder).

Every patch keeps its tag through the imports' own optimizes and a final optimize with cleanup;
versions older than the oldest tag are cleaned; queries as of old patches still answer; the
health check passes; disk grows within the bench's stated bound.
"""

from __future__ import annotations

import datetime as dt
import time

from bench import bench_history as bh
from stats_db.datafolder import open_store
from stats_db.embed import HashEmbedder


def test_twelve_weeks_keep_every_tag_and_stay_within_bounds(world, home, monkeypatch):
    monkeypatch.setenv("LOREKEEPER_EMBEDDER", "hash")
    # A table created before the history: its versions are older than every tag.
    store = open_store(home, embedder=HashEmbedder(), world=world)
    store.index.table(create=True)
    early = store.index.versions()
    time.sleep(1.5)
    sim = bh.simulate(home, weeks=12, hotfix_every=6, query_every=6, optimize_every=4,
                      world=world)
    store = sim["store"]
    per = sim["per_patch"]
    assert len(per) == 14 and sum(p["kind"] == "hotfix" for p in per) == 2
    assert any(p["optimized"] for p in per) and not all(p["optimized"] for p in per)
    assert max(p["fragments"] for p in per) <= 5  # optimize_every = 4 bounds the fragments
    tags = store.index.tags()
    assert set(tags) == {p.id for p in store.patches()}  # every patch, shipped and generated

    versions = {v["version"] for v in store.index.table().list_versions()}
    assert min(tags.values()) > early and set(range(1, early + 1)) <= versions
    counts = store.index.optimize(dt.timedelta(0), margin=dt.timedelta(seconds=1))
    after = {v["version"] for v in store.index.table().list_versions()}
    assert not after & set(range(1, early + 1))  # the versions before the oldest tag are gone
    assert counts["versions_after"] == len(after)
    assert store.index.tags() == tags and set(tags.values()) <= after

    first, middle = store.patches()[0].id, per[len(per) // 2]["patch"]
    cid = "aedros-glimmerbrook"
    for patch in (first, middle, None):
        hits = store.search("how much health does he have", cid, patch=patch)
        assert hits and hits[0].character_id == cid
    old_card = next(h.text for h in store.search("health", cid, patch=first) if h.kind == "stats")
    assert old_card == store.show(cid, first).card
    assert store.status()["healthy"] and store.status()["state"] == "healthy"

    allowed, _rows, _compactions = bh.disk_allowance(sim)
    assert per[-1]["bytes"] - sim["start_bytes"] <= allowed
