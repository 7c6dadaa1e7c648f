"""Two years of weekly imports: does the data folder stay flat?

    LOREKEEPER_EMBEDDER=hash .venv/bin/python -m bench history

From the shipped history (500 characters), 104 weekly balance patches plus a hotfix every 8
weeks (13) are generated and imported one by one into a private data folder (LOREKEEPER_HOME =
a temporary folder), with the hash embedder so that the run takes minutes. Each weekly patch is
themed (one faction, one role, or one stat family), touches 20 to 80 characters and changes 1 to
3 stats each by a few percent, inside the schema's ranges and at its precision; every 13th week
also adds a new character. After the imports, `Store.optimize` (compaction, index fold-in and
old-version cleanup) runs with the `[stats_db].keep_versions_days` retention.

Measured: the data folder's disk use (SQLite + LanceDB) after each import, the import time of
each patch, and the hybrid-query p50 (`Store.search`, filtered by character, k=4) every 8 weeks.

Bounds (each printed PASS or FAIL):
- import time: the median of the last 8 weekly imports is at most 1.5x that of the first 8;
- query p50: at the end, on the final folder, at most 1.5x that on a copy of the week-0 folder
  (the two timed alternately, so that both see the same machine load);
- disk: the growth over the whole run is at most DISK_FIXED_KB per patch plus DISK_ROW_KB per
  row written (a changed character rewrites its stat card row), and it is linear (the second
  half of the run grows at most 1.5x the first half's bytes per row written);
- after the final optimize: every patch's tag is still there and answers a query, versions
  older than the oldest tag are gone, and the health check passes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from characters.world import get_world

WEEKS = 104
HOTFIX_EVERY = 8
NEW_CHARACTER_EVERY = 13
QUERY_EVERY = 8
QUERY_REPEATS = 80
WINDOW = 8
SLOWDOWN = 1.5
# Stated disk bound (see the README, "Two years of weekly imports", for why these numbers).
DISK_FIXED_KB = 16.0  # per patch: a manifest, a deletion file, SQLite pages
DISK_ROW_KB = 8.0  # per row written: its vector (1.5 KB), card text, SQLite stat rows
COPY_FACTOR = 1.25  # a compaction writes one copy of the live table (data and indexes)
COMPARE_WEEKS = 24  # the comparison run with the import optimizing after every write
QUESTIONS = ("how much health does he have", "attack speed and crit chance", "what is the cost",
             "mana and ability power", "who is this warrior", "how far can she attack",
             "defense rating", "where does he come from")
STAT_FAMILIES = (("health", "defense", "health_regen"), ("attack", "attack_speed", "crit_chance"),
                 ("mana", "ability_power"), ("speed", "attack_range"), ("cost", "level"))


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def _nudge(spec, value, rng: random.Random):
    """A value moved by 2-12% up or down, inside the range, at the schema's precision."""
    lo, hi = spec.minimum, spec.maximum

    def clamp(x: float):
        x = round(min(hi, max(lo, x)), spec.decimals)
        return int(x) if spec.type == "int" else x

    base = value if value not in (None, 0) else (lo + hi) / 2
    new = clamp(base + base * rng.uniform(0.02, 0.12) * rng.choice((-1, 1)))
    unit = 10 ** -spec.decimals
    if new == value:  # a step below the precision: move one unit instead
        new = clamp(base + unit) if clamp(base + unit) != value else clamp(base - unit)
    return new


