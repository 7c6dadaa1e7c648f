"""The import pipeline: validate, write SQLite in one transaction, sync LanceDB, tag, verify.

A crash between any two steps is repaired at the next `open_store`: the SQLite transaction is
atomic, so a patch is either absent (rolled back) or fully recorded with status 'pending', and
a pending patch is completed by syncing the index from SQLite (which re-embeds only what differs).
For tests, LOREKEEPER_CRASH_AT=<step> makes the process SIGKILL itself at that step.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stats_db import record
from stats_db.errors import IndexUnhealthy, PatchRejected
from stats_db.patchfile import read_patch_file
from stats_db.validate import Patch, ValidationContext, validate_patch

if TYPE_CHECKING:
    from stats_db.store import Store

__all__ = ["CRASH_STEPS", "ImportResult", "PatchRejected", "import_file", "import_paths",
           "rebuild_index", "repair_store", "replay_tags", "seed", "sync_index"]

log = logging.getLogger(__name__)

CRASH_ENV = "LOREKEEPER_CRASH_AT"
CRASH_STEPS = ("validated", "sqlite-mid", "sqlite-committed", "embedded", "merged",
               "fts-refreshed", "tagged")


def crash_point(step: str) -> None:
    """Kill this process with SIGKILL when LOREKEEPER_CRASH_AT names `step` (crash tests)."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ImportResult:
    """What happened to one file: imported, unchanged (same content already there) or rejected."""

    path: Path
    patch: str | None
    status: str
    errors: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"path": str(self.path), "patch": self.patch, "status": self.status,
                "errors": self.errors, "counts": self.counts}


def validation_context(store: Store, backfill: bool = False) -> ValidationContext:
    """What validation needs from the store: known ids, imported hashes, the current patch."""
    rows = record.patch_rows(store.db)
    current = (rows[-1]["released"], rows[-1]["id"]) if rows else None
    known = {c.id for c in store.world.characters}
    known |= {c.id for c in record.character_rows(store.db)}
    return ValidationContext(
        schema=store.world.schema, known_ids=frozenset(known),
        factions=frozenset(f.id for f in store.world.factions),
        imported={r["id"]: r["content_hash"] for r in rows}, current=current,
        backfill=backfill, max_errors=store.settings.max_reported_errors,
    )


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="card", disable=not (enabled and sys.stderr.isatty()))


def sync_index(store: Store, tag: str | None = None, progress: bool = False,
               at: str | None = None) -> dict:
    """Bring LanceDB in line with SQLite as of patch `at` (default: current): embed changed
    cards, one merge_insert, FTS, tag, check."""
    desired = store.desired_rows(at)
    existing = store.index.hashes()
    changed = [row for key, row in desired.items() if existing.get(key) != row["content_hash"]]
    stale = sorted(set(existing) - set(desired))
    batch = max(1, store.settings.embed_batch_size)
    with _progress(len(changed), "embedding", progress) as bar:
        for start in range(0, len(changed), batch):
            chunk = changed[start:start + batch]
            vectors = store.embedder.embed([row["text"] for row in chunk])
            for row, vector in zip(chunk, vectors, strict=True):
                row["vector"] = vector.tolist()
            bar.update(len(chunk))
    crash_point("embedded")
    if changed or stale:
        store.index.upsert(changed, stale)
    crash_point("merged")
    optimized = False
    if store.index.optimize_due(store.settings.optimize_every):
        store.index.refresh_fts(dt.timedelta(days=store.settings.keep_versions_days))
        optimized = True
    crash_point("fts-refreshed")
    if tag is not None:
        store.index.tag(tag)
    crash_point("tagged")
    problems = store.check_index_rows(desired)
    if problems:
        raise IndexUnhealthy("; ".join(problems))
    return {"embedded": len(changed), "deleted": len(stale), "index_rows": len(desired),
            "optimized": optimized}


def _characters_for(store: Store, patch: Patch) -> list:
    """The Character of every entry: from the entry's roster fields, else the store's roster."""
    known = {c.id: c for c in store.world.characters}
    known.update({c.id: c for c in record.character_rows(store.db)})
    return [entry.character or known[entry.id] for entry in patch.entries]


def import_patch(store: Store, patch: Patch, progress: bool = False) -> dict:
    """Store a validated patch and sync the index; return the counts."""
    run_id = record.start_run(store.db, patch.source, patch.id)
    rows = record.write_patch(store.db, patch, _characters_for(store, patch),
                              store.world.schema.names, crash_point)
    crash_point("sqlite-committed")
    counts = {"characters": len(patch.entries), "stat_rows": rows}
    if store.current_patch() == patch.id:
        counts.update(sync_index(store, tag=patch.id, progress=progress))
    else:  # a backfill: every later patch's tag moves to a version that holds it
        counts.update(replay_tags(store, patch.id, progress))
    record.set_patch_status(store.db, patch.id, "done")
    record.finish_run(store.db, run_id, "imported", counts)
    return counts


