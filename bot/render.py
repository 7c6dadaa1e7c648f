"""Plain-text rendering of answers and views, Discord's limits, and output sanitising. Pure.

The console and the CLI print these strings; the Discord layer uses the same limits and
`sanitize` for every piece of user- or model-provided text it sends.
"""

from __future__ import annotations

import re

from bot.views import Answer, Comparison, History, LoreCard, PatchView, Ranking, StatCard
from characters.schema import StatSchema

MESSAGE_LIMIT = 2000
AUTOCOMPLETE_LIMIT = 25
AUTOCOMPLETE_NAME_LIMIT = 100
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 25
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

ZWSP = "\u200b"
# An answer footer names at most this many stats; more read as "Full stat card".
FOOTER_STATS = 4
_MASS_MENTION_RE = re.compile(r"@(everyone|here)", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_LINE_MARKUP_RE = re.compile(r"(?m)^(\s*)(#{1,3} |-# |>>> |> )")


def sanitize(text: str) -> str:
    """Neutralise mentions, masked links, code fences and line markup in untrusted text."""
    text = _CONTROL_RE.sub("", text)
    text = _MASS_MENTION_RE.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    text = text.replace("<@", f"<@{ZWSP}").replace("<#", f"<#{ZWSP}").replace("</", f"<{ZWSP}/")
    text = text.replace("](", f"]{ZWSP}(").replace("```", "'''")
    return _LINE_MARKUP_RE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def stats_line(answer: Answer, schema: StatSchema) -> str:
    """"Attack 91 · Patch 2026-W48": the stats an answer showed and its patch."""
    parts = []
    read = [f"({answer.read_as})"] if answer.read_as else []
    if answer.ranking is not None:
        stat = schema.get(answer.stats_shown[0]) if answer.stats_shown else None
        label = stat.label if stat is not None else "Ranking"
        return " · ".join([f"{label} ranking, {len(answer.ranking)} shown",
                           f"Patch {answer.patch}", *read])
    if len(answer.stats_shown) > FOOTER_STATS:
        return " · ".join([f"Full stat card · Patch {answer.patch}", *read])
    for name in answer.stats_shown:
        stat = schema.get(name)
        if stat is not None and name in answer.facts:
            parts.append(f"{stat.label} {stat.format_with_unit(answer.facts[name])}")
    parts.append(f"Patch {answer.patch}")
    return " · ".join([*parts, *read])


def render_answer(answer: Answer, schema: StatSchema | None = None) -> str:
    """The reply, then a line naming the stats shown and the patch."""
    if schema is None:
        from characters.world import get_world

        schema = get_world().schema
    footer = f"— {stats_line(answer, schema)}"
    body = clip(sanitize(answer.answer), MESSAGE_LIMIT - len(footer) - 2)
    return f"{body}\n{footer}"


def _table(rows: list[tuple[str, str]]) -> str:
    width = max((len(label) for label, _ in rows), default=0)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


def render_stat_card(card: StatCard) -> str:
    """A stat card as a header and an aligned table."""
    head = f"{sanitize(card.character.name)} ({card.faction_name} {card.character.role})"
    return f"{head} · Patch {card.patch}\n{_table(card.rows)}"


def render_comparison(comparison: Comparison) -> str:
    """Two characters' stats in three columns, with the stronger side marked."""
    left, right = comparison.left, comparison.right
    a, b = sanitize(left.character.name), sanitize(right.character.name)
    width = max([len(label) for label, _ in left.rows] + [5])
    col = max(len(a), 8)
    lines = [f"{a} vs {b} · Patch {left.patch}",
             f"  {'':<{width}}  {a:<{col}}  {b}"]
    right_values = dict(right.rows)
    for label, value in left.rows:
        mark = {left.character.name: " <", right.character.name: " >"}.get(
            comparison.better.get(label, ""), "")
        lines.append(f"  {label:<{width}}  {value:<{col}}  {right_values.get(label, '?')}{mark}")
    lines.append("  (< left is stronger, > right is stronger; for cost, cheaper is stronger)")
    return "\n".join(lines)


def render_patch(view: PatchView, top: int = 5) -> str:
    """A patch: notes, counts, and its biggest buffs and nerfs."""
    lines = [f"Patch {view.patch} (released {view.released})"]
    if view.notes:
        lines.append(f"  {sanitize(view.notes)}")
    lines.append(f"  {view.changed} characters changed")
    if view.new_characters:
        lines.append(f"  New: {', '.join(sanitize(n) for n in view.new_characters)}")
    for title, moves in (("Biggest buffs", view.buffs), ("Biggest nerfs", view.nerfs)):
        if moves:
            lines.append(f"  {title}:")
            lines += [f"    {sanitize(name)}: {label} {old} -> {new}"
                      for name, label, old, new in moves[:top]]
    return "\n".join(lines)


def render_lore(card: LoreCard) -> str:
    """A lore card as text."""
    return sanitize(card.text)


def render_history_text(history: History) -> str:
    """A stat's history as a small table: patch, release date, value."""
    unit = f" ({history.unit})" if history.unit else ""
    rows = [(patch, f"{released}  {'unknown' if value is None else value}")
            for patch, released, value in history.points]
    head = f"{sanitize(history.character.name)}: {history.stat_label}{unit} by patch"
    return f"{head}\n{_table(rows)}"


def render_ranking(view: Ranking) -> str:
    """A roster ranking as a header and an aligned table (the console and `python -m bot top`)."""
    order = "lowest first" if view.lowest else "highest first"
    scope = f" among {view.scope}" if view.scope else ""
    head = f"{view.stat_label}{scope}, {order} · Patch {view.patch}"
    if not view.rows:
        return f"{head}\n  (no character matches)"
    width = max(len(sanitize(name)) for _r, _c, name, *_ in view.rows)
    lines = [f"  {rank:>2}. {sanitize(name):<{width}}  {shown:>10}  {faction} {role}"
             for rank, _cid, name, faction, role, shown, _value in view.rows]
    return "\n".join([head, *lines])
