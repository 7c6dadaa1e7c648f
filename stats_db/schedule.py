"""The weekly job: import new patch files from the inbox folder, by APScheduler 3 cron.

The last run is stored durably in SQLite (`meta`), so a run missed while the process was down
is caught up when the scheduler starts. It runs inside the bot's asyncio loop
(`AsyncIOScheduler`, the job itself in a worker thread) or alone (`python -m stats_db schedule`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from characters.config import Config
from stats_db import record
from stats_db.ingest import ImportResult, import_paths
from stats_db.store import Store

log = logging.getLogger(__name__)

JOB_ID = "weekly-import"
CATCH_UP_ID = "weekly-import-catch-up"
LAST_RUN_KEY = "schedule.last_run"
LAST_RESULT_KEY = "schedule.last_result"
PATCH_SUFFIXES = (".json", ".csv")


def _unique(path: Path) -> Path:
    """`path`, or a stamped sibling name when it exists already."""
    if not path.exists():
        return path
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return path.with_name(f"{path.stem}.{stamp}{path.suffix}")


def run_inbox_once(store: Store, inbox: Path, now: dt.datetime | None = None) -> list[ImportResult]:
    """Import every patch file in `inbox`, oldest patch first; move each to processed/ or
    rejected/ (with a .error.txt beside it); record the run in SQLite."""
    inbox = Path(inbox)
    (inbox / "processed").mkdir(parents=True, exist_ok=True)
    (inbox / "rejected").mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in inbox.iterdir()
                   if p.is_file() and p.suffix.lower() in PATCH_SUFFIXES)
    results = import_paths(store, files) if files else []
    for result in results:
        if result.status == "rejected":
            target = _unique(inbox / "rejected" / result.path.name)
            shutil.move(str(result.path), target)
            target.with_name(target.name + ".error.txt").write_text(
                "\n".join(result.errors) + "\n", encoding="utf-8")
            log.warning("rejected %s: %s", result.path.name, "; ".join(result.errors[:3]))
        else:
            shutil.move(str(result.path), _unique(inbox / "processed" / result.path.name))
            log.info("%s %s (patch %s)", result.status, result.path.name, result.patch)
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    record.set_meta(store.db, LAST_RUN_KEY, stamp)
    record.set_meta(store.db, LAST_RESULT_KEY, json.dumps([r.to_json() for r in results]))
    return results


def last_run(store: Store) -> dt.datetime | None:
    """When the weekly job last ran (durable across restarts), or None."""
    text = record.get_meta(store.db, LAST_RUN_KEY)
    return dt.datetime.fromisoformat(text) if text else None


def cron_trigger(config: Config):
    """The weekly cron trigger from `[schedule]`, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    s = config.schedule
    return CronTrigger(day_of_week=s.cron_day_of_week, hour=s.cron_hour, minute=s.cron_minute,
                       timezone=dt.UTC)


def previous_fire_time(trigger, now: dt.datetime) -> dt.datetime | None:
    """The latest time at or before `now` that `trigger` fired (looking back up to 8 weeks)."""
    cursor = now - dt.timedelta(weeks=8)
    previous = None
    fire = trigger.get_next_fire_time(None, cursor)
    while fire is not None and fire <= now:
        previous = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return previous


def missed_run(trigger, last: dt.datetime | None, now: dt.datetime) -> bool:
    """True when the trigger fired since the last run (a run was missed while down)."""
    previous = previous_fire_time(trigger, now)
    return previous is not None and (last is None or last < previous)


StoreSource = Store | Callable[[], Store]


def make_scheduler(config: Config, store_factory_or_store: StoreSource, *, asyncio: bool,
                   background: bool = False, trigger=None, now: dt.datetime | None = None):
    """An APScheduler 3 scheduler holding the weekly job (plus a catch-up run when one was missed).

    `asyncio=True` gives an AsyncIOScheduler for the bot's loop; else `background=True` a
    BackgroundScheduler in its own thread (console mode), else a BlockingScheduler.
    `trigger` and `now` replace the cron trigger and the clock (tests).
    """
    if asyncio:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler as Scheduler
    elif background:
        from apscheduler.schedulers.background import BackgroundScheduler as Scheduler
    else:
        from apscheduler.schedulers.blocking import BlockingScheduler as Scheduler

    held: dict[str, Store] = {}

    def get_store() -> Store:
        if "store" not in held:
            source = store_factory_or_store
            held["store"] = source if isinstance(source, Store) else source()
        return held["store"]

    def job() -> None:
        store = get_store()
        run_inbox_once(store, store.data_dir / config.schedule.inbox_dir)

    trigger = trigger or cron_trigger(config)
    grace = int(config.schedule.misfire_grace_hours * 3600)
    scheduler = Scheduler(timezone=dt.UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": grace})
    scheduler.add_job(job, trigger, id=JOB_ID, name="weekly patch import",
                      coalesce=True, max_instances=1, misfire_grace_time=grace,
                      replace_existing=True)
    now = now or dt.datetime.now(dt.UTC)
    if missed_run(trigger, last_run(get_store()), now):
        log.info("a weekly import was missed while down; catching up now")
        scheduler.add_job(job, "date", run_date=now, id=CATCH_UP_ID, coalesce=True,
                          max_instances=1, misfire_grace_time=grace, replace_existing=True)
    return scheduler
