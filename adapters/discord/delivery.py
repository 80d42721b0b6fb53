"""Engine messages onto Discord: round posts, thread replies, edits, private answers, direct messages.

Which way a message goes depends on its kind and on whether it is private
(see ADAPTER_BRIEF): a private message answers the interaction at hand as an
ephemeral follow-up; with no interaction at hand it is not sent, except a
reminder, which is a direct message. Refusals a server admin can fix become
DeliveryError; gone messages and threads are logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import discord

from adapters.discord import limits
from adapters.discord.render import NUMBER_EMOJI, Piece, render
from adapters.discord.views import SuggestForm, answer_view, command_view
from bot.events import Kind, Outgoing
from bot.models import Place
from bot.ports import DeliveryError, Sent

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
NEEDED = ("View Channel, Send Messages, Embed Links, Add Reactions, Read Message History, "
          "Create Public Threads and Send Messages in Threads")
ArchiveMinutes = Literal[60, 1440, 4320, 10080]
ARCHIVE_MINUTES: tuple[ArchiveMinutes, ...] = (60, 1440, 4320, 10080)  # the auto-archive durations Discord accepts

Report = Callable[[str, str], None]  # (workspace, problem) -> shown to that server's admins


class InteractionReply:
    """The interaction being answered: private messages for its member go back through it, ephemeral."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.user_id = str(interaction.user.id)
        self.sent = 0

    async def send(self, piece: Piece, view: discord.ui.View | None = None,
                   file: discord.File | None = None) -> discord.abc.Snowflake | None:
        kwargs = _message_kwargs(piece, view, file)
        if self.interaction.response.is_done():
            sent = await self.interaction.followup.send(ephemeral=True, wait=True, **kwargs)
        else:
            await self.interaction.response.send_message(ephemeral=True, **kwargs)
            sent = None
        self.sent += 1
        return sent

    async def text(self, text: str) -> None:
        for chunk in limits.split_text(text, limits.CONTENT):
            await self.send(Piece(content=chunk))


