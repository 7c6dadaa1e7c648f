"""`python -m stats_db`: a thin command line over the store and the import pipeline.

    python -m stats_db import FILE... [--json] [--backfill]
    python -m stats_db rollback PATCH [--json]
    python -m stats_db status --json
    python -m stats_db list --json
    python -m stats_db show NAME [--patch P] --json
    python -m stats_db diff NAME [--from P] [--to Q] --json
    python -m stats_db history NAME STAT [--json]
    python -m stats_db summary [PATCH] [--json]
    python -m stats_db search QUESTION [--name NAME] [--patch P] [--json]
    python -m stats_db optimize [--json]
    python -m stats_db seed | rebuild | schedule

Exit status: 0 on success, 2 for a rejected patch, an unknown name, patch or stat, a rollback
of a patch that is not the latest, or a data folder that another import is writing (busy).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

EXIT_REJECTED = 2


class CliError(Exception):
    """A user error the CLI reports on stderr, exiting with status 2."""


def _emit(data: object, as_json: bool, text: str) -> None:
    print(json.dumps(data) if as_json else text)


# The CLI process only embeds, so it may pin torch to one thread: on a shared 2-core machine one
# thread embeds a question about 15x and a 50-card batch about 2x faster than two.
CLI_EMBED_THREADS = 1


def _open(args):
    from characters.config import get_config
    from stats_db.datafolder import open_store
    from stats_db.embed import default_embedder

    batch = get_config().stats_db.embed_batch_size
    return open_store(embedder=default_embedder(batch, CLI_EMBED_THREADS), repair=True)


def _resolve(store, name: str):
    resolution = store.resolver().resolve(name)
    if resolution.character is None:
        hint = ", ".join(f"{c.name} ({c.id})" for c in resolution.suggestions)
        raise CliError(f"unknown character {name!r}" + (f"; did you mean: {hint}?" if hint else ""))
    return resolution.character


def cmd_import(args) -> int:
    from stats_db.ingest import import_paths

    store = _open(args)
    meta = {"patch": args.patch, "released": args.released, "kind": args.kind,
            "notes": args.notes}
    results = import_paths(store, [Path(p) for p in args.files], backfill=args.backfill,
                           progress=True, meta={k: v for k, v in meta.items() if v})
    lines = []
    for r in results:
        if r.status == "rejected":
            lines.append(f"rejected {r.path}: {len(r.errors)} error(s), nothing stored")
            lines.extend(f"  {e}" for e in r.errors)
        elif r.status == "unchanged":
            lines.append(f"unchanged {r.path}: patch {r.patch} is already imported")
        else:
            lines.append(f"imported {r.path}: patch {r.patch}, {r.counts.get('characters')} "
                         f"characters, {r.counts.get('embedded')} cards re-embedded")
    _emit([r.to_json() for r in results], args.json, "\n".join(lines))
    return EXIT_REJECTED if any(r.status == "rejected" for r in results) else 0


def cmd_rollback(args) -> int:
    from stats_db.rollback import rollback_patch

    done = rollback_patch(_open(args), args.patch)
    restored = (f"index restored to tag {done['restored_tag']}" if done["restored_tag"]
                else "index synced from SQLite")
    _emit(done, args.json, f"rolled back patch {done['patch']}: the current patch is now "
                           f"{done['current'] or 'none'}; {restored}")
    return 0


def cmd_optimize(args) -> int:
    import datetime as dt

    store = _open(args)
    keep = dt.timedelta(days=store.settings.keep_versions_days)
    with store.write_lock.hold():
        counts = store.index.optimize(keep)
    counts["tags"] = len(store.index.tags())
    _emit(counts, args.json, f"optimized the index: {counts['versions_before']} -> "
                             f"{counts['versions_after']} versions, {counts['tags']} tags kept")
    return 0


def cmd_status(args) -> int:
    status = _open(args).status()
    text = "\n".join(f"{k}: {'; '.join(v) if isinstance(v, list) else v}"
                     for k, v in status.items())
    _emit(status, args.json, text)
    return 0


def cmd_list(args) -> int:
    chars = _open(args).characters()
    data = [{"id": c.id, "name": c.name, "faction": c.faction} for c in chars]
    _emit(data, args.json, "\n".join(f"{c.id:<32} {c.name:<32} {c.faction}" for c in chars))
    return 0


def cmd_show(args) -> int:
    store = _open(args)
    snap = store.show(_resolve(store, args.name).id, args.patch)
    c = snap.character
    data = {"id": c.id, "name": c.name, "faction": c.faction, "patch": snap.patch,
            "stats": snap.stats}
    _emit(data, args.json, snap.card)
    return 0


def cmd_diff(args) -> int:
    from characters.cards import render_changes

    store = _open(args)
    d = store.diff(_resolve(store, args.name).id, args.from_patch, args.to_patch)
    data = {"id": d.character.id, "name": d.character.name, "from": d.from_patch,
            "to": d.to_patch, "changes": {k: list(v) for k, v in d.changes.items()}}
    text = f"{d.character.name}, {d.from_patch} -> {d.to_patch}\n" + render_changes(
        d.changes, d.from_patch, store.world.schema)
    _emit(data, args.json, text)
    return 0


def cmd_history(args) -> int:
    store = _open(args)
    c = _resolve(store, args.name)
    rows = store.history(c.id, args.stat)
    stat = store.world.schema[args.stat]
    data = {"id": c.id, "name": c.name, "stat": args.stat,
            "history": [{"patch": p, "released": r, "value": v} for p, r, v in rows]}
    text = "\n".join([f"{c.name}: {stat.label}"] +
                     [f"  {p:<20} {r}  {stat.format_with_unit(v)}" for p, r, v in rows])
    _emit(data, args.json, text)
    return 0


def cmd_summary(args) -> int:
    s = _open(args).patch_summary(args.patch)
    data = {"patch": s.patch, "released": s.released, "notes": s.notes, "changed": s.changed,
            "new_characters": s.new_characters, "buffs": [list(m) for m in s.buffs],
            "nerfs": [list(m) for m in s.nerfs]}
    lines = [f"Patch {s.patch} ({s.released}): {s.notes}",
             f"{s.changed} characters changed, {len(s.new_characters)} new"]
    for title, moves in (("Biggest buffs", s.buffs), ("Biggest nerfs", s.nerfs)):
        lines.append(f"{title}:")
        lines.extend(f"  {cid:<28} {stat:<14} {old} -> {new} ({pct:+.1f}%)"
                     for cid, stat, old, new, pct in moves[:10])
    _emit(data, args.json, "\n".join(lines))
    return 0


def cmd_search(args) -> int:
    store = _open(args)
    cid = _resolve(store, args.name).id if args.name else None
    hits = store.search(args.question, cid, args.patch, args.k)
    data = [{"kind": h.kind, "character_id": h.character_id, "text": h.text, "score": h.score}
            for h in hits]
    _emit(data, args.json, "\n\n".join(f"[{h.kind} {h.character_id} {h.score:.4f}]\n{h.text}"
                                       for h in hits))
    return 0


def cmd_seed(args) -> int:
    from stats_db.ingest import seed

    store = _open(args)
    results = seed(store, progress=True)
    rejected = [r for r in results if r.status == "rejected"]
    for r in rejected:
        print(f"rejected {r.path}:\n  " + "\n  ".join(r.errors), file=sys.stderr)
    done = sum(r.status == "imported" for r in results)
    print(f"seeded {done} patches" if results else "already seeded: " +
          f"patch {store.current_patch()}, {len(store.patches())} patches")
    return EXIT_REJECTED if rejected else 0


def cmd_rebuild(args) -> int:
    from stats_db.ingest import rebuild_index

    counts = rebuild_index(_open(args), progress=True)
    print(f"rebuilt the index: {counts['index_rows']} rows, {counts['embedded']} embedded")
    return 0


def cmd_schedule(args) -> int:
    from characters.config import get_config
    from stats_db.schedule import make_scheduler

    scheduler = make_scheduler(get_config(), lambda: _open(args), asyncio=False)
    print("weekly import scheduled; Ctrl-C stops it", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stats_db", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON")
        return p

    p = add("import", cmd_import, "Import patch files (JSON or CSV); exit 2 if one is rejected.")
    p.add_argument("files", nargs="+", metavar="FILE", help="patch files, imported oldest first")
    p.add_argument("--backfill", action="store_true", help="allow a patch older than the current")
    p.add_argument("--patch", help="patch id for a CSV file without a '# patch:' line")
    p.add_argument("--released", help="release date (YYYY-MM-DD) for a CSV file")
    p.add_argument("--kind", choices=("delta", "full"), help="patch kind for a CSV file")
    p.add_argument("--notes", help="patch notes for a CSV file")
    p = add("rollback", cmd_rollback, "Take the latest patch back out of SQLite and LanceDB; "
                                      "exit 2 if PATCH is not the latest.")
    p.add_argument("patch", metavar="PATCH", help="the latest patch's id")
    add("optimize", cmd_optimize, "Compact LanceDB and prune old versions; every patch's tag "
                                  "is kept ([stats_db].keep_versions_days).")
    add("status", cmd_status, "The current patch, counts and whether the index is healthy.")
    add("list", cmd_list, "List every character: id, name, faction.")
    p = add("show", cmd_show, "A character's stats, now or as of a patch.")
    p.add_argument("name", metavar="NAME", help="id, name, alias or a near miss")
    p.add_argument("--patch", help="patch id (default: current)")
    p = add("diff", cmd_diff, "What changed for a character between two patches.")
    p.add_argument("name", metavar="NAME", help="id, name, alias or a near miss")
    p.add_argument("--from", dest="from_patch", help="older patch (default: the one before --to)")
    p.add_argument("--to", dest="to_patch", help="newer patch (default: current)")
    p = add("history", cmd_history, "One stat of a character across every patch.")
    p.add_argument("name", metavar="NAME", help="id, name, alias or a near miss")
    p.add_argument("stat", metavar="STAT", help="stat name, e.g. health")
    p = add("summary", cmd_summary, "A patch's changes: counts, new characters, buffs and nerfs.")
    p.add_argument("patch", nargs="?", metavar="PATCH", help="patch id (default: current)")
    p = add("search", cmd_search, "Hybrid search over stat cards and lore.")
    p.add_argument("question", metavar="QUESTION")
    p.add_argument("--name", help="limit to one character")
    p.add_argument("--patch", help="search as of this patch")
    p.add_argument("-k", type=int, default=4, help="number of hits")
    add("seed", cmd_seed, "Import the shipped patch history into an empty data folder.", False)
    add("rebuild", cmd_rebuild, "Rebuild the LanceDB index from SQLite.", False)
    add("schedule", cmd_schedule, "Run the weekly inbox import (blocking scheduler).", False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from stats_db.errors import LorekeeperError

    try:
        return args.func(args)
    except (CliError, LorekeeperError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
