"""End to end with the real model and the shipped adapters: held-out paraphrased stat
questions and roster questions from the understanding set, answered by `engine.ask`.

    .venv/bin/python -m bench answers      # figures also go to bench/results/bench_answers.json

Targets (the understanding issue): on 120 held-out paraphrased stat questions, the asked value
is in at least 98% of the answers after verification and no number is invented; on 40 held-out
roster questions, the right character and the right value every time. "Right" is judged here
from the SQLite record, not from the index the engine reads.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

STAT_QUESTIONS = 120
ROSTER_QUESTIONS = 40


def _questions() -> tuple[list[dict], list[dict]]:
    from bench.bench_understand import load_set

    rows = load_set("heldout")
    stats = [r for r in rows if r["kind"] == "stats" and len(r["stats"]) == 1
             and not r.get("patch")][:STAT_QUESTIONS]
    roster = [r for r in rows if r["kind"] == "roster"][:ROSTER_QUESTIONS]
    return stats, roster


def _leaders(store, ask: dict) -> tuple[set[str], float]:
    """The ids that may rightly lead a roster question (ties), and the value they hold."""
    stats = store.stats_at()
    lowest = bool(ask.get("lowest"))
    pool = [c for c in store.characters()
            if (ask.get("faction") in (None, c.faction)) and c.id in stats
            and stats[c.id].get(ask["stat"]) is not None]
    values = [stats[c.id][ask["stat"]] for c in pool]
    best = min(values) if lowest else max(values)
    return {c.id for c in pool if stats[c.id][ask["stat"]] == best}, best


def run() -> dict[str, object]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot.engine import Engine
    from bot.lifecycle import make_generator
    from characters.config import get_config
    from characters.numbers import mentions_value
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
                  and mentions_value(answer.answer, value))
            roster_ok += ok
            if not ok:
                roster_misses.append(f"{row['question']!r} -> {answer.kind}: "
                                     f"{answer.answer[:90]!r}")
        engine.close()
    return {
        "model_load_and_warmup_s": round(load_s, 1),
        "stat_questions": len(stat_rows),
        "stat_value_in_answer": round(asked_ok / max(1, len(stat_rows)), 3),
        "stat_answers_with_an_invented_number": invented,
        "stat_s_per_answer": round(stat_s / max(1, len(stat_rows)), 2),
        "roster_questions": len(roster_rows),
        "roster_right_character_and_value": round(roster_ok / max(1, len(roster_rows)), 3),
        "targets": {"stat_value_in_answer_min": 0.98, "invented_max": 0,
                    "roster_right_min": 1.0},
        "stat_misses": misses[:20], "roster_misses": roster_misses[:20],
    }
