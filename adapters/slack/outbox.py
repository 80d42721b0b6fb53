"""send(): each outgoing message kind to the Web API calls that deliver it on Slack.

A private message that answers an interaction (slash command, button, modal)
goes back through that interaction's response_url as an ephemeral reply; with
no interaction at hand (a reaction, a thread reply, the scheduler) it goes as
chat.postEphemeral. Which interaction is at hand travels in a context variable
set by the listener around the engine call, so the engine never sees it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import render
from adapters.slack.client import ROUND_WAITS, Workspaces, delivery_error, error_code, invite_hint
from adapters.slack.ids import CHOICE_REACTIONS, message_id, split_message_id
from bot.events import Kind, Outgoing
from bot.outcomes import FileScopeMissing, FileSentDirectly
from bot.ports import DeliveryError, Sent

log = logging.getLogger(__name__)

# Refusals that are the member's doing, not an admin's: nothing to report.
MEMBER_GONE = ("user_not_in_channel", "user_not_found", "user_disabled", "cannot_dm_bot")
INVITE_NEEDED = ("not_in_channel", "channel_not_found")
FILES_SCOPE_MISSING = ("A member asked for a file (/quiz export) and Slack refused it: the app lacks the files:write "
                       "scope. Add it under OAuth & Permissions → Bot Token Scopes at api.slack.com/apps (or update "
                       "the app from slack-manifest.yaml), then reinstall the app (docs/slack.md).")


@dataclass
class ReplyTo:
    """The interaction being answered: who, where, and its response_url (valid 30 minutes, 5 uses)."""

    user_id: str
    channel: str | None
    response_url: str | None
    told_to_invite: bool = field(default=False)
    trigger_id: str | None = None  # opens a modal (the /quiz suggest form) within 3 seconds of the interaction


def thread_ts(thread: str | None) -> str | None:
    """The engine's thread id ("<channel>:<ts>") -> the ts Slack wants as thread_ts."""
    if not thread:
        return None
    try:
        return split_message_id(thread)[1]
    except ValueError:
        return thread