def _message_kwargs(piece: Piece, view: discord.ui.View | None, file: discord.File | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if piece.content:
        kwargs["content"] = piece.content
    if piece.embeds:
        kwargs["embeds"] = piece.embeds
    if view is not None:
        kwargs["view"] = view
    if file is not None:
        kwargs["file"] = file
    return kwargs


def refusal(error: discord.HTTPException, channel: str) -> DeliveryError | None:
    """A refusal worded for a server admin, or None when it is not one they can fix."""
    if isinstance(error, discord.Forbidden):
        return DeliveryError(
            f"I could not post in <#{channel}> (Discord: {error.text or 'Missing Permissions'}). "
            f"Give me {NEEDED} there, or choose another channel with `/quiz setup`.",
            retryable=True,
        )
    if isinstance(error, discord.NotFound):
        return DeliveryError(
            f"The channel <#{channel}> is gone or hidden from me (Discord: {error.text or 'Unknown Channel'}). "
            "Choose the daily question's channel again with `/quiz setup`.",
            retryable=False,
        )
    return None


def archive_minutes(deadline: datetime | None) -> ArchiveMinutes:
    """The shortest auto-archive that keeps a quiet thread open past the reveal (by an hour, for late readers)."""
    if deadline is None:
        return 1440
    minutes = (deadline - datetime.now(UTC)).total_seconds() / 60 + 60
    return next((m for m in ARCHIVE_MINUTES if m >= minutes), ARCHIVE_MINUTES[-1])


class Delivery:
    def __init__(self, client: discord.Client, report: Report, thread_answers: bool) -> None:
        self.client = client
        self.report = report
        self.thread_answers = thread_answers
        self.pending: set[asyncio.Task] = set()

    async def send(self, message: Outgoing, reply: InteractionReply | None) -> Sent | None:
        if message.kind is Kind.REMINDER:
            return await self.direct_message(message)
        if message.kind is Kind.FORM:
            return await self.form(message, reply)
        if message.private:
            assert message.to is not None
            if reply is not None and reply.user_id == message.to.user_id:
                return await self.ephemeral(message, reply)
            log.debug("private %s for %s with no interaction at hand: not sent", message.kind.value, message.to.user_id)
            return None
        if message.kind is Kind.ROUND:
            return await self.post_round(message)
        if message.kind is Kind.CLOSED:
            return await self.close_round(message)
        if message.place.thread:
            return await self.post_in_thread(message)
        return await self.post(message, self.channel(message.place))

    # ---- where -----------------------------------------------------------------------------

    def channel(self, place: Place, thread: str | None = None) -> discord.PartialMessageable:
        guild_id = int(place.workspace) if place.workspace.isdigit() else None
        kind = discord.ChannelType.public_thread if thread else discord.ChannelType.text
        return self.client.get_partial_messageable(int(thread or place.channel), guild_id=guild_id, type=kind)

    # ---- round posts -------------------------------------------------------------------------

    async def post_round(self, message: Outgoing) -> Sent:
        place = message.place
        piece = render(message, self.thread_answers)[0]
        view = answer_view(message.round_id, len(message.choices), message.hidden_votes) \
            if message.round_id is not None else None
        kwargs = _message_kwargs(piece, view, None)
        if message.ping and message.ping.isdigit():  # /quiz setup ping=@role: that role, and only it, is mentioned
            kwargs["content"] = f"<@&{message.ping}>"
            kwargs["allowed_mentions"] = discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                                                 roles=[discord.Object(int(message.ping))])
        try:
            posted = await self.channel(place).send(**kwargs)
        except discord.HTTPException as error:
            raise refusal(error, place.channel) or error  # noqa: B904 (the original stays its __context__)
        # The question is out; its reactions and thread follow in the background, so that under Discord's
        # rate limit every channel sees its question before any channel gets its extras. A thread started
        # from a message has the message's id; if it never opens, the reveal replies under the post instead.
        self._finish(self._set_up_round(posted, message))
        return Sent(str(posted.id), str(posted.id))

    async def _set_up_round(self, posted: discord.Message, message: Outgoing) -> None:
        try:
            if not message.hidden_votes:
                await self._seed_reactions(posted, len(message.choices), message.place)
            await self._open_thread(posted, message)
        except Exception:  # a round without its reactions still works through the buttons
            log.exception("could not finish setting up round %s", message.round_id)

    def _finish(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def settle(self, timeout: float) -> None:
        """Let round set-ups in flight finish (at shutdown, and in tests)."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=timeout)

    async def _seed_reactions(self, posted: discord.Message, count: int, place: Place) -> None:
        """1️⃣ 2️⃣ ... in choice order, one at a time so they appear in order."""
        for emoji in NUMBER_EMOJI[:count]:
            try:
                await posted.add_reaction(emoji)
            except discord.Forbidden as error:
                self.report(place.workspace, f"I could not add the answer reactions in <#{place.channel}> "
                                             f"(Discord: {error.text}); members can still answer with the button. "
                                             "Give me Add Reactions and Read Message History there.")
                return
            except discord.NotFound:
                log.info("round post %s was deleted before its reactions were added", posted.id)
                return

    async def _open_thread(self, posted: discord.Message, message: Outgoing) -> str | None:
        name = limits.shorten(f"Answers · {message.title}" if message.title else "Answers", limits.THREAD_NAME)
        try:
            thread = await posted.create_thread(name=name, auto_archive_duration=archive_minutes(message.deadline))
        except discord.Forbidden as error:
            self.report(message.place.workspace, f"I could not start a thread under the question in "
                                                 f"<#{message.place.channel}> (Discord: {error.text}); the answer "
                                                 "will be posted in the channel instead. Give me Create Public "
                                                 "Threads and Send Messages in Threads there.")
            return None
        except (discord.HTTPException, ValueError) as error:
            log.warning("no thread for round %s: %s", message.round_id, error)
            return None
        return str(thread.id)

    async def close_round(self, message: Outgoing) -> Sent | None:
        assert message.edit_of is not None
        piece = render(message, self.thread_answers)[0]
        target = self.channel(message.place).get_partial_message(int(message.edit_of))
        try:
            await target.edit(embeds=piece.embeds, view=None, allowed_mentions=NO_MENTIONS)
        except discord.NotFound:
            log.info("round post %s is gone; nothing to mark closed", message.edit_of)
            return None
        except discord.HTTPException as error:
            raise refusal(error, message.place.channel) or error  # noqa: B904 (as above)
        return Sent(message.edit_of)

    # ---- replies and posts ------------------------------------------------------------------------

    async def post_in_thread(self, message: Outgoing) -> Sent | None:
        """In the round's thread; if the thread is gone or closed to us, under the post in the channel."""
        place = message.place
        assert place.thread is not None
        try:
            return await self.post(message, self.channel(place, place.thread), raising=False)
        except (discord.NotFound, discord.Forbidden) as error:
            log.info("thread %s not usable (%s); replying in the channel", place.thread, error.text)
        reference = discord.MessageReference(message_id=int(place.thread), channel_id=int(place.channel),
                                             fail_if_not_exists=False)
        try:
            return await self.post(message, self.channel(place), reference=reference)
        except DeliveryError as error:
            if error.retryable:
                raise
            log.warning("cannot reply for round %s: %s", message.round_id, error.problem)
            return None

    async def post(self, message: Outgoing, channel: discord.PartialMessageable, raising: bool = True,
                   reference: discord.MessageReference | None = None) -> Sent | None:
        first: discord.Message | None = None
        for index, piece in enumerate(render(message, self.thread_answers)):
            kwargs = _message_kwargs(piece, None, _attachment(message, piece) if index == 0 else None)
            if reference is not None and index == 0:
                kwargs["reference"] = reference
            try:
                posted = await channel.send(**kwargs)
            except discord.HTTPException as error:
                problem = refusal(error, message.place.channel) if raising else None
                raise problem or error  # noqa: B904 (as above)
            first = first or posted
        return Sent(str(first.id)) if first else None

    async def form(self, message: Outgoing, reply: InteractionReply | None) -> Sent | None:
        """The /quiz suggest form: a modal when it is the interaction's first answer; else (sent back with
        problems, after the form's own submission) the problems, with a button that opens the form again."""
        if reply is None or message.to is None or reply.user_id != message.to.user_id:
            return None
        if not reply.interaction.response.is_done():
            await reply.interaction.response.send_modal(SuggestForm(message.outcome))
            reply.sent += 1
            return None
        return await self.ephemeral(message, reply)

    async def ephemeral(self, message: Outgoing, reply: InteractionReply) -> Sent | None:
        pieces = render(message, self.thread_answers)
        view = answer_view(message.round_id, len(message.choices), True) \
            if message.kind is Kind.PERSONAL and message.round_id is not None else None
        if view is None and message.actions:
            view = command_view(message.actions)
        first = None
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            attached = (_file(message) or _attachment(message, piece)) if index == 0 else None
            sent = await reply.send(piece, view if last else None, attached)
            first = first or sent
        return Sent(str(first.id)) if first is not None else None

    async def direct_message(self, message: Outgoing) -> Sent | None:
        assert message.to is not None
        try:
            dm = await self.client.create_dm(discord.Object(int(message.to.user_id)))
            first = None
            for piece in render(message, self.thread_answers):
                posted = await dm.send(**_message_kwargs(piece, None, None))
                first = first or posted
        except discord.HTTPException as error:  # DMs closed, member gone: a reminder is not worth more
            log.info("could not send a direct message to %s: %s", message.to.user_id, error.text)
            return None
        return Sent(str(first.id)) if first else None


def _file(message: Outgoing) -> discord.File | None:
    """The file handed to the member (an Anki deck), attached to the ephemeral answer."""
    if message.file is None:
        return None
    if not message.file.is_file():
        log.warning("file %s is missing; sent without it", message.file)
        return None
    return discord.File(message.file, filename=message.file.name)


def _attachment(message: Outgoing, piece: Piece) -> discord.File | None:
    """The message's PNG, shown inside its first embed when there is one."""
    if message.image is None:
        return None
    if not message.image.is_file():
        log.warning("image %s is missing; sent without it", message.image)
        return None
    name = message.image.name
    if piece.embeds:
        piece.embeds[0].set_image(url=f"attachment://{name}")
    return discord.File(message.image, filename=name)
