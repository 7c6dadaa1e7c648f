"""Faction voices as data: one folder per faction under `characters/voices/<faction>/`.

    get_voice("orcish").lexicon          # the invented words, with their glosses
    voiced_factions()                    # every faction that has a voice folder
    get_voice("goblin", Path("/tmp/v"))  # a voice from another folder (a test's made-up one)

A voice folder holds five files, and no code knows any faction by name:

| file | what |
|---|---|
| `lines.json` | the hand-written core lines the dialogue data is grown from |
| `lexicon.json` | the invented words, each with a gloss |
| `judge.json` | the voice judge's traits, weights and calibration (training/voice.py) |
| `phrasebook.json` | the template answers' phrases (bot/fallback.py) |
| `style.json` | the embed colour, the prompted-base evaluation's style rules, the lore grammar |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VOICES_DIR = Path(__file__).resolve().parent / "voices"
VOICE_FILES = ("lines.json", "lexicon.json", "judge.json", "phrasebook.json", "style.json")


class NoVoiceError(ValueError):
    """The faction has no voice folder, so there is nothing to speak or judge it by."""


@dataclass(frozen=True)
class LexiconEntry:
    """One invented word of a faction and what it means."""

    word: str
    gloss: str


@dataclass(frozen=True)
class LoreGrammar:
    """How a voice retells lore: words dropped, words replaced, first letter capitalised."""

    drop_words: tuple[str, ...] = ()
    replace_words: tuple[tuple[str, str], ...] = ()
    capitalise: bool = False

    def apply(self, text: str) -> str:
        """`text` in this grammar ("the axe" -> "axe" for a voice that drops articles)."""
        out = text
        if self.drop_words:
            words = "|".join(map(re.escape, self.drop_words))
            out = re.sub(rf"\b(?:{words})\s+", "", out, flags=re.IGNORECASE)
        if self.replace_words:
            table = dict(self.replace_words)
            words = "|".join(map(re.escape, table))
            out = re.sub(rf"\b({words})\b", lambda m: table[m.group(1)], out)
        return out[:1].upper() + out[1:] if self.capitalise else out


@dataclass(frozen=True)
class Voice:
    """Everything that makes one faction's voice, read from its folder."""

    faction: str
    folder: Path
    lines: dict[str, Any]
    lexicon: tuple[LexiconEntry, ...]
    judge: dict[str, Any]
    phrasebook: dict[str, Any]
    colour: int
    prompt_rules: str
    lore_grammar: LoreGrammar


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NoVoiceError(f"{path}: missing (a voice folder holds {', '.join(VOICE_FILES)})"
                           ) from exc
    except json.JSONDecodeError as exc:
        raise NoVoiceError(f"{path}: not valid JSON: {exc}") from exc


def load_voice(faction: str, root: Path | None = None) -> Voice:
    """Read one faction's voice folder (no cache; see `get_voice`)."""
    folder = Path(root or VOICES_DIR) / faction
    if not folder.is_dir():
        raise NoVoiceError(f"faction {faction!r} has no voice folder ({folder})")
    style = _read(folder / "style.json")
    unknown = set(style) - {"colour", "prompt_rules", "lore_grammar"}
    if unknown:
        raise NoVoiceError(f"{folder / 'style.json'}: unknown keys {sorted(unknown)}")
    grammar = style.get("lore_grammar", {})
    return Voice(
        faction=faction, folder=folder, lines=_read(folder / "lines.json"),
        lexicon=tuple(LexiconEntry(e["word"], e["gloss"])
                      for e in _read(folder / "lexicon.json")),
        judge=_read(folder / "judge.json"), phrasebook=_read(folder / "phrasebook.json"),
        colour=int(style["colour"].removeprefix("#"), 16), prompt_rules=style["prompt_rules"],
        lore_grammar=LoreGrammar(tuple(grammar.get("drop_words", ())),
                                 tuple(grammar.get("replace_words", {}).items()),
                                 bool(grammar.get("capitalise", False))),
    )


@cache
def _cached(faction: str, root: Path) -> Voice:
    return load_voice(faction, root)


def get_voice(faction: str, root: Path | None = None) -> Voice:
    """A faction's voice, read once per process and folder; `NoVoiceError` when it has none."""
    return _cached(faction, Path(root or VOICES_DIR).resolve())


def voiced_factions(root: Path | None = None) -> list[str]:
    """Every faction with a voice folder, sorted."""
    folder = Path(root or VOICES_DIR)
    return sorted(p.parent.name for p in folder.glob("*/lines.json"))


def lexicons(root: Path | None = None) -> dict[str, tuple[LexiconEntry, ...]]:
    """Every voiced faction's lexicon, by faction."""
    return {f: get_voice(f, root).lexicon for f in voiced_factions(root)}
