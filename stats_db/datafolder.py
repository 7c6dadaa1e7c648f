"""Opening a data folder: create it, migrate the SQLite record, and repair a crashed write.

This sits above both `store` and `ingest` (it needs the pipeline to repair), so neither of them
imports the other at run time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from characters.config import get_config
from characters.world import World, get_world
from stats_db import record
from stats_db.embed import Embedder, default_embedder
from stats_db.ingest import repair_store
from stats_db.rollback import repair_rollbacks
from stats_db.store import Store

log = logging.getLogger(__name__)


def open_store(data_dir: Path | None = None, embedder: Embedder | None = None,
               world: World | None = None, *, repair: bool = True) -> Store:
    """Open (or create) the store in a data folder, migrate it, and repair a crashed write.

    Migrations run under the folder's write lock, and only when some are pending, so a reader
    opening beside a running import neither waits nor writes.
    """
    config = get_config()
    data_dir = Path(data_dir or config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    world = world or get_world(config.world_dir)
    embedder = embedder or default_embedder(config.stats_db.embed_batch_size)
    store = Store(data_dir, world, embedder, config.stats_db)
    if record.pending_migrations(store.db):
        with store.write_lock.hold():
            record.migrate(store.db)
    if repair:
        repair_folder(store)
    return store


def repair_folder(store: Store) -> list[str]:
    """Finish what a killed writer left half-done: rollbacks first, then imports.

    Skipped while another process holds the write lock: that writer is alive, not crashed.
    """
    if not store.write_lock.acquire(wait_s=0):
        log.info("another process is writing %s; not repairing now", store.data_dir)
        return []
    try:
        return repair_rollbacks(store) + repair_store(store)
    finally:
        store.write_lock.release()
