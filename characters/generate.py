"""Generate the game world: factions, stat schema, roster and the patch history.

    python -m characters.generate            # rewrite characters/data/ (byte for byte the same)
    python -m characters.generate --out DIR  # write somewhere else, e.g. to compare

Seeded and deterministic: running it again reproduces the committed files exactly. This is data
work, not runtime work: the bot only loads what it wrote. The voices (lines, lexicons, judge
traits) are hand-written data in `characters/voices/`, not generated.
"""

from __future__ import annotations

import argparse
import json
import random
import unicodedata
from pathlib import Path

from characters.name_styles import FOREIGN_NAMES, STYLES
from characters.schema import Stat, StatSchema
from characters.world import DEFAULT_WORLD_DIR, Character

SEED = 20260929

FACTIONS = [
    {"id": "orcish", "name": "Orcish", "adapter": "orcish",
     "description": "Clans of the Ashen Steppes: loud, proud and scarred."},
    {"id": "elvish", "name": "Elvish", "adapter": "elvish",
     "description": "The old people of the Silverwood, who remember every season."},
    {"id": "human", "name": "Human", "adapter": "human",
     "description": "The river kingdoms of Varnholt and their restless knights."},
    {"id": "dwarvish", "name": "Dwarvish", "adapter": "dwarvish",
     "description": "Holds under the Greyteeth mountains, keepers of runes and forges."},
]

SCHEMA = StatSchema((
    Stat("level", "int", "", 1, 60, "Level", ("lvl", "rank")),
    Stat("health", "int", "hp", 100, 12000, "Health",
         ("hp", "hit points", "health points", "life", "vitality")),
    Stat("mana", "int", "mp", 0, 6000, "Mana", ("mp", "magic points", "energy")),
    Stat("attack", "int", "", 1, 600, "Attack",
         ("atk", "damage", "dmg", "attack power")),
    Stat("defense", "int", "", 0, 400, "Defense",
         ("def", "armor", "armour", "toughness", "defence")),
    Stat("speed", "int", "", 100, 550, "Speed",
         ("move speed", "movement speed", "movespeed", "ms")),
    Stat("attack_speed", "float", "/s", 0.2, 3.0, "Attack speed",
         ("as", "attacks per second", "swing speed", "attack rate"), decimals=2),
    Stat("crit_chance", "float", "%", 0.0, 75.0, "Crit chance",
         ("crit", "critical chance", "critical strike chance", "crit rate", "critical hit"),
         decimals=1),
    Stat("attack_range", "int", "", 100, 900, "Attack range", ("range", "reach")),
    Stat("ability_power", "int", "", 0, 800, "Ability power",
         ("ap", "spell power", "magic power")),
    Stat("health_regen", "float", "/s", 0.0, 50.0, "Health regen",
         ("regen", "regeneration", "hp regen", "healing"), decimals=1),
    Stat("cost", "int", "gold", 100, 20000, "Cost", ("price", "gold cost", "gold")),
))

COUNTS = {"orcish": 160, "elvish": 160, "human": 90, "dwarvish": 90}

# Base stats per archetype at level 1, and their growth per level.
ARCHETYPES = {
    #              hp   mana atk def spd  as    crit rng  ap   regen  cost
    "tank":       (900, 150, 40, 40, 300, 0.70, 4.0, 150, 20, 4.0, 900),
    "bruiser":    (700, 100, 55, 25, 320, 0.85, 9.0, 150, 15, 3.0, 800),
    "skirmisher": (520, 200, 50, 15, 360, 1.10, 14.0, 175, 40, 2.0, 850),
    "ranged":     (450, 250, 48, 10, 330, 0.95, 10.0, 550, 30, 1.5, 850),
    "caster":     (420, 800, 30, 10, 320, 0.65, 3.0, 500, 90, 1.2, 950),
    "support":    (480, 700, 28, 15, 325, 0.70, 2.0, 450, 70, 2.5, 700),
}
GROWTH = (120, 40, 4, 3, 1, 0.02, 0.4, 0, 6, 0.4, 110)

