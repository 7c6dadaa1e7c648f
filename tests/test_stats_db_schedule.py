"""The weekly job: inbox import, durable last run, catch-up at start, and both scheduler kinds."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
import time

import pytest

from characters.config import Config, ScheduleConfig
from stats_db import record
from stats_db.datafolder import open_store
from stats_db.ingest import import_paths
from stats_db.schedule import (
    CATCH_UP_ID,
    JOB_ID,
    LAST_RUN_KEY,
    cron_trigger,
    last_run,
    make_scheduler,
    missed_run,
    previous_fire_time,
    run_inbox_once,
)
from tests.test_stats_db_helpers import delta, shared_minilm, write_json, write_mini_world

UTC = dt.UTC
CONFIG = Config(schedule=ScheduleConfig(misfire_grace_hours=12, inbox_dir="inbox"))


@pytest.fixture
def store(tmp_path):
    world = write_mini_world(tmp_path / "world")
    store = open_store(tmp_path / "home", embedder=shared_minilm(), world=world)
    import_paths(store, world.patch_files()[:1])
    return store


def _drop_patches(store, inbox):
    ids = sorted(c.id for c in store.characters())
    inbox.mkdir(parents=True, exist_ok=True)
    write_json(inbox / "b_w50.json", delta("2026-W50", "2026-12-08",
                                          [{"id": ids[1], "stats": {"attack": 70}}]))
    write_json(inbox / "a_w49.json", delta("2026-W49", "2026-12-01",
                                          [{"id": ids[0], "stats": {"health": 1500}}]))
    write_json(inbox / "bad.json", delta("2026-W51", "2026-12-15",
                                        [{"id": "ghost", "stats": {"health": 1}}]))


def test_cron_default_is_tuesday_ten_utc_and_catch_up_uses_a_fake_clock():
    trigger = cron_trigger(CONFIG)
    wednesday = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert previous_fire_time(trigger, wednesday) == dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert missed_run(trigger, None, wednesday)
    assert missed_run(trigger, dt.datetime(2026, 11, 17, 10, 0, 3, tzinfo=UTC), wednesday)
    assert not missed_run(trigger, dt.datetime(2026, 11, 24, 10, 0, 3, tzinfo=UTC), wednesday)
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert not missed_run(trigger, dt.datetime(2026, 11, 24, 10, 1, tzinfo=UTC), monday)


def test_inbox_run_moves_files_and_records_the_run(store):
    inbox = store.data_dir / "inbox"
    _drop_patches(store, inbox)
    when = dt.datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    results = run_inbox_once(store, inbox, now=when)
    assert [(r.patch, r.status) for r in results] == [
        ("2026-W49", "imported"), ("2026-W50", "imported"), ("2026-W51", "rejected")]
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a_w49.json", "b_w50.json"]
    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == [
        "bad.json", "bad.json.error.txt"]
    error = (inbox / "rejected" / "bad.json.error.txt").read_text()
    assert "unknown character 'ghost'" in error and "bad.json" in error
    assert not [p for p in inbox.iterdir() if p.is_file()]
    reopened = open_store(store.data_dir, embedder=store.embedder, world=store.world)
    assert last_run(reopened) == when
    assert reopened.current_patch() == "2026-W50" and reopened.status()["healthy"]


async def test_async_scheduler_catches_up_a_missed_run_inside_the_loop(store):
    inbox = store.data_dir / "inbox"
    _drop_patches(store, inbox)
    record.set_meta(store.db, LAST_RUN_KEY, "2026-01-01T00:00:00+00:00")
    scheduler = make_scheduler(CONFIG, store, asyncio=True)
    job = scheduler.get_job(JOB_ID)
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 12 * 3600)
    assert scheduler.get_job(CATCH_UP_ID) is not None
    scheduler.start()
    try:
        for _ in range(300):
            if last_run(store) > dt.datetime(2026, 1, 2, tzinfo=UTC):
                break
            await asyncio.sleep(0.1)
    finally:
        scheduler.shutdown(wait=False)
    assert store.current_patch() == "2026-W50"
    assert last_run(store) > dt.datetime(2026, 1, 2, tzinfo=UTC)


def test_no_catch_up_when_the_last_run_is_recent(store):
    record.set_meta(store.db, LAST_RUN_KEY, dt.datetime.now(UTC).isoformat())
    scheduler = make_scheduler(CONFIG, store, asyncio=False)
    assert scheduler.get_job(CATCH_UP_ID) is None
    assert scheduler.get_job(JOB_ID) is not None


def test_blocking_scheduler_runs_the_job_on_a_short_interval(store):
    from apscheduler.triggers.interval import IntervalTrigger

    inbox = store.data_dir / "inbox"
    _drop_patches(store, inbox)
    record.set_meta(store.db, LAST_RUN_KEY, dt.datetime.now(UTC).isoformat())
    started = dt.datetime.now(UTC)
    config = dataclasses.replace(CONFIG, schedule=dataclasses.replace(CONFIG.schedule))
    scheduler = make_scheduler(config, lambda: store, asyncio=False,
                               trigger=IntervalTrigger(seconds=1))
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (inbox / "processed" / "b_w50.json").exists():
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(timeout=10)
    assert store.current_patch() == "2026-W50"
    assert last_run(store) >= started.replace(microsecond=0)
