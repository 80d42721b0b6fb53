"""The Discord adapter (discord.py): slash commands, round posts with reactions, threads and buttons."""

from adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
