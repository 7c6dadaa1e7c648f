"""Name resolution speed: the mean time of one `resolve_character` over the 500 roster names.

Three passes: exact names, names with one typo (the fuzzy path), and unknown names.
Target: under 1 ms per resolution.
"""

from __future__ import annotations

import random
import time

from characters.resolve import NameResolver
from characters.world import get_world


def _one_typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name))
    return name[:i] + name[i + 1 :]


def _mean_ms(resolver: NameResolver, queries: list[str], repeats: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        for q in queries:
            resolver.resolve(q)
    return (time.perf_counter() - started) / (repeats * len(queries)) * 1000


def run() -> dict[str, object]:
    world = get_world()
    resolver = NameResolver(world.characters)
    rng = random.Random(0)
    names = [c.name for c in world.characters]
    typos = [_one_typo(n, rng) for n in names]
    unknown = [f"Zzq{n[::-1]}" for n in names]
    resolver.resolve(names[0])
    return {
        "characters": len(names),
        "exact_name_mean_ms": round(_mean_ms(resolver, names), 4),
        "one_typo_mean_ms": round(_mean_ms(resolver, typos), 4),
        "unknown_mean_ms": round(_mean_ms(resolver, unknown), 4),
        "target_ms": 1.0,
    }
