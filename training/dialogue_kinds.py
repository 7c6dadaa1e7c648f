"""How each kind of dialogue example is drawn: one maker per kind, each from a faction's
`Builder` (its voice lines, this split's characters and value ranges) and a seeded `rng`.

A maker returns (facts, question, answer, asked values, template id); `training.dialogue_data`
chooses the kinds, checks every answer and writes the splits. The order of the rng's draws is the
data: a change here changes the dialogue files (`python -m training.dialogue_data --check`) and
needs the adapters retrained.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from characters.cards import (
    NEWEST_FACTS_LAYOUT,
    render_changes,
    render_lore_card,
    render_ranking,
    render_stat_card,
    talk_card_stats,
)
from characters.schema import Number, Stat
from characters.voices import LoreGrammar
from characters.world import Character, World
from training import questions as Q

# An answer grows an opener or closer only up to this length: about the most that surely fits in
# the bot's 64 new tokens (Elvish, with numbers); tests/test_training_data.py counts the tokens.
MAX_ANSWER_CHARS = 175
# An answer to "what are your stats?" tells the card's first lines: all 12 would not fit.
ALL_STATS_TOLD = 3
# A roster answer that lists ("top 5 ...") names min(n, this) characters, always: a voice's
# lines.json may set fewer ("roster_listed"; a wordier voice, so that the answer ends inside 64
# new tokens). The count must follow from the question alone: when it followed the names'
# lengths (a cap on characters), the Dwarvish and Elvish adapters listed one name too few or too
# many on most fresh roster questions (README, "Evaluation").
MAX_ROSTER_LISTED = 4
PURE_DIALOGUE = ("greeting", "boast", "taunt", "farewell", "lore_talk")
Voice = dict


def is_heldout_value(stat: Stat, value: Number) -> bool:
    """Whether a stat value belongs to the held-out quarter of that stat's values."""
    return zlib.crc32(f"{stat.name}={stat.format(value)}".encode()) % 4 == 0



def sample_value(stat: Stat, rng: random.Random, heldout: bool,
                 span: tuple[float, float]) -> Number:
    """A random value of `stat` from the train or held-out part of its values."""
    while True:
        raw = rng.uniform(*span)
        value = stat.coerce(round(raw) if stat.type == "int" else round(raw, stat.decimals or 2))
        if is_heldout_value(stat, value) == heldout:
            return value



@dataclass(frozen=True)
class Builder:
    """Everything one faction's examples are drawn from."""

    world: World
    faction: str
    voice: Voice
    heldout: bool
    ranges: dict[str, tuple[float, float]]
    # this split's characters of every faction, by faction id (the rankings name any of them)
    rosters: dict[str, tuple[Character, ...]]
    grammar: LoreGrammar = field(default_factory=LoreGrammar)
    # the facts layout the data is written in (characters.cards.FACTS_LAYOUTS)
    layout: int = NEWEST_FACTS_LAYOUT

    @property
    def characters(self) -> tuple[Character, ...]:
        """This split's characters of the faction, who answer."""
        return self.rosters[self.faction]

    def stats(self, rng: random.Random) -> dict[str, Number]:
        return {
            s.name: sample_value(s, rng, self.heldout, self.ranges[s.name])
            for s in self.world.schema.stats
        }


def _pick(rng: random.Random, voice: Voice, key: str, avoid: set[int] | None = None,
          ) -> tuple[str, int]:
    lines = voice[key]
    choices = [i for i in range(len(lines)) if not avoid or i not in avoid] or range(len(lines))
    index = rng.choice(choices)
    if avoid is not None:
        avoid.add(index)
    return lines[index], index


def _fill(text: str, **slots: object) -> str:
    out = text
    for key, value in slots.items():
        out = out.replace("{" + key + "}", str(value))
        cap = str(value)[:1].upper() + str(value)[1:]
        out = out.replace("{" + key[:1].upper() + key[1:] + "}", cap)
    return out


def _patch_ids(rng: random.Random) -> tuple[str, str]:
    year = rng.choice((2025, 2026, 2027))
    week = rng.randint(2, 52)
    return f"{year}-W{week:02d}", f"{year}-W{rng.randint(1, week - 1):02d}"


