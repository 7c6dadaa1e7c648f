"""The voice judge: a plain, explainable scorer of each faction's traits (see ACCENTS.md).

    voice_score("Me attack 91! Hrokk hungry.", "orcish")   # -> about 1.0
    voice_report("My attack is 91.", "orcish")              # -> the trait scores behind it

Numbers, units and stat labels are never penalised: they are removed before counting. A score
is the mean of the faction's marker traits (what plain English never does: Orcish "me" for "I",
Elvish archaic forms, the invented lexicon), scaled by its rhythm traits (article rate, sentence
length, exclamations or forms of address). Plain English scores near 0; a faction without a voice
raises `NoVoiceError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from characters.world import get_world

PLAIN_ORC, VOICED_ORC = 0.3, 0.6
PLAIN_ELF, VOICED_ELF = 0.25, 0.5
ARTICLES = frozenset({"a", "an", "the"})
ARCHAIC = frozenset({
    "thee", "thou", "thy", "thine", "'tis", "'twas", "doth", "hath", "art", "ye", "shalt",
    "wilt", "dost", "hast", "naught", "ere", "unto", "mine", "wouldst", "canst", "shouldst",
    "whence", "hither", "thence", "nay", "aye",
})
ETH_NOT_ARCHAIC = frozenset({"teeth", "seth", "beneath", "elizabeth", "macbeth"})
MODERN_YOU = frozenset({"you", "your", "yours", "you're", "you've", "you'll", "yourself"})
ORC_SELF = frozenset({"me"})
PLAIN_SELF = frozenset({"i", "i'm", "i've", "i'll", "i'd", "my", "myself", "mine"})
GROWLS = re.compile(r"\b(?:g+r+a*h*|h+r+[mk]+|bah|pah|hah|harr|urgh|oi)\b", re.IGNORECASE)
ADDRESS = frozenset({"friend", "traveller", "traveler", "wanderer", "young", "stranger", "guest",
                     "vaelor"})
IMAGERY = frozenset({
    "star", "stars", "starlight", "leaf", "leaves", "river", "rivers", "season", "seasons",
    "moon", "dawn", "dusk", "forest", "tree", "trees", "wind", "spring", "autumn", "winter",
    "bough", "boughs", "light", "song", "songs", "sky", "memory", "ancient", "elder", "oak",
})


class NoVoiceError(ValueError):
    """The faction has no trained voice, so there is nothing to judge."""


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


@cache
def _lexicon(faction: str) -> frozenset[str]:
    entries = get_world().lexicons.get(faction)
    if not entries:
        raise NoVoiceError(f"faction {faction!r} has no voice (no lexicon to judge by)")
    return frozenset(e.word.lower() for e in entries)


def _mean_length(text: str) -> float:
    sentences = _sentences(text)
    return sum(map(len, sentences)) / len(sentences) if sentences else 0.0


COPULA = frozenset({"is", "are", "am", "was", "were", "be", "been", "being"})
SCORN = frozenset({"puny", "soft", "weak", "little", "tiny", "coward", "cowards", "snikk",
                   "skarn", "weakling", "worm", "worms", "small"})


def _orcish(text: str) -> dict[str, tuple[float, float]]:
    words = _words(text)
    n = max(1, len(words))
    own = sum(w in ORC_SELF for w in words)
    plain = sum(w in PLAIN_SELF for w in words)
    return {  # trait: (score, weight)
        "self_as_me": (own / (own + plain) if own + plain else 0.5, 2.0),
        "lexicon": (_ramp(sum(w in _lexicon("orcish") for w in words), 0, 1), 2.0),
        "growl_or_scorn": (float(bool(GROWLS.search(text)) or any(w in SCORN for w in words)),
                           1.0),
        "no_articles": (1.0 - _ramp(sum(w in ARTICLES for w in words) / n, 0.0, 0.08), 1.0),
        "no_to_be": (1.0 - _ramp(sum(w in COPULA for w in words) / n, 0.0, 0.08), 1.0),
        "short_sentences": (1.0 - _ramp(_mean_length(text), 7, 14), 1.0),
        "exclamation": (float("!" in text), 1.0),
    }


def _elvish(text: str) -> dict[str, tuple[float, float]]:
    words = _words(text)
    n = max(1, len(words))
    archaic = sum(w in ARCHAIC for w in words) + sum(
        len(w) > 4 and w.endswith("eth") and w not in ETH_NOT_ARCHAIC for w in words)
    archaic += len(re.findall(r"\bthou\s+\w+est\b", text.lower()))
    return {  # trait: (score, weight)
        "archaic_forms": (_ramp(archaic, 0, 2), 2.0),
        "lexicon": (_ramp(sum(w in _lexicon("elvish") for w in words), 0, 1), 2.0),
        "no_modern_you": (1.0 - _ramp(sum(w in MODERN_YOU for w in words) / n, 0.0, 0.06), 1.0),
        "long_sentences": (_ramp(_mean_length(text), 6, 14), 1.0),
        "address": (_ramp(sum(w in ADDRESS for w in words), 0, 1), 1.0),
        "imagery": (_ramp(sum(w in IMAGERY for w in words), 0, 1), 1.0),
    }


JUDGES: dict[str, Callable[[str], dict[str, tuple[float, float]]]] = {
    "orcish": _orcish, "elvish": _elvish,
}
#: The weighted trait mean of plain English answers (score 0) and of the hand-written voice
#: (score 1); see tests/test_training_voice.py for the references they were measured on.
CALIBRATION = {"orcish": (PLAIN_ORC, VOICED_ORC), "elvish": (PLAIN_ELF, VOICED_ELF)}


def voice_report(text: str, faction: str) -> dict[str, float]:
    """Every trait score in [0, 1], the weighted trait mean `raw` and the calibrated `score`."""
    judge = JUDGES.get(faction)
    if judge is None:
        raise NoVoiceError(f"faction {faction!r} has no voice judge (voiced: {sorted(JUDGES)})")
    if not _words(text):
        return {"raw": 0.0, "score": 0.0}
    traits = judge(text)
    raw = sum(v * w for v, w in traits.values()) / sum(w for _, w in traits.values())
    plain, voiced = CALIBRATION[faction]
    score = _ramp(raw, plain, voiced)
    return {**{k: round(v, 4) for k, (v, _) in traits.items()}, "raw": round(raw, 4),
            "score": round(score, 4)}


def voice_score(text: str, faction: str) -> float:
    """How strongly `text` carries the faction's voice, in [0, 1]."""
    return voice_report(text, faction)["score"]
