"""The configuration file: unknown keys and wrong types are errors naming the key and the file."""

from __future__ import annotations

import pytest

from characters.config import Config, ConfigError, load_config, parse_config


def test_shipped_config_loads_every_table():
    config = load_config()
    assert isinstance(config, Config)
    assert config.training.factions == ("orcish", "elvish", "dwarvish", "human")
    assert config.schedule.cron_day_of_week == "tue"
    assert config.bot.token_env == "DISCORD_TOKEN"


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[bot]\ntoken_env = "X"\ncooldwn_s = 3\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "bot.cooldwn_s" in str(err.value)
    assert str(path) in str(err.value)


def test_unknown_table_is_an_error():
    with pytest.raises(ConfigError, match=r"unknown table \[botz\]"):
        parse_config("[botz]\nx = 1\n", "c.toml")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[bot]\ncooldown_s = "five"\n', "bot.cooldown_s"),
        ("[training]\nlora_r = 1.5\n", "training.lora_r"),
        ("[training]\nfactions = \"orcish\"\n", "training.factions"),
        ("[training]\nfactions = [\"orcish\", 3]\n", "training.factions[1]"),
        ("[schedule]\nenabled = 1\n", "schedule.enabled"),
        ("[generation]\nmax_new_tokens = true\n", "generation.max_new_tokens"),
    ],
)
def test_wrong_type_names_the_key(text, key):
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.toml")
    assert key in str(err.value)
    assert "c.toml" in str(err.value)


def test_int_is_accepted_for_float():
    assert parse_config("[bot]\ncooldown_s = 3\n").bot.cooldown_s == 3.0


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[bot\n", "c.toml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_semantic_checks():
    with pytest.raises(ConfigError, match=r"generation\.backend"):
        parse_config('[generation]\nbackend = "cloud"\n')
    with pytest.raises(ConfigError, match="min_confidence"):
        parse_config("[characters]\nmin_confidence = 1.5\n")


def test_environment_overrides_data_and_cache(tmp_path, monkeypatch):
    config = parse_config("")
    monkeypatch.setenv("LOREKEEPER_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("LOREKEEPER_CACHE", str(tmp_path / "c"))
    assert config.data_dir == tmp_path / "h"
    assert config.cache_dir == tmp_path / "c"


def test_secrets_come_from_named_environment_variables(monkeypatch):
    config = parse_config('[bot]\ntoken_env = "MY_BOT_TOKEN"\n')
    monkeypatch.delenv("MY_BOT_TOKEN", raising=False)
    assert config.secret(config.bot.token_env) is None
    monkeypatch.setenv("MY_BOT_TOKEN", "abc")
    assert config.secret(config.bot.token_env) == "abc"
