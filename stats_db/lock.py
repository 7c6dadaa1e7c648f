"""One writer per data folder: a thread lock plus an advisory file lock (flock) on `write.lock`.

Readers never take it: SQLite's WAL and LanceDB's versions let them read beside a writer. A
second writer (another import, a rollback, a repair) waits up to `wait_s`, then gets StoreBusy.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from characters.config import StatsDbConfig
from stats_db.errors import StoreBusy

LOCK_NAME = "write.lock"
POLL_S = 0.05


class WriteLock:
    """Re-entrant within a thread; exclusive across threads and processes."""

    def __init__(self, path: Path, wait_s: float = StatsDbConfig.write_wait_s) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def _try_flock(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the process holding the lock (or 'unknown')."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self, wait_s: float | None = None) -> bool:
        """Take the lock, waiting up to `wait_s` (default: the lock's); False when busy."""
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        if not self._thread.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return False
        if self._depth:
            self._depth += 1
            return True
        while not self._try_flock():
            if time.monotonic() >= deadline:
                self._thread.release()
                return False
            time.sleep(POLL_S)
        self._depth = 1
        return True

    def release(self) -> None:
        """Give the lock back (the file lock when the outermost holder releases)."""
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread.release()

    @contextlib.contextmanager
    def hold(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold the lock for a block, or raise StoreBusy naming the process that has it."""
        if not self.acquire(wait_s):
            raise StoreBusy(f"process {self.holder()} holds {self.path}")
        try:
            yield
        finally:
            self.release()

    def __enter__(self) -> WriteLock:
        if not self.acquire():
            raise StoreBusy(f"process {self.holder()} holds {self.path}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
