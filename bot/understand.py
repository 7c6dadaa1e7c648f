"""Question understanding by meaning: which stats a question is about and what kind it is.

First the words are tidied, by mechanisms over data: typos of the data's words are corrected
(`bot.spelling`), the game's place and role names read as common words, and the filler a
player wraps a question in ("real quick,", "if you don't mind") is left out when it is nearer
intents.json's filler examples than any question. Then two steps, both over data in
`characters/data/`:
1. Exact: the stats' labels, names, synonyms (schema.json) and abbreviations (meanings.json),
   patch ids, and the roster's names. Cheap, and right whenever they match.
2. Meaning: the question is embedded with the MiniLM embedder the index already loads and
   compared with the stats' descriptions, phrasings and examples (meanings.json) and with example
   questions of each kind (intents.json). A measured threshold decides that a question names
   no stat; a measured margin decides that it names two (`Thresholds`, set by
   `python -m bench understand --tune` on the tuning part of the understanding set only).

The embedded examples and the tidying of the text live in `bot.example_bank`; this module
decides from their scores. A comparison needs a real character's name; a follow-up ("and your
defense?", "what about as of W44?") takes what it leaves out from the question before it
(`bot.reading`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.example_bank import PLACE_WORD, ExampleBank, Vectors
from bot.intents import Thresholds, load_intents
from bot.question_text import (
    compares_with_past,
    fold_cached,
    has_compound,
    past_comparison_re,
    without_name,
)
from bot.questions import (
    PATCH_RE,
    SHORT_PATCH_RE,
    SINCE_RE,
    WEEK_RE,
    TermHit,
    find_patch,
    narrower_terms,
)
from bot.reading import Understanding, follow
from bot.roster_words import RosterAsk, RosterWords
from bot.spelling import Speller
from characters.world import Character, World

log = logging.getLogger(__name__)

THAN_RE = re.compile(r"\bthan\b", re.IGNORECASE)
# The words that put a stat word as the order of a ranking: "top 3 elven rangers by range".
ORDER_BY_RE = re.compile(r"\b(?:sorted |ranked |ordered )?by (?:(?:their|the|its) )?$",
                         re.IGNORECASE)
# A short clause that sets a stat aside ("not your mana, i mean how strong are the spells",
# "raw damage, not spells"); "not only" and "not just" add rather than set aside.
NOT_CLAUSE_RE = re.compile(r"^\s*(?:but\s+)?not\s+(?!only\b|just\b)(?:\S+\s*){1,3}$",
                           re.IGNORECASE)
# A patch as written ("2026-W45", "w45", "week 45", "the week 45 hotfix"): left out of the
# words that are read for their meaning.
PATCH_WORDS_RE = re.compile("|".join(f"(?:{p.pattern})(?:\\s*\\bhot-?fix\\b)?"
                                     for p in (PATCH_RE, SHORT_PATCH_RE, WEEK_RE)),
                            re.IGNORECASE)
# Where a question splits into parts, each of which may be filler around it.
SEGMENT_RE = re.compile(r"(?<=[,.:;!?])\s+|\s+(?=\bif\b)|(?<=\bbut)\s+", re.IGNORECASE)
# The kinds that name no stat, and the threshold of each that says by how much it must be
# nearer than any stat to win.
KIND_MARGINS = {"lore": "lore_over", "smalltalk": "smalltalk_over",
                "unknown_stat": "unknown_over", "all_stats": "all_over"}
# The kinds that talk rather than ask about the numbers: words that make another question
# one about a stat the game lacks ("luck") or about changes ("than before") do not here.
TALK_KINDS = frozenset({"lore", "smalltalk"})


class QuestionReader:
    """Reads a question against the stat meanings and the kinds' examples (embedded once)."""

    def __init__(self, world: World, embed: Callable[[list[str]], np.ndarray],
                 cache_dir: Path | None = None, thresholds: Thresholds | None = None,
                 english: frozenset[str] | None = None) -> None:
        self.world = world
        self.schema = world.schema
        self.meanings = world.meanings
        data = load_intents(world.root)
        self.thresholds = thresholds or data.thresholds
        self._past = past_comparison_re(data.comparing_words, data.past_words)
        self._roster_words = RosterWords(world)
        self._narrower_terms = narrower_terms(self.schema, self.meanings)
        self.bank = ExampleBank(world, data, embed, self._roster_words, cache_dir, english)

    @property
    def speller(self) -> Speller:
        return self.bank.speller

    def semantic_stats(self, stat_scores: dict[str, float]) -> tuple[str, ...]:
        """The one or two stats the meaning step finds, or none below the threshold."""
        ranked = sorted(stat_scores.items(), key=lambda kv: -kv[1])
        (best, score), (second, score2) = ranked[0], ranked[1]
        if score < self.thresholds.stat:
            return ()
        if score - score2 <= self.thresholds.second and score2 >= self.thresholds.stat:
            return tuple(n for n in self.schema.names if n in (best, second))
        return (best,)

    # --- reading ----------------------------------------------------------------------------

    def read(self, text: str, known_patches: Sequence[str] = (),
             find_other: Callable[[str], Character | None] | None = None,
             previous: Understanding | None = None) -> Understanding:
        """Everything `text` asks; `find_other` finds a real character named in it, and
        `previous` is the question before it in the same conversation (for follow-ups)."""
        spelled = self.speller.correct(text)  # "sincce W45" is "since W45"
        patch, since = find_patch(spelled, known_patches), None
        match = SINCE_RE.search(spelled)
        if match and find_patch(spelled[match.start():], known_patches):
            since = find_patch(spelled[match.start():], known_patches)
            patch = find_patch(spelled[: match.start()], known_patches)
        than = THAN_RE.search(spelled)
        # "weaker than in W44": a patch the question measures against is where changes start
        than_patch = since is None and than is not None and \
            find_patch(spelled[than.end():], known_patches) is not None
        other = find_other(text) if find_other else None
        # The meaning of the words, without the patch ids, the other character's name, typos
        # and the filler around the question ("real quick,", "if you don't mind"); the kind
        # is read with the stat words masked ("has your <stat> changed?"), and each clause of
        # a question on several stats on its own.
        plain = PATCH_WORDS_RE.sub(" ", spelled)
        if other is not None:
            plain = without_name(plain, other)
        plain = self.bank.places.sub(PLACE_WORD, " ".join(plain.split()) or spelled)
        vectors_of: Vectors = {}
        parts = [p for p in SEGMENT_RE.split(plain) if p.strip()] if self.bank.has_filler() else []
        parts = parts if len(parts) > 1 else []
        hits, absent, masked, clauses = self.bank.split(plain)
        self.bank.embed_into(vectors_of, [plain, masked, *clauses, *parts])  # one call, mostly
        kept = self._without_filler(plain, parts, vectors_of)
        if kept != plain:
            plain = kept
            hits, absent, masked, clauses = self.bank.split(plain)
            self.bank.embed_into(vectors_of, [plain, masked, *clauses])
        vector = vectors_of[plain]
        stat_scores = self.bank.stat_scores(vector)
        kind_scores = self.bank.kind_scores(vectors_of[masked], vector)
        exact = self._exact(plain, hits, stat_scores, clauses)
        semantic = self.semantic_stats(stat_scores)
        by_clause, dropped, surest_clause = self._clause_stats(clauses, hits, vectors_of)
        negated = self._set_aside(clauses, vectors_of)
        if hits and not exact and not by_clause:
            # its everyday stat words name no stat ("what was life like before the war"):
            # the kind is read from the words as written
            masked = self.bank.kind_text(plain, ())
            self.bank.embed_into(vectors_of, [masked])
            kind_scores = self.bank.kind_scores(vectors_of[masked], vector)
        semantic = tuple(dict.fromkeys((*semantic, *by_clause)))
        # In a question about what changed, the change words pull the meaning about ("did your
        # health go down" is nearer Health regen than Health), so a stat word named there
        # gives way to no narrower stat.
        exact = self._prefer_meaning(exact, stat_scores, hits, plain,
                                     narrowing=max(kind_scores, key=kind_scores.get) != "changes")
        if not clauses:
            exact = self._one_asked(exact, stat_scores)
        if exact and (dropped or any(s not in exact for s in by_clause)):
            exact = tuple(n for n in self.schema.names
                          if n in (*exact, *by_clause) and n not in dropped)
        # a question on several stats is as near a stat as its surest clause
        best_stat = max(*stat_scores.values(), surest_clause)
        past = compares_with_past(plain, self._past)
        kind, talk = self._nearest_kind(kind_scores, best_stat, bool(exact), past,
                                        than is not None and not past and not than_patch)
        # Two stat words run together ("mana regen", "crit damage") may be one stat the game
        # does not have: then the unknown kind need only come this close to the nearest.
        compound = has_compound(plain, hits)
        if compound and \
                kind_scores["unknown_stat"] >= kind_scores[kind] - self.thresholds.compound:
            kind = "unknown_stat"
        if negated:  # what a "not X" clause sets aside, unless nothing else is asked
            kept = (tuple(s for s in exact if s not in negated),
                    tuple(s for s in semantic if s not in negated))
            if any(kept):
                exact, semantic = kept
        stats = exact or semantic
        base = dict(text=text, patch=patch, since=since, stat_scores=stat_scores,
                    kind_scores=kind_scores, vector=vector)
        if other is not None:
            return follow(Understanding(kind="compare", stats=stats, other=other, **base),
                          previous)
        if not exact and self._lacks_stat(absent, kind_scores, kind, talk):  # "armor pen?"
            return follow(Understanding(kind="unknown_stat", **base), previous)
        chatter = kind == "smalltalk" and self._kind_wins(
            kind, kind_scores[kind], best_stat, bool(exact))
        plain_named = {h.stat for h in hits if not self._weak(plain, h)}
        ranked = tuple(sorted(exact, key=lambda s: s not in plain_named))  # "rank ... by defense"
        roster = None if chatter else self._roster(plain, ranked, semantic, vector,
                                                   kind_scores["roster"], kind == "roster")
        if roster is not None:
            return Understanding(kind="roster", stats=(roster.stat,), roster=roster, **base)
        if kind == "roster":
            kind = "stat"
        nearer = best_stat - kind_scores[kind] >= self.thresholds.over
        if kind == "changes" or since is not None or than_patch:
            if since is None and patch is not None and than is not None:
                base.update(since=patch, patch=None)  # "weaker than in W44": since W44
            reading = Understanding(kind="changes", stats=stats, **base)
        elif kind in KIND_MARGINS and self._kind_wins(kind, kind_scores[kind], best_stat,
                                                      bool(exact) and not compound):
            reading = Understanding(kind="all" if kind == "all_stats" else kind, **base)
        elif exact:
            reading = Understanding(kind="stats", stats=exact, **base)
        elif kind == "stat" or (semantic and nearer):
            reading = Understanding(kind="stats" if semantic else "all", stats=semantic, **base)
        elif kind == "all_stats":
            reading = Understanding(kind="all", **base)
        else:
            reading = Understanding(kind=kind, **base)
        return follow(reading, previous)

    def _clause_stats(self, clauses: Sequence[str], hits: Sequence[TermHit],
                      vectors_of: Vectors,
                      ) -> tuple[list[str], set[str], float]:
        """Each clause of a question on several stats read on its own: the stats a clause
        adds (one with no stat word, or only everyday ones its meaning does not confirm,
        that is sure of its stat: "how much damage can you absorb"; one whose everyday stat
        word its own meaning confirms, "mana capacity and life points"; a narrower stat its
        meaning prefers, "price and health recovery rate"), the stat words the clauses read
        as another stat or as none, and how sure the surest clause that adds a stat is. Only
        stats of the whole question's words count ("hp/s" is no "hp")."""
        added: list[str] = []
        named: set[str] = {h.stat for h in hits}
        kept_by: list[tuple[str, ...]] = []
        swapped: set[str] = set()
        surest = 0.0
        for clause in clauses:
            scores = self.bank.stat_scores(vectors_of[clause])
            own, absent = self.bank.scan(clause)
            if not own and absent:
                continue  # "lifesteal and hp": a stat the game lacks adds none
            read = self._exact(clause, own, scores, [clause]) if own else ()
            swapped.update(h.stat for h in own if h.stat not in read)  # its meaning says no
            if not read:
                found = max(scores, key=scores.get)
                if scores[found] >= self.thresholds.clause:
                    added.append(found)
                    surest = max(surest, scores[found])
                continue
            preferred = self._prefer_meaning(read, scores, own, clause)
            if preferred != read:
                swapped.update(read)
            kept = tuple(s for s in preferred if s in named or s in self._narrower(hits))
            kept_by.append(kept)
            added += kept
            surest = max([surest, *(scores[s] for s in kept)])
        dropped = {s for s in swapped if not any(s in kept for kept in kept_by)}
        return added, dropped, surest

    def _set_aside(self, clauses: Sequence[str], vectors_of: Vectors) -> set[str]:
        """The stats a short "not X" clause names, by its words or by its meaning ("not
        spells"), when the question has other clauses."""
        out: set[str] = set()
        for clause in clauses if len(clauses) > 1 else ():
            if NOT_CLAUSE_RE.match(clause):
                own = self.bank.scan(clause)[0]
                scores = self.bank.stat_scores(vectors_of[clause])
                best = max(scores, key=scores.get)
                out |= {h.stat for h in own} or (
                    {best} if scores[best] >= self.thresholds.clause else set())
        return out

    def _nearest_kind(self, kind_scores: dict[str, float], best_stat: float, named: bool,
                      past: bool, against_other: bool) -> tuple[str, bool]:
        """The kind of question, and whether it is talk (lore or small talk that wins by its
        margin). What changed wins when it comes this close to the nearest, or when the
        question measures against its own past ("do you crit more than you used to?") and is
        no talk; never when it measures against something else ("stronger than my mom"), nor
        by its examples alone when a stat is far nearer ("how many spells before you run
        dry" is no "weaker than before")."""
        far = kind_scores["changes"] - best_stat < self.thresholds.changes_over
        # Nor when the question is as near one stat's own phrasings as the meaning is sure of,
        # and nearer than to any example of a change, with no word of the past: "are you
        # cheap" is no "are you cheaper than you were".
        sure = not past and best_stat >= self.thresholds.sure and \
            best_stat > kind_scores["changes"] + self.thresholds.changes_bias
        kinds = {k: v for k, v in kind_scores.items()
                 if not (k == "changes" and (against_other or sure or (far and not past)))}
        kind = max(kinds, key=kinds.get)
        talk = kind in TALK_KINDS and self._kind_wins(kind, kinds[kind], best_stat, named)
        if "changes" in kinds and (
                kinds["changes"] >= kinds[kind] - self.thresholds.changes_bias
                or (past and not talk)):
            kind, talk = "changes", False
        return kind, talk

    def _lacks_stat(self, absent: Sequence[TermHit], kind_scores: dict[str, float],
                    kind: str, talk: bool) -> bool:
        """Whether the words name a stat the game does not have: a term of one, or one that
        is also an everyday word ("luck", "block") when the question is no talk and the
        unknown kind comes this close to the nearest ("good luck out there", "your whole
        stat block" are none)."""
        near = not talk and kind_scores["unknown_stat"] >= \
            kind_scores[kind] - self.thresholds.compound
        return any(h.raw not in self.meanings.ambiguous_terms or near for h in absent)

    def _kind_wins(self, kind: str, score: float, best_stat: float, named: bool) -> bool:
        """Whether a kind with no stat (lore, small talk, ...) is this much nearer than any
        stat, by its own margin, and by more when the words name a stat ("armour
        penetration?" is no Defense question)."""
        margin = getattr(self.thresholds, KIND_MARGINS[kind]) + \
            (self.thresholds.named_over if named else 0.0)
        return score - best_stat >= margin

    def _without_filler(self, text: str, parts: Sequence[str],
                        vectors_of: Vectors) -> str:
        """`text` without its parts that are nearer the filler examples than any question
        ("hey so quick question,", "if you don't mind"); all of it when all of it is."""
        kept = []
        for part in parts:
            filler, meant = self.bank.filler_and_meant(vectors_of[part])
            if filler < self.thresholds.filler or filler <= meant:
                kept.append(part)
        return " ".join(kept) if kept and len(kept) < len(parts) else text

    def _narrower(self, hits: Sequence[TermHit], stat: str | None = None) -> frozenset[str]:
        """The stats narrower than the terms written (of `stat`): "hp regen" holds "hp", but
        "damage reduction" does not hold "atk", though both "damage" and "atk" are Attack."""
        return frozenset(s for h in hits if stat is None or h.stat == stat
                         for s in self._narrower_terms.get(fold_cached(h.raw), ()))

    def _prefer_meaning(self, exact: tuple[str, ...], stat_scores: dict[str, float],
                        hits: Sequence[TermHit] = (), text: str = "", narrowing: bool = True,
                        ) -> tuple[str, ...]:
        """One stat word whose meaning the question does not carry ("how fast do you attack"
        names Attack, means Attack speed) gives way to the stat the meaning is sure of, or
        to a narrower stat ("hp" and "hp regen") the meaning is surer of: by the measured
        margin, or at all when the word is weak evidence ("how snappy are your attacks"). A
        term of several words ("attack power", "hp/s") says what it means, and stays."""
        if len(exact) != 1 or any(h.stat == exact[0] and len(fold_cached(h.raw).split()) > 1
                                  for h in hits):
            return exact
        best = max(stat_scores, key=stat_scores.get)
        lead = stat_scores[best] - stat_scores[exact[0]]
        if best != exact[0] and stat_scores[best] >= self.thresholds.sure \
                and lead >= self.thresholds.prefer:
            return (best,)
        written = [h for h in hits if h.stat == exact[0]]
        weak = bool(text and written) and all(self._weak(text, h) for h in written)
        if narrowing and best in self._narrower(hits, exact[0]) \
                and lead >= (0.0 if weak else self.thresholds.narrower) \
                and stat_scores[best] >= self.thresholds.stat:
            return (best,)  # "hp per second" names Health, means Health regen
        return exact

    def _one_asked(self, exact: tuple[str, ...], stat_scores: dict[str, float],
                   ) -> tuple[str, ...]:
        """Two stat words in one clause, with no list between them, ask one of them when the
        meaning is sure of it and surer by the margin that lets a meaning win over a stat
        word: "how far does your attack reach" asks Attack range, "how often does your attack
        crit" Crit chance; "hp mp?" asks both."""
        if len(exact) < 2:
            return exact
        best = max(exact, key=lambda s: stat_scores[s])
        if stat_scores[best] >= self.thresholds.sure and all(
                stat_scores[best] - stat_scores[s] >= self.thresholds.prefer
                for s in exact if s != best):
            return (best,)
        return exact

    def _exact(self, text: str, hits: Sequence[TermHit], stat_scores: dict[str, float],
               clauses: Sequence[str] = ()) -> tuple[str, ...]:
        """The stats the words name. An everyday word ("life", "damage") or another form of
        a stat word ("attacks", "levels") counts only when it is an item of a list of stats
        ("toughness, reach and hp"), or when the meaning step agrees: it is that sure of the
        stat, more so beside a plain stat word ("rank the humans by defense"), and the stat
        is near the one it is surest of ("how much damage can you take" is Health)."""
        weak = [self._weak(text, h) for h in hits]
        plain_hit = not all(weak)
        bar = self.thresholds.ambiguous_beside if plain_hit else self.thresholds.stat
        items = {fold_cached(c) for c in clauses}
        best = max(stat_scores.values(), default=0.0)
        out: list[str] = []
        for hit, is_weak in zip(hits, weak, strict=True):
            stat, raw = hit.stat, hit.raw
            score = stat_scores.get(stat, 0.0)
            if is_weak and fold_cached(raw) not in items and (
                    score < max(bar, self.thresholds.stat)
                    or score < best - self.thresholds.ambiguous_margin):
                continue
            if stat not in out:
                out.append(stat)
        return tuple(out)

    def _weak(self, text: str, hit: TermHit) -> bool:
        """Whether a stat word is weak evidence: an everyday word, or a real word that is
        another form of the term ("attacks" for Attack)."""
        if ORDER_BY_RE.search(text, 0, hit.start):  # "top 3 rangers by range" ranks by it
            return False
        if hit.raw in self.meanings.ambiguous_terms:
            return True
        written = fold_cached(text[hit.start:hit.end])
        return written != fold_cached(hit.raw) and \
            all(w in self.bank.english for w in written.split())

    def _roster(self, text: str, exact: tuple[str, ...], semantic: tuple[str, ...],
                vector: np.ndarray, score: float, nearest: bool) -> RosterAsk | None:
        """The stat, filter, count and order of a question about the whole roster, or None
        when it is not one: the roster kind must be nearest, or a superlative must come with
        a faction, a role, a count or a word that asks about the roster ("who", "among")."""
        signals = self._roster_words.signals(text)
        if not nearest and not (signals.superlative and (signals.scoped
                                                         or signals.asks_roster)):
            return None
        if nearest and not (signals.superlative or signals.scoped) \
                and score < self.thresholds.roster:
            return None
        # a stat's own superlative of several words ("hits hardest") says more than the whole
        # question's meaning, which the filter's words pull about ("which orc shaman hits
        # hardest"); one word ("fastest") may be said of another stat ("swings fastest"),
        # unless it is said of who is ranked ("the slowest characters")
        said = signals.sup_stat if signals.sup_words > 1 or signals.sup_of_who else None
        stat = exact[0] if exact else said or (semantic[0] if semantic else signals.sup_stat)
        if stat is None:
            stat = self.bank.nearest_superlative(vector)
        return self._roster_words.ask(signals, stat)