class PatchMaker:
    """Balance patches that look like real ones, from the store's current stats."""

    def __init__(self, world, characters, stats, seed: int = 15) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.characters = {c.id: c for c in characters}
        self.stats = {cid: dict(v) for cid, v in stats.items()}
        self.specs = {s.name: s for s in world.schema.stats}
        self.new_count = 0

    def _theme(self) -> tuple[str, list[str], tuple[str, ...]]:
        rng = self.rng
        ids = sorted(self.stats)
        family = rng.choice(STAT_FAMILIES)
        kind = rng.choice(("faction", "role", "family"))
        if kind == "role":
            roles = sorted({self.characters[c].role for c in ids if c in self.characters})
            role = rng.choice(roles)
            group = [c for c in ids if c in self.characters and self.characters[c].role == role]
            return f"{role}s retuned", group, family
        if kind == "faction":
            faction = rng.choice(sorted({f.id for f in self.world.factions}))
            group = [c for c in ids
                     if c in self.characters and self.characters[c].faction == faction]
            return f"{faction.title()} {'/'.join(family)} pass", group, family
        return f"{'/'.join(family)} pass across the roster", ids, family

    def weekly(self, patch_id: str, released: str, new_character: bool) -> dict:
        notes, group, family = self._theme()
        n = min(len(group), self.rng.randint(20, 80))
        if n < 20:  # a small role: widen it with others from the whole roster
            group = group + self.rng.sample(sorted(set(self.stats) - set(group)), 20 - n)
            n = 20
        entries = []
        for cid in sorted(self.rng.sample(group, n)):
            stats = self.rng.sample(family, self.rng.randint(1, min(3, len(family))))
            entries.append({"id": cid, "stats": self._change(cid, stats)})
        if new_character:
            entries.append(self._newcomer(patch_id))
        return {"patch": patch_id, "released": released, "kind": "delta", "notes": notes,
                "characters": entries}

    def hotfix(self, patch_id: str, released: str, last: dict) -> dict:
        touched = [e["id"] for e in last["characters"] if "name" not in e]
        entries = []
        for cid in sorted(self.rng.sample(touched, min(len(touched), self.rng.randint(3, 10)))):
            stat = self.rng.choice(sorted(self.stats[cid]))
            entries.append({"id": cid, "stats": self._change(cid, [stat])})
        return {"patch": patch_id, "released": released, "kind": "delta",
                "notes": "Mid-week hotfix: corrects values from the last patch.",
                "characters": entries}

    def _change(self, cid: str, names) -> dict:
        out = {}
        for name in names:
            out[name] = _nudge(self.specs[name], self.stats[cid].get(name), self.rng)
            self.stats[cid][name] = out[name]
        return out

    def _newcomer(self, patch_id: str) -> dict:
        self.new_count += 1
        model = self.characters[self.rng.choice(sorted(self.characters))]
        cid = f"bench-newcomer-{self.new_count:02d}"
        stats = {name: _nudge(self.specs[name], value, self.rng)
                 for name, value in self.stats[model.id].items() if value is not None}
        self.stats[cid] = dict(stats)
        return {"id": cid, "name": f"Benchling Newcomer {self.new_count}", "aliases": [],
                "faction": model.faction, "role": model.role, "region": model.region,
                "lore": f"Benchling {self.new_count} arrived in {patch_id}, sworn to the "
                        f"{model.role.lower()}s of {model.region}.",
                "released_in": patch_id, "stats": stats}


def schedule(last_released: str, weeks: int = WEEKS, hotfix_every: int = HOTFIX_EVERY):
    """(patch id, release date, kind) for each week after the shipped history, hotfixes between."""
    day = dt.date.fromisoformat(last_released)
    out = []
    for week in range(1, weeks + 1):
        day += dt.timedelta(days=7)
        year, iso_week, _ = day.isocalendar()
        patch_id = f"{year}-W{iso_week:02d}"
        out.append((patch_id, day.isoformat(), "weekly"))
        if week % hotfix_every == 0:
            out.append((f"{patch_id}-hotfix", (day + dt.timedelta(days=2)).isoformat(), "hotfix"))
    return out


def query_p50_ms(store, ids: list[str], repeats: int = QUERY_REPEATS, seed: int = 0) -> float:
    rng = random.Random(seed)
    store.search(QUESTIONS[0], ids[0])  # warm up
    samples = []
    for i in range(repeats):
        cid = rng.choice(ids)
        started = time.perf_counter()
        store.search(QUESTIONS[i % len(QUESTIONS)], cid, k=4)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 2)


