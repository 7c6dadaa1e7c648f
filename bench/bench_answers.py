"""End to end with the real model and the shipped adapters: held-out paraphrased stat
questions and roster questions from the understanding set, answered by `engine.ask`.

    .venv/bin/python -m bench answers      # figures also go to bench/results/bench_answers.json

Targets (the understanding issue): on 120 held-out paraphrased stat questions, the asked value
is in at least 98% of the answers after verification and no number is invented; on 40 held-out
roster questions, the right character and the right value every time. "Right" is judged here
from the SQLite record, not from the index the engine reads, over the pool the question's label
names (its faction and its role or group of roles). The stat questions are taken 10 for each of
the 12 stats; the roster questions alternate between those with a role filter and the rest.

Beside them, `/changes` for 40 characters something changed for (the factions in turn), since
the patch most characters changed since: how many answers tell a change the wrong way
after verification ("drop 43 to 47"; the adapters do it in a third to four fifths of their raw
change answers, README "Evaluation"), and how many verification sent to the template, whose
phrasing takes no side.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

STAT_QUESTIONS = 120
ROSTER_QUESTIONS = 40
CHANGE_QUESTIONS = 40


def _take_in_turn(rows: list[dict], key, count: int) -> list[dict]:
    """Up to `count` rows, taking one from each group (by `key`, first seen first) in turn and
    keeping the set's order within a group, so that no group fills the sample alone."""
    groups: dict[object, list[dict]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    taken: list[dict] = []
    queues = [list(g) for g in groups.values()]
    while len(taken) < count and any(queues):
        for queue in queues:
            if queue and len(taken) < count:
                taken.append(queue.pop(0))
    return taken


def _all_heldout() -> list[dict]:
    from bench.bench_understand import load_set

    return load_set("heldout")


def _questions() -> tuple[list[dict], list[dict]]:
    rows = _all_heldout()
    stats = [r for r in rows if r["kind"] == "stats" and len(r["stats"]) == 1
             and not r.get("patch")]
    roster = [r for r in rows if r["kind"] == "roster"]
    # Every stat equally (10 each of the 12), and role-filtered roster questions beside the rest.
    return (_take_in_turn(stats, lambda r: r["stats"][0], STAT_QUESTIONS),
            _take_in_turn(roster, lambda r: r["roster"].get("role") is not None,
                          ROSTER_QUESTIONS))


def _roles(ask: dict) -> set[str] | None:
    """The roles a roster question filters by: one role, a group (a list), or None for any."""
    role = ask.get("role")
    if role is None:
        return None
    return {role} if isinstance(role, str) else set(role)


def _leaders(store, ask: dict) -> tuple[set[str], float | None]:
    """The ids that may rightly lead a roster question (ties), and the value they hold: the
    pool is the question's faction and role(s), as the set labels them."""
    stats = store.stats_at()
    lowest = bool(ask.get("lowest"))
    roles = _roles(ask)
    pool = [c for c in store.characters()
            if ask.get("faction") in (None, c.faction)
            and (roles is None or c.role in roles)
            and c.id in stats and stats[c.id].get(ask["stat"]) is not None]
    if not pool:
        return set(), None
    values = [stats[c.id][ask["stat"]] for c in pool]
    best = min(values) if lowest else max(values)
    return {c.id for c in pool if stats[c.id][ask["stat"]] == best}, best


def run() -> dict[str, object]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.engine import Engine
    from bot.lifecycle import make_generator
    from characters.config import get_config
    from characters.numbers import mentions_value, wrong_direction
    from stats_db.datafolder import open_store
    from stats_db.ingest import seed

    stat_rows, roster_rows = _questions()
    config = get_config()
    with tempfile.TemporaryDirectory() as scratch:
        store = open_store(Path(scratch) / "data")
        seed(store)
        started = time.perf_counter()
        engine = Engine(store, make_generator(config), config=config)
        engine.warmup()
        load_s = time.perf_counter() - started
        asked_ok = invented = 0
        misses: list[str] = []
        stamp = time.perf_counter()
        for row in stat_rows:
            answer = engine.ask(row["speaker"], row["question"])
            value = store.show(row["speaker"]).stats[row["stats"][0]]
            ok = value is not None and mentions_value(answer.answer, value)
            asked_ok += ok
            invented += not answer.grounded
            if not ok:
                misses.append(f"{row['question']!r} -> {answer.kind} {answer.stats_shown}: "
                              f"{answer.answer[:90]!r}")
        stat_s = time.perf_counter() - stamp
        roster_ok, roster_misses = 0, []
        for row in roster_rows:
            answer = engine.ask(row["speaker"], row["question"])
            ids, value = _leaders(store, row["roster"])
            named = [r for r in (answer.ranking or []) if r["name"] in answer.answer]
            ok = (answer.kind == "roster" and bool(named) and named[0]["id"] in ids
                  and value is not None and mentions_value(answer.answer, value))
            roster_ok += ok
            if not ok:
                roster_misses.append(f"{row['question']!r} -> {answer.kind}: "
                                     f"{answer.answer[:90]!r}")
        # /changes since the patch that most characters changed since (the seeded history's
        # changes come and go: 12 characters changed since its first patch, 50 since W43)
        def moved_since(since: str) -> dict[str, list[tuple[float, float]]]:
            out = {}
            for c in store.characters():
                pairs = [(float(a), float(b)) for a, b in
                         store.diff(c.id, from_patch=since).changes.values()
                         if a is not None and b is not None]
                if pairs:
                    out[c.id] = pairs
            return out

        since, moved_by = max(((p, moved_since(p)) for p in engine.patch_ids()[:-1]),
                              key=lambda pm: len(pm[1]))
        factions = {c.id: c.faction for c in store.characters()}
        change_rows = [r["id"] for r in _take_in_turn(
            [{"id": c} for c in moved_by], lambda r: factions[r["id"]],
            CHANGE_QUESTIONS)]
        told_wrong = from_template = regenerated = 0
        for character in change_rows:
            answer = engine.changes(character, from_patch=since)
            moved = moved_by[character]
            told_wrong += bool(wrong_direction(answer.answer, moved,
                                               engine.world.meanings.change_words))
            from_template += answer.fallback
            regenerated += answer.regenerated
        engine.close()
    return {
        "model_load_and_warmup_s": round(load_s, 1),
        "stat_questions": len(stat_rows),
        "stat_value_in_answer": round(asked_ok / max(1, len(stat_rows)), 3),
        "stat_answers_with_an_invented_number": invented,
        "stat_s_per_answer": round(stat_s / max(1, len(stat_rows)), 2),
        "roster_questions": len(roster_rows),
        "roster_questions_with_a_role": sum(r["roster"].get("role") is not None
                                            for r in roster_rows),
        "roster_right_character_and_value": round(roster_ok / max(1, len(roster_rows)), 3),
        "change_questions": len(change_rows), "changes_since": since,
        "change_answers_telling_a_change_the_wrong_way": told_wrong,
        "change_answers_regenerated": regenerated,
        "change_answers_from_the_template": from_template,
        "targets": {"stat_value_in_answer_min": 0.98, "invented_max": 0,
                    "roster_right_min": 1.0},
        "stat_misses": misses[:20], "roster_misses": roster_misses[:20],
    }