def import_paths(store: Store, paths: list[Path], backfill: bool = False, progress: bool = False,
                 meta: Mapping[str, str] | None = None) -> list[ImportResult]:
    """Import patch files in canonical order (release date, id); each file is all or nothing.

    `meta` fills CSV header fields (patch, released, kind, notes) missing from the file.
    """
    parsed = [(Path(p), read_patch_file(Path(p), store.settings.max_patch_bytes, meta))
              for p in paths]

    def order(item) -> tuple:
        raw = item[1].raw
        if isinstance(raw, dict):
            return (0, str(raw.get("released")), str(raw.get("patch")))
        return (1, "", "")

    results: list[ImportResult] = []
    with store.write_lock:
        for path, pf in sorted(parsed, key=order):
            patch_id = pf.raw.get("patch") if isinstance(pf.raw, dict) else None
            patch_id = patch_id if isinstance(patch_id, str) else None
            if pf.errors:
                errors_text = [str(e) for e in pf.errors]
                results.append(ImportResult(path, patch_id, "rejected", errors_text))
                continue
            patch, errors, unchanged = validate_patch(
                pf.raw, str(path), validation_context(store, backfill), pf.locations)
            if unchanged:
                results.append(ImportResult(path, patch_id, "unchanged"))
            elif patch is None:
                results.append(ImportResult(path, patch_id, "rejected", [str(e) for e in errors]))
            else:
                crash_point("validated")
                counts = import_patch(store, patch, progress)
                results.append(ImportResult(path, patch.id, "imported", counts=counts))
    return results


def import_file(store: Store, path: Path, backfill: bool = False) -> ImportResult:
    """Import one patch file; raise PatchRejected (every error listed) when it is rejected."""
    [result] = import_paths(store, [Path(path)], backfill=backfill)
    if result.status == "rejected":
        raise PatchRejected(result.errors)
    return result


def repair_store(store: Store, progress: bool = False) -> list[str]:
    """Complete any patch a crash left pending, and rebuild an index of an older layout (its
    columns); return the ids repaired.

    The caller holds the write lock, so an import run still 'running' was killed.
    """
    if store.index.outdated_layout():
        log.warning("the index predates the current columns: rebuilding it from SQLite")
        rebuild_index(store, progress)
    pending = [p.id for p in store.patches() if p.status == "pending"]
    store.db.execute("UPDATE import_runs SET outcome = 'crashed', finished_at = ?, error = "
                     "'the process died before the patch was committed; nothing was stored' "
                     "WHERE outcome = 'running' AND action = 'import' "
                     "AND patch_id NOT IN (SELECT id FROM patches)", [record.now_iso()])
    if not pending:
        return []
    with store.write_lock:
        log.warning("repairing patches left half-done by a crash: %s", ", ".join(pending))
        if pending == [store.current_patch()]:
            sync_index(store, tag=store.current_patch(), progress=progress)
        else:  # a backfill was cut short: every tag from the earliest pending patch on
            replay_tags(store, pending[0], progress)
        for patch_id in pending:
            record.set_patch_status(store.db, patch_id, "done")
        store.db.execute("UPDATE import_runs SET outcome = 'repaired', finished_at = ? "
                         "WHERE outcome = 'running' AND action = 'import'", [record.now_iso()])
    return pending


def replay_tags(store: Store, from_patch: str | None = None, progress: bool = False) -> dict:
    """Sync the index to every patch from `from_patch` (default: the first) to the current one,
    tagging each: after a rebuild or a backfill every patch keeps a tag, so "as of patch P"
    always reads the index. Only card texts that differ are embedded."""
    ids = [p.id for p in store.patches()]
    start = ids.index(from_patch) if from_patch in ids else 0
    totals = {"embedded": 0, "deleted": 0, "index_rows": 0, "tagged": 0}
    for patch_id in ids[start:]:
        counts = sync_index(store, tag=patch_id, progress=progress, at=patch_id)
        totals["embedded"] += counts["embedded"]
        totals["deleted"] += counts["deleted"]
        totals["index_rows"] = counts["index_rows"]
        totals["tagged"] += 1
    return totals


def rebuild_index(store: Store, progress: bool = False) -> dict:
    """Drop the LanceDB table and rebuild it from SQLite, with a tag for every patch."""
    with store.write_lock:
        store.index.drop()
        counts = replay_tags(store, progress=progress)
        for p in store.patches():
            if p.status != "done":
                record.set_patch_status(store.db, p.id, "done")
    return counts


def seed(store: Store, progress: bool = False) -> list[ImportResult]:
    """Import the world's shipped patch history into an empty store; a no-op otherwise."""
    if store.patches():
        # Cheap on purpose (no LanceDB import, no model): `make setup` runs this every time.
        if not store.index.path.exists():
            rebuild_index(store, progress)
        return []
    return import_paths(store, store.world.patch_files(), progress=progress)
