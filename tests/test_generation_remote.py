"""The remote generator against a loopback stand-in for vLLM's OpenAI-compatible server.

The stand-in (aiohttp on 127.0.0.1, a random port, in its own thread) checks every request it
gets the way vLLM would and streams the reply back as server-sent events.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from bot.generation.base import GenerationError, Generator, GeneratorBusy
from bot.generation.remote import RemoteGenerator
from characters.config import get_config

KEY_ENV = get_config().generation.remote_api_key_env
MESSAGES = [
    {"role": "system", "content": "You are Grukk Ironjaw, Orcish berserker."},
    {"role": "user", "content": "Facts:\nattack: 91\n\nQuestion: How strong are you?"},
]
MODELS = ["smollm2", "orcish", "elvish"]


def reply_for(model: str) -> str:
    """What the stand-in answers under `model` (multi-byte text included)."""
    return f"[{model}] Attack 91, grrr — überstark! 🐗"


@dataclass
class StandIn:
    """What the stand-in server should do next, and what it has received."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    cut_stream: bool = False
    error_event: bool = False


def make_app(state: StandIn) -> web.Application:
    async def models(request: web.Request) -> web.Response:
        data = [{"id": "smollm2", "object": "model", "parent": None}]
        data += [{"id": n, "object": "model", "parent": "smollm2"} for n in MODELS[1:]]
        return web.json_response({"object": "list", "data": data})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append(body)
        state.headers.append(dict(request.headers))
        if state.status != 200:
            return web.json_response({"object": "error", "message": "stand-in says no",
                                      "code": state.status}, status=state.status)
        problems = []
        if body.get("model") not in MODELS:
            problems.append(f"model {body.get('model')!r} does not exist")
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            problems.append("max_tokens must be a positive integer")
        if body.get("stream") is not True:
            problems.append("stream must be true")
        if not all(set(m) == {"role", "content"} for m in body.get("messages", [])):
            problems.append("bad messages")
        if problems:
            return web.json_response({"object": "error", "message": "; ".join(problems),
                                      "code": 400}, status=400)
        await asyncio.sleep(state.delay_s)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        text = reply_for(body["model"])

        async def send(payload: object) -> None:
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())

        await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i in range(0, len(text), 5):
            if state.error_event and i >= 10:
                await send({"error": {"message": "engine died", "code": 500}})
                return response
            await send({"choices": [{"index": 0, "delta": {"content": text[i : i + 5]}}]})
        if state.cut_stream:
            return response
        await send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.fixture
def server():
    """The stand-in, serving from its own event loop in a thread, on a random port."""
    state = StandIn()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(state))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/v1"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_streams_under_the_adapter_named_model(server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sekrit")
    gen = RemoteGenerator(url=server.url)
    assert isinstance(gen, Generator)
    pieces = list(gen.stream(MESSAGES, "orcish", max_new_tokens=20))
    assert len(pieces) > 1
    assert "".join(pieces) == reply_for("orcish")
    sent = server.requests[-1]
    assert sent["model"] == "orcish"
    assert sent["messages"] == MESSAGES
    assert sent["max_tokens"] == 20
    assert sent["temperature"] == 0.0
    assert server.headers[-1]["Authorization"] == "Bearer sekrit"


def test_adapters_and_base_model_come_from_the_server(server):
    gen = RemoteGenerator(url=server.url)
    assert gen.adapters == ("orcish", "elvish")
    assert gen.base_model == "smollm2"
    assert gen.generate(MESSAGES, None) == reply_for("smollm2")
    assert gen.generate(MESSAGES, "dwarvish") == reply_for("smollm2")
    assert gen.generate(MESSAGES, "elvish") == reply_for("elvish")
    assert [r["model"] for r in server.requests] == ["smollm2", "smollm2", "elvish"]


def test_max_tokens_is_capped_and_no_key_sends_no_header(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    gen = RemoteGenerator(url=server.url, base_model="smollm2", adapters=["orcish"])
    gen.generate(MESSAGES, "orcish", max_new_tokens=10_000)
    assert server.requests[-1]["max_tokens"] == get_config().generation.max_new_tokens
    assert "Authorization" not in server.headers[-1]


def test_error_status_names_url_and_status(server):
    server.status = 500
    gen = RemoteGenerator(url=server.url, base_model="smollm2", adapters=["orcish"])
    with pytest.raises(GenerationError) as caught:
        gen.generate(MESSAGES, "orcish")
    message = str(caught.value)
    assert server.url + "/chat/completions" in message
    assert "500" in message and "stand-in says no" in message
    assert not isinstance(caught.value, GeneratorBusy)


def test_overloaded_server_means_busy(server):
    server.status = 429
    gen = RemoteGenerator(url=server.url, base_model="smollm2", adapters=[])
    with pytest.raises(GeneratorBusy, match="429"):
        gen.generate(MESSAGES, None)


def test_unknown_model_rejected_by_server_is_reported(server):
    gen = RemoteGenerator(url=server.url, base_model="no-such-model", adapters=[])
    with pytest.raises(GenerationError, match=r"400.*'no-such-model' does not exist"):
        gen.generate(MESSAGES, None)


def test_slow_server_times_out(server):
    server.delay_s = 2.0
    gen = RemoteGenerator(url=server.url, timeout_s=0.3, base_model="smollm2", adapters=[])
    started = time.perf_counter()
    with pytest.raises(GenerationError, match="timed out"):
        gen.generate(MESSAGES, None)
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize(("flag", "reason"), [("cut_stream", "ended before"),
                                              ("error_event", "engine died")])
def test_broken_streams_are_errors(server, flag, reason):
    setattr(server, flag, True)
    gen = RemoteGenerator(url=server.url, base_model="smollm2", adapters=[])
    with pytest.raises(GenerationError, match=reason):
        gen.generate(MESSAGES, None)


def test_unreachable_server_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    gen = RemoteGenerator(url=url, timeout_s=2.0)
    with pytest.raises(GenerationError, match=re.escape(f"{url}/models")):
        gen.warmup()


def test_url_must_be_http():
    with pytest.raises(GenerationError, match="not an http"):
        RemoteGenerator(url="ftp://example/v1")
