"""The product: answer engine, generation backends, Discord slash commands, console and CLI."""
