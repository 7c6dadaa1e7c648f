"""Rollback: take the latest patch back out of SQLite and LanceDB, as one crash-safe step.

1. SQLite, one transaction: the patch is marked 'rolling-back' and a rollback run is recorded.
2. LanceDB: `restore` to the previous patch's tag (a new version equal to it), then the rolled
   back patch's tag is deleted. Without a previous tag the index is synced from SQLite instead.
3. SQLite, one transaction: the patch's stat rows, the characters it added and the patch row go;
   the run is finished as 'rolled-back'.
4. The index is checked against SQLite.

A crash between any two steps leaves the patch marked 'rolling-back'; the next `open_store`
finishes the rollback (every step is safe to repeat). LOREKEEPER_CRASH_AT=<step> kills the
process at a step, for the tests.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from stats_db import record
from stats_db.errors import IndexUnhealthy, RollbackRefused, UnknownPatch
from stats_db.ingest import crash_point, sync_index

if TYPE_CHECKING:
    from stats_db.store import Store

log = logging.getLogger(__name__)

ROLLING_BACK = "rolling-back"
ROLLBACK_STEPS = ("marked", "restored", "untagged", "sqlite-mid")


def _check_latest(store: Store, patch_id: str) -> dict:
    """The patch's row, or an error saying why it cannot be rolled back."""
    rows = record.patch_rows(store.db)
    row = next((r for r in rows if r["id"] == patch_id), None)
    if row is None:
        known = ", ".join(r["id"] for r in rows[-5:]) or "none"
        raise UnknownPatch(f"unknown patch {patch_id!r} (latest patches: {known})")
    if row["id"] != rows[-1]["id"]:
        raise RollbackRefused(f"only the latest patch can be rolled back: {patch_id} is not the "
                              f"latest ({rows[-1]['id']} is); roll back {rows[-1]['id']} first")
    return row


def _previous_id(store: Store, patch_id: str) -> str | None:
    ids = [r["id"] for r in record.patch_rows(store.db)]
    i = ids.index(patch_id)
    return ids[i - 1] if i > 0 else None


def _mark(store: Store, patch_id: str) -> int:
    with store.db.atomic():
        run_id = record.start_run(store.db, "rollback", patch_id, action="rollback")
        record.set_patch_status(store.db, patch_id, ROLLING_BACK)
    return run_id


def _restore_index(store: Store, patch_id: str, previous: str | None) -> bool:
    """Put LanceDB back at the previous patch's tag; False when there is none to restore."""
    tags = store.index.tags()
    restored = previous is not None and previous in tags
    if restored:
        store.index.restore(previous)
    crash_point("restored")
    store.index.untag(patch_id)
    crash_point("untagged")
    return restored


def _delete_patch(store: Store, patch_id: str, run_ids: list[int], counts: dict) -> None:
    db = store.db
    with db.atomic():
        stat_rows = db.execute("DELETE FROM stat_values WHERE patch_id = ?", [patch_id]).rowcount
        crash_point("sqlite-mid")
        added = db.execute("DELETE FROM characters WHERE added_by = ?", [patch_id]).rowcount
        db.execute("DELETE FROM patches WHERE id = ?", [patch_id])
        db.execute("UPDATE patches SET seq = (SELECT COUNT(*) FROM patches p2"
                   " WHERE (p2.released, p2.id) < (patches.released, patches.id))")
        counts = {**counts, "stat_rows": stat_rows, "characters_removed": added}
        for run_id in run_ids:
            db.execute("UPDATE import_runs SET finished_at = ?, outcome = 'rolled-back', "
                       "counts = ? WHERE id = ?", [record.now_iso(), json.dumps(counts), run_id])


def _finish(store: Store, patch_id: str, run_ids: list[int]) -> dict:
    """Steps 2 to 4 (also the repair of a crashed rollback)."""
    previous = _previous_id(store, patch_id)
    restored = _restore_index(store, patch_id, previous)
    _delete_patch(store, patch_id, run_ids, {"restored_tag": previous if restored else None})
    problems = store.check_index()
    if problems:  # no tag to restore, or the tag was older than later writes: sync instead
        sync_index(store, tag=store.current_patch())
        problems = store.check_index()
    if problems:
        raise IndexUnhealthy("; ".join(problems))
    return {"patch": patch_id, "current": store.current_patch(),
            "restored_tag": previous if restored else None,
            "index_rows": store.index.count()}


def rollback_patch(store: Store, patch_id: str) -> dict:
    """Take the latest patch back out of both stores; return what was done."""
    with store.write_lock.hold():
        _check_latest(store, patch_id)
        run_id = _mark(store, patch_id)
        crash_point("marked")
        return _finish(store, patch_id, [run_id])


def repair_rollbacks(store: Store) -> list[str]:
    """Finish every rollback a crash interrupted (the caller holds the write lock)."""
    pending = [r["id"] for r in record.patch_rows(store.db) if r["status"] == ROLLING_BACK]
    for patch_id in reversed(pending):
        log.warning("finishing the rollback of patch %s that a crash interrupted", patch_id)
        run_ids = [row[0] for row in store.db.execute(
            "SELECT id FROM import_runs WHERE action = 'rollback' AND outcome = 'running' "
            "AND patch_id = ?", [patch_id])]
        _finish(store, patch_id, run_ids)
    return pending
