"""The answer engine: resolve, retrieve, prompt, generate, verify, and answer.

Every method is blocking (SQLite, LanceDB, the embedder and the model); async callers use
`asyncio.to_thread`. The facts come from the store on every question, so an import is visible
to the next answer without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import Busy, NoPatches, UnknownAdapter, UnknownCharacter, UnknownPatch, UnknownStat
from bot.fallback import FallbackFacts, fallback_answer
from bot.questions import Question, match_stat, name_prefixes, parse_question
from bot.render import sanitize
from bot.verify import MIN_VOICE_SCORE, VoiceScorer, safe_prefix, verify_reply
from bot.views import Answer, Comparison, History, LoreCard, PatchView, StatCard
from characters.cards import render_changes, render_lore_card, render_stat_card
from characters.config import Config, get_config
from characters.numbers import invented_numbers
from characters.resolve import NameResolver, Resolution
from characters.schema import Number
from characters.world import Character, Faction, World
from training.prompt import build_messages, system_line

if TYPE_CHECKING:
    from stats_db.ingest import ImportResult
    from stats_db.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "Answer", "Comparison", "Engine", "History", "LoreCard", "PatchView", "StatCard",
]

# Appended to the question for the one regeneration after a reply fails verification.
RETRY_HINT = " (Answer with the exact numbers from the facts.)"
# For these stats a lower value is the stronger side in a comparison.
LOWER_IS_BETTER = frozenset({"cost"})
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


class Engine:
    """Answers questions about characters from the store, in their faction's voice."""

    def __init__(self, store: Store, generator, world: World | None = None,
                 config: Config | None = None, voice_scorer: Any = _AUTO,
                 min_voice: float = MIN_VOICE_SCORE) -> None:
        self.store = store
        self.generator = generator
        self.world = world or store.world
        self.config = config or get_config()
        self.schema = self.world.schema
        self.voice_scorer = default_voice_scorer() if voice_scorer is _AUTO else voice_scorer
        self.min_voice = min_voice
        self.scheduler = None
        self._lock = threading.Lock()
        self._resolver: tuple[str | None, NameResolver] | None = None

    @classmethod
    def from_config(cls, config: Config | None = None, generator=None,
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

    # --- names ------------------------------------------------------------------------------

    def resolver(self) -> NameResolver:
        """Name resolution over the store's characters, rebuilt when a patch lands."""
        patch = self.store.current_patch()
        with self._lock:
            if self._resolver is None or self._resolver[0] != patch:
                cfg = self.config.characters
                resolver = NameResolver(self.store.characters(), cfg.min_confidence,
                                        cfg.suggestions)
                self._resolver = (patch, resolver)
            return self._resolver[1]

    def resolve(self, name: str) -> Character:
        """The character a typed name means, or UnknownCharacter with the closest names."""
        found = self.resolver().resolve(name)
        if found.character is None:
            raise UnknownCharacter(name, [c.name for c in found.suggestions])
        return found.character

    def suggest(self, text: str, limit: int = 25) -> list[Character]:
        """Up to `limit` characters closest to a partly typed name (autocomplete)."""
        return list(self.resolver().suggest(text, limit))

    def split_name(self, text: str, keep: int = 1) -> tuple[Character, str]:
        """The character named at the start of `text` and the rest (longest name first)."""
        resolver = self.resolver()
        splits = name_prefixes(text, keep=keep) or name_prefixes(text)
        tried: list[tuple[Resolution, str]] = [(resolver.resolve(n), r) for n, r in splits if n]
        for found, rest in tried:
            if found.character is not None and found.method != "fuzzy":
                return found.character, rest
        fuzzy = [(f, r) for f, r in tried if f.character is not None]
        if fuzzy:
            found, rest = max(fuzzy, key=lambda fr: fr[0].confidence)
            return found.character, rest
        query = splits[-1][0] if splits else text
        suggestions = resolver.suggest(query, resolver.n_suggestions)
        raise UnknownCharacter(query, [c.name for c in suggestions])

    # --- patches ----------------------------------------------------------------------------

    def patch_ids(self) -> list[str]:
        """Imported patch ids, oldest first."""
        return [p.id for p in self.store.patches()]

    def _check_patch(self, patch: str | None, known: list[str]) -> str:
        if not known:
            raise NoPatches()
        if patch is None:
            return known[-1]
        from bot.questions import normalize_patch

        canonical = normalize_patch(patch, known)
        if canonical not in known:
            raise UnknownPatch(patch, known)
        return canonical

    # --- answers ----------------------------------------------------------------------------

    def ask(self, name: str, question: str, patch: str | None = None, adapter: str = "auto",
            on_text: Callable[[str], None] | None = None) -> Answer:
        """Answer a question put to a character, verified against the facts."""
        started = time.perf_counter()
        character = self.resolve(name)
        known = self.patch_ids()
        parsed = parse_question(question, self.schema, known)
        plan = self._plan(character, parsed, self._check_patch(patch or parsed.patch, known))
        return self._answer(plan, adapter, on_text, started)

    def changes(self, name: str, from_patch: str | None = None, to_patch: str | None = None,
                on_text: Callable[[str], None] | None = None, adapter: str = "auto") -> Answer:
        """What changed for a character between two patches, told in its voice."""
        started = time.perf_counter()
        character = self.resolve(name)
        known = self.patch_ids()
        to_id = self._check_patch(to_patch, known)
        since = self._check_patch(from_patch, known) if from_patch else None
        text = f"What changed for you since patch {since}?" if since else "What changed for you?"
        parsed = Question(text=text, since=since, wants_changes=True)
        return self._answer(self._plan(character, parsed, to_id), adapter, on_text, started)

    def _plan(self, character: Character, q: Question, patch: str) -> Plan:
        """Retrieve the facts for a parsed question and lay out the prompt's facts block."""
        faction = self.world.faction(character.faction)
        snapshot = self.store.show(character.id, patch)
        stats = snapshot.stats
        shown: tuple[str, ...] = q.stats
        extra_blocks: list[str] = []
        kind, changes_rows, lore, compared, other_rows = "stats", None, None, None, ()
        other_name = None
        since = None
        if q.wants_changes:
            kind = "changes"
            since = self._check_patch(q.since, self.patch_ids()) if q.since else None
            diff = self.store.diff(character.id, from_patch=since, to_patch=patch)
            since = diff.from_patch
            changed = tuple(n for n in self.schema.names if n in diff.changes)
            shown = shown or changed
            extra_blocks.append(render_changes(diff.changes, diff.from_patch, self.schema))
            changes_rows = tuple(
                (self.schema[n].label, self.schema[n].format_with_unit(diff.changes[n][0]),
                 self.schema[n].format_with_unit(diff.changes[n][1])) for n in changed)
        elif q.wants_lore and not q.stats:
            kind = "lore"
            lore = self._lore_chunk(character, q.text, patch)
            extra_blocks.append(lore)
        other = self._other(character, q)
        if other is not None:
            kind = "compare"
            shown = shown or self.schema.names
            other_snapshot = self.store.show(other.id, patch)
            other_faction = self.world.faction(other.faction)
            extra_blocks.append(render_stat_card(other, other_faction, other_snapshot.stats,
                                                 patch, self.schema, only=shown))
            other_name = other.name
            other_rows = tuple((self.schema[n].label,
                                self.schema[n].format_with_unit(other_snapshot.stats.get(n)))
                               for n in shown)
            compared = {"character_id": other.id, "name": other.name,
                        "facts": {n: other_snapshot.stats.get(n) for n in shown}}
        if kind == "stats" and not shown:
            shown = self.schema.names
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
        asked = shown if (q.stats or kind == "changes") and kind != "lore" else ()
        required = tuple(float(stats[n]) for n in asked if stats.get(n) is not None)
        return Plan(character, faction, patch, q.text, facts_text,
                    {n: stats.get(n) for n in only}, shown, kind, fallback, compared, required)

    def _lore_chunk(self, character: Character, question: str, patch: str) -> str:
        """The best lore chunk for the question from the index, else the roster's lore."""
        for hit in self.store.search(question, character_id=character.id, patch=patch, k=4):
            if hit.kind == "lore":
                return hit.text.split("\n", 1)[-1]
        return character.lore

    def _other(self, character: Character, q: Question) -> Character | None:
        """The second character a comparison names, if it names one that exists."""
        if not q.compare_text:
            return None
        try:
            other, _rest = self.split_name(q.compare_text, keep=0)
        except UnknownCharacter:
            return None
        return None if other.id == character.id else other

    def pick_adapter(self, adapter: str, character: Character) -> str | None:
        """The adapter to generate with: auto (the faction's, if trained), none, or a name."""
        available = tuple(self.generator.adapters)
        if adapter == "auto":
            wanted = self.world.faction(character.faction).adapter
            return wanted if wanted in available else None
        if adapter == "none":
            return None
        by_faction = {f.id: f.adapter for f in self.world.factions if f.adapter}
        name = by_faction.get(adapter, adapter)
        if name not in available:
            raise UnknownAdapter(adapter, list(available))
        return name

    def _voice_of(self, adapter: str | None) -> str | None:
        if adapter is None:
            return None
        return next((f.id for f in self.world.factions if f.adapter == adapter), adapter)

    def _answer(self, plan: Plan, adapter: str, on_text, started: float) -> Answer:
        chosen = self.pick_adapter(adapter, plan.character)
        voice = self._voice_of(chosen)
        sys_line = system_line(plan.character, plan.faction)
        messages = build_messages(plan.character, plan.faction, plan.facts_text, plan.question)
        reply = self._stream(messages, chosen, plan.facts_text, sys_line, on_text)
        verdict = verify_reply(reply, plan.facts_text, sys_line, voice, self.voice_scorer,
                               self.min_voice, plan.required, self.schema.labels)
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
            verdict = verify_reply(reply, plan.facts_text, sys_line, voice, self.voice_scorer,
                                   self.min_voice, plan.required, self.schema.labels)
        if not verdict.ok:
            log.info("reply for %s rejected (%s); answering from the template: %r",
                     plan.character.id, ", ".join(verdict.reasons()), reply[:160])
            used_fallback = True
            reply = fallback_answer(plan.fallback, voice, self.world.lexicons)
        text = sanitize(reply.strip())
        return Answer(
            character_id=plan.character.id, name=plan.character.name,
            faction=plan.character.faction, adapter=chosen, patch=plan.patch, answer=text,
            facts=plan.facts, grounded=not invented_numbers(text, plan.facts_text),
            fallback=used_fallback, latency_s=time.perf_counter() - started,
            question=plan.question, stats_shown=plan.stats_shown, kind=plan.kind,
            compared=plan.compared, regenerated=regenerated)

    def _generate(self, messages, adapter: str | None) -> str:
        from bot.generation.base import GeneratorBusy

        try:
            return self.generator.generate(messages, adapter)
        except GeneratorBusy as exc:
            raise Busy() from exc

    def _stream(self, messages, adapter: str | None, facts: str, sys_line: str,
                on_text: Callable[[str], None] | None) -> str:
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
                prefix = safe_prefix(text, facts, sys_line, self.schema.labels)
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

    # --- views ------------------------------------------------------------------------------

    def _card(self, character: Character, patch: str) -> StatCard:
        snapshot = self.store.show(character.id, patch)
        rows = [(s.label, s.format_with_unit(snapshot.stats.get(s.name)))
                for s in self.schema.stats]
        return StatCard(character, self.world.faction(character.faction).name, patch, rows)

    def stats(self, name: str, patch: str | None = None) -> StatCard:
        """A character's full stat card at a patch (default: current)."""
        character = self.resolve(name)
        return self._card(character, self._check_patch(patch, self.patch_ids()))

    def compare(self, a: str, b: str, patch: str | None = None) -> Comparison:
        """Two characters side by side, with the stronger side of each stat."""
        left_c, right_c = self.resolve(a), self.resolve(b)
        patch_id = self._check_patch(patch, self.patch_ids())
        left_s = self.store.show(left_c.id, patch_id).stats
        right_s = self.store.show(right_c.id, patch_id).stats
        better = {}
        for stat in self.schema.stats:
            x, y = left_s.get(stat.name), right_s.get(stat.name)
            if x is None or y is None or x == y:
                better[stat.label] = "tie"
                continue
            left_wins = (x < y) if stat.name in LOWER_IS_BETTER else (x > y)
            better[stat.label] = left_c.name if left_wins else right_c.name
        return Comparison(self._card(left_c, patch_id), self._card(right_c, patch_id), better)

    def history(self, name: str, stat: str) -> History:
        """One stat of one character over every patch, with a chart."""
        from bot.charts import history_png

        character = self.resolve(name)
        stat_name = match_stat(stat, self.schema)
        if stat_name is None:
            raise UnknownStat(stat, [s.label for s in self.schema.stats])
        spec = self.schema[stat_name]
        points = self.store.history(character.id, stat_name)
        ylabel = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
        png = history_png(points, f"{character.name}: {spec.label}", ylabel)
        return History(character, spec.label, spec.unit, points, png)

    def patch_summary(self, patch: str | None = None) -> PatchView:
        """A patch's notes, counts, new characters, biggest buffs and nerfs."""
        summary = self.store.patch_summary(self._check_patch(patch, self.patch_ids()))
        names = self.store.character_map()

        def moves(items) -> list[tuple[str, str, str, str]]:
            return [(names[cid].name if cid in names else cid, self.schema[s].label,
                     self.schema[s].format(old), self.schema[s].format(new))
                    for cid, s, old, new, _pct in items]

        return PatchView(summary.patch, summary.released, summary.notes, summary.changed,
                         [names[c].name if c in names else c for c in summary.new_characters],
                         moves(summary.buffs), moves(summary.nerfs))

    def whois(self, name: str) -> LoreCard:
        """Who a character is: faction, role, home, aliases and lore."""
        character = self.resolve(name)
        faction = self.world.faction(character.faction)
        return LoreCard(character, faction.name, render_lore_card(character, faction))

    # --- data and lifecycle -----------------------------------------------------------------

    def import_files(self, paths: list[Path]) -> list[ImportResult]:
        """Import patch files into the store (the next answer sees them)."""
        from stats_db.ingest import import_paths

        return import_paths(self.store, [Path(p) for p in paths])

    def rescan_inbox(self) -> list[ImportResult]:
        """Import whatever waits in the inbox folder now."""
        from stats_db.schedule import run_inbox_once

        return run_inbox_once(self.store, self.store.data_dir / self.config.schedule.inbox_dir)

    def status(self) -> dict[str, Any]:
        """Store health, the generator's adapters and queue depth, and the next weekly import."""
        out = dict(self.store.status())
        out["adapters"] = list(self.generator.adapters)
        out["queue_depth"] = int(getattr(self.generator, "queue_depth", 0) or 0)
        out["next_import"] = self.next_import() or "scheduler off"
        return out

    def next_import(self) -> str | None:
        """When the scheduler runs the weekly import next (UTC, ISO), None when it is off."""
        if self.scheduler is None:
            return None
        from stats_db.schedule import JOB_ID

        job = self.scheduler.get_job(JOB_ID)
        when = getattr(job, "next_run_time", None)
        return when.isoformat(timespec="minutes") if when else None

    def warmup(self) -> None:
        """Load the embedder and the model and run one tiny generation per adapter."""
        self.store.embedder.embed(["warm up"])
        warm = getattr(self.generator, "warmup", None)
        if warm is not None:
            warm()

    def start_scheduler(self, loop=None, background: bool = False):
        """Start the weekly import job (when enabled): inside a running asyncio loop, or with
        `background=True` in a thread of its own (console mode, which has no loop)."""
        if not self.config.schedule.enabled or self.scheduler is not None:
            return self.scheduler
        from stats_db.schedule import make_scheduler

        scheduler = make_scheduler(self.config, self.store, asyncio=not background,
                                   background=background)
        if loop is not None and not background:
            scheduler.configure(event_loop=loop)
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    def close(self) -> None:
        """Stop the scheduler, the generator and this thread's store connection."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        close = getattr(self.generator, "close", None)
        if close is not None:
            close()
        self.store.close()


class LazyGenerator:
    """A generator built on first use, so commands that never generate never load a model."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._real = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._real is None:
                self._real = self._factory()
            return self._real

    @property
    def adapters(self) -> tuple[str, ...]:
        return tuple(self._get().adapters)

    @property
    def queue_depth(self) -> int:
        return 0 if self._real is None else int(getattr(self._real, "queue_depth", 0))

    def generate(self, messages, adapter, max_new_tokens=None) -> str:
        return self._get().generate(messages, adapter, max_new_tokens)

    def stream(self, messages, adapter, max_new_tokens=None):
        return self._get().stream(messages, adapter, max_new_tokens)

    def warmup(self) -> None:
        warm = getattr(self._get(), "warmup", None)
        if warm is not None:
            warm()

    def close(self) -> None:
        if self._real is not None and hasattr(self._real, "close"):
            self._real.close()


def make_generator(config: Config):
    """The generator `[generation].backend` names: the local model or a remote server."""
    if config.generation.backend == "remote":
        from bot.generation.remote import RemoteGenerator

        return RemoteGenerator(config)
    from bot.generation.local import LocalGenerator

    return LocalGenerator(config)
