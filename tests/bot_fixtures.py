"""Seeded-store fixtures for the bot's tests (engine, console, CLI and the Discord layer).

tests/conftest.py imports the fixtures, so every test module sees them; import `make_engine`
where needed:

    from tests.bot_fixtures import make_engine

- `seeded_data_dir` (session): a data folder holding the shipped patch history, imported with
  the real MiniLM embedder into real SQLite and LanceDB. The first run seeds it (about 30 s or
  more on this CPU) and keeps a template in pytest's cache folder keyed by the hash of the
  shipped patches, so later runs copy it in a second. Treat it as read-only.
- `seeded_store` (session): a Store open on that folder. Read-only: never import into it.
- `fresh_store` (function): a private copy of the seeded folder, for tests that import patches.
- `make_engine(store, replies)`: an Engine over a store with a ScriptedGenerator.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.generation.base import ScriptedGenerator
from characters.world import get_world

__all__ = ["fresh_store", "seeded_data_dir", "seeded_store"]


def _patches_hash() -> str:
    from stats_db.index import BASE_COLUMNS

    digest = hashlib.sha256(repr(BASE_COLUMNS).encode())  # a new index layout: a new seed
    for path in get_world().patch_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def seeded_data_dir(request, tmp_path_factory) -> Path:
    """A data folder seeded from the shipped patches (real SQLite, LanceDB and MiniLM)."""
    from stats_db.datafolder import open_store
    from stats_db.ingest import seed

    template = Path(request.config.cache.mkdir(f"lorekeeper-seed-{_patches_hash()}")) / "data"
    if not (template / "done").exists():
        shutil.rmtree(template, ignore_errors=True)
        store = open_store(template)
        seed(store)
        assert not store.check_index(), store.check_index()
        store.close()
        (template / "done").write_text("seeded\n")
    target = tmp_path_factory.mktemp("seeded") / "data"
    shutil.copytree(template, target)
    return target


@pytest.fixture(scope="session")
def seeded_store(seeded_data_dir):
    """A Store on the seeded folder (read-only use)."""
    from stats_db.datafolder import open_store

    store = open_store(seeded_data_dir)
    yield store
    store.close()


@pytest.fixture
def fresh_store(seeded_data_dir, seeded_store, tmp_path, monkeypatch):
    """A private copy of the seeded store (LOREKEEPER_HOME points at it), for imports."""
    from stats_db.datafolder import open_store

    target = tmp_path / "home"
    shutil.copytree(seeded_data_dir, target)
    monkeypatch.setenv("LOREKEEPER_HOME", str(target))
    store = open_store(target, embedder=seeded_store.embedder)
    yield store
    store.close()


def make_engine(store, replies: Sequence[str] | Callable, voice_scorer=None, **kwargs) -> Engine:
    """An Engine over `store` whose generator hands out `replies` (see ScriptedGenerator)."""
    generator = ScriptedGenerator(replies if callable(replies) else list(replies))
    return Engine(store, generator, voice_scorer=voice_scorer, **kwargs)
