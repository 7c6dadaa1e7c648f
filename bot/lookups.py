"""The lookups that use no language model: names, patches, stat cards, comparisons, history,
patch summaries, lore cards and roster rankings.

Every method is blocking (SQLite and LanceDB); async callers use `asyncio.to_thread`. The facts
come from the store on every call, so an import is visible to the next one without a restart.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bot.errors import NoPatches, UnknownCharacter, UnknownFaction, UnknownPatch, UnknownStat
from bot.questions import match_stat, name_prefixes, normalize_patch
from bot.views import Comparison, History, LoreCard, PatchView, Ranking, StatCard
from characters.cards import render_lore_card
from characters.config import Config, get_config
from characters.resolve import NameResolver, Resolution, find_named, fold
from characters.world import Character, World

if TYPE_CHECKING:
    from stats_db.store import RankedRow, Store

# /top shows at most this many rows (an embed of 10 lines).
MAX_TOP = 10


class Lookups:
    """Model-free views of one data folder's store."""

    def __init__(self, store: Store, world: World | None = None,
                 config: Config | None = None) -> None:
        self.store = store
        self.world = world or store.world
        self.config = config or get_config()
        self.schema = self.world.schema
        self._lock = threading.Lock()
        self._resolver: tuple[str | None, NameResolver] | None = None

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

    def resolve_named(self, name: str) -> tuple[Character, str | None]:
        """The character a typed name means, and the typed name when it was read by a fuzzy
        match (for "(read 'grukk' as Rukka Blackcleaver)"); UnknownCharacter otherwise."""
        found = self.resolver().resolve(name)
        if found.character is None:
            raise UnknownCharacter(name, [c.name for c in found.suggestions])
        return found.character, (name.strip() if found.method == "fuzzy" else None)

    def resolve(self, name: str) -> Character:
        """The character a typed name means, or UnknownCharacter with the closest names."""
        return self.resolve_named(name)[0]

    def suggest(self, text: str, limit: int = 25) -> list[Character]:
        """Up to `limit` characters closest to a partly typed name (autocomplete)."""
        return list(self.resolver().suggest(text, limit))

    def split_name(self, text: str, keep: int = 1) -> tuple[Character, str]:
        """The character named at the start of `text` and the rest (longest name first)."""
        character, rest, _typed = self.split_named(text, keep)
        return character, rest

    def split_named(self, text: str, keep: int = 1) -> tuple[Character, str, str | None]:
        """`split_name`, plus the typed name when a fuzzy match read it."""
        resolver = self.resolver()
        splits = name_prefixes(text, keep=keep) or name_prefixes(text)
        tried: list[tuple[Resolution, str, str]] = [(resolver.resolve(n), r, n)
                                                    for n, r in splits if n]
        for found, rest, _typed in tried:
            if found.character is not None and found.method != "fuzzy":
                return found.character, rest, None
        fuzzy = [t for t in tried if t[0].character is not None]
        if fuzzy:
            found, rest, typed = max(fuzzy, key=lambda t: t[0].confidence)
            return found.character, rest, typed
        query = splits[-1][0] if splits else text
        suggestions = resolver.suggest(query, self.config.characters.suggestions)
        raise UnknownCharacter(query, [c.name for c in suggestions])

    def named_in(self, text: str, besides: Character | None = None) -> Character | None:
        """A real character that `text` names anywhere, other than `besides`, or None."""
        return find_named(text, self.resolver(), besides.id if besides else None)

    # --- patches ----------------------------------------------------------------------------

    def patch_ids(self) -> list[str]:
        """Imported patch ids, oldest first."""
        return [p.id for p in self.store.patches()]

    def check_patch(self, patch: str | None, known: list[str] | None = None) -> str:
        """A typed patch id in canonical form (default: the current patch), or UnknownPatch."""
        known = self.patch_ids() if known is None else known
        if not known:
            raise NoPatches()
        if patch is None:
            return known[-1]
        canonical = normalize_patch(patch, known)
        if canonical not in known:
            raise UnknownPatch(patch, known)
        return canonical

    # --- views ------------------------------------------------------------------------------

    def _card(self, character: Character, patch: str, typed: str | None = None) -> StatCard:
        snapshot = self.store.facts(character.id, patch)
        rows = [(s.label, s.format_with_unit(snapshot.stats.get(s.name)))
                for s in self.schema.stats]
        return StatCard(character, self.world.faction(character.faction).name, patch, rows,
                        resolved_from=typed)

    def stats(self, name: str, patch: str | None = None) -> StatCard:
        """A character's full stat card at a patch (default: current)."""
        character, typed = self.resolve_named(name)
        return self._card(character, self.check_patch(patch), typed)

    def compare(self, a: str, b: str, patch: str | None = None) -> Comparison:
        """Two characters side by side, with the stronger side of each stat."""
        left_c, right_c = self.resolve(a), self.resolve(b)
        patch_id = self.check_patch(patch)
        left_s = self.store.facts(left_c.id, patch_id).stats
        right_s = self.store.facts(right_c.id, patch_id).stats
        lower = self.world.meanings.lower_is_better
        better = {}
        for stat in self.schema.stats:
            x, y = left_s.get(stat.name), right_s.get(stat.name)
            if x is None or y is None or x == y:
                better[stat.label] = "tie"
                continue
            left_wins = (x < y) if stat.name in lower else (x > y)
            better[stat.label] = left_c.name if left_wins else right_c.name
        return Comparison(self._card(left_c, patch_id), self._card(right_c, patch_id), better)

    def history(self, name: str, stat: str) -> History:
        """One stat of one character over every patch, with a chart."""
        from bot.charts import history_png

        character = self.resolve(name)
        spec = self.stat_named(stat)
        points = self.store.history(character.id, spec.name)
        ylabel = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
        png = history_png(points, f"{character.name}: {spec.label}", ylabel)
        return History(character, spec.label, spec.unit, points, png)

    def stat_named(self, text: str):
        """The stat a typed word names ("atk", "hp"), or UnknownStat listing the stats."""
        name = match_stat(text, self.schema, self.world.meanings)
        if name is None:
            raise UnknownStat(text, [s.label for s in self.schema.stats])
        return self.schema[name]

    def patch_summary(self, patch: str | None = None) -> PatchView:
        """A patch's notes, counts, new characters, biggest buffs and nerfs."""
        summary = self.store.patch_summary(self.check_patch(patch))
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
        character, typed = self.resolve_named(name)
        faction = self.world.faction(character.faction)
        return LoreCard(character, faction.name, render_lore_card(character, faction),
                        resolved_from=typed)

    # --- the roster -------------------------------------------------------------------------

    def faction_named(self, text: str | None) -> str | None:
        """The faction id a typed word means ("elves", "Dwarvish"), None for none given."""
        if not text or not text.strip():
            return None
        folded = fold(text)
        for faction in self.world.factions:
            words = {fold(faction.id), fold(faction.name),
                     *(fold(w) for w in self.world.meanings.faction_words.get(faction.id, ()))}
            if folded in words:
                return faction.id
        raise UnknownFaction(text, [f.name for f in self.world.factions])

    def roles_named(self, text: str | None) -> tuple[str, ...]:
        """The roles a typed word means: one role ("cleric"), or a group ("healer")."""
        if not text or not text.strip():
            return ()
        folded = fold(text).removesuffix("s")
        roles = sorted({c.role for c in self.store.characters()})
        for role in roles:
            if fold(role) == folded or fold(role) == fold(text):
                return (role,)
        for group, members in self.world.meanings.role_groups.items():
            if fold(group) in (folded, fold(text)):
                return tuple(members)
        raise UnknownFaction(text, roles, what="role")

    def ranked(self, stat: str, faction: str | None = None, roles: tuple[str, ...] = (),
               count: int = 3, lowest: bool = False, patch: str | None = None,
               ) -> tuple[str, list[RankedRow]]:
        """(patch, rows): the roster's top `count` by a stat name, from the index."""
        patch_id = self.check_patch(patch)
        return patch_id, self.store.ranking(stat, count, lowest, faction, roles, patch_id)

    def top(self, stat: str, faction: str | None = None, role: str | None = None,
            count: int = MAX_TOP, lowest: bool = False, patch: str | None = None) -> Ranking:
        """The /top view: who leads the roster (or a faction, or a role) in one stat."""
        spec = self.stat_named(stat)
        faction_id = self.faction_named(faction)
        roles = self.roles_named(role)
        count = max(1, min(int(count), MAX_TOP))
        patch_id, rows = self.ranked(spec.name, faction_id, roles, count, lowest, patch)
        scope = " ".join(filter(None, [self.world.faction(faction_id).name if faction_id else "",
                                       role.strip().lower() if role else ""]))
        return Ranking(spec.label, spec.unit, patch_id, scope, lowest, [
            (i, r.character_id, r.name, self.world.faction(r.faction).name, r.role,
             spec.format_with_unit(r.value), r.value)
            for i, r in enumerate(rows, 1)])
