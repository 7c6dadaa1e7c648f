"""Patch day's data and texts: settings, follows and records in real SQLite; the announcement
and the follower's note built by a real engine over a private store (scripted generator)."""

from __future__ import annotations

import io
import json

import pytest

from bot.announce import build_announcement, change_note, render_announcement
from bot.community import Community, TooManyFollows
from bot.console import Console
from stats_db.ingest import import_paths
from tests.bot_fixtures import make_engine


@pytest.fixture
def community(tmp_path) -> Community:
    return Community(tmp_path / "lorekeeper.sqlite", max_follows=3)


def test_announce_channel_is_set_per_server_and_turned_off(community):
    community.set_announce_channel(1, 10)
    community.set_announce_channel(2, 20)
    community.set_announce_channel(1, 11)
    assert community.announce_channels() == {1: 11, 2: 20}
    community.set_announce_channel(2, None)
    assert community.announce_channel(2) is None
    assert community.announce_channels() == {1: 11}


def test_follows_are_per_user_and_capped(community):
    assert community.follow(7, "a") and community.follow(7, "b")
    assert not community.follow(7, "a"), "following twice is not a second follow"
    assert community.follow(7, "c")
    with pytest.raises(TooManyFollows, match="You already follow 3 characters"):
        community.follow(7, "d")
    assert community.follow(8, "a")
    assert community.following(7) == ["a", "b", "c"]
    assert community.followers(["a", "c", "zzz"]) == {7: ["a", "c"], 8: ["a"]}
    assert community.unfollow(7, "b") and not community.unfollow(7, "b")
    assert community.follow(7, "d")
    assert community.followers_of_any() == ["a", "c", "d"]


def test_records_survive_a_reopen(community, tmp_path):
    community.mark_seen(["p1", "p2"])
    community.record_announcement(1, "p2", 10, "posted", 99)
    community.record_notice("p2", 7, "refused")
    community.close()
    again = Community(tmp_path / "lorekeeper.sqlite")
    assert again.seen_patches() == {"p1", "p2"}
    assert again.announced_guilds("p2") == {1}
    assert again.notified_users("p2") == {7} and again.notices("p2") == {7: "refused"}


def _reply(messages, adapter) -> str:
    """States the stat card's attack (the current value), which verification accepts."""
    facts = messages[1]["content"]
    return "Hrrm! Attack " + facts.split("Attack: ")[1].split("\n")[0] + " now." \
        if "Attack: " in facts else "Grr."


def _import_delta(store, tmp_path, character_id: str, patch_id: str = "2026-W60") -> int:
    old = store.show(character_id).stats["attack"]
    new = old + 3 if old + 3 <= store.world.schema["attack"].maximum else old - 3
    path = tmp_path / f"2027-02-22_{patch_id}.json"
    path.write_text(json.dumps({
        "patch": patch_id, "released": "2027-02-22", "kind": "delta", "notes": "Axes sharper.",
        "characters": [{"id": character_id, "stats": {"attack": new}}]}))
    (result,) = import_paths(store, [path])
    assert result.status == "imported", result.errors
    return new


def test_announcement_and_note_speak_the_new_values(fresh_store, tmp_path):
    who, other = fresh_store.world.characters[0], fresh_store.world.characters[1]
    new = _import_delta(fresh_store, tmp_path, who.id)
    engine = make_engine(fresh_store, _reply)
    announcement = build_announcement(engine)
    assert announcement.view.patch == "2026-W60"
    (voice,) = announcement.voices
    assert voice.name == who.name and voice.text == f"Hrrm! Attack {new} now."
    assert not voice.fallback
    note = change_note(engine, who.id, "2026-W60")
    assert note is not None and note.from_patch == "2026-W48"
    assert [label for label, _old, _new in note.changes] == ["Attack"]
    assert note.changes[0][2] == str(new)
    assert change_note(engine, other.id, "2026-W60") is None

    console = Console(engine, io.StringIO())
    console.handle("/patch")
    shown = console.out.getvalue()
    assert shown.startswith("Patch 2026-W60") and "Axes sharper." in shown
    assert f"In their own words:\n    {who.name}: Hrrm! Attack {new} now." in shown
    assert render_announcement(announcement) in shown


def test_a_reply_with_a_wrong_number_falls_back_to_the_template(fresh_store, tmp_path):
    who = fresh_store.world.characters[0]
    new = _import_delta(fresh_store, tmp_path, who.id)
    engine = make_engine(fresh_store, ["Hrrm! Attack 9999 now."])
    (voice,) = build_announcement(engine).voices
    assert voice.fallback and str(new) in voice.text and "9999" not in voice.text
