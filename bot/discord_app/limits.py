"""Discord's limits, named. The shared ones come from bot.render; these are the Discord layer's."""

from __future__ import annotations

from bot.render import (
    AUTOCOMPLETE_LIMIT,
    AUTOCOMPLETE_NAME_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    MESSAGE_LIMIT,
)

AUTOCOMPLETE_VALUE_LIMIT = 100
# Embeds one message may carry.
EMBEDS_PER_MESSAGE = 10
# Discord drops an interaction not answered within 3 s; every command defers long before that.
INTERACTION_DEADLINE_S = 3.0
# Our own limit on a question (Discord allows 6000 characters in a string option).
QUESTION_MAX_LENGTH = 300
# Engine calls running at once in worker threads; the rest of the queue waits its turn.
ENGINE_WORKERS = 4
# Threads for engine calls: the queue's workers plus spares for autocomplete and quick lookups.
WORKER_THREADS = ENGINE_WORKERS + 4
# Connections kept open to Discord's REST API (replies queue for one rather than open more).
HTTP_CONNECTIONS = 8
# How long a thread may hold the GIL before another may run (Python's default is 5 ms).
GIL_SWITCH_INTERVAL_S = 0.001

__all__ = [
    "AUTOCOMPLETE_LIMIT",
    "AUTOCOMPLETE_NAME_LIMIT",
    "AUTOCOMPLETE_VALUE_LIMIT",
    "EMBEDS_PER_MESSAGE",
    "EMBED_DESCRIPTION_LIMIT",
    "EMBED_FIELD_LIMIT",
    "EMBED_FIELD_NAME_LIMIT",
    "EMBED_FIELD_VALUE_LIMIT",
    "EMBED_FOOTER_LIMIT",
    "EMBED_TITLE_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "ENGINE_WORKERS",
    "GIL_SWITCH_INTERVAL_S",
    "HTTP_CONNECTIONS",
    "INTERACTION_DEADLINE_S",
    "MESSAGE_LIMIT",
    "QUESTION_MAX_LENGTH",
    "WORKER_THREADS",
]
