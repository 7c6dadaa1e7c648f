"""Validate the question-understanding set and print its counts (stdlib only).

    python bench/understanding/check_set.py [FILE.jsonl ...]

Default files: handwritten.jsonl and generated.jsonl next to this script.
Exit status 0 when every line is valid and every size/balance minimum holds, else 1.
"""

import collections
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "characters", "data")

KINDS = ["stats", "all", "changes", "compare", "lore", "smalltalk", "unknown_stat", "roster"]
REGISTERS = {
    "plain",
    "terse",
    "slang",
    "typo",
    "chatty",
    "british",
    "sarcastic",
    "descriptive",
    "formal",
    "caps",
}
FACTIONS = {"orcish", "elvish", "human", "dwarvish"}
KEYS = {
    "question",
    "kind",
    "stats",
    "patch",
    "since",
    "other",
    "roster",
    "register",
    "source",
    "speaker",
}
MIN_TOTAL = 1600
MIN_KIND = {
    "stats": 700,
    "all": 70,
    "changes": 160,
    "compare": 100,
    "lore": 90,
    "smalltalk": 120,
    "unknown_stat": 100,
    "roster": 230,
}
# Every kind is measured on at least this many held-out questions (by the split rule).
MIN_HELD_KIND = 30
# What the end-to-end answers bench (bench/bench_answers.py) draws from the held-out half, with
# margin: it also drops any question that is word for word one of the parser's examples.
MIN_HELD_ONE_STAT = 150  # kind stats, exactly one stat, no patch
MIN_HELD_ONE_STAT_PER_STAT = 12
MIN_HELD_ROSTER = 50
MIN_HELD_ROSTER_ROLE = 20
ROSTER_KEYS = {"stat", "faction", "role", "lowest", "count"}


def held_out(question):
    """The split rule: held-out when the sha256 of the lower-cased, stripped question is even."""
    return int(hashlib.sha256(question.lower().strip().encode("utf-8")).hexdigest(), 16) % 2 == 0


def norm_key(q):
    return " ".join("".join(ch if ch.isalnum() else " " for ch in q.lower()).split())


def load_reference():
    with open(os.path.join(DATA, "schema.json"), encoding="utf-8") as fh:
        stats = [s["name"] for s in json.load(fh)["stats"]]
    with open(os.path.join(DATA, "roster.json"), encoding="utf-8") as fh:
        roster = json.load(fh)
    ids = {c["id"] for c in roster}
    roles = {c["role"]: c["faction"] for c in roster}
    patches = set()
    pdir = os.path.join(DATA, "patches")
    for fn in os.listdir(pdir):
        if fn.endswith(".json"):
            with open(os.path.join(pdir, fn), encoding="utf-8") as fh:
                patches.add(json.load(fh)["patch"])
    return stats, ids, patches, roles


def check_role(role, faction, roles):
    """A roster role filter: null, one role as roster.json spells it, or a list of two or
    more distinct roles (a group); every role must belong to the faction when one is named."""
    if role is None:
        return []
    group = [role] if isinstance(role, str) else role
    if not isinstance(group, list) or (not isinstance(role, str) and len(group) < 2):
        return [f"bad roster role {role!r}"]
    if any(not isinstance(x, str) or x not in roles for x in group):
        return [f"unknown roster role {role!r}"]
    if len(set(group)) != len(group):
        return [f"repeated roster role {role!r}"]
    if faction is not None and any(roles[x] != faction for x in group):
        return [f"roster role {role!r} is not {faction}"]
    return []


