"""The `python -m bot` command line: a thin layer over the answer engine.

    python -m bot                               # Discord with DISCORD_TOKEN set, else console
    python -m bot run [--console]               # the same, explicitly
    python -m bot ask NAME "QUESTION" [--adapter auto|none|FACTION] [--patch P] [--json]
    python -m bot ask --batch FILE.jsonl --json     # one answer (or error) JSON per input line
    python -m bot top STAT [--faction F] [--role R] [-n N] [--lowest] [--patch P] [--json]

Exit codes of `ask`: 0 answered; 2 unknown character, patch or adapter (with "did you mean");
3 the generator is busy; with --batch, 1 when some lines were errors (each gets an error object).
Heavy modules load only inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.engine import Engine

EngineFactory = Callable[[], "Engine"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with help on every command."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Lorekeeper: ask game characters about themselves, in their faction's "
                    "voice, with current exact stats. With no command: run the bot.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run the bot: Discord when the token is set, else the console",
        description="Run the bot. Connects to Discord when the environment variable named by "
                    "[bot].token_env (DISCORD_TOKEN) is set; otherwise starts the console.")
    run.add_argument("--console", action="store_true",
                     help="use the console even when a Discord token is set")
    run.add_argument("--no-warmup", action="store_true", help="skip the model warm-up")
    ask = commands.add_parser(
        "ask", help="ask one character one question (or a JSONL batch)",
        description='Ask a character a question: python -m bot ask NAME "QUESTION". NAME is an '
                    "id, a display name, an alias, or a name with a typo.")
    ask.add_argument("name", nargs="?", metavar="NAME", help="the character")
    ask.add_argument("question", nargs="?", metavar="QUESTION", help="the question")
    ask.add_argument("--adapter", default="auto",
                     help="auto (the faction's voice), none (base model) or a faction name")
    ask.add_argument("--patch", help="answer as of this patch (default: the current one)")
    ask.add_argument("--json", action="store_true", help="print the answer JSON")
    ask.add_argument("--batch", metavar="FILE.jsonl",
                     help='answer every line {"character", "question", "patch"?} of a JSONL '
                          "file ('-' for stdin); one JSON line out per line in")
    ask.add_argument("--no-stream", action="store_true",
                     help="print the answer only when it is complete")
    top = commands.add_parser(
        "top", help="who leads the roster in one stat (no model is loaded)",
        description="The roster's leaders in one stat, from the index's stat columns: "
                    "python -m bot top speed --faction elvish -n 5")
    top.add_argument("stat", metavar="STAT", help='a stat, as players write it ("hp", "atk")')
    top.add_argument("--faction", help="only this faction (orcish, elves, ...)")
    top.add_argument("--role", help='only this role ("cleric") or group ("healer")')
    top.add_argument("-n", type=int, default=10, metavar="N", help="how many (at most 10)")
    top.add_argument("--lowest", action="store_true", help="the lowest values first")
    top.add_argument("--patch", help="as of this patch (default: the current one)")
    top.add_argument("--json", action="store_true",
                     help='print JSON rows {"rank", "id", "name", "value", ...}')
    return parser


def main(argv: list[str] | None = None, engine_factory: EngineFactory | None = None,
         out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Parse `argv` and run the command; return the exit code."""
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    out, err = out or sys.stdout, err or sys.stderr
    if args.command == "ask":
        factory = engine_factory or _default_engine
        if args.batch:
            return run_batch(args, factory, out, err)
        if not args.name or not args.question:
            err.write('usage: python -m bot ask NAME "QUESTION" (or --batch FILE.jsonl)\n')
            return 2
        return run_ask(args, factory, out, err)
    if args.command == "top":
        return run_top(args, engine_factory or _default_engine, out, err)
    return run_bot(console=getattr(args, "console", False),
                   warmup=not getattr(args, "no_warmup", False), engine_factory=engine_factory,
                   started=started)


def _default_engine():
    from bot.engine import Engine

    return Engine.from_config(lazy=True)


def _error_json(exc: Exception) -> dict[str, Any]:
    data: dict[str, Any] = {"error": str(exc), "kind": type(exc).__name__}
    if hasattr(exc, "suggestions"):
        data["suggestions"] = list(exc.suggestions)
    return data


def _exit_code(exc: Exception) -> int:
    from bot.errors import Busy

    return 3 if isinstance(exc, Busy) else 2


