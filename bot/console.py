"""Console mode: the bot's commands typed in a terminal, answered by the same engine.

Names may hold spaces. `/ask grukk ironjaw what is your attack` takes the longest run of leading
words that names a character (an exact name or alias before a fuzzy match); quote a name to be
explicit: `/ask "Grukk Ironjaw" what is your attack`. A line without a leading slash is an /ask.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot.announce import build_announcement, render_announcement
from bot.errors import LorekeeperError, UnknownCharacter
from bot.questions import PATCH_RE, SHORT_PATCH_RE, split_quoted
from bot.render import (
    render_answer,
    render_comparison,
    render_history_text,
    render_lore,
    render_ranking,
    render_stat_card,
)

if TYPE_CHECKING:
    from bot.engine import Engine

HELP = """\
Commands (names may contain spaces; quote them to be explicit, e.g. "Hagga Grim-Eye"):
  /ask NAME QUESTION        ask a character; e.g. /ask hagga grim-eye what is your attack?
                            (the longest leading words that name a character are the name;
                            say "as of W47" for an older patch, "what changed since W45" etc.;
                            without a name, a question goes to the character asked last:
                            "and your defense?", "what about as of W44?")
  /top STAT [FACTION] [ROLE] [N] [lowest] [PATCH]
                            who leads the roster; e.g. /top speed elves 5, /top cost healer lowest
  /stats NAME [PATCH]       the full stat card
  /compare NAME vs NAME     two characters side by side ("vs" optional when names are clear)
  /changes NAME [FROM] [TO] what changed between patches (default: the last patch), in voice
  /history NAME STAT        a stat over every patch: a table, and a PNG chart saved to a file
  /patch [PATCH]            a patch as a server's channel gets it: notes, new characters,
                            buffs and nerfs, its biggest movers in their words (default: current)
  /whois NAME               who a character is
  /import PATH...           import patch files now (the next answer sees them)
  /status                   store health, adapters, queue
  /help                     this help
  /quit                     leave (Ctrl-D and Ctrl-C work too)