def check_row(r, stats, ids, patches, roles):
    errs = []
    if not isinstance(r, dict):
        return ["not an object"]
    if set(r) != KEYS:
        errs.append(f"keys {sorted(set(r) ^ KEYS)}")
        return errs
    q, kind = r["question"], r["kind"]
    if not isinstance(q, str) or not q.strip():
        errs.append("empty question")
    if kind not in KINDS:
        errs.append(f"bad kind {kind!r}")
    if not isinstance(r["stats"], list) or any(s not in stats for s in r["stats"]):
        errs.append("bad stats {!r}".format(r["stats"]))
    elif len(set(r["stats"])) != len(r["stats"]):
        errs.append("repeated stat")
    for f in ("patch", "since"):
        if r[f] is not None and r[f] not in patches:
            errs.append(f"unknown {f} {r[f]!r}")
    if r["speaker"] not in ids:
        errs.append("unknown speaker {!r}".format(r["speaker"]))
    if r["register"] not in REGISTERS:
        errs.append("bad register {!r}".format(r["register"]))
    if r["source"] not in ("hand", "generated"):
        errs.append("bad source {!r}".format(r["source"]))
    # kind-specific rules
    if kind == "stats" and not r["stats"]:
        errs.append("stats question with no stat")
    if kind in ("all", "lore", "smalltalk", "unknown_stat") and r["stats"]:
        errs.append(f"{kind} question lists stats")
    if kind != "changes" and r["since"] is not None:
        errs.append(f"since set on a {kind} question")
    if kind not in ("stats", "all", "changes") and r["patch"] is not None:
        errs.append(f"patch set on a {kind} question")
    if kind == "changes" and r["patch"] is not None and r["since"] is not None:
        errs.append("changes question with both patch and since")
    if kind == "compare":
        if r["other"] not in ids:
            errs.append("compare other {!r} not in roster".format(r["other"]))
        elif r["other"] == r["speaker"]:
            errs.append("compare other equals speaker")
    elif r["other"] is not None:
        errs.append(f"other set on a {kind} question")
    if kind == "roster":
        ro = r["roster"]
        if not isinstance(ro, dict) or set(ro) != ROSTER_KEYS:
            errs.append(f"bad roster object {ro!r}")
        else:
            if ro["stat"] not in stats:
                errs.append("bad roster stat {!r}".format(ro["stat"]))
            if ro["faction"] is not None and ro["faction"] not in FACTIONS:
                errs.append("bad roster faction {!r}".format(ro["faction"]))
            errs += check_role(ro["role"], ro["faction"], roles)
            if not isinstance(ro["lowest"], bool):
                errs.append("roster lowest not bool")
            if ro["count"] is not None and (
                not isinstance(ro["count"], int) or isinstance(ro["count"], bool) or ro["count"] < 1
            ):
                errs.append("bad roster count {!r}".format(ro["count"]))
            if r["stats"] != [ro["stat"]]:
                errs.append("roster stats must be [roster.stat]")
    elif r["roster"] is not None:
        errs.append(f"roster set on a {kind} question")
    return errs


