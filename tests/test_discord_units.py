"""The Discord layer's pure parts: admission, cooldown, throttled streaming, embeds, helpers."""

from __future__ import annotations

import ast
import asyncio
import itertools
import threading
from pathlib import Path

import discord
import pytest

from bot.discord_app import invite_url, run_discord
from bot.discord_app.client import INVITE_PERMISSIONS, MissingToken
from bot.discord_app.cogs.admin import render_import_results, upload_name
from bot.discord_app.embeds import limited_embed, patch_embed
from bot.discord_app.gate import QueueFull, RequestGate, UserCooldown
from bot.discord_app.limits import EMBED_FIELD_LIMIT, EMBED_TOTAL_LIMIT
from bot.discord_app.streaming import TYPING_MARK, StreamedReply
from bot.views import PatchView
from characters.config import get_config
from stats_db.ingest import ImportResult


async def test_gate_refuses_beyond_capacity_and_frees_places():
    gate = RequestGate(capacity=2, workers=1)
    first, second = gate.admit(), gate.admit()
    assert gate.depth == 2 and gate.full
    with pytest.raises(QueueFull):
        gate.admit()
    first.close()
    first.close()  # closing twice frees one place only
    assert gate.depth == 1
    async with gate.admit():
        assert gate.depth == 2
    second.close()
    assert (gate.depth, gate.refused, gate.served) == (0, 1, 3)


async def test_gate_runs_at_most_workers_calls_at_once_in_threads():
    gate = RequestGate(capacity=10, workers=2)
    running, peak, lock = 0, 0, threading.Lock()
    loop_thread = threading.get_ident()

    def work() -> int:
        nonlocal running, peak
        assert threading.get_ident() != loop_thread
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.05)
        with lock:
            running -= 1
        return 1

    async def one() -> int:
        async with gate.admit() as admission:
            return await admission.run(work)

    assert sum(await asyncio.gather(*(one() for _ in range(6)))) == 6
    assert peak == 2
    assert gate.depth == 0


def test_gate_needs_room():
    with pytest.raises(ValueError):
        RequestGate(capacity=0, workers=1)


def test_cooldown_is_per_user_and_expires():
    now = [100.0]
    cooldown = UserCooldown(5.0, clock=lambda: now[0])
    assert cooldown.retry_after(1) == 0.0
    now[0] += 2.0
    assert cooldown.retry_after(1) == pytest.approx(3.0)
    assert cooldown.retry_after(2) == 0.0
    now[0] += 3.0
    assert cooldown.retry_after(1) == 0.0


def test_zero_cooldown_never_refuses():
    cooldown = UserCooldown(0.0)
    assert all(cooldown.retry_after(1) == 0.0 for _ in range(5))


async def test_streamed_reply_throttles_edits_and_shows_the_latest_text():
    edits: list[tuple[float, str]] = []
    loop = asyncio.get_running_loop()

    async def edit(text: str) -> None:
        edits.append((loop.time(), text))

    stream = StreamedReply(edit, interval=0.2)
    words = [f"word{i}" for i in range(30)]

    def produce() -> None:  # the engine's worker thread
        for n in range(1, len(words) + 1):
            stream.on_text(" ".join(words[:n]))
            threading.Event().wait(0.02)

    await asyncio.to_thread(produce)
    await stream.finish(lambda: edit("FINAL"))
    times = [t for t, _ in edits]
    assert len(edits) >= 3
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))
    assert edits[-1][1] == "FINAL"
    shown = [text.removesuffix(TYPING_MARK) for _, text in edits[:-1]]
    assert all(" ".join(words).startswith(text) for text in shown)
    assert stream.edits == len(edits)


async def test_streamed_reply_sanitises_and_clips():
    edits: list[str] = []

    async def edit(text: str) -> None:
        edits.append(text)

    stream = StreamedReply(edit, interval=0.0)
    stream.on_text("@everyone " + "x" * 5000)
    await asyncio.sleep(0.05)
    await stream.close()
    assert edits and "@everyone" not in edits[0] and len(edits[0]) <= 2000