A line without a leading slash is an /ask; without a name it goes to the character asked last."""


# The console is one conversation: a question without a name goes to the last one asked.
CONVERSATION = "console"


def _is_patch(word: str) -> bool:
    return bool(PATCH_RE.fullmatch(word) or SHORT_PATCH_RE.fullmatch(word))


def _pop_patches(text: str, most: int) -> tuple[str, list[str]]:
    """Trailing patch ids (up to `most`) split off the end of `text`."""
    words, patches = text.split(), []
    while words and len(patches) < most and _is_patch(words[-1]):
        patches.insert(0, words.pop())
    return " ".join(words), patches


class Console:
    """Dispatches console lines to the engine and writes the rendered replies."""

    def __init__(self, engine: Engine, out: IO[str] | None = None,
                 charts_dir: Path | None = None) -> None:
        self.engine = engine
        self.out = out or sys.stdout
        self.charts_dir = Path(charts_dir or engine.store.data_dir / "charts")
        self.commands: dict[str, Callable[[str], None]] = {
            "ask": self.ask, "stats": self.stats, "compare": self.compare,
            "changes": self.changes, "history": self.history, "patch": self.patch,
            "whois": self.whois, "import": self.import_files, "status": self.status,
            "top": self.top, "help": self.help,
        }

    def write(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def handle(self, line: str) -> bool:
        """Run one line; False when the console should quit."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith("/"):  # a bare line is an /ask, or a follow-up without a name
            try:
                self.ask(line, follow_up=True)
            except LorekeeperError as exc:
                self.write(str(exc))
            return True
        command, _, rest = line[1:].partition(" ")
        command = command.lower()
        if command in ("quit", "exit", "q"):
            return False
        handler = self.commands.get(command)
        if handler is None:
            self.write(f"Unknown command /{command}. Type /help for the list.")
            return True
        try:
            handler(rest.strip())
        except LorekeeperError as exc:
            self.write(str(exc))
        return True

    def _need(self, rest: str, usage: str) -> bool:
        if not rest:
            self.write(f"Usage: {usage}")
            return False
        return True

    def ask(self, rest: str, follow_up: bool = False) -> None:
        """`/ask NAME QUESTION`; a bare line (`follow_up`) without a name that the roster knows
        goes to the character asked last."""
        if not self._need(rest, "/ask NAME QUESTION"):
            return
        try:
            character, question, typed = self.engine.split_named(rest, keep=0)
        except UnknownCharacter:
            remembered = self.engine.memory.recall(CONVERSATION) if follow_up else None
            if remembered is None:
                raise
            character = self.engine.store.character(remembered.character_id)
            question, typed = rest, None  # a follow-up: the same character as before
        if not question.strip():
            self.write(f"Ask {character.name} something, e.g. /ask {character.first_name} "
                       "what is your attack?")
            return
        streamed = {"text": ""}
        self.write(f"{character.name}: ", end="")

        def on_text(text: str) -> None:
            self.write(text[len(streamed["text"]):], end="")
            streamed["text"] = text

        answer = self.engine.ask(typed or character.id, question, on_text=on_text,
                                 conversation=CONVERSATION)
        if answer.answer.startswith(streamed["text"]):
            self.write(answer.answer[len(streamed["text"]):])
        else:
            self.write("\n(that reply failed the fact check; the checked answer:)")
            self.write(answer.answer)
        footer = render_answer(answer, self.engine.schema).rsplit("\n", 1)[-1]
        voice = answer.adapter or "base model"
        notes = ", fallback template" if answer.fallback else ""
        self.write(f"{footer}  ({answer.latency_s:.1f} s, {voice}{notes})")

    def top(self, rest: str) -> None:
        if not self._need(rest, "/top STAT [FACTION] [ROLE] [N] [lowest] [PATCH]"):
            return
        words, patches = _pop_patches(rest, 1)
        stat_words, faction, role, count, lowest = [], None, None, 10, False
        for word in words.split():
            if word.isdigit():
                count = int(word)
            elif word.lower() in ("lowest", "bottom"):
                lowest = True
            elif faction is None and self._is_faction(word):
                faction = word
            elif role is None and self._is_role(word):
                role = word
            else:
                stat_words.append(word)
        view = self.engine.top(" ".join(stat_words), faction=faction, role=role, count=count,
                               lowest=lowest, patch=patches[0] if patches else None)
        self.write(render_ranking(view))

    def _is_faction(self, word: str) -> bool:
        try:
            return self.engine.faction_named(word) is not None
        except LorekeeperError:
            return False

    def _is_role(self, word: str) -> bool:
        try:
            return bool(self.engine.roles_named(word))
        except LorekeeperError:
            return False

    def stats(self, rest: str) -> None:
        name, patches = _pop_patches(rest, 1)
        if self._need(name, "/stats NAME [PATCH]"):
            self.write(render_stat_card(self.engine.stats(name, patches[0] if patches else None)))

    def compare(self, rest: str) -> None:
        if not self._need(rest, "/compare NAME vs NAME"):
            return
        text, patches = _pop_patches(rest, 1)
        left, right = self.split_two_names(text)
        comparison = self.engine.compare(left, right, patches[0] if patches else None)
        self.write(render_comparison(comparison))

    def split_two_names(self, text: str) -> tuple[str, str]:
        """Two names from "A vs B", two quoted names, or the best split of the words."""
        for sep in (" vs. ", " vs ", " versus ", " and ", ","):
            if sep in text.lower():
                at = text.lower().index(sep)
                return text[:at].strip(), text[at + len(sep):].strip()
        quoted = split_quoted(text)
        if quoted:
            second = split_quoted(quoted[1])
            return quoted[0], second[0] if second else quoted[1]
        words = text.split()
        resolver = self.engine.resolver()
        best: tuple[tuple[int, float], str, str] | None = None
        for cut in range(1, len(words)):
            left, right = " ".join(words[:cut]), " ".join(words[cut:])
            a, b = resolver.resolve(left), resolver.resolve(right)
            if a.character is None or b.character is None:
                continue
            score = ((a.method != "fuzzy") + (b.method != "fuzzy"), a.confidence + b.confidence)
            if best is None or score > best[0]:
                best = (score, left, right)
        if best is None:
            closest = resolver.suggest(text, resolver.n_suggestions)
            raise UnknownCharacter(text, [c.name for c in closest])
        return best[1], best[2]

    def changes(self, rest: str) -> None:
        name, patches = _pop_patches(rest, 2)
        if not self._need(name, "/changes NAME [FROM] [TO]"):
            return
        from_patch = patches[0] if patches else None
        to_patch = patches[1] if len(patches) > 1 else None
        answer = self.engine.changes(name, from_patch, to_patch)
        self.write(f"{answer.name}: {render_answer(answer, self.engine.schema)}")

    def history(self, rest: str) -> None:
        if not self._need(rest, "/history NAME STAT"):
            return
        character, stat = self.engine.split_name(rest, keep=0)
        if not stat:
            self.write("Usage: /history NAME STAT (e.g. /history hagga attack speed)")
            return
        history = self.engine.history(character.id, stat)
        self.charts_dir.mkdir(parents=True, exist_ok=True)
        slug = history.stat_label.lower().replace(" ", "_")
        path = self.charts_dir / f"{character.id}-{slug}.png"
        path.write_bytes(history.png)
        self.write(render_history_text(history))
        self.write(f"Chart saved to {path}")

    def patch(self, rest: str) -> None:
        self.write(render_announcement(build_announcement(self.engine, rest or None)))

    def whois(self, rest: str) -> None:
        if self._need(rest, "/whois NAME"):
            self.write(render_lore(self.engine.whois(rest)))

    def import_files(self, rest: str) -> None:
        if not self._need(rest, "/import PATH..."):
            return
        paths = [Path(p).expanduser() for p in shlex.split(rest)]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            self.write(f"No such file: {', '.join(missing)}")
            return
        for result in self.engine.import_files(paths):
            self.write(f"{result.path}: {result.status}"
                       + (f" (patch {result.patch})" if result.patch else ""))
            for error in result.errors:
                self.write(f"  {error}")

    def status(self, rest: str) -> None:
        status = self.engine.status()
        for key, value in status.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            self.write(f"  {key:<12} {shown}")

    def help(self, rest: str) -> None:
        self.write(HELP)


