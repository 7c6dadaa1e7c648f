"""Text folding shared by name resolution and the stat terms: one way to compare words."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: "Fëa-riel  X" -> "fea riel x"."""
    decomposed = unicodedata.normalize("NFKD", text)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch) or ch in "'’`":
            continue
        out.append(ch.lower() if ch.isalnum() else " ")
    return " ".join("".join(out).split())
