"""Shared fixtures. Nothing here reaches the network: models load from installed packages."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from characters.world import World, get_world

# The seeded-store fixtures (real SQLite, LanceDB and MiniLM), shared by the bot's tests.
from tests.bot_fixtures import fresh_store, seeded_data_dir, seeded_store  # noqa: F401


@pytest.fixture(scope="session")
def world() -> World:
    """The shipped game world."""
    return get_world()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private, empty data folder (LOREKEEPER_HOME) for one test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("LOREKEEPER_HOME", str(path))
    return path