def main(argv):
    files = argv or [os.path.join(HERE, "handwritten.jsonl"), os.path.join(HERE, "generated.jsonl")]
    stats, ids, patches, roles = load_reference()
    rows, bad = [], 0
    seen = {}
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = "%s:%d" % (os.path.basename(path), n)
                try:
                    r = json.loads(line)
                except ValueError as e:
                    print(f"ERROR {where}: invalid JSON ({e})")
                    bad += 1
                    continue
                errs = check_row(r, stats, ids, patches, roles)
                if not errs:
                    k = norm_key(r["question"])
                    if k in seen:
                        errs.append(f"duplicate of {seen[k]}")
                    seen[k] = where
                for e in errs:
                    print(
                        "ERROR {}: {}  [{}]".format(
                            where, e, r.get("question") if isinstance(r, dict) else ""
                        )
                    )
                bad += bool(errs)
                if not errs:
                    rows.append(r)

    def show(title, counter, order=None):
        print(f"\n{title}:")
        for k in order or sorted(counter):
            print("  %-14s %d" % (k, counter.get(k, 0)))

    kind_c = collections.Counter(r["kind"] for r in rows)
    stat_c = collections.Counter(s for r in rows for s in r["stats"])
    stat_kind_c = collections.Counter(s for r in rows if r["kind"] == "stats" for s in r["stats"])
    print("questions: %d valid, %d invalid" % (len(rows), bad))
    show("per kind", kind_c, KINDS)
    show("per stat (all kinds)", stat_c, stats)
    show("per stat (kind=stats)", stat_kind_c, stats)
    show("per source", collections.Counter(r["source"] for r in rows))
    show("per register", collections.Counter(r["register"] for r in rows))
    hand_stat = collections.Counter(s for r in rows if r["source"] == "hand" for s in r["stats"])
    show("per stat (hand-written, all kinds)", hand_stat, stats)

    st = [r for r in rows if r["kind"] == "stats"]
    multi = sum(len(r["stats"]) >= 2 for r in st)
    at_patch = sum(r["patch"] is not None for r in st)
    ro = [r["roster"] for r in rows if r["kind"] == "roster"]
    ro_stats = {x["stat"] for x in ro}
    ro_fac = {x["faction"] for x in ro} - {None}
    ro_low = sum(x["lowest"] for x in ro)
    ro_cnt = sum(x["count"] is not None for x in ro)
    ch_since = sum(r["since"] is not None for r in rows if r["kind"] == "changes")
    cmp_stat = sum(bool(r["stats"]) for r in rows if r["kind"] == "compare")
    held = sum(held_out(r["question"]) for r in rows)
    ro_role = sum(x["role"] is not None for x in ro)
    ro_group = sum(isinstance(x["role"], list) for x in ro)
    held_rows = [r for r in rows if held_out(r["question"])]
    held_one = collections.Counter(
        r["stats"][0]
        for r in held_rows
        if r["kind"] == "stats" and len(r["stats"]) == 1 and r["patch"] is None
    )
    held_kind = collections.Counter(r["kind"] for r in held_rows)
    held_ro = [r["roster"] for r in held_rows if r["kind"] == "roster"]
    held_ro_role = sum(x["role"] is not None for x in held_ro)
    print("\nstats: %d with 2+ stats, %d as of a patch" % (multi, at_patch))
    print("changes: %d with since" % ch_since)
    print("compare: %d naming a stat" % cmp_stat)
    print(
        "roster: %d stats covered, factions %s, %d lowest, %d with a count"
        % (len(ro_stats), sorted(ro_fac), ro_low, ro_cnt)
    )
    print("roster: %d with a role filter (%d naming a group of roles)" % (ro_role, ro_group))
    print("split: %d held-out, %d tuning" % (held, len(rows) - held))
    show("held-out per kind", held_kind, KINDS)
    show("held-out one-stat questions (kind=stats, one stat, no patch)", held_one, stats)
    print(
        "held-out: %d one-stat questions, %d roster questions (%d with a role filter)"
        % (sum(held_one.values()), len(held_ro), held_ro_role)
    )

    problems = []
    if len(rows) < MIN_TOTAL:
        problems.append("total %d < %d" % (len(rows), MIN_TOTAL))
    for k, m in MIN_KIND.items():
        if kind_c[k] < m:
            problems.append("kind %s: %d < %d" % (k, kind_c[k], m))
        if held_kind[k] < MIN_HELD_KIND:
            problems.append("kind %s: %d held-out < %d" % (k, held_kind[k], MIN_HELD_KIND))
    for s in stats:
        if stat_kind_c[s] < 10:
            problems.append("stat %s: %d stats questions < 10" % (s, stat_kind_c[s]))
        if hand_stat[s] < 12:
            problems.append("stat %s: %d hand-written questions < 12" % (s, hand_stat[s]))
    if multi < 130:
        problems.append("multi-stat questions %d < 130" % multi)
    if at_patch < 75:
        problems.append("as-of-patch questions %d < 75" % at_patch)
    if ro_stats != set(stats):
        problems.append(f"roster misses stats {sorted(set(stats) - ro_stats)}")
    if ro_fac != FACTIONS:
        problems.append(f"roster misses factions {sorted(FACTIONS - ro_fac)}")
    if not ro_low or not ro_cnt:
        problems.append("roster needs some lowest and some counted questions")
    if sum(held_one.values()) < MIN_HELD_ONE_STAT:
        problems.append(
            "held-out one-stat questions %d < %d" % (sum(held_one.values()), MIN_HELD_ONE_STAT)
        )
    for s in stats:
        if held_one[s] < MIN_HELD_ONE_STAT_PER_STAT:
            problems.append(
                "stat %s: %d held-out one-stat questions < %d"
                % (s, held_one[s], MIN_HELD_ONE_STAT_PER_STAT)
            )
    if len(held_ro) < MIN_HELD_ROSTER:
        problems.append("held-out roster questions %d < %d" % (len(held_ro), MIN_HELD_ROSTER))
    if held_ro_role < MIN_HELD_ROSTER_ROLE:
        problems.append(
            "held-out role-filtered roster questions %d < %d" % (held_ro_role, MIN_HELD_ROSTER_ROLE)
        )
    if not ro_group:
        problems.append("roster needs some questions naming a group of roles")
    for p in problems:
        print("FAIL", p)
    ok = not bad and not problems
    print("\nOK" if ok else "\nFAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
