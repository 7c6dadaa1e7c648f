"""Rollback: the latest patch leaves SQLite and LanceDB, the health check agrees, the run is
recorded, the file imports again; a SIGKILL at each step is repaired at the next start.

Like the import's crash test, the subprocesses embed with the hash embedder.
"""

from __future__ import annotations

import datetime as dt
import json
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
from stats_db.errors import RollbackRefused, StoreBusy, UnknownPatch
from stats_db.ingest import import_paths
from stats_db.rollback import ROLLBACK_STEPS, rollback_patch
from tests.test_stats_db_crash import _checkpoint, _index_rows
from tests.test_stats_db_helpers import dump_record, write_config, write_mini_world

REPO = Path(__file__).resolve().parents[1]
PATCH = "2026-W48"  # the latest shipped patch
PREVIOUS = "2026-W47"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A template folder holding every shipped patch, and a reference holding all but the last."""
    root = tmp_path_factory.mktemp("rollback")
    world = write_mini_world(root / "world")
    files = world.patch_files()
    target = next(p for p in files if PATCH in p.name)
    template = root / "template"
    store = open_store(template, embedder=HashEmbedder(), world=world)
    import_paths(store, files)
    store.close()
    _checkpoint(template)
    reference = open_store(root / "reference", embedder=HashEmbedder(), world=world)
    import_paths(reference, [p for p in files if p != target])
    config = write_config(root / "config.toml", root / "world")
    return world, template, target, reference, config


def _runs(store) -> list[tuple]:
    return sqlite3.connect(store.sqlite_path).execute(
        "SELECT action, patch_id, outcome FROM import_runs ORDER BY id").fetchall()


def _same_as_reference(store, reference) -> None:
    assert store.current_patch() == PREVIOUS
    assert PATCH not in store.index.tags() and PREVIOUS in store.index.tags()
    assert store.check_index() == []
    assert dump_record(store.sqlite_path) == dump_record(reference.sqlite_path)
    assert {k for k, *_ in _index_rows(store)} == {k for k, *_ in _index_rows(reference)}
    assert store.index.hashes() == reference.index.hashes()


def _copy(template: Path, tmp_path: Path, world):
    home = tmp_path / "home"
    shutil.copytree(template, home)
    return home, open_store(home, embedder=HashEmbedder(), world=world)


def test_rollback_takes_the_latest_patch_out_of_both_stores(setup, tmp_path):
    world, template, target, reference, _ = setup
    _home, store = _copy(template, tmp_path, world)
    done = rollback_patch(store, PATCH)
    assert done == {"patch": PATCH, "current": PREVIOUS, "restored_tag": PREVIOUS,
                    "index_rows": reference.index.count()}
    _same_as_reference(store, reference)
    status = store.status()
    assert status["healthy"] and status["state"] == "healthy" and status["patch"] == PREVIOUS
    assert _runs(store)[-1] == ("rollback", PATCH, "rolled-back")
    [again] = import_paths(store, [target])
    assert again.status == "imported" and store.current_patch() == PATCH
    assert PATCH in store.index.tags() and store.check_index() == []


def test_only_the_latest_patch_can_be_rolled_back(setup, tmp_path):
    world, template, *_ = setup
    _, store = _copy(template, tmp_path, world)
    before = dump_record(store.sqlite_path)
    with pytest.raises(RollbackRefused, match=f"{PREVIOUS} is not the latest \\({PATCH} is\\)"):
        rollback_patch(store, PREVIOUS)
    with pytest.raises(UnknownPatch, match="unknown patch '2026-W99'"):
        rollback_patch(store, "2026-W99")
    assert dump_record(store.sqlite_path) == before and store.check_index() == []


def test_a_second_writer_is_told_busy(setup, tmp_path):
    world, template, *_ = setup
    home, store = _copy(template, tmp_path, world)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
         str(home / "write.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        store.write_lock.wait_s = 0.2
        with pytest.raises(StoreBusy, match="another import or rollback is writing"):
            rollback_patch(store, PATCH)
    finally:
        holder.kill()
        holder.wait()
    assert store.current_patch() == PATCH


def test_optimize_keeps_every_patch_tag_readable(setup, tmp_path):
    world, template, *_ = setup
    _, store = _copy(template, tmp_path, world)
    tags = store.index.tags()
    with pytest.raises(RuntimeError, match="tagged version"):  # what the guard is for
        store.index.table().optimize(cleanup_older_than=dt.timedelta(0))
    counts = store.index.optimize(dt.timedelta(0))
    assert counts["versions_after"] == len(store.index.table().list_versions())
    assert store.index.tags() == tags
    for tag in tags:
        assert store.index._table_at(tag).count_rows() > 0
    assert store.check_index() == []


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_kill_at_each_rollback_step_then_restart(setup, step, tmp_path):
    world, template, _, reference, config = setup
    home = tmp_path / "home"
    shutil.copytree(template, home)
    env = {**os.environ, "LOREKEEPER_HOME": str(home), "LOREKEEPER_CONFIG": str(config),
           "LOREKEEPER_EMBEDDER": "hash", "LOREKEEPER_CRASH_AT": step}
    proc = subprocess.run([sys.executable, "-m", "stats_db", "rollback", PATCH, "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = open_store(home, embedder=HashEmbedder(), world=world)  # the restart repairs
    _same_as_reference(store, reference)
    assert ("rollback", PATCH, "rolled-back") in _runs(store)
    assert all(outcome != "running" for *_, outcome in _runs(store))


def test_cli_rollback_json_and_exit_codes(setup, tmp_path):
    _world, template, _, _reference, config = setup
    home = tmp_path / "home"
    shutil.copytree(template, home)
    env = {**os.environ, "LOREKEEPER_HOME": str(home), "LOREKEEPER_CONFIG": str(config),
           "LOREKEEPER_EMBEDDER": "hash"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stats_db", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    refused = cli("rollback", PREVIOUS)
    assert refused.returncode == 2 and "is not the latest" in refused.stderr
    done = cli("rollback", PATCH, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["current"] == PREVIOUS
    status = json.loads(cli("status", "--json").stdout)
    assert status["patch"] == PREVIOUS and status["healthy"]
