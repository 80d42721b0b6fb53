"""The permissions the bot needs in a channel, and the invite link that asks for exactly those."""

from __future__ import annotations

import discord

# Needed to post a round at all.
TO_POST = (("view_channel", "View Channel"), ("send_messages", "Send Messages"), ("embed_links", "Embed Links"))
# Needed for the rest of a round: seeded reactions (reading history to react to its own post), the thread.
FOR_ROUNDS = (("add_reactions", "Add Reactions"), ("read_message_history", "Read Message History"),
              ("create_public_threads", "Create Public Threads"),
              ("send_messages_in_threads", "Send Messages in Threads"))
SCOPES = ("bot", "applications.commands")


def needed() -> discord.Permissions:
    return discord.Permissions(**{flag: True for flag, _ in TO_POST + FOR_ROUNDS})


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=needed(), scopes=SCOPES)


def missing_to_post(permissions: discord.Permissions, soft: bool = False) -> list[str]:
    """Names of the permissions missing to post a round (and, with soft, to run it fully)."""
    wanted = TO_POST + (FOR_ROUNDS if soft else ())
    return [name for flag, name in wanted if not getattr(permissions, flag)]