PATCH_PLAN = [
    # (id, released, kind, notes)
    ("2026-W40", "2026-09-29", "full", "Launch. Every character's starting stats."),
    ("2026-W41", "2026-10-06", "delta", "First balance pass: Elvish casters buffed, "
     "Dwarvish tanks toned down."),
    ("2026-W42", "2026-10-13", "delta", "Orcish berserkers and bloodragers hit harder; "
     "human rogues lose some crit."),
    ("2026-W43", "2026-10-20", "delta", "Elvish rangers' attack range cut; "
     "Dwarvish thunderers buffed."),
    ("2026-W44", "2026-10-27", "delta", "Orcish berserkers toned down after W42 overshot."),
    ("2026-W45", "2026-11-03", "delta", "Reverts the W43 attack range cut for Elvish rangers; "
     "shaman mana buffed."),
    ("2026-W45-hotfix", "2026-11-05", "delta", "Mid-week hotfix: shaman mana buff was "
     "applied twice; corrected."),
    ("2026-W46", "2026-11-10", "delta", "Release: twelve new characters join the roster."),
    ("2026-W47", "2026-11-17", "delta", "Speed pass: skirmishers faster, tanks slower."),
    ("2026-W48", "2026-11-24", "delta", "Orcish berserkers toned down; "
     "Elvish loresingers heal more."),
]
NEW_IN = "2026-W46"
NEW_PER_FACTION = {"orcish": 4, "elvish": 4, "human": 2, "dwarvish": 2}


def ascii_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isalnum()).lower()