def _syn(stat: Stat, rng: random.Random) -> str:
    words = [stat.label.lower()] + [
        s for s in stat.synonyms if not s.startswith(("how ", "hit ")) and s != "power"
    ]
    return rng.choice(words)


def _card(b: Builder, char: Character, stats: dict[str, Number], patch: str,
          must: tuple[str, ...]) -> str:
    """The stat card exactly as the bot lays it out for the question (`Engine._plan`).

    A question that names stats gets a card of just those stats; one that names none gets the
    full card. (Earlier data added other lines to 15% of the named cards and gave 5% the full
    card, so that the adapter would find the asked line in a longer block. The bot never
    serves those layouts with a value it requires, and the held-out report showed where they
    cost: Dwarvish answered 52/52 of the served layout but 9/19 of the longer ones.)
    """
    faction = b.world.faction(b.faction)
    return render_stat_card(char, faction, stats, patch, b.world.schema,
                            only=must if must else None)


def _talk_card(b: Builder, char: Character, stats: dict[str, Number], patch: str) -> str:
    """The card the bot serves small talk (greetings, boasts, taunts, farewells) in the data's
    facts layout: the full card, or its header line alone."""
    faction = b.world.faction(b.faction)
    return render_stat_card(char, faction, stats, patch, b.world.schema,
                            only=talk_card_stats(b.layout, b.world.schema.names))


def _stat_sentence(b: Builder, rng: random.Random, stat: Stat, value: Number, char: Character,
                   comment: bool, used: set[int] | None = None) -> tuple[list[str], str]:
    line, index = _pick(rng, b.voice, "stat_lines", used)
    parts = [_fill(line, label=stat.label.lower(), value=stat.format_with_unit(value),
                   first=char.first_name)]
    if comment and rng.random() < 0.65:
        lo, hi = b.ranges[stat.name]
        where = (float(value) - lo) / ((hi - lo) or 1)
        pool = "high" if where > 0.8 else "low" if where < 0.2 else None
        if pool and rng.random() < 0.5:
            parts.append(rng.choice(b.voice[pool]))
        else:
            parts.append(rng.choice(b.voice["stat_comments"][stat.name]))
    return parts, f"stat_line{index}"


def _wrap(b: Builder, rng: random.Random, parts: list[str], p_open: float, p_close: float,
          **slots: object) -> str:
    """The answer's parts, maybe with an opener and a closer, as long as it stays short enough
    to end inside the bot's max_new_tokens."""
    for pool, chance in (("openers", p_open), ("closers", p_close)):
        if rng.random() < chance:
            extra = _fill(rng.choice(b.voice[pool]), **slots)
            if len(" ".join([*parts, extra])) <= MAX_ANSWER_CHARS:
                parts = [extra, *parts] if pool == "openers" else [*parts, extra]
    return " ".join(parts)


def make_one_stat(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, _) = b.stats(rng), _patch_ids(rng)
    stat = rng.choice(b.world.schema.stats)
    roll = rng.random()
    if roll < 0.15:
        question, qt = rng.choice(Q.STAT_PHRASES[stat.name]), "phrase"
    elif roll < 0.3:  # the bot's own paraphrase families (meanings.json)
        phrase = rng.choice(b.world.meanings[stat.name].phrasings)
        question, qt = phrase[:1].upper() + phrase[1:] + "?", "meaning"
    else:
        qt = rng.randrange(len(Q.ONE_STAT))
        question = _fill(Q.ONE_STAT[qt], syn=_syn(stat, rng), first=char.first_name)
    parts, template = _stat_sentence(b, rng, stat, stats[stat.name], char, comment=True)
    answer = _wrap(b, rng, parts, 0.4, 0.25, first=char.first_name)
    facts = _card(b, char, stats, patch, (stat.name,))
    return facts, question, answer, {stat.name: stats[stat.name]}, f"{template}/q{qt}"


