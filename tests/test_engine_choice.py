"""Which generation engine `[generation].engine` gives, on this machine's real compiler and
llama-cpp-python, and what a broken compiler does."""

from __future__ import annotations

import logging

import pytest

from bot.generation.base import GenerationError
from bot.generation.engines import pick_engine
from bot.generation.llama import available
from bot.generation.native_build import build, compiler
from characters.config import get_config


def test_auto_picks_the_native_engine_where_a_compiler_builds_it():
    if compiler() is None:
        pytest.skip("no C compiler on this machine")
    config = get_config()
    assert build(config.cache_dir).is_file()
    assert pick_engine(config, "auto") == "native"
    assert pick_engine(config, "native") == "native"


def test_a_broken_compiler_falls_back_from_auto_and_names_the_failure(monkeypatch, caplog,
                                                                       tmp_path):
    monkeypatch.setenv("CC", "/bin/false")  # a "compiler" that fails every build
    monkeypatch.setenv("LOREKEEPER_CACHE", str(tmp_path))
    config = get_config()
    with caplog.at_level(logging.WARNING, logger="bot.generation.engines"):
        picked = pick_engine(config, "auto")
    assert picked == ("llama.cpp" if available() else "torch")
    assert "native engine is unavailable" in caplog.text
    with pytest.raises(GenerationError, match=r"could not compile native\.c"):
        build(config.cache_dir)
    assert not list((tmp_path / "native").glob("*.so"))  # nothing half-built is kept


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be"):
        pick_engine(get_config(), "vulkan")
