"""Text rendering, clipping and sanitising. Pure."""

from __future__ import annotations

from bot.render import (
    MESSAGE_LIMIT,
    ZWSP,
    clip,
    render_answer,
    render_history_text,
    render_patch,
    render_stat_card,
    sanitize,
)
from bot.verify import MENTION_RE
from bot.views import Answer, History, PatchView, StatCard


def _answer(text: str, **kw) -> Answer:
    base = dict(character_id="x", name="X", faction="orcish", adapter="orcish",
                patch="2026-W48", answer=text, facts={"attack": 91, "crit_chance": 12.5},
                grounded=True, fallback=False, latency_s=0.5, question="q",
                stats_shown=("attack", "crit_chance"))
    base.update(kw)
    return Answer(**base)


def test_render_answer_names_stats_and_patch(world):
    out = render_answer(_answer("Me attack 91!"), world.schema)
    assert out == "Me attack 91!\n— Attack 91 · Crit chance 12.5% · Patch 2026-W48"


def test_render_answer_fits_a_message(world):
    out = render_answer(_answer("Grr! " * 1000), world.schema)
    assert len(out) <= MESSAGE_LIMIT
    assert out.endswith("Patch 2026-W48")


def test_sanitize_neutralises_every_mention():
    hostile = "@everyone @here <@123> <@!456> <@&789> <#42> @EVERYONE"
    clean = sanitize(hostile)
    assert not MENTION_RE.search(clean)
    assert "@everyone" not in clean.lower() and f"@{ZWSP}everyone" in clean


def test_sanitize_breaks_masked_links_fences_and_headings():
    clean = sanitize("[free nitro](http://x.example)\n# BIG\n```py\nx\n```\n> quote")
    assert "](" not in clean and "```" not in clean
    assert "\n\\# BIG" in clean and "\n\\> quote" in clean


def test_sanitize_keeps_plain_text_and_strips_controls():
    assert sanitize("Me attack 91! Grr.") == "Me attack 91! Grr."
    assert sanitize("a\x00b\u202ec") == "abc"


def test_clip():
    assert clip("short", 10) == "short"
    assert clip("x" * 20, 10) == "x" * 9 + "…"
    assert len(clip("x" * 3000)) == MESSAGE_LIMIT


def test_stat_card_and_history_text(world):
    character = world.characters[0]
    card = StatCard(character, "Orcish", "2026-W48", [("Attack", "91"), ("Health", "1250 hp")])
    text = render_stat_card(card)
    assert character.name in text and "Patch 2026-W48" in text and "1250 hp" in text
    history = History(character, "Attack", "", [("2026-W47", "2026-11-17", 95),
                                                ("2026-W48", "2026-11-24", None)])
    table = render_history_text(history)
    assert "2026-W47" in table and "95" in table and "unknown" in table


def test_render_patch_lists_moves():
    view = PatchView("2026-W48", "2026-11-24", "Orcs toned down.", 2, ["New Guy"],
                     [("A", "Health regen", "5.0", "6.6")], [("B", "Attack", "95", "91")])
    text = render_patch(view)
    assert "Biggest buffs" in text and "B: Attack 95 -> 91" in text and "New: New Guy" in text


def test_footer_for_the_full_card(world):
    answer = _answer("Grr.", stats_shown=world.schema.names)
    assert render_answer(answer, world.schema).endswith("— Full stat card · Patch 2026-W48")
