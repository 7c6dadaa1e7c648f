"""Patch parsing and validation: pure functions, no database, no model."""

from __future__ import annotations

import json
import math

import pytest

from stats_db.patchfile import parse_patch_bytes
from stats_db.validate import ValidationContext, content_hash, validate_patch

MAX = 100_000


@pytest.fixture(scope="module")
def ctx(world) -> ValidationContext:
    return ValidationContext(
        schema=world.schema,
        known_ids=frozenset(c.id for c in world.characters),
        factions=frozenset(f.id for f in world.factions),
        imported={"2026-W48": "old-hash"},
        current=("2026-11-24", "2026-W48"),
    )


def _check(raw: dict, ctx: ValidationContext, name: str = "p.json"):
    return validate_patch(raw, name, ctx)


def _patch(entries: list[dict], **head) -> dict:
    base = {"patch": "2026-W49", "released": "2026-12-01", "kind": "delta", "notes": "n",
            "characters": entries}
    return {**base, **head}


def test_valid_delta_is_accepted(world, ctx):
    cid = world.characters[0].id
    patch, errors, unchanged = _check(_patch([{"id": cid, "stats": {"health": 1200}}]), ctx)
    assert errors == [] and not unchanged
    assert patch.id == "2026-W49" and patch.entries[0].stats == {"health": 1200}


def test_every_error_in_a_file_is_reported_at_once(world, ctx):
    cid = world.characters[0].id
    raw = _patch([
        {"id": "nobody-at-all", "stats": {"health": 1}},
        {"id": cid, "stats": {"healthh": 5, "attack": "lots", "defense": 10**9,
                              "speed": math.nan, "mana": math.inf, "level": 2.5}},
        {"id": cid, "stats": {"health": 900}},
    ])
    patch, errors, _ = _check(raw, ctx)
    assert patch is None
    text = "\n".join(map(str, errors))
    for fragment in ("unknown character 'nobody-at-all'", "stats.healthh: unknown stat",
                     "stats.attack: expected a number", "stats.defense: 1000000000 is outside",
                     "stats.speed: nan is not a finite", "stats.mana: inf is not a finite",
                     "stats.level: expected a whole number", "appears twice"):
        assert fragment in text
    assert all(str(e).startswith("p.json: entry ") for e in errors)
    assert f"entry 2 ({cid})" in text


def test_errors_are_capped(world):
    ctx = ValidationContext(world.schema, frozenset(), frozenset(), max_errors=5)
    raw = _patch([{"id": f"ghost-{i}", "stats": {"health": 1000}} for i in range(20)])
    _, errors, _ = validate_patch(raw, "p.json", ctx)
    assert len(errors) == 6 and "and 15 more errors" in str(errors[-1])


def test_new_character_needs_roster_fields(world, ctx):
    good = {"id": "new-hero", "name": "New Hero", "faction": "orcish", "role": "Brute",
            "region": "Somewhere", "lore": "New.", "stats": {"health": 1000}}
    patch, errors, _ = _check(_patch([good]), ctx)
    assert errors == [] and patch.entries[0].character.name == "New Hero"
    assert patch.entries[0].character.released_in == "2026-W49"
    bad = {**good, "faction": "gnomish", "lore": ""}
    _, errors, _ = _check(_patch([bad]), ctx)
    text = "\n".join(map(str, errors))
    assert "unknown faction 'gnomish'" in text and "needs a non-empty lore" in text


def test_same_id_same_content_is_unchanged_and_other_content_rejected(world, ctx):
    raw = _patch([{"id": world.characters[0].id, "stats": {"health": 1000}}], patch="2026-W48",
                 released="2026-11-24")
    same = ValidationContext(ctx.schema, ctx.known_ids, ctx.factions,
                             imported={"2026-W48": content_hash(raw)}, current=ctx.current)
    assert _check(raw, same) == (None, [], True)
    _, errors, _ = _check(raw, ctx)
    assert "already imported with different content" in str(errors[0])


def test_older_patch_needs_backfill(world, ctx):
    raw = _patch([{"id": world.characters[0].id, "stats": {"health": 1000}}],
                 patch="2026-W30", released="2026-07-20")
    _, errors, _ = _check(raw, ctx)
    assert "older than the current patch 2026-W48" in str(errors[0])
    backfill = ValidationContext(ctx.schema, ctx.known_ids, ctx.factions, ctx.imported,
                                 ctx.current, backfill=True)
    patch, errors, _ = _check(raw, backfill)
    assert errors == [] and patch is not None


