"""`python -m bot`: the bot (Discord with DISCORD_TOKEN set, else the console), or `ask`."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
