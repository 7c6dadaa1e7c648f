"""Texts and settings that the client, the error handler and the replies share. A leaf module."""

from __future__ import annotations

import discord

NO_MENTIONS = discord.AllowedMentions.none()
BUSY_TEXT = "I'm busy answering others right now, try again shortly."
APOLOGY = "Sorry, something went wrong while answering that. It has been logged."

__all__ = ["APOLOGY", "BUSY_TEXT", "NO_MENTIONS"]