def simulate(home: Path, weeks: int = WEEKS, hotfix_every: int = HOTFIX_EVERY,
             query_every: int = QUERY_EVERY, optimize_every: int | None = None,
             world=None) -> dict:
    """Seed `home` with the shipped history and import the generated patches; the per-patch
    figures. `optimize_every` overrides `[stats_db].optimize_every` (the import's cadence)."""
    from dataclasses import replace

    from stats_db.datafolder import open_store
    from stats_db.embed import HashEmbedder
    from stats_db.ingest import import_paths

    world = world or get_world()
    store = open_store(home, embedder=HashEmbedder(), world=world)
    if optimize_every is not None:
        store.settings = replace(store.settings, optimize_every=optimize_every)
    started = time.perf_counter()
    import_paths(store, world.patch_files())
    seed_s = time.perf_counter() - started
    maker = PatchMaker(world, store.characters(), store.stats_at())
    inbox = home.parent / "generated"
    inbox.mkdir(exist_ok=True)
    ids = sorted(maker.stats)
    per_patch: list[dict] = []
    queries = [{"after": 0, "patch": store.current_patch(), "p50_ms": query_p50_ms(store, ids)}]
    start_bytes = folder_bytes(home)
    start_copy = home.parent / "start-copy"
    shutil.copytree(home, start_copy)
    last = None
    weekly_n = 0
    for patch_id, released, kind in schedule(store.patches()[-1].released, weeks, hotfix_every):
        if kind == "weekly":
            weekly_n += 1
            raw = maker.weekly(patch_id, released, weekly_n % NEW_CHARACTER_EVERY == 0)
            last = raw
        else:
            raw = maker.hotfix(patch_id, released, last)
        path = inbox / f"{released}_{patch_id}.json"
        path.write_text(json.dumps(raw))
        started = time.perf_counter()
        [result] = import_paths(store, [path])
        elapsed = time.perf_counter() - started
        if result.status != "imported":
            raise RuntimeError(f"{patch_id}: {result.status} {result.errors[:3]}")
        table = store.index.table()
        per_patch.append({
            "patch": patch_id, "kind": kind, "characters": len(raw["characters"]),
            "import_s": round(elapsed, 3), "bytes": folder_bytes(home),
            "lance_bytes": folder_bytes(store.index.path),
            "table_bytes": table.stats()["total_bytes"],
            "versions": len(table.list_versions()),
            "fragments": table.stats()["fragment_stats"]["num_fragments"],
            "optimized": bool(result.counts.get("optimized")),
        })
        if kind == "weekly" and weekly_n % query_every == 0:
            queries.append({"after": weekly_n, "patch": patch_id,
                            "p50_ms": query_p50_ms(store, sorted(maker.stats), seed=weekly_n)})
        if len(per_patch) % 10 == 0:
            print(f"  .. {len(per_patch)} patches, {per_patch[-1]['bytes'] / 1e6:.1f} MB, "
                  f"last import {elapsed:.2f} s", flush=True)
    # The week-0 folder and the week-N one, timed alternately now: the same machine load.
    start_store = open_store(start_copy, embedder=HashEmbedder(), world=world)
    side_by_side: dict[str, list[float]] = {"start": [], "end": []}
    for round_ in range(3):
        side_by_side["start"].append(query_p50_ms(start_store, ids, seed=round_))
        side_by_side["end"].append(query_p50_ms(store, ids, seed=round_))
    return {"store": store, "seed_s": seed_s,
            "query_side_by_side": {k: _median(v) for k, v in side_by_side.items()},
            "start_bytes": start_bytes,
            "per_patch": per_patch, "queries": queries, "ids": sorted(maker.stats)}


