"""The app's lifecycle around the answer engine: opening it from the config, the weekly import
scheduler, warm-up, imports from the front ends, status and shutdown.

`Engine` (bot.engine) mixes this in, so a front end holds one object; the answer pipeline and
the model-free lookups live in their own modules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from characters.config import Config

if TYPE_CHECKING:
    from bot.generation.base import Generator
    from stats_db.ingest import ImportResult
    from stats_db.store import Store


class Lifecycle:
    """Scheduler, warm-up, imports, status and close, for an engine with a store and a model."""

    store: Store
    generator: Generator
    config: Config
    scheduler: Any = None

    def import_files(self, paths: list[Path]) -> list[ImportResult]:
        """Import patch files into the store (the next answer sees them)."""
        from stats_db.ingest import import_paths

        return import_paths(self.store, [Path(p) for p in paths])

    def rescan_inbox(self) -> list[ImportResult]:
        """Import whatever waits in the inbox folder now."""
        from stats_db.schedule import run_inbox_once

        return run_inbox_once(self.store, self.store.data_dir / self.config.schedule.inbox_dir)

    def status(self) -> dict[str, Any]:
        """Store health, the generator's adapters and queue depth, and the next weekly import."""
        out = dict(self.store.status())
        out["adapters"] = list(self.generator.adapters)
        out["queue_depth"] = int(getattr(self.generator, "queue_depth", 0) or 0)
        out["next_import"] = self.next_import() or "scheduler off"
        return out

    def next_import(self) -> str | None:
        """When the scheduler runs the weekly import next (UTC, ISO), None when it is off."""
        if self.scheduler is None:
            return None
        from stats_db.schedule import JOB_ID

        job = self.scheduler.get_job(JOB_ID)
        when = getattr(job, "next_run_time", None)
        return when.isoformat(timespec="minutes") if when else None

    def warmup(self) -> None:
        """Load the embedder, the question reader and the model; one tiny generation each."""
        self.store.embedder.embed(["warm up"])
        reader = getattr(self, "reader", None)
        if callable(reader):
            reader()
        warm = getattr(self.generator, "warmup", None)
        if warm is not None:
            warm()

    def start_scheduler(self, loop=None, background: bool = False):
        """Start the weekly import job (when enabled): inside a running asyncio loop, or with
        `background=True` in a thread of its own (console mode, which has no loop)."""
        if not self.config.schedule.enabled or self.scheduler is not None:
            return self.scheduler
        from stats_db.schedule import make_scheduler

        scheduler = make_scheduler(self.config, self.store, asyncio=not background,
                                   background=background)
        if loop is not None and not background:
            scheduler.configure(event_loop=loop)
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    def close(self) -> None:
        """Stop the scheduler, the generator and this thread's store connection."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        close = getattr(self.generator, "close", None)
        if close is not None:
            close()
        self.store.close()


class LazyGenerator:
    """A generator built on first use, so commands that never generate never load a model."""

    def __init__(self, factory: Callable[[], Generator]) -> None:
        self._factory = factory
        self._real: Generator | None = None
        self._lock = threading.Lock()

    def _get(self) -> Generator:
        with self._lock:
            if self._real is None:
                self._real = self._factory()
            return self._real

    @property
    def adapters(self) -> tuple[str, ...]:
        return tuple(self._get().adapters)

    @property
    def queue_depth(self) -> int:
        return 0 if self._real is None else int(getattr(self._real, "queue_depth", 0))

    def generate(self, messages, adapter, max_new_tokens=None) -> str:
        return self._get().generate(messages, adapter, max_new_tokens)

    def stream(self, messages, adapter, max_new_tokens=None):
        return self._get().stream(messages, adapter, max_new_tokens)

    def warmup(self) -> None:
        warm = getattr(self._get(), "warmup", None)
        if warm is not None:
            warm()

    def close(self) -> None:
        if self._real is not None and hasattr(self._real, "close"):
            self._real.close()


def make_generator(config: Config) -> Generator:
    """The generator `[generation].backend` names: the local model or a remote server."""
    if config.generation.backend == "remote":
        from bot.generation.remote import RemoteGenerator

        return RemoteGenerator(config)
    from bot.generation.local import LocalGenerator

    return LocalGenerator(config)