def run_ask(args, factory: EngineFactory, out: IO[str], err: IO[str]) -> int:
    """Answer one question; print the text (streamed) or the answer JSON."""
    from bot.errors import LorekeeperError
    from bot.render import render_answer

    engine = factory()
    streamed = {"text": ""}

    def on_text(text: str) -> None:
        out.write(text[len(streamed["text"]):])
        out.flush()
        streamed["text"] = text

    stream = not args.json and not args.no_stream and out.isatty()
    try:
        answer = engine.ask(args.name, args.question, patch=args.patch, adapter=args.adapter,
                            on_text=on_text if stream else None)
    except LorekeeperError as exc:
        if args.json:
            out.write(json.dumps(_error_json(exc)) + "\n")
        err.write(f"{exc}\n")
        return _exit_code(exc)
    finally:
        close = getattr(engine, "close", None)
        if close is not None and engine_is_owned(factory):
            close()
    if args.json:
        out.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        return 0
    if streamed["text"]:
        out.write("\r\x1b[2K" if answer.answer.startswith(streamed["text"]) else "\n")
    out.write(render_answer(answer, engine.schema) + "\n")
    return 0


def run_top(args, factory: EngineFactory, out: IO[str], err: IO[str]) -> int:
    """Print the roster's leaders in one stat (a table, or JSON rows)."""
    from bot.errors import LorekeeperError
    from bot.render import render_ranking

    engine = factory()
    try:
        view = engine.top(args.stat, faction=args.faction, role=args.role, count=args.n,
                          lowest=args.lowest, patch=args.patch)
    except LorekeeperError as exc:
        if args.json:
            out.write(json.dumps(_error_json(exc)) + "\n")
        err.write(f"{exc}\n")
        return 2
    finally:
        if engine_is_owned(factory):
            engine.close()
    if args.json:
        out.write(json.dumps(view.to_json(), ensure_ascii=False) + "\n")
    else:
        out.write(render_ranking(view) + "\n")
    return 0


def engine_is_owned(factory: EngineFactory) -> bool:
    """Whether the CLI built the engine itself (and so closes it)."""
    return factory is _default_engine


def _batch_lines(path: str) -> Iterable[str]:
    if path == "-":
        yield from sys.stdin
        return
    with open(path, encoding="utf-8") as handle:
        yield from handle


def run_batch(args, factory: EngineFactory, out: IO[str], err: IO[str]) -> int:
    """Answer every line of a JSONL file; a bad line gets an error object and the batch goes on."""
    from bot.errors import LorekeeperError

    try:
        lines = list(_batch_lines(args.batch))
    except (OSError, UnicodeDecodeError) as exc:
        err.write(f"cannot read {args.batch}: {exc}\n")
        return 2
    engine = factory()
    failed = 0
    try:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            result = _batch_one(engine, line, args.adapter, args.patch)
            if "error" in result:
                failed += 1
            result["line"] = number
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
            out.flush()
    except LorekeeperError as exc:  # pragma: no cover - per-line errors are caught below
        err.write(f"{exc}\n")
        return 2
    finally:
        if engine_is_owned(factory):
            engine.close()
    if failed:
        err.write(f"{failed} of the lines failed (see their error objects)\n")
    return 1 if failed else 0


def _batch_one(engine: Engine, line: str, adapter: str, patch: str | None) -> dict[str, Any]:
    from bot.errors import LorekeeperError

    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"not valid JSON: {exc.msg} at column {exc.colno}", "kind": "BadLine"}
    if not isinstance(item, dict):
        return {"error": "each line must be a JSON object", "kind": "BadLine"}
    name, question = item.get("character"), item.get("question")
    if not isinstance(name, str) or not isinstance(question, str) or not question.strip():
        return {"error": 'each line needs "character" and "question" strings',
                "kind": "BadLine"}
    line_patch = item.get("patch", patch)
    if line_patch is not None and not isinstance(line_patch, str):
        return {"error": '"patch" must be a string', "kind": "BadLine"}
    try:
        return engine.ask(name, question, patch=line_patch,
                          adapter=str(item.get("adapter", adapter))).to_json()
    except LorekeeperError as exc:
        return {**_error_json(exc), "character": name, "question": question}


def run_bot(console: bool = False, warmup: bool = True,
            engine_factory: EngineFactory | None = None, started: float | None = None) -> int:
    """Discord when the token is set (and not --console), else the console."""
    from characters.config import get_config

    config = get_config()
    if not console and config.secret(config.bot.token_env):
        from bot.discord_app import run_discord
        from bot.engine import Engine

        engine = engine_factory() if engine_factory else Engine.from_config(config)
        try:
            if warmup:
                engine.warmup()
            run_discord(config, engine)
        finally:
            engine.close()
        return 0
    from bot.console import run_console

    return run_console(engine_factory=engine_factory, warmup=warmup, started=started)
