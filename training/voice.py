"""The voice judge: a plain, explainable scorer of each faction's traits (see ACCENTS.md).

    voice_score("Me attack 91! Hrokk hungry.", "orcish")   # -> about 1.0
    voice_report("My attack is 91.", "orcish")              # -> the trait scores behind it

Numbers, units and stat labels are never penalised: they are removed before counting. The traits
are data, `characters/voices/<faction>/judge.json`: each trait measures the text one way and
ramps the measure to [0, 1] between `zero` and `one` (`invert` turns it around). Measures:
- `count`: words of `words` (and of the lexicon, with `"lexicon": true`), words with a
  `suffix`, and matches of `patterns`;
- `rate`: that count per word;
- `share`: `words` among `words` and `against` (`neutral` when neither occurs);
- `sentence_length`: the mean number of words per sentence.

A score is the weighted trait mean, calibrated so that plain English scores 0 and the
hand-written voice 1 (`calibration`: the raw means of each). A faction without a voice folder
raises `NoVoiceError`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from characters.voices import NoVoiceError, get_voice

__all__ = ["NoVoiceError", "voice_report", "voice_score"]
MEASURES = ("count", "rate", "share", "sentence_length")
TRAIT_KEYS = {"name", "weight", "measure", "words", "against", "neutral", "lexicon", "suffix",
              "patterns", "zero", "one", "invert"}


def _words(text: str) -> list[str]:
    """Lower-case words, with numbers and unit tokens dropped."""
    return [w.strip("'") if not w.startswith("'t") else w
            for w in re.findall(r"[a-z']+", re.sub(r"[\d.,/%]+\s*(?:hp|mp|gold|/s)?", " ",
                                                   text.lower()))
            if w.strip("'")]


def _sentences(text: str) -> list[list[str]]:
    parts = re.split(r"(?<=[.!?;])\s+", re.sub(r"\d+\.\d+", "0", text.strip()))
    return [w for w in (_words(p) for p in parts) if w]


def _ramp(value: float, zero: float, one: float) -> float:
    """0 at `zero`, 1 at `one`, linear between (either direction)."""
    if zero == one:
        return float(value >= one)
    return max(0.0, min(1.0, (value - zero) / (one - zero)))


def _mean_length(text: str) -> float:
    sentences = _sentences(text)
    return sum(map(len, sentences)) / len(sentences) if sentences else 0.0


@cache
def _judge(faction: str, root: Path | None) -> tuple[tuple[dict[str, Any], ...], float, float]:
    """A faction's traits (word lists as sets, patterns compiled) and its calibration."""
    voice = get_voice(faction, root)
    traits = []
    for raw in voice.judge["traits"]:
        unknown = set(raw) - TRAIT_KEYS
        if unknown or raw.get("measure") not in MEASURES:
            raise NoVoiceError(f"{voice.folder / 'judge.json'}: trait {raw.get('name')!r}: "
                               f"unknown keys {sorted(unknown)} or measure (one of {MEASURES})")
        words = {w.lower() for w in raw.get("words", ())}
        if raw.get("lexicon"):
            words |= {e.word.lower() for e in voice.lexicon}
        traits.append({**raw, "words": frozenset(words),
                       "against": frozenset(w.lower() for w in raw.get("against", ())),
                       "patterns": tuple(re.compile(p, re.IGNORECASE)
                                         for p in raw.get("patterns", ()))})
    calibration = voice.judge["calibration"]
    return tuple(traits), float(calibration["plain"]), float(calibration["voiced"])


def _count(trait: dict[str, Any], text: str, words: list[str]) -> int:
    found = sum(w in trait["words"] for w in words)
    suffix = trait.get("suffix")
    if suffix:
        found += sum(len(w) > suffix["longer_than"] and w.endswith(suffix["ending"])
                     and w not in suffix["except"] for w in words)
    return found + sum(len(p.findall(text)) for p in trait["patterns"])


def _measure(trait: dict[str, Any], text: str, words: list[str]) -> float:
    kind = trait["measure"]
    if kind == "sentence_length":
        value = _mean_length(text)
    elif kind == "share":
        own = sum(w in trait["words"] for w in words)
        other = sum(w in trait["against"] for w in words)
        return own / (own + other) if own + other else float(trait.get("neutral", 0.5))
    else:
        value = _count(trait, text, words)
        if kind == "rate":
            value /= max(1, len(words))
    scaled = _ramp(value, trait["zero"], trait["one"])
    return 1.0 - scaled if trait.get("invert") else scaled


def voice_report(text: str, faction: str, voices: Path | None = None) -> dict[str, float]:
    """Every trait score in [0, 1], the weighted trait mean `raw` and the calibrated `score`."""
    traits, plain, voiced = _judge(faction, voices)
    words = _words(text)
    if not words:
        return {"raw": 0.0, "score": 0.0}
    scored = {t["name"]: (_measure(t, text, words), float(t["weight"])) for t in traits}
    raw = sum(v * w for v, w in scored.values()) / sum(w for _, w in scored.values())
    score = _ramp(raw, plain, voiced)
    return {**{k: round(v, 4) for k, (v, _) in scored.items()}, "raw": round(raw, 4),
            "score": round(score, 4)}


def voice_score(text: str, faction: str, voices: Path | None = None) -> float:
    """How strongly `text` carries the faction's voice, in [0, 1]."""
    return voice_report(text, faction, voices)["score"]
