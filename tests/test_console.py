"""Console mode: every command through the same engine (scripted generator), name parsing, exits."""

from __future__ import annotations

import io
import json
import re

import pytest

from bot.console import Console, repl, run_console
from tests.bot_fixtures import make_engine

ORC = "hagga-grim-eye"
ELF = "arariel-dawnsong"


def _attack_reply(messages, adapter):
    facts = messages[1]["content"]
    return "Me attack " + facts.split("Attack: ")[1].split("\n")[0] + "!" if "Attack: " in facts \
        else "Grr."


@pytest.fixture
def console(seeded_store, tmp_path):
    engine = make_engine(seeded_store, _attack_reply)
    return Console(engine, io.StringIO(), charts_dir=tmp_path / "charts")


def _say(console: Console, line: str) -> str:
    console.out.seek(0)
    console.out.truncate()
    assert console.handle(line)
    return console.out.getvalue()


@pytest.mark.parametrize("line", [
    "/ask hagga grim-eye what is your attack?",
    '/ask "Hagga Grim-Eye" what is your attack?',
    "/ask Hagga what is your attack?",
    "/ask hagga-grim-eye attack?",
    "hagga grim-eye what is your attack?",
    "/ASK   hagga grim eye   what is your attack?",
])
def test_ask_parses_names_with_spaces(console, seeded_store, line):
    attack = seeded_store.show(ORC).stats["attack"]
    out = _say(console, line)
    assert out.startswith("Hagga Grim-Eye: Me attack")
    assert f"Me attack {attack}!\n— Attack {attack} · Patch 2026-W48" in out
    call = console.engine.generator.calls[-1][0][1]["content"]
    assert call.endswith("attack?")


def test_ask_errors_are_short_messages(console):
    assert "Did you mean" in _say(console, "/ask Zzqx Vvbnq hi")
    assert "Ask Hagga Grim-Eye something" in _say(console, "/ask hagga grim-eye")
    assert "Usage: /ask" in _say(console, "/ask")
    assert "No patch called" in _say(console, "/ask hagga attack in W99?")
    assert "Unknown command /frob" in _say(console, "/frob")


def test_stats_compare_changes_whois_patch_status(console, seeded_store):
    old = seeded_store.show(ORC, "2026-W46").stats
    assert f"Speed          {old['speed']}" in _say(console, "/stats hagga grim-eye W46")
    for line in ("/compare hagga grim-eye vs arariel dawnsong",
                 "/compare hagga grim-eye arariel dawnsong",
                 '/compare "Hagga Grim-Eye" "Arariel Dawnsong"'):
        out = _say(console, line)
        assert out.startswith("Hagga Grim-Eye vs Arariel Dawnsong"), line
    assert "Did you mean" in _say(console, "/compare zzqq xxvv")
    assert "Patch 2026-W48" in _say(console, "/changes bal-zul-skullgnaw")
    assert "Patch 2026-W46" in _say(console, "/changes hagga W45 W46")
    assert "Gorefang Pass" in _say(console, "/whois hagga")
    assert "Biggest nerfs" in _say(console, "/patch")
    assert "2026-W45-hotfix" in _say(console, "/patch W45-hotfix")
    status = _say(console, "/status")
    assert "healthy" in status and "orcish, elvish" in status
    assert "/history NAME STAT" in _say(console, "/help")


def test_history_saves_a_png(console, tmp_path):
    out = _say(console, "/history hagga grim-eye attack speed")
    path = tmp_path / "charts" / f"{ORC}-attack_speed.png"
    assert f"Chart saved to {path}" in out and path.read_bytes().startswith(b"\x89PNG")
    assert "2026-W40" in out and "Attack speed (/s) by patch" in out
    assert "No stat called" in _say(console, "/history hagga charisma")


def test_import_then_ask_sees_the_new_value(fresh_store, tmp_path):
    console = Console(make_engine(fresh_store, _attack_reply), io.StringIO(), tmp_path)
    patch = {"patch": "2026-W49", "released": "2026-12-01", "kind": "delta", "notes": "T.",
             "characters": [{"id": ORC, "stats": {"attack": 333}}]}
    path = tmp_path / "w49.json"
    path.write_text(json.dumps(patch))
    assert "imported (patch 2026-W49)" in _say(console, f"/import {path}")
    assert "unchanged" in _say(console, f"/import {path}")
    assert "No such file" in _say(console, "/import /nonexistent.json")
    assert "Me attack 333!\n— Attack 333 · Patch 2026-W49" in _say(console, "/ask hagga attack?")


def test_fallback_is_shown_after_a_failed_stream(seeded_store):
    console = Console(make_engine(seeded_store, ["Me attack 5555 today!"]), io.StringIO())
    out = _say(console, "/ask hagga attack?")
    assert "failed the fact check" in out and "5555" not in out and "fallback template" in out


def test_repl_quits_on_quit_eof_and_ctrl_c(console):
    assert not console.handle("/quit")
    assert repl(console, io.StringIO("/help\n")) == 0
    assert console.out.getvalue().endswith("Farewell.\n")

    class CtrlC(io.StringIO):
        def readline(self, *args):
            raise KeyboardInterrupt

    assert repl(console, CtrlC()) == 0


def test_run_console_prints_a_ready_line(seeded_store):
    out = io.StringIO()
    code = run_console(lambda: make_engine(seeded_store, _attack_reply), warmup=False,
                       stdin=io.StringIO("/ask hagga attack?\n/quit\n"), out=out)
    text = out.getvalue()
    assert code == 0 and text.startswith("Lorekeeper console ready in ")
    assert "patch 2026-W48" in text and "Me attack" in text
    assert re.search(r"next import \d{4}-\d\d-\d\dT10:00", text), text  # Tuesdays 10:00 UTC


def test_console_runs_the_weekly_import_in_the_background(seeded_store):
    engine = make_engine(seeded_store, _attack_reply)
    console = Console(engine, io.StringIO())
    try:
        engine.start_scheduler(background=True)
        assert engine.scheduler.running and engine.next_import()
        console.handle("/status")
        assert "next_import" in console.out.getvalue()
    finally:
        engine.close()
    assert engine.scheduler is None and engine.status()["next_import"] == "scheduler off"
