"""A reader beside a writer: answers keep coming while another process imports, each one from
a single patch, and none fails because a write is in progress. Bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from stats_db.datafolder import open_store
from stats_db.embed import HashEmbedder
from stats_db.ingest import import_paths
from tests.test_stats_db_helpers import delta, write_config, write_json, write_mini_world

REPO = Path(__file__).resolve().parents[1]
CID = "aedros-glimmerbrook"
PATCHES = 6
DEADLINE_S = 240


def test_reads_beside_an_import_process_see_whole_patches(tmp_path):
    world = write_mini_world(tmp_path / "world")
    home = tmp_path / "home"
    store = open_store(home, embedder=HashEmbedder(), world=world)
    import_paths(store, world.patch_files())
    base = store.show(CID).stats
    expected = {store.current_patch(): dict(base)}
    files = []
    for i in range(PATCHES):
        patch = f"2027-W{10 + i:02d}"
        values = {"attack": 100 + i, "health": 2000 + i, "speed": 300 + i}
        expected[patch] = {**base, **values}
        files.append(write_json(tmp_path / f"{patch}.json", delta(
            patch, f"2027-03-{1 + i:02d}", [{"id": CID, "stats": values}])))
    config = write_config(tmp_path / "config.toml", tmp_path / "world")
    env = {**os.environ, "LOREKEEPER_HOME": str(home), "LOREKEEPER_CONFIG": str(config),
           "LOREKEEPER_EMBEDDER": "hash"}
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys; from stats_db.cli import main\n"
         "for f in sys.argv[1:]:\n    assert main(['import', f]) == 0\n",
         *map(str, files)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    seen: dict[str, int] = {}
    started = time.monotonic()
    try:
        while writer.poll() is None:
            assert time.monotonic() - started < DEADLINE_S, "the import did not finish in time"
            snap = store.show(CID)
            assert snap.stats == expected[snap.patch], snap.patch  # never two patches mixed
            assert f"Patch {snap.patch}" in snap.card
            hits = store.search("how strong is aedros", CID, k=2)
            assert hits and all(h.character_id == CID for h in hits)
            seen[snap.patch] = seen.get(snap.patch, 0) + 1
    finally:
        if writer.poll() is None:
            writer.kill()
        _, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err
    assert sum(seen.values()) >= PATCHES and len(seen) >= 2, seen
    assert store.current_patch() == f"2027-W{10 + PATCHES - 1:02d}"
    assert store.show(CID).stats == expected[store.current_patch()]
    assert store.check_index() == []
