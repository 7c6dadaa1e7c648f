"""The Discord layer: slash commands that turn interactions into engine calls and replies."""

from bot.discord_app.client import LorekeeperBot, invite_url, run_discord

__all__ = ["LorekeeperBot", "invite_url", "run_discord"]