async def test_streamed_reply_that_never_streamed_makes_only_the_final_edit():
    edits: list[str] = []

    async def edit(text: str) -> None:
        edits.append(text)

    stream = StreamedReply(edit, interval=1.0)
    await stream.finish(lambda: edit("done"))
    assert edits == ["done"]


def test_limited_embed_stays_inside_every_limit():
    fields = [(f"name{i}" * 50, "v" * 2000, True) for i in range(40)]
    embed = limited_embed("t" * 500, "d" * 9000, fields=fields, footer="f" * 3000)
    assert len(embed.title) <= 256 and len(embed.description) <= 4096
    assert len(embed.fields) <= EMBED_FIELD_LIMIT
    assert all(len(f.name) <= 256 and len(f.value) <= 1024 for f in embed.fields)
    assert len(embed) <= EMBED_TOTAL_LIMIT


def test_patch_embed_lists_the_biggest_moves_with_mentions_neutralised():
    view = PatchView("2026-W48", "2026-11-24", "@everyone patch day", 3, ["<@123> the New"],
                     [("Grukk", "Attack", "80", "91")], [])
    embed = patch_embed(view)
    fields = {f.name: f.value for f in embed.fields}
    assert "Grukk: Attack 80 → 91" in fields["Biggest buffs"]
    assert fields["Biggest nerfs"] == "none"
    assert "@everyone" not in embed.description and "<@1" not in fields["New characters"]


def test_upload_names_are_safe_local_names():
    assert upload_name("2026-W49.json") == "2026-W49.json"
    assert upload_name("../../etc/passwd") == "passwd.json"
    assert upload_name("my patch (1).JSON") == "my_patch_1_.JSON.json"
    assert upload_name("...") == "patch.json"


def test_import_results_name_the_file_and_the_reasons():
    results = [
        ImportResult(Path("/tmp/a.json"), "2026-W49", "imported"),
        ImportResult(Path("/tmp/b.json"), None, "rejected",
                     errors=[f"entry {i}: attack: too big" for i in range(12)]),
    ]
    text = render_import_results(results)
    assert "`a.json` (2026-W49): imported" in text
    assert "`b.json`: rejected" in text and "entry 0: attack: too big" in text
    assert "… and 2 more" in text
    assert render_import_results([]) == "The inbox holds no new patch files."


def test_invite_asks_for_exactly_the_needed_permissions():
    assert INVITE_PERMISSIONS.value == 116736
    url = invite_url(1234)
    assert "client_id=1234" in url and "permissions=116736" in url
    assert "scope=bot+applications.commands" in url
    assert discord.Permissions(116736) == discord.Permissions(
        send_messages=True, embed_links=True, attach_files=True, read_message_history=True)


def test_run_discord_needs_the_token(monkeypatch):
    config = get_config()
    monkeypatch.delenv(config.bot.token_env, raising=False)
    with pytest.raises(MissingToken, match=config.bot.token_env):
        run_discord(config, engine=None)  # type: ignore[arg-type]


def test_embed_colours_come_from_the_voice_folders():
    from bot.discord_app.embeds import DEFAULT_COLOUR, colour_for
    from characters.voices import get_voice, voiced_factions

    colours = {f: colour_for(f).value for f in voiced_factions()}
    assert colours == {f: get_voice(f).colour for f in voiced_factions()}
    assert len(set(colours.values())) == len(colours)  # each faction its own colour
    assert colour_for("goblin").value == DEFAULT_COLOUR


def _runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs (imports under `if TYPE_CHECKING:` excluded)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycle_between_client_errors_and_replies():
    folder = Path(__file__).resolve().parents[1] / "bot" / "discord_app"
    constants = _runtime_imports(folder / "constants.py")
    assert not any(m.startswith("bot.") for m in constants), constants
    for name in ("errors.py", "replies.py", "gate.py", "limits.py", "autocomplete.py"):
        assert "bot.discord_app.client" not in _runtime_imports(folder / name), name
    assert "bot.discord_app.replies" not in _runtime_imports(folder / "client.py")