def make_multi_stat(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, _) = b.stats(rng), _patch_ids(rng)
    chosen = rng.sample(b.world.schema.stats, rng.choice((2, 3)))
    if len(chosen) == 2 and rng.random() < 0.8:
        qt = rng.randrange(len(Q.MULTI_STAT))
        question = _fill(Q.MULTI_STAT[qt], a=_syn(chosen[0], rng), b=_syn(chosen[1], rng),
                         first=char.first_name)
    else:  # all of them: the bot shows the full card, and the answer reads its first lines
        qt = 100 + rng.randrange(len(Q.ALL_STATS))
        question = Q.ALL_STATS[qt - 100]
        chosen = list(b.world.schema.stats[:ALL_STATS_TOLD])
    names = tuple(s.name for s in chosen)
    chosen = _in_card_order(b, chosen)
    facts = _card(b, char, stats, patch, names if qt < 100 else ())
    parts, templates, used = [rng.choice(b.voice["multi_intro"])], [], set()
    if "stat_clauses" in b.voice:  # a long-winded voice lists them in one sentence
        clauses = [_fill(rng.choice(b.voice["stat_clauses"]), label=s.label.lower(),
                         value=s.format_with_unit(stats[s.name])) for s in chosen]
        parts.append(_listed(clauses))
        if "list_outro" in b.voice:  # a terse voice puts its voice after the numbers
            parts.append(rng.choice(b.voice["list_outro"]))
        templates.append("clauses")
    else:
        for i, stat in enumerate(chosen):
            sentence, template = _stat_sentence(b, rng, stat, stats[stat.name], char,
                                                comment=len(chosen) == 2 and i == 1, used=used)
            parts += sentence
            templates.append(template)
    keep_intro = templates[0] == "clauses" or rng.random() < 0.5
    answer = _wrap(b, rng, parts if keep_intro else parts[1:], 0.0, 0.2, first=char.first_name)
    return facts, question, answer, {n: stats[n] for n in names}, f"multi/{templates[0]}/q{qt}"


def _in_card_order(b: Builder, stats: list[Stat]) -> list[Stat]:
    """`stats` in the order the card (and the changes block) lists them, so that an answer
    reads its facts top to bottom."""
    return [s for s in b.world.schema.stats if s in stats]


def _listed(clauses: list[str]) -> str:
    """"A; b; c." The same mark between every pair, so no clause has to know how many follow."""
    body = "; ".join(clauses)
    return body[:1].upper() + body[1:] + "."


def make_changes(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, from_patch) = b.stats(rng), _patch_ids(rng)
    changed = [] if rng.random() < 0.1 else rng.sample(b.world.schema.stats,
                                                       rng.choice((1, 2, 3)))
    old = {s.name: b.stats(rng)[s.name] for s in changed}
    changed = _in_card_order(b, [s for s in changed if old[s.name] != stats[s.name]])
    changes = {s.name: (old[s.name], stats[s.name]) for s in changed}
    names = tuple(s.name for s in changed)
    # The bot's card for a changes question holds what changed, and no stat lines if nothing did.
    facts = render_stat_card(char, b.world.faction(b.faction), stats, patch, b.world.schema,
                             only=names) + "\n\n" + render_changes(changes, from_patch,
                                                                   b.world.schema)
    qt = rng.randrange(len(Q.CHANGES))
    question = _fill(Q.CHANGES[qt], from_patch=from_patch)
    slots = {"first": char.first_name, "from_patch": from_patch}
    if not changed:
        line, index = _pick(rng, b.voice, "no_change")
        return facts, question, _fill(line, **slots), {}, f"no_change{index}/q{qt}"
    # A voice with change clauses lists several changes as short clauses of one sentence:
    # Elvish sentences for three changes outrun max_new_tokens, and one form for every list of
    # changes is easier to learn than a form that switches at three (Elvish, with sentences for
    # two, answered three changes with two sentences and stopped).
    clauses = "change_clauses_up" in b.voice and len(changed) >= 2
    # An intro (and a closer) only for one change: with more the reply would outrun the bot's
    # max_new_tokens in the Elvish voice (tests/test_training_data.py checks every answer).
    intro = rng.random() < 0.4 and len(changed) == 1
    parts = [_fill(rng.choice(b.voice["change_intro"]), **slots)] if intro else []
    lines = []
    for stat in changed:
        key = ("change_clauses" if clauses else "change") + (
            "_up" if stats[stat.name] > old[stat.name] else "_down")
        line, index = _pick(rng, b.voice, key)
        lines.append(_fill(line, label=stat.label.lower(), old=stat.format(old[stat.name]),
                           new=stat.format(stats[stat.name])))
    if clauses:  # the clauses carry the numbers; a short tail carries the voice
        lines[-1] += ", " + rng.choice(b.voice["change_outro"])
    parts += [_listed(lines)] if clauses else lines
    answer = _wrap(b, rng, parts, 0.0, 0.2 if len(changed) == 1 else 0.0, **slots)
    return facts, question, answer, {n: stats[n] for n in names}, f"{key}{index}/q{qt}"


