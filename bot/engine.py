"""The answer pipeline: understand, retrieve, prompt, generate, verify, and answer.

Every method is blocking (SQLite, LanceDB, the embedder and the model); async callers use
`asyncio.to_thread`. The facts an answer quotes are read from the LanceDB index at the patch's
tag on every question, so an import is visible to the next answer without a restart. The
model-free lookups are `bot.lookups.Lookups`; start-up, the scheduler and imports are
`bot.lifecycle.Lifecycle`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.errors import Busy, NoConversation, UnknownAdapter
from bot.fallback import FallbackFacts, fallback_answer
from bot.generation.base import GenerationError
from bot.lifecycle import LazyGenerator, Lifecycle, make_generator
from bot.lookups import Lookups
from bot.render import sanitize
from bot.understand import QuestionReader, Understanding
from bot.verify import MIN_VOICE_SCORE, VoiceScorer, safe_prefix, verify_reply
from bot.views import Answer, Comparison, History, LoreCard, PatchView, Ranking, StatCard
from characters.cards import (
    FACTS_LAYOUTS,
    NEWEST_FACTS_LAYOUT,
    render_changes,
    render_ranking,
    render_stat_card,
    talk_card_stats,
)
from characters.config import Config, get_config
from characters.numbers import invented_numbers
from characters.schema import Number
from characters.world import Character, Faction, World
from training.prompt import Message, build_messages, system_line

if TYPE_CHECKING:
    from bot.generation.base import Generator
    from bot.memory import ConversationMemory
    from stats_db.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "Answer", "Comparison", "Engine", "History", "LoreCard", "PatchView", "Ranking", "StatCard",
]

# Appended to the question for the one regeneration after a reply fails verification.
RETRY_HINT = " (Answer with the exact numbers from the facts.)"
# An /ask about the roster shows this many ranked characters unless the player asked for more.
ASK_RANKING_ROWS = 3
ASK_RANKING_MAX = 5
_AUTO = object()


@dataclass(frozen=True)
class Plan:
    """What goes into the prompt for one question."""

    character: Character
    faction: Faction
    patch: str
    question: str
    facts_text: str
    facts: dict[str, Number | None]
    stats_shown: tuple[str, ...]
    kind: str
    fallback: FallbackFacts
    compared: dict[str, Any] | None = None
    required: tuple[float, ...] = ()
    required_names: tuple[str, ...] = ()
    ranking: list[dict[str, Any]] | None = None
    changes: tuple[tuple[float, float], ...] = ()  # (old, new) of what changed, to tell right


def default_voice_scorer() -> VoiceScorer | None:
    """training.voice.voice_score when the training package provides it, else None."""
    try:
        from training.voice import NoVoiceError, voice_score
    except ImportError:
        log.warning("training.voice is not available: replies are not voice-checked")
        return None

    def score(text: str, faction: str) -> float | None:
        try:
            return voice_score(text, faction)
        except NoVoiceError:  # an adapter trained before its judge was written
            return None

    return score


class Engine(Lookups, Lifecycle):
    """Answers questions about characters from the index, in their faction's voice."""

    def __init__(self, store: Store, generator: Generator, world: World | None = None,
                 config: Config | None = None, voice_scorer: Any = _AUTO,
                 min_voice: float = MIN_VOICE_SCORE,
                 memory: ConversationMemory | None = None) -> None:
        super().__init__(store, world, config or get_config())
        self.generator = generator
        self.voice_scorer = default_voice_scorer() if voice_scorer is _AUTO else voice_scorer
        self.min_voice = min_voice
        self.scheduler = None
        self._memory = memory
        self._reader: QuestionReader | None = None
        self._reader_lock = threading.Lock()
        self._layouts: dict[str, int] = {}

    @classmethod
    def from_config(cls, config: Config | None = None, generator: Generator | None = None,
                    lazy: bool = False) -> Engine:
        """Open the store of the data folder and the generator the config names.

        `lazy` defers loading the model until the first generation (the CLI: an unknown name
        is answered without loading it).
        """
        from stats_db.datafolder import open_store

        config = config or get_config()
        store = open_store(config.data_dir)
        if generator is None:
            generator = LazyGenerator(lambda: make_generator(config)) if lazy else \
                make_generator(config)
        return cls(store, generator, config=config)

    # --- understanding ----------------------------------------------------------------------

    def reader(self) -> QuestionReader:
        """The question reader (its examples embedded once, cached in the model cache)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = QuestionReader(self.world, self.store.embedder.embed,
                                              self.config.cache_dir)
            return self._reader

    @property
    def memory(self) -> ConversationMemory:
        """Who each conversation last asked (the data folder's SQLite)."""
        if self._memory is None:
            from bot.memory import ConversationMemory

            self._memory = ConversationMemory(self.store.sqlite_path,
                                              self.config.bot.follow_up_minutes * 60)
        return self._memory

    def understand(self, character: Character, question: str,
                   previous: Understanding | None = None,
                   known: list[str] | None = None) -> Understanding:
        """What `question`, put to `character`, asks (`known`: the imported patch ids)."""
        known = self.patch_ids() if known is None else known
        return self.reader().read(question, known,
                                  lambda text: self.named_in(text, besides=character), previous)

    # --- answers ----------------------------------------------------------------------------

    def ask(self, name: str | None, question: str, patch: str | None = None,
            adapter: str = "auto", on_text: Callable[[str], None] | None = None,
            conversation: str | None = None) -> Answer:
        """Answer a question put to a character, verified against the facts.

        Without a name, the question goes to the character this `conversation` (a channel and
        a user) asked last, within `[bot].follow_up_minutes`; an elliptical question ("and your
        defense?") takes the rest of its meaning from the question before it.
        """
        started = time.perf_counter()
        previous = None
        remembered = self.memory.recall(conversation) if conversation else None
        if name is None or not name.strip():
            if remembered is None:
                raise NoConversation()
            character, typed = self.store.character(remembered.character_id), None
        else:
            character, typed = self.resolve_named(name)
        if remembered is not None and remembered.character_id == character.id:
            previous = remembered.reading(self.world, self.store.character_map())
        known = self.patch_ids()
        reading = self.understand(character, question, previous, known)
        at = self.check_patch(patch or reading.patch, known)
        plan = self._plan(character, reading, at, adapter)
        answer = self._answer(plan, adapter, on_text, started)
        if conversation:
            self.memory.remember(conversation, character.id, reading)
        return replace(answer, resolved_from=typed, follow_up=reading.follow_up)

    def changes(self, name: str, from_patch: str | None = None, to_patch: str | None = None,
                on_text: Callable[[str], None] | None = None, adapter: str = "auto") -> Answer:
        """What changed for a character between two patches, told in its voice."""
        started = time.perf_counter()
        character, typed = self.resolve_named(name)
        known = self.patch_ids()
        to_id = self.check_patch(to_patch, known)
        since = self.check_patch(from_patch, known) if from_patch else None
        text = f"What changed for you since patch {since}?" if since else "What changed for you?"
        reading = Understanding(text=text, kind="changes", since=since)
        answer = self._answer(self._plan(character, reading, to_id, adapter), adapter, on_text,
                              started)
        return replace(answer, resolved_from=typed)

    def _plan(self, character: Character, q: Understanding, patch: str,
              adapter: str = "auto") -> Plan:
        """Retrieve the facts for an understood question and lay out the prompt's facts, in
        the facts layout that `adapter` learned (`characters.cards.FACTS_LAYOUTS`)."""
        if q.kind == "roster" and q.roster is not None:
            return self._plan_roster(character, q, patch)
        faction = self.world.faction(character.faction)
        stats = self.store.facts(character.id, patch).stats
        shown: tuple[str, ...] = q.stats
        extra_blocks: list[str] = []
        kind, changes_rows, lore, compared, other_rows = "stats", None, None, None, ()
        other_name = since = None
        moved: tuple[tuple[float, float], ...] = ()  # (old, new) of what changed
        if q.kind == "changes":
            kind = "changes"
            since = self.check_patch(q.since) if q.since else None
            diff = self.store.diff(character.id, from_patch=since, to_patch=patch)
            since = diff.from_patch
            changed = tuple(n for n in self.schema.names if n in diff.changes)
            shown = tuple(n for n in shown if n in changed) or changed
            extra_blocks.append(render_changes({n: diff.changes[n] for n in shown},
                                               diff.from_patch, self.schema))
            changes_rows = tuple(
                (self.schema[n].label, self.schema[n].format_with_unit(diff.changes[n][0]),
                 self.schema[n].format_with_unit(diff.changes[n][1])) for n in shown)
            moved = tuple((float(old), float(new)) for old, new in
                          (diff.changes[n] for n in shown) if old is not None and new is not None)
        elif q.kind == "lore":
            kind = "lore"
            lore = self._lore_chunk(character, q, patch)
            extra_blocks.append(lore)
        if q.kind == "compare" and q.other is not None:
            other = q.other
            kind = "compare"
            shown = shown or self.schema.names
            other_stats = self.store.facts(other.id, patch).stats
            extra_blocks.append(render_stat_card(other, self.world.faction(other.faction),
                                                 other_stats, patch, self.schema, only=shown))
            other_name = other.name
            other_rows = tuple((self.schema[n].label,
                                self.schema[n].format_with_unit(other_stats.get(n)))
                               for n in shown)
            compared = {"character_id": other.id, "name": other.name,
                        "facts": {n: other_stats.get(n) for n in shown}}
        if kind == "stats":
            kind = {"smalltalk": "smalltalk", "unknown_stat": "unknown_stat"}.get(q.kind, kind)
            if kind == "smalltalk" and not shown:  # only small talk differs between layouts
                layout = self.facts_layout(self.pick_adapter(adapter, character))
                shown = talk_card_stats(layout, self.schema.names)
            else:
                shown = shown or self.schema.names
        only = () if kind == "lore" else shown
        card = render_stat_card(character, faction, stats, patch, self.schema, only=only)
        facts_text = "\n".join([card, *extra_blocks])
        rows = tuple((self.schema[n].label, self.schema[n].format_with_unit(stats.get(n)))
                     for n in shown if kind != "changes")
        fallback = FallbackFacts(
            character=character, patch=patch, rows=rows, changes=changes_rows, since=since,
            lore=lore, other_name=other_name, other_rows=other_rows,
            key=f"{character.id}|{q.text}")
        # The values the reply must state at least one of: the asked stats, or what changed.
        asked = shown if (q.stats or kind == "changes") and kind not in ("lore",) else ()
        source = dict(stats)
        if kind == "changes":
            source = {n: diff.changes[n][1] for n in shown}
        required = tuple(float(source[n]) for n in asked if source.get(n) is not None)
        return Plan(character, faction, patch, q.text, facts_text,
                    {n: stats.get(n) for n in only}, shown, kind, fallback, compared, required,
                    changes=moved)

    def _plan_roster(self, character: Character, q: Understanding, patch: str) -> Plan:
        """A ranking over the roster from the index's stat columns, for the asker to tell."""
        ask = q.roster
        spec = self.schema[ask.stat]
        count = min(ask.count, ASK_RANKING_MAX) if ask.listed else ASK_RANKING_ROWS
        _, rows = self.ranked(ask.stat, ask.faction, ask.roles, count, ask.lowest, patch)
        shown_rows = [(r.name, f"{self.world.faction(r.faction).name} {r.role}",
                       spec.format_with_unit(r.value)) for r in rows]
        facts_text = render_ranking(spec.label, shown_rows, patch, ask.lowest, ask.scope)
        leaders = rows[: (count if ask.listed else 1)]
        ranking = [{"rank": i, "id": r.character_id, "name": r.name, "value": r.value}
                   for i, r in enumerate(rows, 1)]
        fallback = FallbackFacts(
            character=character, patch=patch,
            ranking=tuple((r.name, spec.format_with_unit(r.value)) for r in leaders),
            ranking_label=spec.label, key=f"{character.id}|{q.text}")
        return Plan(character, self.world.faction(character.faction), patch, q.text,
                    facts_text, {r.name: r.value for r in rows}, (ask.stat,), "roster",
                    fallback, required=tuple(float(r.value) for r in leaders[:1]),
                    required_names=tuple(r.name for r in leaders[:1]), ranking=ranking)

    def _lore_chunk(self, character: Character, q: Understanding, patch: str) -> str:
        """The best lore chunk for the question from the index, else the roster's lore."""
        for hit in self.store.search(q.text, character_id=character.id, patch=patch, k=4,
                                     vector=q.vector):
            if hit.kind == "lore":
                return hit.text.split("\n", 1)[-1]
        return character.lore

    def pick_adapter(self, adapter: str, character: Character) -> str | None:
        """The adapter to generate with: auto (the faction's, if trained), none, or a name."""
        available = tuple(self.generator.adapters)
        if adapter == "auto":  # the faction's own voice, else the common tongue, never none
            wanted = self.world.faction(character.faction).adapter
            common = self.config.generation.common_adapter
            for name in (wanted, common):
                if name and name in available:
                    return name
            return None
        if adapter == "none":
            return None
        by_faction = {f.id: f.adapter for f in self.world.factions if f.adapter}
        name = by_faction.get(adapter, adapter)
        if name not in available:
            raise UnknownAdapter(adapter, list(available))
        return name

    def facts_layout(self, adapter: str | None) -> int:
        """The facts layout `adapter` was trained on, as its training_meta.json records it. An
        adapter that records none predates the layouts and learned the first; the base model
        has learned none, so it gets the newest."""
        if adapter is None:
            return NEWEST_FACTS_LAYOUT
        if adapter not in self._layouts:
            meta = self.config.adapters_dir / adapter / "training_meta.json"
            try:
                layout = json.loads(meta.read_text()).get("facts_layout", 1)
            except (OSError, ValueError):  # served remotely, or an adapter without its files
                layout = 1
            if layout not in FACTS_LAYOUTS:
                raise GenerationError(f"{meta}: unknown facts layout {layout!r} "
                                      f"(this bot knows {FACTS_LAYOUTS}): update the bot")
            self._layouts[adapter] = layout
        return self._layouts[adapter]

    def _voice_of(self, adapter: str | None) -> str | None:
        if adapter is None:
            return None
        return next((f.id for f in self.world.factions if f.adapter == adapter), adapter)

    def _verify(self, plan: Plan, reply: str, sys_line: str, voice: str | None):
        others = [c.name for c in self.store.characters() if c.id != plan.character.id]
        return verify_reply(reply, plan.facts_text, sys_line, voice, self.voice_scorer,
                            self.min_voice, plan.required, self.schema.labels, others,
                            plan.required_names, self.world.meanings.absent_terms,
                            plan.changes, self.world.meanings.change_words)

    def _answer(self, plan: Plan, adapter: str, on_text, started: float) -> Answer:
        chosen = self.pick_adapter(adapter, plan.character)
        voice = self._voice_of(chosen)
        sys_line = system_line(plan.character, plan.faction)
        messages = build_messages(plan.character, plan.faction, plan.facts_text, plan.question)
        reply = self._stream(messages, chosen, plan.facts_text, sys_line, on_text, plan.changes)
        verdict = self._verify(plan, reply, sys_line, voice)
        regenerated, used_fallback = False, False
        # Greedy decoding says the same thing again in the same voice, so an answer that is right
        # but out of voice goes straight to the template; wrong facts get one more try.
        if not verdict.ok and not verdict.only_voice:
            log.info("reply for %s rejected (%s); regenerating: %r", plan.character.id,
                     ", ".join(verdict.reasons()), reply[:160])
            regenerated = True
            retry = build_messages(plan.character, plan.faction, plan.facts_text,
                                   plan.question + RETRY_HINT)
            reply = self._generate(retry, chosen)
            verdict = self._verify(plan, reply, sys_line, voice)
        if not verdict.ok:
            log.info("reply for %s rejected (%s); answering from the template: %r",
                     plan.character.id, ", ".join(verdict.reasons()), reply[:160])
            used_fallback = True
            reply = fallback_answer(plan.fallback, voice)
        text = sanitize(reply.strip())
        return Answer(
            character_id=plan.character.id, name=plan.character.name,
            faction=plan.character.faction, adapter=chosen, patch=plan.patch, answer=text,
            facts=plan.facts, grounded=not invented_numbers(text, plan.facts_text),
            fallback=used_fallback, latency_s=time.perf_counter() - started,
            question=plan.question, stats_shown=plan.stats_shown, kind=plan.kind,
            compared=plan.compared, regenerated=regenerated, ranking=plan.ranking)

    def _generate(self, messages: list[Message], adapter: str | None) -> str:
        from bot.generation.base import GeneratorBusy

        try:
            return self.generator.generate(messages, adapter)
        except GeneratorBusy as exc:
            raise Busy() from exc

    def _stream(self, messages: list[Message], adapter: str | None, facts: str, sys_line: str,
                on_text: Callable[[str], None] | None,
                changes: tuple[tuple[float, float], ...] = ()) -> str:
        """Generate, passing each safe prefix to `on_text`; stop early once the reply fails."""
        if on_text is None:
            return self._generate(messages, adapter)
        from bot.generation.base import GeneratorBusy

        text, shown = "", ""
        try:
            pieces = self.generator.stream(messages, adapter)
        except GeneratorBusy as exc:
            raise Busy() from exc
        try:
            for piece in pieces:
                text += piece
                prefix = safe_prefix(text, facts, sys_line, self.schema.labels,
                                     self.world.meanings.absent_terms, changes,
                                     self.world.meanings.change_words)
                if prefix is None:
                    break  # this reply will be rejected: stop generating it
                if prefix != shown:
                    shown = prefix
                    on_text(sanitize(prefix))
        except GeneratorBusy as exc:
            raise Busy() from exc
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        return text

