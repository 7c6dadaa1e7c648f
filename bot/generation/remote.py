"""The remote generator: an OpenAI-compatible server (vLLM with one LoRA module per faction).

The adapter is picked per request by model name: the faction's LoRA module name, or the base
model's name for None. Replies stream back as server-sent events (`stream: true`). Blocking
(stdlib http.client), like every Generator: the bot calls it from worker threads.

    vllm serve <base model folder> --served-model-name base --enable-lora --max-lora-rank 16 \
        --lora-modules orcish=training/adapters/orcish elvish=training/adapters/elvish
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.generation.base import GenerationError, GeneratorBusy, Message, StreamingGenerator
from characters.config import Config, get_config

BUSY_STATUSES = (429, 503)


class RemoteGenerator(StreamingGenerator):
    """Generates through an OpenAI-compatible chat completions server, streaming the reply."""

    def __init__(
        self,
        config: Config | None = None,
        url: str | None = None,
        timeout_s: float | None = None,
        base_model: str | None = None,
        adapters: Sequence[str] | None = None,
    ) -> None:
        gen = (config or get_config()).generation
        self.url = (url or gen.remote_url).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GenerationError(f"remote_url {self.url!r} is not an http(s) URL")
        self._parts = parts
        self.timeout_s = gen.remote_timeout_s if timeout_s is None else timeout_s
        self.api_key_env = gen.remote_api_key_env
        self.max_new_tokens = gen.max_new_tokens
        self.sampling = {"temperature": gen.temperature, "top_p": gen.top_p} if gen.do_sample \
            else {"temperature": 0.0}
        self._base_model = base_model
        self._adapters = tuple(adapters) if adapters is not None else None

    @property
    def adapters(self) -> tuple[str, ...]:
        """The LoRA modules the server offers (asked once from /models unless given)."""
        if self._adapters is None:
            self._discover()
        assert self._adapters is not None
        return self._adapters

    @property
    def base_model(self) -> str:
        """The served name of the base model (asked once from /models unless given)."""
        if self._base_model is None:
            self._discover()
        assert self._base_model is not None
        return self._base_model

    def warmup(self) -> None:
        """Check that the server answers and learn its model names."""
        self._discover()

    def close(self) -> None:
        """Nothing to release: every request opens its own connection."""

    def stream(
        self, messages: Sequence[Message], adapter: str | None, max_new_tokens: int | None = None
    ) -> Iterator[str]:
        """The reply, piece by piece, as the server sends it."""
        limit = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        model = adapter if adapter is not None and adapter in self.adapters else self.base_model
        body = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max(1, min(limit, self.max_new_tokens)),
            "stream": True,
            **self.sampling,
        }
        return self._events(body)

    def _events(self, body: dict[str, Any]) -> Iterator[str]:
        deadline = time.monotonic() + self.timeout_s
        connection, response = self._request("POST", "/chat/completions", body)
        try:
            for data in _sse_data(response, self._url("/chat/completions"), deadline):
                if data == "[DONE]":
                    return
                chunk = json.loads(data)
                if "error" in chunk or chunk.get("object") == "error":
                    error = chunk.get("error", chunk)
                    message = error.get("message", error) if isinstance(error, dict) else error
                    raise GenerationError(f"{self._url('/chat/completions')}: {message}")
                for choice in chunk.get("choices", []):
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        yield piece
            raise GenerationError(
                f"{self._url('/chat/completions')}: the stream ended before [DONE]"
            )
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise GenerationError(f"{self._url('/chat/completions')}: {_reason(exc)}") from exc
        except ValueError as exc:
            raise GenerationError(f"{self._url('/chat/completions')}: bad event: {exc}") from exc
        finally:
            connection.close()

    def _discover(self) -> None:
        connection, response = self._request("GET", "/models", None)
        try:
            listing = json.loads(response.read())
            models = listing["data"]
        except (TimeoutError, OSError, ValueError, KeyError, TypeError) as exc:
            raise GenerationError(f"{self._url('/models')}: bad model list: {exc}") from exc
        finally:
            connection.close()
        bases = [m["id"] for m in models if not m.get("parent")]
        if self._base_model is None:
            if not bases:
                raise GenerationError(f"{self._url('/models')}: the server lists no base model")
            self._base_model = bases[0]
        if self._adapters is None:
            self._adapters = tuple(m["id"] for m in models if m.get("parent"))

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; a non-2xx status becomes GenerationError (GeneratorBusy: 429/503)."""
        factory = (http.client.HTTPSConnection if self._parts.scheme == "https"
                   else http.client.HTTPConnection)
        connection = factory(self._parts.hostname, self._parts.port, timeout=self.timeout_s)
        headers = {"Accept": "text/event-stream" if body else "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = self._url(path)
        try:
            connection.request(method, self._parts.path + path, body=payload, headers=headers)
            response = connection.getresponse()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            connection.close()
            raise GenerationError(f"{url}: {_reason(exc)}") from exc
        if response.status // 100 != 2:
            detail = _error_detail(response)
            connection.close()
            error = GeneratorBusy if response.status in BUSY_STATUSES else GenerationError
            raise error(f"{url}: HTTP {response.status} {response.reason}: {detail}")
        return connection, response

    def _url(self, path: str) -> str:
        return self.url + path


def _sse_data(response: http.client.HTTPResponse, url: str, deadline: float) -> Iterator[str]:
    """The `data:` payloads of a server-sent event stream (one line each, as vLLM sends them)."""
    while True:
        if time.monotonic() > deadline:
            raise GenerationError(f"{url}: the reply took longer than the timeout")
        line = response.readline()
        if not line:
            return
        text = line.decode("utf-8").rstrip("\r\n")
        if text.startswith("data:"):
            yield text[5:].strip()


def _error_detail(response: http.client.HTTPResponse) -> str:
    """The server's error message, from an OpenAI-style JSON body when there is one."""
    raw = response.read(4096).decode("utf-8", "replace").strip()
    try:
        body = json.loads(raw)
    except ValueError:
        return raw[:300] or "(no body)"
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message", error))[:300]
    return str(error)[:300]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
