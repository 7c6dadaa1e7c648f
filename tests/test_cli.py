"""`python -m bot`: help on every command, ask, batch, exit codes (scripted generator)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest

from bot.cli import main
from tests.bot_fixtures import make_engine

ORC = "hagga-grim-eye"


def _run(argv, engine):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, engine_factory=lambda: engine, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["ask", "--help"]])
def test_every_command_has_fast_help(argv):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "usage: python -m bot" in done.stdout
    assert time.perf_counter() - started < 5
    assert "Traceback" not in done.stderr


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from bot.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch','transformers','lancedb','sentence_transformers',"
            "'bot.engine') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "[]"


def test_ask_json(seeded_store):
    attack = seeded_store.show(ORC).stats["attack"]
    code, out, _ = _run(["ask", "Hagga Grim-Eye", "what is your attack?", "--json"],
                        make_engine(seeded_store, [f"Me attack {attack}!"]))
    data = json.loads(out)
    assert code == 0 and data["answer"] == f"Me attack {attack}!"
    assert data["facts"] == {"attack": attack} and data["adapter"] == "orcish"
    assert data["grounded"] is True and data["fallback"] is False


def test_ask_text_names_stats_and_patch(seeded_store):
    attack = seeded_store.show(ORC).stats["attack"]
    code, out, _ = _run(["ask", "hagga", "attack?", "--adapter", "none"],
                        make_engine(seeded_store, [f"My attack is {attack}."]))
    assert code == 0
    assert out == f"My attack is {attack}.\n— Attack {attack} · Patch 2026-W48\n"


def test_ask_unknown_character_exits_2_with_suggestions(seeded_store):
    code, out, err = _run(["ask", "Hgaga Grim-Eey zz", "hi"], make_engine(seeded_store, ["x"]))
    assert code == 2 and "Did you mean" in err and "Hagga Grim-Eye" in err
    code, out, _ = _run(["ask", "Hgaga Grim-Eey zz", "hi", "--json"],
                        make_engine(seeded_store, ["x"]))
    data = json.loads(out)
    assert code == 2 and data["kind"] == "UnknownCharacter" and data["suggestions"]


def test_ask_unknown_patch_and_adapter_exit_2(seeded_store):
    engine = make_engine(seeded_store, ["x"])
    assert _run(["ask", ORC, "hi", "--patch", "W99"], engine)[0] == 2
    code, _, err = _run(["ask", ORC, "hi", "--adapter", "pirate"], engine)
    assert code == 2 and "auto, none" in err


def test_ask_without_a_question_is_a_usage_error(seeded_store):
    assert _run(["ask", ORC], make_engine(seeded_store, ["x"]))[0] == 2


def test_ask_subprocess_unknown_name_needs_no_model(seeded_data_dir):
    env = {**os.environ, "LOREKEEPER_HOME": str(seeded_data_dir)}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "Hgaga Grim-Eey zz", "hi"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "Did you mean: Hagga Grim-Eye" in done.stderr


def test_batch(seeded_store, tmp_path):
    attack = seeded_store.show(ORC).stats["attack"]
    old_attack = seeded_store.show(ORC, "2026-W40").stats["attack"]
    lines = [
        {"character": ORC, "question": "what is your attack?"},
        "this is not json",
        {"character": ORC},
        {"character": "Hgaga Grim-Eey zz", "question": "hi"},
        {"character": ORC, "question": "attack?", "patch": "W99"},
        {"character": ORC, "question": "attack?", "patch": "2026-W40"},
        [1, 2],
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")

    def reply(messages, adapter):
        return messages[1]["content"].split("Attack: ")[1].split("\n")[0] + "!"

    code, out, err = _run(["ask", "--batch", str(path), "--json"],
                          make_engine(seeded_store, reply))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "5 of the lines failed" in err
    assert [r["line"] for r in rows] == list(range(1, 8))
    assert rows[0]["answer"] == f"{attack}!" and rows[5]["answer"] == f"{old_attack}!"
    assert rows[5]["patch"] == "2026-W40"
    assert [("error" in r) for r in rows] == [False, True, True, True, True, False, True]
    assert rows[3]["kind"] == "UnknownCharacter" and rows[3]["suggestions"]


def test_batch_unreadable_file(seeded_store, tmp_path):
    code, _, err = _run(["ask", "--batch", str(tmp_path / "missing.jsonl"), "--json"],
                        make_engine(seeded_store, ["x"]))
    assert code == 2 and "cannot read" in err


def test_run_goes_to_discord_with_a_token_else_console(seeded_store, monkeypatch):
    import bot.console
    import bot.discord_app

    seen: list[str] = []
    monkeypatch.setattr(bot.discord_app, "run_discord",
                        lambda config, engine: seen.append(f"discord {engine.store is not None}"))
    monkeypatch.setattr(bot.console, "run_console",
                        lambda **kwargs: seen.append("console") or 0)
    factory = lambda: make_engine(seeded_store, ["x"])  # noqa: E731
    monkeypatch.setenv("DISCORD_TOKEN", "token-for-test")
    assert main([], engine_factory=factory) == 0
    assert main(["run", "--console"], engine_factory=factory) == 0
    monkeypatch.delenv("DISCORD_TOKEN")
    assert main(["run"], engine_factory=factory) == 0
    assert seen == ["discord True", "console", "console"]
