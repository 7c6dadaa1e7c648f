"""The examples a question is read against, embedded once: the stats' descriptions, phrasings
and examples and their superlatives (meanings.json), each kind's example questions and the
filler players wrap a question in (intents.json). Also how a text is put before them: its
typos corrected toward the data's words, the game's place, role and faction names read as
common words, and its stat words found (and masked, when its kind is read).

`bot.understand.QuestionReader` decides what a question asks from the scores given here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.intents import IntentData
from bot.nearest import best_by_label, label_groups
from bot.question_text import complete_gapped, mask_terms, names_re, split_clauses
from bot.questions import ABSENT, TermHit, find_all_terms
from bot.roster_words import RosterWords
from bot.spelling import Speller, vocabulary_words, words_of
from characters.world import World
from stats_db.embed import minilm_model_dir

# What the game's own place and role names become, words the embedder knows
# ("what's life like in Varnholt?" reads as "... in the homeland?").
PLACE_WORD = "the homeland"
ROLE_WORD, ROLES_WORD = "hero", "heroes"
# ... and what a faction's words become when the kind is read, so that the frame of the
# question decides ("what do you think of the humans" small talk, "what are dwarves like" lore)
FOLK_WORD = "the folk"
# The kinds whose examples are read with their stat words as written.
UNMASKED_KINDS = frozenset({"unknown_stat"})
# Where a question on several stats splits into clauses, each read for its own stat.
CLAUSE_RE = re.compile(r"\s+and\s+|\s*[,;&/+]\s*|\s+n\s+|\s+plus\s+"
                       r"|\s+(?:along|together)\s+with\s+|\s+as\s+well\s+as\s+", re.IGNORECASE)

Vectors = dict[str, np.ndarray]


class ExampleBank:
    """The embedded examples of the stats and kinds, and the text tidying a question needs
    before it is compared with them."""

    def __init__(self, world: World, data: IntentData, embed: Callable[[list[str]], np.ndarray],
                 roster_words: RosterWords, cache_dir: Path | None = None,
                 english: frozenset[str] | None = None) -> None:
        self.world = world
        self.schema = world.schema
        self.meanings = world.meanings
        self._embed = embed
        self.names = frozenset(words_of(
            t for c in world.characters for t in (c.name, *c.aliases, c.region, c.role)))
        self.english = english if english is not None else vocabulary_words(
            minilm_model_dir() / "vocab.txt")
        stat_texts = [(m.name, t) for m in self.meanings.stats
                      for t in (m.description, *m.phrasings, *m.examples)]
        # The kinds' examples are read as the questions are: with their stat words masked.
        self.places = names_re(c.region for c in world.characters)
        self._role_re = names_re(c.role for c in world.characters)
        # (the short ones, "man" and "men", are everyday words too)
        self._faction_re = names_re(w for words in self.meanings.faction_words.values()
                                    for w in words if len(w) > 3)
        kind_texts = [(k, self.places.sub(PLACE_WORD, t) if k in UNMASKED_KINDS
                       else self.kind_text(self.places.sub(PLACE_WORD, t)))
                      for k, texts in data.intents.items() for t in texts]
        sup_texts = [(f"{m.name}|{d}", t) for m in self.meanings.stats
                     for d, pool in (("most", m.most), ("least", m.least)) for t in pool]
        filler_texts = [("filler", t) for t in data.filler]
        self._stat_groups = label_groups([s for s, _ in stat_texts])
        self._kind_groups = label_groups([k for k, _ in kind_texts])
        self._sup_groups = label_groups([s for s, _ in sup_texts])
        banks = (stat_texts, kind_texts, sup_texts, filler_texts)
        matrix = self._bank([t for bank in banks for _, t in bank], cache_dir)
        ends = np.cumsum([len(bank) for bank in banks])
        self._stats, self._kinds, self._sups, self._filler = np.split(matrix, ends[:-1])
        self.speller = self._speller(
            [t for bank in (stat_texts, sup_texts) for _, t in bank]
            + [t for texts in data.intents.values() for t in texts], roster_words)

    # --- the text ---------------------------------------------------------------------------

    def kind_text(self, text: str, hits: Sequence[TermHit] | None = None) -> str:
        """`text` as its kind is read: stat words, role names and faction words masked."""
        hits = self.scan(text)[0] if hits is None else hits
        return self._faction_re.sub(FOLK_WORD, self._role_re.sub(
            lambda m: ROLES_WORD if m.group().lower().endswith("s") else ROLE_WORD,
            mask_terms(text, hits)))

    def scan(self, text: str) -> tuple[list[TermHit], list[TermHit]]:
        """The stat terms of `text`, and its terms for stats the game lacks ("lifesteal");
        real words and the roster's names are no typos."""
        found = find_all_terms(text, self.schema, self.meanings, self.english, self.names)
        return [h for h in found if h.stat != ABSENT], [h for h in found if h.stat == ABSENT]

    def split(self, text: str) -> tuple[list[TermHit], list[TermHit], str, list[str]]:
        """The stat terms of `text`, its terms for stats the game lacks, the text its kind is
        read from, and its clauses when it has several."""
        hits, absent = self.scan(text)
        clauses = [c for c in split_clauses(text, CLAUSE_RE, [*hits, *absent]) if c.strip()]
        clauses = complete_gapped(clauses, lambda tail: not any(self.scan(tail)))
        return hits, absent, self.kind_text(text, hits), clauses if len(clauses) > 1 else []

    def embed_into(self, vectors_of: Vectors, texts: Sequence[str]) -> None:
        """Embed the texts not embedded yet, in one call."""
        missing = [t for t in dict.fromkeys(texts) if t not in vectors_of]
        if missing:
            embedded = np.asarray(self._embed(missing), dtype=np.float32)
            vectors_of.update(zip(missing, embedded, strict=True))

    # --- the scores -------------------------------------------------------------------------

    def stat_scores(self, vector: np.ndarray) -> dict[str, float]:
        """Each stat's score: its nearest description, phrasing or example."""
        return best_by_label(self._stats @ vector, self._stat_groups)

    def kind_scores(self, masked: np.ndarray, plain: np.ndarray) -> dict[str, float]:
        """Each kind's score: its examples against the question with its stat words masked,
        or as written for a kind whose stat words are part of it ("mana regen", "armour
        penetration" are stats the game does not have)."""
        masked_sims, plain_sims = self._kinds @ masked, self._kinds @ plain
        out = {}
        for label, start, end in self._kind_groups:
            sims = plain_sims if label in UNMASKED_KINDS else masked_sims
            out |= best_by_label(sims, [(label, start, end)], top=2)
        return out

    def nearest_superlative(self, vector: np.ndarray) -> str:
        """The stat whose superlatives ("cheapest", "hits hardest") are nearest."""
        sims = best_by_label(self._sups @ vector, self._sup_groups)
        return max(sims, key=sims.get).split("|")[0]

    def has_filler(self) -> bool:
        return len(self._filler) > 0

    def filler_and_meant(self, vector: np.ndarray) -> tuple[float, float]:
        """How near a part of a question is to the filler examples, and to any question."""
        filler = float((self._filler @ vector).max())
        meant = max(float((self._kinds @ vector).max()), float((self._stats @ vector).max()))
        return filler, meant

    # --- building ---------------------------------------------------------------------------

    def _speller(self, texts: list[str], roster_words: RosterWords) -> Speller:
        """Typos are corrected toward the words of the understanding data; the embedder's
        own whole words and the roster's names, places and lore are never typos."""
        schema_terms = [t for s in self.schema.stats
                        for t in (s.label, s.name.replace("_", " "), *s.synonyms)]
        data = [*texts, *schema_terms,
                *(a for m in self.meanings.stats for a in m.abbreviations),
                *self.meanings.absent_terms,
                *roster_words.faction_words, *roster_words.roles,
                *(f.name for f in self.world.factions)]
        lore = words_of(c.lore for c in self.world.characters)
        return Speller(words_of(data), self.english | self.names | set(lore))

    def _bank(self, texts: list[str], cache_dir: Path | None) -> np.ndarray:
        """The embedded examples, cached on disk by their content (start-up stays fast)."""
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:20]
        path = Path(cache_dir) / "understanding" / f"{digest}.npy" if cache_dir else None
        if path is not None and path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        matrix = np.asarray(self._embed(texts), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, matrix)
            tmp.replace(path)
        return matrix