def final_upkeep(store) -> dict:
    """The optimize run after the imports, and the checks that every tag still answers."""
    keep = dt.timedelta(days=store.settings.keep_versions_days)
    tags_before = store.index.tags()
    bytes_before = folder_bytes(store.data_dir)
    started = time.perf_counter()
    counts = store.index.optimize(keep)
    optimize_s = time.perf_counter() - started
    tags_after = store.index.tags()
    oldest_tag = min(tags_after.values()) if tags_after else 0
    versions = [v["version"] for v in store.index.table().list_versions()]
    unreadable = []
    cid = store.characters()[0].id
    for i, tag in enumerate(sorted(tags_after, key=tags_after.get)):
        try:
            ok = store.index._table_at(tag).count_rows() > 0
            if ok and i % 10 == 0:  # a hybrid query as of that patch, through the store
                ok = bool(store.search(QUESTIONS[0], cid, patch=tag))
        except Exception:  # a tag that fails to answer is the finding
            ok = False
        if not ok:
            unreadable.append(tag)
    return {
        "optimize_s": round(optimize_s, 2), **counts,
        "bytes_before": bytes_before, "bytes_after": folder_bytes(store.data_dir),
        "tags_kept": tags_after == tags_before, "tags": len(tags_after),
        "unreadable_tags": unreadable,
        "versions_before_oldest_tag": sum(1 for v in versions if v < oldest_tag),
        "healthy": store.status()["healthy"],
    }


def _median(values) -> float:
    return statistics.median(values) if values else 0.0


def disk_allowance(sim: dict) -> tuple[float, int, int]:
    """The stated disk bound for the run: (bytes allowed, rows written, compactions)."""
    per = sim["per_patch"]
    rows = sum(p["characters"] for p in per)
    compactions = [p for p in per if p["optimized"]]
    allowed = (DISK_FIXED_KB * len(per) + DISK_ROW_KB * rows) * 1024
    allowed += sum(COPY_FACTOR * p["table_bytes"] for p in compactions)
    return allowed, rows, len(compactions)


def bounds(sim: dict, upkeep: dict) -> dict[str, tuple[bool, str]]:
    """Each bound: (passed, what was measured against what)."""
    per = sim["per_patch"]
    weekly = [p for p in per if p["kind"] == "weekly"]
    first = _median([p["import_s"] for p in weekly[:WINDOW]])
    last = _median([p["import_s"] for p in weekly[-WINDOW:]])
    q_first, q_last = sim["query_side_by_side"]["start"], sim["query_side_by_side"]["end"]
    growth = per[-1]["bytes"] - sim["start_bytes"]
    allowed, rows, compactions = disk_allowance(sim)
    half = len(per) // 2
    first_half = per[half - 1]["bytes"] - sim["start_bytes"]
    second_half = per[-1]["bytes"] - per[half - 1]["bytes"]
    per_patch_1, per_patch_2 = first_half / half, second_half / (len(per) - half)
    return {
        "import_time_last8_vs_first8": (
            last <= SLOWDOWN * first, f"{last:.3f} s vs {first:.3f} s (<= {SLOWDOWN}x)"),
        "query_p50_end_vs_start": (
            q_last <= SLOWDOWN * q_first,
            f"{q_last} ms vs {q_first} ms, timed alternately (<= {SLOWDOWN}x)"),
        "disk_growth_bounded": (
            growth <= allowed,
            f"{growth / 1e6:.2f} MB <= {allowed / 1e6:.2f} MB ({DISK_FIXED_KB:g} KB x "
            f"{len(per)} patches + {DISK_ROW_KB:g} KB x {rows} rows + {COPY_FACTOR:g} x table "
            f"size x {compactions} compactions)"),
        "disk_growth_linear": (
            per_patch_2 <= SLOWDOWN * per_patch_1,
            f"{per_patch_2 / 1024:.0f} KB/patch in the second half vs {per_patch_1 / 1024:.0f} "
            f"in the first (<= {SLOWDOWN}x)"),
        "every_tag_kept_and_readable": (
            upkeep["tags_kept"] and not upkeep["unreadable_tags"],
            f"{upkeep['tags']} tags, unreadable: {upkeep['unreadable_tags'] or 'none'}"),
        "healthy_after_optimize": (upkeep["healthy"], str(upkeep["healthy"])),
    }