def repl(console: Console, stdin: IO[str] | None = None, prompt: str = "> ") -> int:
    """Read lines until /quit, EOF or Ctrl-C; return the exit code."""
    stdin = stdin or sys.stdin
    interactive = stdin.isatty()
    try:
        while True:
            if interactive:
                console.write(prompt, end="")
            line = stdin.readline()
            if not line:
                break
            if not console.handle(line):
                break
    except KeyboardInterrupt:
        console.write("")
    console.write("Farewell.")
    return 0


def run_console(engine_factory: Callable[[], Engine] | None = None, warmup: bool = True,
                started: float | None = None, stdin: IO[str] | None = None,
                out: IO[str] | None = None, scheduler: bool = True) -> int:
    """Open the engine, warm the model, start the weekly import job in a background thread,
    print a ready line with the start time, then the REPL."""
    started = time.perf_counter() if started is None else started
    out = out or sys.stdout
    try:
        if engine_factory is None:
            from bot.engine import Engine

            engine = Engine.from_config()
        else:
            engine = engine_factory()
        if warmup:
            engine.warmup()
    except KeyboardInterrupt:
        return 130
    console = Console(engine, out)
    try:
        if scheduler:
            engine.start_scheduler(background=True)
        patch = engine.store.current_patch() or "none (run `python -m stats_db seed`)"
        adapters = ", ".join(engine.generator.adapters) or "none"
        imports = engine.next_import()
        console.write(f"Lorekeeper console ready in {time.perf_counter() - started:.1f} s · "
                      f"patch {patch} · adapters: {adapters} · "
                      f"{f'next import {imports}' if imports else 'scheduler off'}. Type /help.")
        return repl(console, stdin)
    finally:
        engine.close()
