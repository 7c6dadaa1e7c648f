"""A loopback stand-in for Discord: the gateway websocket and the REST endpoints the bot uses.

An aiohttp server on 127.0.0.1 with a random port. The real discord.py client connects to it
(see `point_discord_at`), identifies, heartbeats and receives the interactions a test injects.
Every REST request is recorded with a monotonic timestamp so tests can assert on latency, edit
rate, content and `allowed_mentions`. The server runs on a thread and event loop of its own, as
Discord would run elsewhere, so the bot's loop-lag measurements count only the bot's own work.
Nothing reaches the network: attachments are served from here too. Channel messages and direct
messages are served too: a DM to a user in `closed_dms` is refused with 403 (code 50007), and
the channel and DM routes send Discord's rate-limit headers and answer 429 beyond them.

Below the stand-in, the harness the Discord tests and `bench/bench_overload.py` share:
`running_bot`, `LoopLagProbe`, `run_overload` and `PacedGenerator` (a model-paced test double).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import yarl
from aiohttp import web

from bot.generation.base import ScriptedGenerator

T = TypeVar("T")
API_PREFIX = "/api/v10"
APP_ID = 1100000000000000001
BOT_ID = APP_ID
GUILD_ID = 1200000000000000001
CHANNEL_ID = 1300000000000000001
OWNER_ID = 1400000000000000001
MANAGE_GUILD = 1 << 5
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 31)  # view, send messages, use app commands
TIMESTAMP = "2026-11-24T10:00:00+00:00"

# Gateway opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, HELLO, HEARTBEAT_ACK = 0, 1, 2, 10, 11
# Interaction and option types.
APPLICATION_COMMAND, AUTOCOMPLETE = 2, 4
ATTACHMENT_OPTION, CHANNEL_OPTION = 11, 7
CANNOT_MESSAGE_USER = 50007


@dataclass
class RecordedRequest:
    """One REST request the client made."""

    t: float
    method: str
    path: str
    query: dict[str, str]
    payload: Any
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        """The interaction token in an interaction or webhook path, if any."""
        parts = self.path.split("/")
        if len(parts) > 3 and parts[1] in ("interactions", "webhooks"):
            return parts[3]
        return None

    @property
    def kind(self) -> str:
        """callback, followup, edit, delete, fetch, sync, message, dm_open or other."""
        parts = self.path.split("/")
        if parts[1] == "interactions":
            return "callback"
        if parts[1] == "channels" and parts[-1] == "messages" and self.method == "POST":
            return "message"
        if self.path == "/users/@me/channels" and self.method == "POST":
            return "dm_open"
        if parts[1] == "webhooks":
            if len(parts) == 4:
                return "followup"
            return {"PATCH": "edit", "DELETE": "delete"}.get(self.method, "fetch")
        if parts[1] == "applications" and parts[-1] == "commands" and self.method == "PUT":
            return "sync"
        return "other"

    @property
    def content(self) -> str | None:
        return self.payload.get("content") if isinstance(self.payload, dict) else None

    @property
    def channel_id(self) -> int | None:
        """The channel a message was posted to."""
        return int(self.path.split("/")[2]) if self.kind == "message" else None


@dataclass
class Bucket:
    """A rate-limit bucket: `limit` requests per `window_s`, as Discord's headers describe it."""

    limit: int
    window_s: float
    started: float = 0.0
    used: int = 0

    def take(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, the X-RateLimit headers to answer with)."""
        if now - self.started >= self.window_s:
            self.started, self.used = now, 0
        allowed = self.used < self.limit
        self.used += allowed
        reset_after = max(self.window_s - (now - self.started), 0.001)
        return allowed, {"X-RateLimit-Limit": str(self.limit),
                         "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
                         "X-RateLimit-Reset-After": f"{reset_after:.3f}"}


@dataclass
class SentInteraction:
    """An interaction the stand-in dispatched: its id, token and dispatch time."""

    id: int
    token: str
    t: float


class DiscordStandIn:
    """Discord's gateway and REST API on a loopback port, for one bot."""

    def __init__(self, token: str = "standin-token", heartbeat_interval_s: float = 41.25, *,
                 rate_limit: int = 5, rate_window_s: float = 1.0) -> None:
        self.token = token
        self.heartbeat_interval_s = heartbeat_interval_s
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.buckets: dict[str, Bucket] = {}
        self.rate_limited: list[RecordedRequest] = []
        self.closed_dms: set[int] = set()
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.requests: list[RecordedRequest] = []
        self.heartbeats: list[float] = []
        self.acks_sent = 0
        self.identify: dict | None = None
        self.commands: dict[int | None, list[dict]] = {}
        self.attachments: dict[str, bytes] = {}
        self.messages: dict[str, dict] = {}
        self.identified = asyncio.Event()
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._ids = itertools.count(1500000000000000001)
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port, on a thread and event loop of its own.

        Discord's servers do not share the bot's event loop, so neither does the stand-in:
        the bot's loop-lag measurements count only the bot's own work.
        """
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="discord-standin",
                                        daemon=True)
        self._thread.start()
        await self._in_server(self._serve())

    async def close(self) -> None:
        await self._in_server(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _in_server(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the stand-in's loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{name}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What `discord.http.Route.BASE` should be."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/gateway")

    # Gateway -----------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {"heartbeat_interval": self.heartbeat_interval_s * 1000}
        await ws.send_json({"op": HELLO, "d": hello})
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] == HEARTBEAT:
                self.heartbeats.append(time.monotonic())
                await ws.send_json({"op": HEARTBEAT_ACK})
                self.acks_sent += 1
            elif frame["op"] == IDENTIFY:
                self.identify = frame["d"]
                await self._send_dispatch(ws, "READY", self._ready_payload())
                self.identified.set()
        self._sockets.remove(ws)
        return ws

    def _ready_payload(self) -> dict:
        return {
            "v": 10, "user": self.bot_user(), "guilds": [], "session_id": "standin-session",
            "resume_gateway_url": str(self.gateway_url), "shard": [0, 1],
            "application": {"id": str(APP_ID), "flags": 0},
        }

    async def _send_dispatch(self, ws: web.WebSocketResponse, event: str, data: dict) -> None:
        await ws.send_json({"op": DISPATCH, "t": event, "s": next(self._seq), "d": data})

    async def dispatch(self, event: str, data: dict) -> None:
        """Send a gateway DISPATCH event to every connected client."""
        await self._in_server(self._dispatch(event, data))

    async def _dispatch(self, event: str, data: dict) -> None:
        await self.identified.wait()
        for ws in list(self._sockets):
            await self._send_dispatch(ws, event, data)

    # Interactions ------------------------------------------------------------------------------

    def bot_user(self) -> dict:
        return user_payload(BOT_ID, "Lorekeeper", bot=True)

    def interaction_payload(
        self, kind: int, name: str, options: list[dict], *, user_id: int,
        permissions: int = MEMBER_PERMISSIONS, resolved: dict | None = None,
    ) -> dict:
        """An INTERACTION_CREATE payload from a guild member with the given permissions."""
        interaction_id = next(self._ids)
        data: dict[str, Any] = {
            "id": str(next(self._ids)), "name": name, "type": 1, "options": options,
            "guild_id": str(GUILD_ID),
        }
        if resolved:
            data["resolved"] = resolved
        return {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": kind,
            "token": f"tok{interaction_id}", "version": 1, "guild_id": str(GUILD_ID),
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "general",
                "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None,
            },
            "member": {
                "user": user_payload(user_id, f"player{user_id % 10000}"), "roles": [],
                "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0,
                "permissions": str(permissions),
            },
            "app_permissions": str(MEMBER_PERMISSIONS | (1 << 14) | (1 << 15)),
            "locale": "en-US", "guild_locale": "en-US", "attachment_size_limit": 8 * 1024 * 1024,
            "entitlements": [], "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0, "data": data,
        }

    async def send_command(
        self, name: str, *, user_id: int = 42, permissions: int = MEMBER_PERMISSIONS,
        attachment: tuple[str, str, bytes] | None = None, channels: dict[str, int] | None = None,
        subcommand: tuple[str, ...] = (), **options: str | int | bool,
    ) -> SentInteraction:
        """Dispatch a slash command; `attachment` is (option name, filename, bytes), `channels`
        maps an option name to a text channel id of the guild, `subcommand` names the path
        below a command group (e.g. ("announce",) for /setup announce)."""
        opts: list[dict[str, Any]] = [
            {"name": k, "type": 5 if isinstance(v, bool) else 3 if isinstance(v, str) else 4,
             "value": v} for k, v in options.items()]
        resolved: dict[str, Any] | None = None
        if channels:
            opts += [{"name": k, "type": CHANNEL_OPTION, "value": str(v)}
                     for k, v in channels.items()]
            resolved = {"channels": {str(v): {
                "id": str(v), "type": 0, "name": f"channel-{v % 1000}", "guild_id": str(GUILD_ID),
                "permissions": str(MEMBER_PERMISSIONS), "parent_id": None,
            } for v in channels.values()}}
        if attachment is not None:
            option, filename, content = attachment
            attachment_id = str(next(self._ids))
            self.attachments[filename] = content
            opts.append({"name": option, "type": ATTACHMENT_OPTION, "value": attachment_id})
            resolved = resolved or {}
            resolved["attachments"] = {attachment_id: {
                "id": attachment_id, "filename": filename, "size": len(content),
                "url": f"{self.base_url}/cdn/{filename}",
                "proxy_url": f"{self.base_url}/cdn/{filename}", "content_type": "application/json",
            }}
        for sub in reversed(subcommand):
            opts = [{"name": sub, "type": 1, "options": opts}]
        payload = self.interaction_payload(
            APPLICATION_COMMAND, name, opts, user_id=user_id, permissions=permissions,
            resolved=resolved,
        )
        return await self._send(payload)

    async def send_autocomplete(
        self, name: str, focused: str, *, user_id: int = 42, **options: str
    ) -> SentInteraction:
        """Dispatch an autocomplete request with `focused` as the option being typed."""
        opts = [{"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
                for k, v in options.items()]
        return await self._send(self.interaction_payload(AUTOCOMPLETE, name, opts, user_id=user_id))

    async def _send(self, payload: dict) -> SentInteraction:
        return await self._in_server(self._send_now(payload))

    async def _send_now(self, payload: dict) -> SentInteraction:
        sent = SentInteraction(int(payload["id"]), payload["token"], time.monotonic())
        await self._dispatch("INTERACTION_CREATE", payload)
        return sent

    # Waiting and querying ----------------------------------------------------------------------

    def requests_for(self, token: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.token == token]

    async def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 10.0
    ) -> RecordedRequest:
        """The first recorded request matching `predicate`, waiting for it if need be."""
        return await self._in_server(self._wait_for(predicate, timeout))

    async def _wait_for(self, predicate: Callable[[RecordedRequest], bool], timeout: float
                        ) -> RecordedRequest:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: any(predicate(r) for r in self.requests)), timeout
            )
        return next(r for r in self.requests if predicate(r))

    async def wait_for_kind(self, sent: SentInteraction, kind: str, timeout: float = 10.0
                            ) -> RecordedRequest:
        return await self.wait_for(lambda r: r.token == sent.token and r.kind == kind, timeout)

    # REST --------------------------------------------------------------------------------------

    async def _attachment(self, request: web.Request) -> web.Response:
        content = self.attachments.get(request.match_info["name"])
        if content is None:
            return _json({"message": "Unknown Attachment", "code": 10000}, status=404)
        return web.Response(body=content)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        payload, files = await _read_body(request)
        recorded = RecordedRequest(
            time.monotonic(), request.method, path, dict(request.query), payload, files
        )
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return self._answer(recorded, request.headers.get("Authorization"))

    def messages_posted(self, channel_id: int | None = None) -> list[RecordedRequest]:
        """Messages the bot posted (to one channel, or to any), oldest first."""
        return [r for r in self.requests if r.kind == "message"
                and (channel_id is None or r.channel_id == channel_id)]

    def direct_messages(self, user_id: int | None = None) -> list[RecordedRequest]:
        """Direct messages the bot sent and Discord accepted (to one user, or to any)."""
        channels = {c: u for u, c in self.dm_channels.items()
                    if user_id is None or u == user_id}
        return [r for r in self.messages_posted() if r.channel_id in channels
                and r.channel_id not in self._refused_channels()]

    def _refused_channels(self) -> set[int]:
        return {self.dm_channels[u] for u in self.closed_dms if u in self.dm_channels}

    def _limited(self, key: str, r: RecordedRequest) -> tuple[web.Response | None, dict[str, str]]:
        """A 429 when the bucket `key` is spent, else None; and the rate-limit headers."""
        bucket = self.buckets.setdefault(key, Bucket(self.rate_limit, self.rate_window_s))
        allowed, headers = bucket.take(r.t)
        headers["X-RateLimit-Bucket"] = key.split(":")[0]
        if allowed:
            return None, headers
        self.rate_limited.append(r)
        retry = float(headers["X-RateLimit-Reset-After"])
        body = {"message": "You are being rate limited.", "retry_after": retry, "global": False}
        return _json(body, status=429, headers={**headers, "Via": "1.1 google"}), headers

    def _channel_routes(self, r: RecordedRequest) -> web.Response:
        """Open a DM channel, or post a message to a channel or a DM."""
        key = "dm_open" if r.kind == "dm_open" else f"message:{r.channel_id}"
        refusal, headers = self._limited(key, r)
        if refusal is not None:
            return refusal
        if r.kind == "dm_open":
            user_id = int(r.payload["recipient_id"])
            channel = self.dm_channels.setdefault(user_id, next(self._ids))
            return _json({"id": str(channel), "type": 1, "last_message_id": None,
                          "recipients": [user_payload(user_id, f"player{user_id % 10000}")]},
                         headers=headers)
        if r.channel_id in self._refused_channels():
            return _json({"message": "Cannot send messages to this user",
                          "code": CANNOT_MESSAGE_USER}, status=403, headers=headers)
        message = self._store(f"channel/{r.channel_id}/{next(self._ids)}", r.payload or {},
                              r.files)
        return _json({**message, "channel_id": str(r.channel_id), "type": 0}, headers=headers)

    def _answer(self, r: RecordedRequest, auth: str | None) -> web.StreamResponse:
        parts = r.path.strip("/").split("/")
        if r.path == "/users/@me":
            if auth != f"Bot {self.token}":
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(self.bot_user())
        if r.path == "/oauth2/applications/@me":
            return _json(self._application())
        if r.path in ("/gateway", "/gateway/bot"):
            return _json({
                "url": str(self.gateway_url), "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0,
                                        "max_concurrency": 1},
            })
        if r.kind in ("message", "dm_open"):
            return self._channel_routes(r)
        if r.kind == "sync":
            return _json(self._sync(parts, r.payload))
        if r.kind == "callback":
            return _json(self._callback(parts[1], parts[2], r))
        if r.kind in ("followup", "edit", "fetch") and parts[0] == "webhooks":
            return _json(self._message(r))
        if r.kind == "delete":
            self.messages.pop(r.token or "", None)
            return web.Response(status=204)
        return _json({"message": f"stand-in: no route {r.path}", "code": 0}, status=404)

    def _application(self) -> dict:
        return {
            "id": str(APP_ID), "name": "Lorekeeper", "description": "", "icon": None,
            "bot_public": True, "bot_require_code_grant": False, "verify_key": "00",
            "owner": user_payload(OWNER_ID, "owner"), "team": None, "flags": 0,
            "rpc_origins": [], "summary": "",
        }

    def _sync(self, parts: list[str], payload: list[dict]) -> list[dict]:
        guild = int(parts[3]) if parts[2] == "guilds" else None
        registered = [
            {**c, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1",
             **({"guild_id": str(guild)} if guild else {})}
            for c in payload
        ]
        self.commands[guild] = registered
        return registered

    def _callback(self, interaction_id: str, token: str, r: RecordedRequest) -> dict:
        data = r.payload.get("data") or {}
        callback_type = r.payload["type"]
        answer: dict[str, Any] = {
            "interaction": {"id": interaction_id, "type": APPLICATION_COMMAND}
        }
        if callback_type in (4, 5):
            message = self._store(token, {**data, "content": data.get("content", "")}, r.files)
            flags = int(data.get("flags", 0))
            answer["interaction"].update({
                "response_message_id": message["id"],
                "response_message_loading": callback_type == 5,
                "response_message_ephemeral": bool(flags & 64),
            })
            answer["resource"] = {"type": callback_type, "message": message}
        return answer

    def _message(self, r: RecordedRequest) -> dict:
        token = r.token or ""
        if r.kind == "followup":
            return self._store(f"{token}/{next(self._ids)}", r.payload or {}, r.files)
        if r.kind == "edit":
            merged = {**self.messages.get(token, {}), **(r.payload or {})}
            return self._store(token, merged, r.files)
        return self.messages.get(token) or self._store(token, {"content": ""}, [])

    def _store(self, key: str, data: dict, files: list[tuple[str, bytes]]) -> dict:
        old = self.messages.get(key)
        message = {
            "id": old["id"] if old else str(next(self._ids)), "channel_id": str(CHANNEL_ID),
            "type": 20, "content": data.get("content") or "", "author": self.bot_user(),
            "timestamp": TIMESTAMP, "edited_timestamp": TIMESTAMP if old else None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "embeds": data.get("embeds") or [], "pinned": False, "flags": data.get("flags", 0),
            "attachments": [
                {"id": str(i + 1), "filename": name, "size": len(blob),
                 "url": f"{self.base_url}/cdn/{name}", "proxy_url": f"{self.base_url}/cdn/{name}"}
                for i, (name, blob) in enumerate(files)
            ] or (old or {}).get("attachments", []),
        }
        self.messages[key] = message
        return message


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the bare content type discord.py checks for."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot, "flags": 0}


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    """The JSON payload and attached files of a request (JSON or multipart)."""
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: list[tuple[str, bytes]] = []
        reader = await request.multipart()
        async for part in reader:
            blob = await part.read()  # type: ignore[union-attr]
            if part.name == "payload_json":
                payload = json.loads(blob)
            else:
                files.append((part.filename or part.name or "", bytes(blob)))
        return payload, files
    if request.can_read_body:
        text = await request.text()
        return (json.loads(text) if text else None), []
    return None, []


def point_discord_at(standin: DiscordStandIn, monkeypatch: Any) -> None:
    """Send every discord.py REST call and the gateway connection to the stand-in."""
    import discord.gateway
    import discord.http

    monkeypatch.setattr(discord.http.Route, "BASE", standin.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", standin.gateway_url)


@contextlib.asynccontextmanager
async def running_bot(bot: Any, standin: DiscordStandIn, timeout: float = 20.0
                      ) -> AsyncIterator[Any]:
    """Log `bot` in to the stand-in, connect it, wait for READY; close it afterwards."""
    await bot.login(standin.token)
    task = asyncio.create_task(bot.connect(reconnect=False))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), timeout)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, timeout)


class LoopLagProbe:
    """Measures how late the event loop wakes a task that sleeps `period` seconds in a loop."""

    def __init__(self, period: float = 0.010) -> None:
        self.period = period
        self.max_lag = 0.0
        self.samples = 0
        self.spikes: list[tuple[float, float]] = []  # (when, lag) of every lag over 50 ms
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.period)
            lag = loop.time() - start - self.period
            self.max_lag = max(self.max_lag, lag)
            if lag > 0.050:
                self.spikes.append((start, lag))
            self.samples += 1

    async def __aenter__(self) -> LoopLagProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task



@dataclass
class Outcome:
    """How one interaction ended: answered, busy, or an error reply, and how fast."""

    sent: SentInteraction
    verdict: str
    defer_s: float
    done_s: float


async def run_overload(standin: DiscordStandIn, character: str, questions: list[str],
                       busy_text: str, final_mark: str, timeout: float = 120.0
                       ) -> tuple[list[Outcome], LoopLagProbe]:
    """Fire one /ask per question at once, each from its own user; wait for every ending."""
    async with LoopLagProbe() as probe:
        sent = await asyncio.gather(*(
            standin.send_command("ask", user_id=5000 + i, character=character, question=q)
            for i, q in enumerate(questions)))

        def ending(s: SentInteraction) -> Callable[[RecordedRequest], bool]:
            def matches(r: RecordedRequest) -> bool:
                if r.token != s.token:
                    return False
                if r.kind == "callback":
                    return r.payload["type"] == 4
                final = r.kind == "edit" and final_mark in (r.content or "")
                return final or r.kind == "followup"
            return matches

        endings = await asyncio.gather(*(standin.wait_for(ending(s), timeout) for s in sent))
    outcomes = []
    for s, end in zip(sent, endings, strict=True):
        first = standin.requests_for(s.token)[0]
        if end.kind == "callback":
            verdict = "busy" if end.payload["data"]["content"] == busy_text else "refused"
        else:
            verdict = "answered" if end.kind == "edit" else "error"
        outcomes.append(Outcome(s, verdict, first.t - s.t, end.t - s.t))
    return outcomes, probe


@dataclass
class PacedGenerator(ScriptedGenerator):
    """A ScriptedGenerator that pauses `delay` seconds per streamed piece, like a real model."""

    delay: float = 0.0

    def stream(self, messages: Sequence[dict], adapter: str | None,
               max_new_tokens: int | None = None) -> Iterator[str]:
        for piece in super().stream(messages, adapter, max_new_tokens):
            time.sleep(self.delay)
            yield piece