class Outbox:
    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    async def send(self, m: Outgoing, reply: ReplyTo | None = None) -> Sent | None:
        """`reply`: the interaction being answered, if any (its member's private messages go to its response_url)."""
        try:
            if m.kind is Kind.REMINDER and m.to is not None:
                await self._direct(m)
                return None
            if m.kind is Kind.FORM and m.to is not None:
                await self._form(m, reply)
                return None
            if m.to is not None:
                await self._private(m, reply)
                return None
            if m.kind is Kind.ROUND:
                return await self._post_round(m)
            if m.kind is Kind.CLOSED:
                await self._close(m)
                return None
            return await self._post(m)
        except SlackApiError as error:
            raise await self._refused(error, m, reply) from None

    # ---- public posts --------------------------------------------------------------------

    async def _post_round(self, m: Outgoing) -> Sent:
        client = self.workspaces.client_for(m.place.workspace)
        reply = await client.chat_postMessage(channel=m.place.channel, text=render.fallback(m),
                                              blocks=render.round_blocks(m), unfurl_links=False, unfurl_media=False)
        channel, ts = reply["channel"], reply["ts"]
        if not m.hidden_votes:
            await self._seed_reactions(m, channel, ts)
        return Sent(message_id(channel, ts))

    async def _seed_reactions(self, m: Outgoing, channel: str, ts: str) -> None:
        """One reaction per choice, in order; the post already stands, so a refusal here only gets logged."""
        client = self.workspaces.client_for(m.place.workspace)
        for name in CHOICE_REACTIONS[: len(m.choices)]:
            try:
                await client.reactions_add(channel=channel, name=name, timestamp=ts)
            except SlackApiError as error:
                if error_code(error) != "already_reacted":
                    log.warning("could not add :%s: to round %s: %s", name, m.round_id, error_code(error))

    async def _close(self, m: Outgoing) -> None:
        assert m.edit_of is not None
        channel, ts = split_message_id(m.edit_of)
        try:
            await self.workspaces.client_for(m.place.workspace).chat_update(
                channel=channel, ts=ts, text=render.fallback(m), blocks=render.closed_blocks(m))
        except SlackApiError as error:
            if error_code(error) not in ("message_not_found", "cant_update_message"):
                raise
            log.info("round %s: its post is gone (%s); nothing to mark closed", m.round_id, error_code(error))
        return None

    async def _post(self, m: Outgoing) -> Sent:
        """Reveals, boards, notices: in the channel, or in the thread `m.place.thread`."""
        client = self.workspaces.client_for(m.place.workspace)
        first = None
        for blocks in render.text_pages(m):
            reply = await client.chat_postMessage(channel=m.place.channel, thread_ts=thread_ts(m.place.thread),
                                                  text=render.fallback(m), blocks=blocks,
                                                  unfurl_links=False, unfurl_media=False)
            first = first or Sent(message_id(reply["channel"], reply["ts"]))
        assert first is not None
        return first

    # ---- private messages ----------------------------------------------------------------

    async def _private(self, m: Outgoing, reply: ReplyTo | None) -> None:
        assert m.to is not None
        if m.file is not None:
            return await self._hand_file(m, reply)
        page_list = render.message_pages(m)
        if (reply is not None and reply.user_id == m.to.user_id and reply.response_url
                and await self._respond(reply.response_url, m, page_list)):
            return None
        if not m.place.channel or m.place.channel.startswith("D"):
            await self._direct(m)
            return None
        client = self.workspaces.client_for(m.place.workspace)
        for blocks in page_list:
            try:
                await client.chat_postEphemeral(channel=m.place.channel, user=m.to.user_id, text=render.fallback(m),
                                                blocks=blocks, thread_ts=thread_ts(m.place.thread))
            except SlackApiError as error:
                if error_code(error) in MEMBER_GONE:
                    log.info("private message to %s dropped: %s", m.to.user_id, error_code(error))
                    return None
                raise
        return None

    async def _form(self, m: Outgoing, reply: ReplyTo | None) -> None:
        """The /quiz suggest form as a modal (views.open with the interaction's trigger_id); without a trigger at
        hand (or once it expired), its words privately, with a button that opens it."""
        assert m.to is not None
        if reply is not None and reply.user_id == m.to.user_id and reply.trigger_id:
            trigger, reply.trigger_id = reply.trigger_id, None  # a trigger opens one modal
            view = render.suggest_modal(m.outcome, reply.response_url, reply.channel)
            try:
                await self.workspaces.client_for(m.place.workspace).views_open(trigger_id=trigger, view=view)
                return None
            except SlackApiError as error:
                log.warning("could not open the suggestion form: %s", error_code(error))
        return await self._private(m, reply)

    async def _respond(self, url: str, m: Outgoing, page_list: list[list[dict]]) -> bool:
        """Ephemeral replies through response_url; False when Slack would not take them (expired, used up)."""
        hook = AsyncWebhookClient(url)
        for blocks in page_list:
            try:
                answer = await hook.send(text=render.fallback(m), blocks=blocks, response_type="ephemeral",
                                         replace_original=False)
            except Exception as error:  # network trouble: fall back to chat.postEphemeral
                log.info("response_url failed (%s); using chat.postEphemeral", type(error).__name__)
                return False
            if answer.status_code != 200:
                log.info("response_url refused (%s %s); using chat.postEphemeral", answer.status_code, answer.body)
                return False
        return True

    async def _hand_file(self, m: Outgoing, reply: ReplyTo | None) -> None:
        """A file for one member (an Anki deck). An ephemeral message cannot carry one, so it goes to the member's
        direct messages (files_upload_v2, which needs the files:write scope), and a note says so where they asked.
        Without the scope, the member hears why politely and the admins are told how to add it."""
        assert m.to is not None and m.file is not None
        client = self.workspaces.client_for(m.place.workspace)
        try:
            opened = await client.conversations_open(users=m.to.user_id)
            await client.files_upload_v2(channel=opened["channel"]["id"], file=str(m.file), filename=m.file.name,
                                         title=m.title or m.file.name, initial_comment=render.fallback(m))
        except SlackApiError as error:
            if error_code(error) != "missing_scope":
                raise
            await self._private(Outgoing(Kind.NOTICE, m.place, outcome=FileScopeMissing(), to=m.to), reply)
            raise DeliveryError(FILES_SCOPE_MISSING) from None
        await self._private(Outgoing(Kind.NOTICE, m.place, outcome=FileSentDirectly(m.file.name), to=m.to), reply)
        return None

    async def _direct(self, m: Outgoing) -> Sent | None:
        """A direct message from the bot (reminders): conversations.open, then chat.postMessage."""
        assert m.to is not None
        client = self.workspaces.client_for(m.place.workspace)
        try:
            opened = await client.conversations_open(users=m.to.user_id)
        except SlackApiError as error:
            if error_code(error) in MEMBER_GONE:
                log.info("direct message to %s dropped: %s", m.to.user_id, error_code(error))
                return None
            raise
        channel = opened["channel"]["id"]
        first = None
        for blocks in render.text_pages(m):
            reply = await client.chat_postMessage(channel=channel, text=render.fallback(m), blocks=blocks)
            first = first or Sent(message_id(reply["channel"], reply["ts"]))
        return first

    # ---- refusals ------------------------------------------------------------------------

    async def _refused(self, error: SlackApiError, m: Outgoing, reply: ReplyTo | None) -> DeliveryError:
        """Slack's refusal in admin words; a member who just ran /quiz here also hears how to invite the bot."""
        installed = self.workspaces.installation(m.place.workspace)
        bot_name = installed.bot_name if installed else "studybot"
        channel = m.place.channel
        if (reply is not None and reply.response_url and reply.channel == channel and not reply.told_to_invite
                and error_code(error) in INVITE_NEEDED):
            reply.told_to_invite = True
            after = ROUND_WAITS if m.kind is Kind.ROUND else "then try again."
            hint = Outgoing(Kind.NOTICE, m.place, invite_hint(channel, bot_name, after))
            await self._respond(reply.response_url, hint, render.text_pages(hint))
        return delivery_error(error, channel, bot_name)
