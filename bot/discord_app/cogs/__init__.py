"""One cog per feature area; each module ends with `async def setup(bot)`."""

EXTENSIONS = (
    "bot.discord_app.cogs.answers",
    "bot.discord_app.cogs.cards",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.community",
)