def test_content_hash_ignores_formatting_and_entry_order():
    a = _patch([{"id": "a", "stats": {"x": 1}}, {"id": "b", "stats": {"x": 2}}])
    swapped = _patch([{"id": "b", "stats": {"x": 2}}, {"id": "a", "stats": {"x": 1}}])
    b = json.loads(json.dumps(swapped, indent=4))
    assert content_hash(a) == content_hash(b)


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "file is empty"),
    (b"  \n\t", "file is empty"),
    (b'{"patch": "2026-W49", "characters": [', "truncated JSON"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    (b'{"patch": "caf\xe9"}', "not UTF-8"),
    (b"x" * (MAX + 1), "over the limit"),
    (b"{not json}", "malformed JSON"),
])
def test_bad_files_are_named(data, fragment):
    parsed = parse_patch_bytes(data, "bad.json", MAX)
    assert parsed.raw is None and fragment in str(parsed.errors[0])
    assert str(parsed.errors[0]).startswith("bad.json: ")


def test_csv_patch_parses_with_header_lines_and_command_line_meta(world, ctx):
    a, b = world.characters[0].id, world.characters[1].id
    text = (f"# patch: 2026-W49\n# released: 2026-12-01\n# notes: csv works\n"
            f"id,health,attack,crit_chance\n{a},1200,,7.5\n{b},,55,unknown\n")
    parsed = parse_patch_bytes(text.encode(), "p.csv", MAX)
    assert parsed.errors == ()
    patch, errors, _ = validate_patch(parsed.raw, "p.csv", ctx, parsed.locations)
    assert errors == []
    assert dict(patch.entries[0].stats) == {"health": 1200, "crit_chance": 7.5}
    assert dict(patch.entries[1].stats) == {"attack": 55, "crit_chance": None}
    bare = f"id,health\n{a},1300\n".encode()
    parsed = parse_patch_bytes(bare, "p.csv", MAX, {"patch": "2026-W50", "released": "2026-12-08"})
    patch, errors, _ = validate_patch(parsed.raw, "p.csv", ctx, parsed.locations)
    assert errors == [] and patch.id == "2026-W50"


def test_csv_errors_name_the_line(world, ctx):
    a = world.characters[0].id
    text = f"# patch: 2026-W49\n# released: 2026-12-01\nid,health\n{a},lots\nghost,1\n{a},1,2\n"
    parsed = parse_patch_bytes(text.encode(), "p.csv", MAX)
    assert "p.csv: line 6: expected 2 cells, got 3" in str(parsed.errors[0])
    _, errors, _ = validate_patch(parsed.raw, "p.csv", ctx, parsed.locations)
    text = "\n".join(map(str, errors))
    assert f"p.csv: line 4 ({a}): stats.health: expected a number, got str 'lots'" in text
    assert "p.csv: line 5 (ghost): id: unknown character 'ghost'" in text


def test_full_patch_accepts_null_as_unknown(world, ctx):
    cid = world.characters[0].id
    raw = _patch([{"id": cid, "stats": {"health": None, "attack": 50}}], kind="full")
    patch, errors, _ = _check(raw, ctx)
    assert errors == [] and patch.entries[0].stats == {"health": None, "attack": 50}


def test_a_value_finer_than_the_schema_is_rejected_never_rounded(world, ctx):
    cid = world.characters[0].id
    raw = _patch([{"id": cid, "stats": {"health_regen": 11.97, "attack_speed": 0.915}}])
    patch, errors, _ = _check(raw, ctx, "too-fine.json")
    assert patch is None
    text = sorted(str(e) for e in errors)
    assert text == [
        f"too-fine.json: entry 1 ({cid}): stats.attack_speed: 0.915 has 3 decimal places; "
        "attack_speed allows at most 2 (values are stored exactly, never rounded)",
        f"too-fine.json: entry 1 ({cid}): stats.health_regen: 11.97 has 2 decimal places; "
        "health_regen allows at most 1 (values are stored exactly, never rounded)",
    ]


def test_a_value_at_the_schema_precision_is_kept_exactly(world, ctx):
    cid = world.characters[0].id
    raw = _patch([{"id": cid, "stats": {"health_regen": 11.9, "attack_speed": 0.91,
                                        "crit_chance": 12}}])
    patch, errors, _ = _check(raw, ctx)
    assert errors == []
    assert dict(patch.entries[0].stats) == {"health_regen": 11.9, "attack_speed": 0.91,
                                            "crit_chance": 12.0}


def test_csv_values_are_checked_for_precision_too(world, ctx):
    cid = world.characters[0].id
    data = f"# patch: 2026-W49\n# released: 2026-12-01\nid,attack_speed\n{cid},0.9150\n"
    parsed = parse_patch_bytes(data.encode(), "w49.csv", MAX)
    _, errors, _ = validate_patch(parsed.raw, "w49.csv", ctx, parsed.locations)
    assert [str(e) for e in errors] == [
        f"w49.csv: line 4 ({cid}): stats.attack_speed: 0.915 has 3 decimal places; "
        "attack_speed allows at most 2 (values are stored exactly, never rounded)"]
