"""The `Generator` protocol: chat messages in, text out, under a named adapter.

`adapter` is a faction's adapter name ("orcish", "elvish") or None for the plain base model.
`stream` yields text pieces as they are made; joined, they equal what `generate` returns.
Both are blocking: the bot calls them from worker threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]


class GenerationError(RuntimeError):
    """A generator failed to produce a reply."""


class GeneratorBusy(GenerationError):
    """The generator's request queue is full; try again shortly."""


@runtime_checkable
class Generator(Protocol):
    """Generates a reply to chat messages under a named adapter (None: the base model)."""

    @property
    def adapters(self) -> tuple[str, ...]:
        """The adapter names this generator can use."""
        ...

    def generate(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> str:
        """The whole reply."""
        ...

    def stream(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        """The reply, piece by piece, as it is generated."""
        ...


class StreamingGenerator:
    """A generator whose whole reply is its stream joined; subclasses define `stream`."""

    def generate(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> str:
        """The whole reply."""
        return "".join(self.stream(messages, adapter, max_new_tokens))


@dataclass
class ScriptedGenerator:
    """A deterministic generator for tests that need an exact reply.

    `replies` is a list of replies handed out in order (the last one repeats), or a function
    of (messages, adapter) returning a reply. Every call is recorded in `calls`.
    """

    replies: list[str] | Callable[[Sequence[Message], str | None], str]
    adapters: tuple[str, ...] = ("orcish", "elvish", "dwarvish", "human")
    calls: list[tuple[tuple[Message, ...], str | None]] = field(default_factory=list)

    def generate(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> str:
        self.calls.append((tuple(messages), adapter))
        if callable(self.replies):
            return self.replies(messages, adapter)
        index = min(len(self.calls) - 1, len(self.replies) - 1)
        return self.replies[index]

    def stream(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        text = self.generate(messages, adapter, max_new_tokens)
        for i in range(0, len(text), 8):
            yield text[i : i + 8]
