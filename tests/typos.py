"""A typo generator for testing name resolution. It shares no code with the resolver."""

from __future__ import annotations

import random

KEYBOARD_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


def _letter_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalpha()]


def drop_letter(text: str, rng: random.Random) -> str:
    i = rng.choice(_letter_positions(text)[1:])
    return text[:i] + text[i + 1 :]


def double_letter(text: str, rng: random.Random) -> str:
    i = rng.choice(_letter_positions(text))
    return text[: i + 1] + text[i] + text[i + 1 :]


def swap_neighbours(text: str, rng: random.Random) -> str:
    spots = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def fat_finger(text: str, rng: random.Random) -> str:
    spots = [i for i in _letter_positions(text)[1:] if text[i].lower() in KEYBOARD_NEIGHBOURS]
    i = rng.choice(spots)
    return text[:i] + rng.choice(KEYBOARD_NEIGHBOURS[text[i].lower()]) + text[i + 1 :]


def strip_punctuation(text: str, rng: random.Random) -> str:
    return text.replace("'", "").replace("-", rng.choice(["", " "]))


def shout_or_whisper(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.3 else text.lower()


def strip_accents(text: str, rng: random.Random) -> str:
    table = str.maketrans("ëéèêíîïóöôúüáàâ", "eeeeiiiooouuaaa")
    return text.translate(table)


EDITS = [drop_letter, double_letter, swap_neighbours, fat_finger]
COSMETIC = [strip_punctuation, shout_or_whisper, strip_accents]


def typo(name: str, rng: random.Random) -> str:
    """`name` with one or two real edits, and maybe a cosmetic change (case, accents, '-)."""
    text = name
    for edit in rng.sample(EDITS, rng.choice([1, 2])):
        text = edit(text, rng)
    if rng.random() < 0.5:
        text = rng.choice(COSMETIC)(text, rng)
    return text