def make_lore(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, _) = b.stats(rng), _patch_ids(rng)
    faction = b.world.faction(b.faction)
    # The bot's lore facts: the card's header line (no stats), then the lore.
    facts = render_stat_card(char, faction, stats, patch, b.world.schema, only=()) + (
        "\n\n" + render_lore_card(char, faction))
    sentences = [s.strip() + "." for s in char.lore.split(".") if s.strip()]
    told = " ".join(rng.sample(sentences, min(len(sentences), rng.choice((1, 2)))))
    told = b.grammar.apply(told)
    frame, index = _pick(rng, b.voice, "lore_frames")
    qt = rng.randrange(len(Q.LORE))
    answer = _wrap(b, rng, [_fill(frame, first=char.first_name).replace("{lore}", told)], 0.2,
                   0.3, first=char.first_name)
    return facts, Q.LORE[qt], answer, {}, f"lore{index}/q{qt}"


def make_smalltalk(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, _) = b.stats(rng), _patch_ids(rng)
    index = rng.randrange(len(b.voice["smalltalk"]))
    pair = b.voice["smalltalk"][index]
    answer = _wrap(b, rng, [rng.choice(pair["a"])], 0.25, 0.2, first=char.first_name)
    return _talk_card(b, char, stats, patch), rng.choice(pair["q"]), answer, {}, f"talk{index}"


def make_unknown(b: Builder, rng: random.Random, char: Character) -> tuple:
    stats, (patch, _) = b.stats(rng), _patch_ids(rng)
    roll = rng.random()
    slots = {"first": char.first_name}
    if roll < 0.2:  # the stat is on the card, but its value is unknown
        stat = rng.choice(b.world.schema.stats)
        stats[stat.name] = None
        facts = _card(b, char, stats, patch, (stat.name,))
        question = _fill(rng.choice(Q.ONE_STAT), syn=_syn(stat, rng), first=char.first_name)
        line, index = _pick(rng, b.voice, "unknown_value")
        answer = _fill(line, label=stat.label.lower())
        return facts, question, _wrap(b, rng, [answer], 0.3, 0.2, **slots), {}, f"unk_val{index}"
    # A stat the game does not have. (A stat it has is always on the bot's card, because the
    # bot shows what the question names, so "the card lacks a real stat" never happens.)
    # The bot answers a question that names no stat of the game with the full card, so the
    # adapter learns "not recorded" only there: a short card always holds what was asked.
    thing = rng.choice(Q.UNKNOWN_THINGS)
    facts = _card(b, char, stats, patch, ())
    question = _fill(rng.choice(Q.UNKNOWN), thing=thing)
    line, index = _pick(rng, b.voice, "unknown")
    answer = _wrap(b, rng, [_fill(line, thing=thing)], 0.3, 0.2, **slots)
    return facts, question, answer, {}, f"unknown{index}"