def run() -> dict[str, object]:
    os.environ.setdefault("LOREKEEPER_EMBEDDER", "hash")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        old_home = os.environ.get("LOREKEEPER_HOME")
        os.environ["LOREKEEPER_HOME"] = str(home)
        try:
            sim = simulate(home)
            store = sim["store"]
            upkeep = final_upkeep(store)
        finally:
            if old_home is None:
                os.environ.pop("LOREKEEPER_HOME", None)
            else:
                os.environ["LOREKEEPER_HOME"] = old_home
        with tempfile.TemporaryDirectory() as tmp2:
            os.environ["LOREKEEPER_HOME"] = str(Path(tmp2) / "home")
            try:
                every = simulate(Path(tmp2) / "home", weeks=COMPARE_WEEKS, optimize_every=1,
                                 query_every=COMPARE_WEEKS)
            finally:
                os.environ["LOREKEEPER_HOME"] = str(home)
            short = sim["per_patch"][:len(every["per_patch"])]
            figures["compare_weeks"] = COMPARE_WEEKS
            figures["compare_disk_growth_mb_optimize_every_1"] = round(
                (every["per_patch"][-1]["bytes"] - every["start_bytes"]) / 1e6, 2)
            figures[f"compare_disk_growth_mb_optimize_every_{store.settings.optimize_every}"] = (
                round((short[-1]["bytes"] - sim["start_bytes"]) / 1e6, 2))
            figures["compare_import_median_s_optimize_every_1"] = round(
                _median([p["import_s"] for p in every["per_patch"]]), 3)
            figures[f"compare_import_median_s_optimize_every_{store.settings.optimize_every}"] = (
                round(_median([p["import_s"] for p in short]), 3))
            figures["compare_query_p50_ms_optimize_every_1"] = every["queries"][-1]["p50_ms"]
        per = sim["per_patch"]
        weekly = [p for p in per if p["kind"] == "weekly"]
        figures.update({
            "weeks": WEEKS, "patches_imported": len(per),
            "hotfixes": sum(1 for p in per if p["kind"] == "hotfix"),
            "rows_written": sum(p["characters"] for p in per),
            "optimize_every": store.settings.optimize_every,
            "seed_history_s": round(sim["seed_s"], 2),
            "disk_start_mb": round(sim["start_bytes"] / 1e6, 2),
            "disk_end_mb": round(per[-1]["bytes"] / 1e6, 2),
            "disk_per_patch_kb": round((per[-1]["bytes"] - sim["start_bytes"]) / len(per) / 1024,
                                       1),
            "disk_after_final_optimize_mb": round(upkeep["bytes_after"] / 1e6, 2),
            "import_first8_median_s": round(_median([p["import_s"] for p in weekly[:WINDOW]]), 3),
            "import_last8_median_s": round(_median([p["import_s"] for p in weekly[-WINDOW:]]), 3),
            "import_max_s": max(p["import_s"] for p in per),
            "import_optimizing_median_s": round(
                _median([p["import_s"] for p in per if p["optimized"]]), 3),
            "import_plain_median_s": round(
                _median([p["import_s"] for p in per if not p["optimized"]]), 3),
            "query_p50_ms_by_week": {q["after"]: q["p50_ms"] for q in sim["queries"]},
            "query_p50_ms_week0_copy_vs_end": sim["query_side_by_side"],
            "fragments_max": max(p["fragments"] for p in per),
            "versions_end": per[-1]["versions"],
            "sqlite_end_mb": round((per[-1]["bytes"] - per[-1]["lance_bytes"]) / 1e6, 2),
            "lance_end_mb": round(per[-1]["lance_bytes"] / 1e6, 2),
            "final_optimize": {k: upkeep[k] for k in (
                "optimize_s", "versions_before", "versions_after", "tags",
                "versions_before_oldest_tag")},
        })
        checks = bounds(sim, upkeep)
        for name, (passed, detail) in checks.items():
            figures[f"bound_{name}"] = f"{'PASS' if passed else 'FAIL'}: {detail}"
        figures["all_bounds_pass"] = all(passed for passed, _ in checks.values())
        figures["disk_mb_every_13_patches"] = [round(p["bytes"] / 1e6, 2) for p in per[12::13]]
    return figures