def slugify(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return "-".join(kept.lower().replace("'", "").split())


def _too_close(key: str, taken: list[str]) -> bool:
    from rapidfuzz import fuzz
    from rapidfuzz.process import extractOne

    hit = extractOne(key, taken, scorer=fuzz.ratio, score_cutoff=75) if taken else None
    return hit is not None


def make_roster(rng: random.Random) -> list[Character]:
    characters: list[Character] = []
    full_keys: list[str] = []
    alias_keys: set[str] = set()
    for faction, count in COUNTS.items():
        style = STYLES[faction]
        made = attempts = 0
        while made < count:
            attempts += 1
            if attempts > 200_000:
                raise RuntimeError(f"cannot find {count} distinct {faction} names")
            first = rng.choice(style.first_a) + rng.choice(style.first_b)
            first = first[0].upper() + first[1:]
            last = rng.choice(style.last_a) + rng.choice(style.last_b)
            name = f"{first} {last}".replace("--", "-")
            key = ascii_key(name)
            if ascii_key(first) in FOREIGN_NAMES or key in FOREIGN_NAMES:
                continue
            if _too_close(key, full_keys):
                continue
            role, _arch = rng.choice(style.roles)
            region = rng.choice(style.regions)
            aliases = []
            for _ in range(rng.randint(0, 3)):
                kind = rng.random()
                if kind < 0.4:
                    alias = f"{first} {rng.choice(style.epithets)}"
                elif kind < 0.7:
                    alias = last.replace("-", " ").strip() if "-" in last else last
                else:
                    alias = f"{first} of {region.replace('the ', '')}"
                akey = ascii_key(alias)
                if akey in alias_keys or akey == key or _too_close(akey, full_keys):
                    continue
                alias_keys.add(akey)
                aliases.append(alias)
            fmt = {"first": first, "region": region}
            sentences = [rng.choice(style.lore_origin), rng.choice(style.lore_deed)]
            sentences += rng.sample([rng.choice(style.lore_trait), rng.choice(style.lore_goal)],
                                    rng.randint(0, 2))
            lore = " ".join(s.format(**fmt) for s in sentences)
            characters.append(Character(
                id=slugify(name), name=name, faction=faction, role=role, region=region,
                lore=lore, aliases=tuple(aliases),
            ))
            full_keys.append(key)
            made += 1
    # Mark the last few of each faction as released later, by the W46 patch.
    released: list[Character] = []
    for faction, n in NEW_PER_FACTION.items():
        of_faction = [c for c in characters if c.faction == faction]
        released.extend(of_faction[-n:])
    released_ids = {c.id for c in released}
    return [
        Character(**{**c.__dict__, "released_in": NEW_IN}) if c.id in released_ids else c
        for c in characters
    ]


def archetype_of(character: Character) -> str:
    return dict(STYLES[character.faction].roles)[character.role]


def clamp(stat: Stat, value: float) -> int | float:
    value = min(max(value, stat.minimum), stat.maximum)  # at the schema's precision, exactly
    return stat.coerce(round(value) if stat.type == "int" else round(value, stat.decimals))


def starting_stats(character: Character, rng: random.Random) -> dict[str, int | float]:
    level = rng.randint(1, 30)
    base = ARCHETYPES[archetype_of(character)]
    stats: dict[str, int | float] = {"level": level}
    for stat, b, g in zip(SCHEMA.stats[1:], base, GROWTH, strict=True):
        jitter = rng.uniform(0.9, 1.1)
        stats[stat.name] = clamp(stat, (b + g * (level - 1)) * jitter)
    stats["attack_range"] = clamp(SCHEMA["attack_range"],
                                  round(stats["attack_range"] / 25) * 25)
    return stats


def _scale(stats: dict, name: str, factor: float) -> int | float:
    return clamp(SCHEMA[name], stats[name] * factor)


def make_patches(roster: list[Character], rng: random.Random) -> list[dict]:
    current: dict[str, dict[str, int | float]] = {}
    launch = [c for c in roster if c.released_in is None]
    for c in launch:
        current[c.id] = starting_stats(c, rng)
    patches = [_patch(PATCH_PLAN[0], [{"id": c.id, "stats": current[c.id]} for c in launch])]

    def pick(pred, n: int) -> list[Character]:
        pool = [c for c in roster if c.id in current and pred(c)]
        return sorted(rng.sample(pool, min(n, len(pool))), key=lambda c: c.id)

    def is_(faction: str, *roles: str):
        return lambda c: c.faction == faction and (not roles or c.role in roles)

    def arch(*archs: str):
        return lambda c: archetype_of(c) in archs

    w43_ranger_range: dict[str, int | float] = {}
    w45_shaman_mana: dict[str, int | float] = {}
    for plan in PATCH_PLAN[1:]:
        pid = plan[0]
        changed: dict[str, dict[str, int | float]] = {}

        def change(c: Character, name: str, value: int | float, changed=changed) -> None:
            if current[c.id][name] != value:
                changed.setdefault(c.id, {})[name] = value

        new_entries = []
        if pid == "2026-W41":
            for c in pick(is_("elvish", "Druid", "Starcaller"), 25):
                change(c, "ability_power", _scale(current[c.id], "ability_power", 1.08))
                change(c, "mana", _scale(current[c.id], "mana", 1.05))
            for c in pick(is_("dwarvish", "Ironbreaker"), 12):
                change(c, "defense", _scale(current[c.id], "defense", 0.93))
        elif pid == "2026-W42":
            for c in pick(is_("orcish", "Berserker", "Bloodrager"), 30):
                change(c, "attack", _scale(current[c.id], "attack", 1.10))
            for c in pick(is_("human", "Rogue"), 10):
                change(c, "crit_chance", _scale(current[c.id], "crit_chance", 0.85))
        elif pid == "2026-W43":
            for c in pick(is_("elvish", "Ranger"), 20):
                w43_ranger_range[c.id] = current[c.id]["attack_range"]
                change(c, "attack_range", clamp(SCHEMA["attack_range"],
                                                current[c.id]["attack_range"] - 50))
            for c in pick(is_("dwarvish", "Thunderer"), 12):
                change(c, "attack", _scale(current[c.id], "attack", 1.06))
                change(c, "attack_speed", _scale(current[c.id], "attack_speed", 1.05))
        elif pid == "2026-W44":
            for c in pick(is_("orcish", "Berserker"), 20):
                change(c, "attack", _scale(current[c.id], "attack", 0.95))
                change(c, "health", _scale(current[c.id], "health", 0.97))
        elif pid == "2026-W45":
            for cid, old in w43_ranger_range.items():
                change(roster_by_id(roster, cid), "attack_range", old)
            for c in pick(is_("orcish", "Shaman"), 15):
                w45_shaman_mana[c.id] = current[c.id]["mana"]
                change(c, "mana", _scale(current[c.id], "mana", 1.20))
        elif pid == "2026-W45-hotfix":
            for cid, old in w45_shaman_mana.items():
                change(roster_by_id(roster, cid), "mana", clamp(SCHEMA["mana"], old * 1.10))
        elif pid == "2026-W46":
            for c in pick(arch("support"), 10):
                change(c, "level", clamp(SCHEMA["level"], current[c.id]["level"] + 1))
            for c in roster:
                if c.released_in == pid:
                    current[c.id] = starting_stats(c, rng)
                    fields = {k: v for k, v in c.to_json().items() if k not in ("id",)}
                    new_entries.append({"id": c.id, **fields, "stats": current[c.id]})
        elif pid == "2026-W47":
            for c in pick(arch("skirmisher"), 30):
                change(c, "speed", clamp(SCHEMA["speed"], current[c.id]["speed"] + 10))
            for c in pick(arch("tank"), 25):
                change(c, "speed", clamp(SCHEMA["speed"], current[c.id]["speed"] - 5))
        elif pid == "2026-W48":
            for c in pick(is_("orcish", "Berserker"), 20):
                change(c, "attack", _scale(current[c.id], "attack", 0.96))
                change(c, "crit_chance", _scale(current[c.id], "crit_chance", 0.9))
            for c in pick(is_("elvish", "Loresinger"), 12):
                change(c, "health_regen", _scale(current[c.id], "health_regen", 1.15))
                change(c, "ability_power", _scale(current[c.id], "ability_power", 1.04))
        entries = new_entries + [{"id": cid, "stats": s} for cid, s in sorted(changed.items())]
        for cid, s in changed.items():
            current[cid].update(s)
        patches.append(_patch(plan, entries))
    return patches


def roster_by_id(roster: list[Character], cid: str) -> Character:
    return next(c for c in roster if c.id == cid)


def _patch(plan: tuple[str, str, str, str], entries: list[dict]) -> dict:
    pid, released, kind, notes = plan
    return {"patch": pid, "released": released, "kind": kind, "notes": notes,
            "characters": entries}


def _dump(path: Path, data: object, indent: int | None = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def _dump_patch(path: Path, patch: dict) -> None:
    """One character per line, so that a patch reads (and diffs) like a changelog."""
    head = {k: v for k, v in patch.items() if k != "characters"}
    lines = [json.dumps(e, ensure_ascii=False) for e in patch["characters"]]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "characters": [\n'
    text += ",\n".join(lines) + "\n]}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(out: Path) -> None:
    """Write the whole world into `out`."""
    rng = random.Random(SEED)
    roster = make_roster(rng)
    _dump(out / "factions.json", FACTIONS)
    _dump(out / "schema.json", SCHEMA.to_json())
    _dump(out / "roster.json", [c.to_json() for c in roster])
    for old in (out / "patches").glob("*.json"):
        old.unlink()
    for patch in make_patches(roster, rng):
        _dump_patch(out / "patches" / f"{patch['released']}_{patch['patch']}.json", patch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_WORLD_DIR,
                        help="folder to write (default: characters/data)")
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"wrote the world to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