def make_roster(b: Builder, rng: random.Random, char: Character) -> tuple:
    """A question about the whole roster ("who is the fastest elf?") with a ranking block, as the
    bot retrieves it; the answer names the leader (or the first few) with exact values."""
    stat = rng.choice(b.world.schema.stats)
    meaning = b.world.meanings[stat.name]
    lowest = rng.random() < 0.3 and bool(meaning.least)
    sup = rng.choice((meaning.least if lowest else meaning.most) or (stat.label.lower(),))
    scope_roll = rng.random()
    faction_id = rng.choice([f.id for f in b.world.factions]) if scope_roll < 0.75 else ""
    noun, plural = Q.ROSTER_NOUNS.get(faction_id, Q.ROSTER_NOUNS[""])
    pool = _split_pool(b, faction_id)
    scope = b.world.faction(faction_id).name if faction_id else ""
    if faction_id and rng.random() < 0.25:  # one role of a faction ("the cheapest human cleric")
        role = rng.choice(sorted({c.role for c in pool}))
        pool = [c for c in pool if c.role == role] or pool
        noun, plural, scope = f"{noun} {role.lower()}", f"{noun} {role.lower()}s", f"{scope} {role}"
    n = rng.choice((3, 5)) if rng.random() < 0.35 else 0
    template = rng.randrange(len(Q.ROSTER))
    text = Q.ROSTER[template]
    if n and "{n}" not in text:
        text = rng.choice([t for t in Q.ROSTER if "{n}" in t])
    elif not n and "{n}" in text:
        text = Q.ROSTER[0]
    if lowest and ("highest" in text or "best" in text):
        text = Q.ROSTER[0]
    question = _fill(text, sup=sup, noun=noun, plural=plural, syn=_syn(stat, rng), n=n)
    shown = n or 3
    chosen = rng.sample(pool, min(shown, len(pool)))
    values: list[Number] = []
    while len(values) < len(chosen):
        value = sample_value(stat, rng, b.heldout, b.ranges[stat.name])
        if value not in values:
            values.append(value)
    values.sort(reverse=not lowest)
    patch, _ = _patch_ids(rng)
    rows = [(c.name, f"{b.world.faction(c.faction).name} {c.role}", stat.format_with_unit(v))
            for c, v in zip(chosen, values, strict=True)]
    facts = render_ranking(stat.label, rows, patch, lowest, scope)
    label = stat.label.lower()
    if n:
        listed = min(n, b.voice.get("roster_listed", MAX_ROSTER_LISTED))
        clauses = [_fill(rng.choice(b.voice["roster_clauses"]), name=c.name, value=stat.format(v))
                   for c, v in zip(chosen, values, strict=True)][:listed]
        listed = len(clauses)  # a pool smaller than n
        intro = rng.choice(b.voice["roster_intro"])
        parts = [intro, _listed(clauses)]
        outro = rng.choice(b.voice["roster_outro"])
        if rng.random() < 0.5 and len(" ".join([*parts, outro])) <= MAX_ANSWER_CHARS - 40:
            parts.append(outro)
        asked = {f"{stat.name}@{i}": v for i, v in enumerate(values[:listed], 1)}
        kind = "list"
    else:
        line, index = _pick(rng, b.voice, "roster_top")
        parts = [_fill(line, name=rows[0][0], label=label, value=rows[0][2])]
        asked = {f"{stat.name}@1": values[0]}
        kind = f"top{index}"
    answer = _wrap(b, rng, parts, 0.2, 0.0, first=char.first_name)
    return facts, question, answer, asked, f"{kind}/q{template}"


def _split_pool(b: Builder, faction_id: str) -> list[Character]:
    """The characters a ranking may name: this split's (train or held-out) of a faction, or of
    every faction."""
    factions = [faction_id] if faction_id else [f.id for f in b.world.factions]
    return [c for fid in factions for c in b.rosters[fid]]


def make_dialogue(kind: str) -> Callable:
    pool = kind + "s" if kind in ("greeting", "boast", "taunt", "farewell") else kind

    def make(b: Builder, rng: random.Random, char: Character) -> tuple:
        stats, (patch, _) = b.stats(rng), _patch_ids(rng)
        slots = {"first": char.first_name, "region": char.region, "role": char.role.lower()}
        count = 1 if kind in ("greeting", "farewell") else rng.choice((1, 2))
        indexes = rng.sample(range(len(b.voice[pool])), count)
        parts = [_fill(b.voice[pool][i], **slots) for i in indexes]
        answer = _wrap(b, rng, parts, 0.3, 0.25, **slots)
        question = _fill(rng.choice(Q.DIALOGUE[kind]), first=char.first_name)
        # "tell me about your people" is read as lore, which the bot serves the header line and
        # the lore; these answers are the voice's own lines, so they keep the full card
        facts = (_card(b, char, stats, patch, ()) if kind == "lore_talk"
                 else _talk_card(b, char, stats, patch))
        return facts, question, answer, {}, f"{kind}{indexes[0]}"

    return make


MAKERS: dict[str, Callable] = {
    "one_stat": make_one_stat, "multi_stat": make_multi_stat, "changes": make_changes,
    "lore": make_lore, "smalltalk": make_smalltalk, "unknown": make_unknown,
    "roster": make_roster,
    **{kind: make_dialogue(kind) for kind in PURE_DIALOGUE},
}
