"""Crash repair: SIGKILL the import process at each step, restart, and compare with a clean import.

The subprocesses embed with the deterministic hash embedder (LOREKEEPER_EMBEDDER=hash): the point
here is the order of writes, and loading MiniLM in 7 killed processes would only add minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stats_db.datafolder import open_store
from stats_db.embed import HashEmbedder
from stats_db.ingest import CRASH_STEPS, import_paths
from tests.test_stats_db_helpers import dump_record, write_config, write_mini_world

REPO = Path(__file__).resolve().parents[1]
PATCH = "2026-W46"  # brings new characters, so the characters table is part of the test


def _index_rows(store) -> list[tuple]:
    table = store.index.table()
    data = table.search().select(["key", "content_hash", "vector"]).limit(None).to_list()
    return sorted((r["key"], r["content_hash"], tuple(r["vector"])) for r in data)


def _checkpoint(home: Path) -> None:
    conn = sqlite3.connect(home / "lorekeeper.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A world, a template data folder holding the patches before PATCH, and a clean reference."""
    root = tmp_path_factory.mktemp("crash")
    world = write_mini_world(root / "world")
    files = world.patch_files()
    target = next(p for p in files if PATCH in p.name)
    before = [p for p in files if p.name < target.name]
    template = root / "template"
    store = open_store(template, embedder=HashEmbedder(), world=world)
    import_paths(store, before)
    store.close()
    _checkpoint(template)
    clean_home = root / "clean"
    shutil.copytree(template, clean_home)
    clean = open_store(clean_home, embedder=HashEmbedder(), world=world)
    assert import_paths(clean, [target])[0].status == "imported"
    config = write_config(root / "config.toml", root / "world")
    return world, template, target, clean, config


@pytest.mark.parametrize("step", CRASH_STEPS)
def test_kill_at_each_step_then_restart(setup, step, tmp_path):
    world, template, target, clean, config = setup
    home = tmp_path / "home"
    shutil.copytree(template, home)
    env = {**os.environ, "LOREKEEPER_HOME": str(home), "LOREKEEPER_CONFIG": str(config),
           "LOREKEEPER_EMBEDDER": "hash", "LOREKEEPER_CRASH_AT": step}
    proc = subprocess.run([sys.executable, "-m", "stats_db", "import", str(target)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    store = open_store(home, embedder=HashEmbedder(), world=world)  # the restart repairs
    present = PATCH in [p.id for p in store.patches()]
    assert present == (CRASH_STEPS.index(step) >= CRASH_STEPS.index("sqlite-committed"))
    if not present:  # rolled back: the retry (the next scheduled run) imports it again
        assert store.status()["healthy"]
        assert import_paths(store, [target])[0].status == "imported"
    assert store.status() == clean.status()
    assert store.status()["healthy"]
    assert dump_record(store.sqlite_path) == dump_record(clean.sqlite_path)
    assert _index_rows(store) == _index_rows(clean)
    assert PATCH in store.index.tags()
    assert all(p.status == "done" for p in store.patches())
    outcomes = [r[0] for r in sqlite3.connect(store.sqlite_path).execute(
        "SELECT outcome FROM import_runs")]
    assert "running" not in outcomes
