"""Name resolution: id, name, alias, first name, fuzzy; suggestions for unknown names."""

from __future__ import annotations

import random

import pytest

from characters.resolve import NameResolver, fold, resolve_character
from tests.typos import typo


@pytest.fixture(scope="module")
def resolver(world) -> NameResolver:
    return NameResolver(world.characters)


def test_exact_id(world, resolver):
    c = world.characters[10]
    r = resolver.resolve(c.id)
    assert (r.character, r.method, r.confidence) == (c, "id", 1.0)


def test_name_ignores_case_accents_and_punctuation(world, resolver):
    accented = next(c for c in world.characters if fold(c.name) != c.name.lower())
    plain = fold(accented.name).upper()
    r = resolver.resolve(plain)
    assert r.character == accented and r.method == "name"
    apostrophe = next(c for c in world.characters if "'" in c.name)
    assert resolver.resolve(apostrophe.name.replace("'", "")).character == apostrophe


def test_alias_and_unique_first_name(world, resolver):
    with_alias = next(c for c in world.characters if c.aliases)
    r = resolver.resolve(with_alias.aliases[0].lower())
    assert r.character == with_alias and r.method == "alias"
    firsts = [c.first_name.lower() for c in world.characters]
    unique = next(c for c in world.characters if firsts.count(c.first_name.lower()) == 1
                  and c.first_name.lower() not in {a.lower() for x in world.characters
                                                   for a in x.aliases})
    assert resolver.resolve(unique.first_name).character == unique


def test_unknown_name_offers_five_closest(resolver):
    r = resolver.resolve("Qwxzv Plorbnik")
    assert r.character is None and r.method in ("unknown", "ambiguous")
    assert len(r.suggestions) == 5


def test_shared_first_name_is_ambiguous_not_guessed(world, resolver):
    firsts: dict[str, list] = {}
    for c in world.characters:
        firsts.setdefault(c.first_name, []).append(c)
    shared = next(name for name, cs in firsts.items() if len(cs) > 1)
    r = resolver.resolve(shared)
    if r.character is not None:  # an alias may legitimately own this exact word
        assert r.method == "alias"
    else:
        assert {c.id for c in firsts[shared]} & {c.id for c in r.suggestions}


def test_empty_and_hostile_input(resolver):
    assert resolver.resolve("").character is None
    assert resolver.resolve("@everyone").character is None
    assert resolver.resolve("**<@123>**").character is None


def test_typo_accuracy_at_least_99_percent(world, resolver):
    rng = random.Random(1234)
    cases = [(c, typo(c.name, rng)) for c in world.characters for _ in range(3)]
    assert len(cases) >= 1000
    wrong = [(c.name, t, r.method) for c, t in cases
             if (r := resolver.resolve(t)).character != c]
    accuracy = 1 - len(wrong) / len(cases)
    assert accuracy >= 0.99, (accuracy, wrong[:20])


def test_typo_never_resolves_to_the_wrong_character_confidently(world, resolver):
    rng = random.Random(99)
    for c in world.characters:
        r = resolver.resolve(typo(c.name, rng))
        if r.character is not None and r.character != c:
            pytest.fail(f"{c.name} resolved to {r.character.name} ({r.confidence:.2f})")


def test_suggest_is_bounded_and_typo_tolerant(world, resolver):
    c = world.characters[42]
    hits = resolver.suggest(c.name[:-2].lower(), limit=25)
    assert len(hits) <= 25 and hits[0] == c


def test_module_function_uses_shipped_roster(world):
    c = world.characters[0]
    assert resolve_character(c.name).character == c
