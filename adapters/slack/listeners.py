"""bolt listeners: acknowledge Slack first, then translate and hand the event to the engine.

Slack wants an answer within 3 seconds; bolt (process_before_response off)
answers as soon as ack() is called (events are acknowledged before the listener
runs) and lets the rest of the listener run on, so the engine's work never
delays the acknowledgement.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from adapters.slack import render, translate
from adapters.slack.client import error_code
from adapters.slack.ids import SUGGEST_VIEW, WRITTEN_VIEW
from adapters.slack.outbox import ReplyTo
from bot.events import ChoiceMade, CommandInvoked, Kind, SuggestionSubmitted
from bot.models import Member, Place
from bot.outcomes import SuggestForm

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter

log = logging.getLogger(__name__)

PICK_ACTIONS = re.compile(r"^studybot:pick:")
WRITE_ACTIONS = re.compile(r"^studybot:write:")
COMMAND_ACTIONS = re.compile(r"^studybot:cmd:")
ANY = re.compile(r".*")


def register(app: AsyncApp, adapter: SlackAdapter) -> None:
    """Wire every Slack payload studybot takes to the adapter. Plain closures: bolt reads their argument names."""

    async def skip_repeats(body: dict, request, next):
        """Process each event_id once, whatever Slack retries (X-Slack-Retry-Num says it is one)."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not adapter.seen.first_time(event_id):
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            log.info("Slack event %s came again (retry %s): skipped", event_id, retry)
            return BoltResponse(status=200, body="")
        await next()

    app.use(skip_repeats)

    @app.command("/quiz")
    async def quiz(ack, body: dict):
        async with adapter.working("/quiz"):
            await ack()
            command = translate.slash_command(body)
            if command is None:
                log.warning("a /quiz payload without user, team or channel ignored")
                return
            profile = await adapter.directory.profile(command.team, command.user_id, command.user_name)
            member = Member(translate.PLATFORM, command.user_id, profile.name)
            reply = ReplyTo(command.user_id, command.channel, command.response_url,
                            trigger_id=body.get("trigger_id") if isinstance(body.get("trigger_id"), str) else None)
            await adapter.run(command.event(member, profile.is_admin), reply)

    @app.action(PICK_ACTIONS)
    async def pick(ack, body: dict):
        async with adapter.working("choice button"):
            await ack()
            who, picked = translate.interaction(body), translate.picked(body)
            if who is None or picked is None:
                return
            round_id, choice = picked
            member = await adapter.member(who.team, who.user_id, who.user_name)
            reply = ReplyTo(who.user_id, who.channel, who.response_url)
            await adapter.run(ChoiceMade(member, choice, round_id=round_id), reply)

    @app.action(WRITE_ACTIONS)
    async def write(ack, body: dict):
        async with adapter.working("answer button"):
            await ack()
            who, round_id = translate.interaction(body), translate.write_requested(body)
            if who is None or round_id is None or who.trigger_id is None:
                return
            view = render.written_modal(round_id, who.response_url, who.channel)
            try:  # the trigger_id expires 3 seconds after the click: open the modal before anything else
                await adapter.workspaces.client_for(who.team).views_open(trigger_id=who.trigger_id, view=view)
            except SlackApiError as error:
                log.warning("could not open the answer form: %s", error_code(error))

    @app.action(COMMAND_ACTIONS)
    async def command_button(ack, body: dict):
        """A button that runs `/quiz <its value>` as the member who clicks it (confirm forget-me, open a form)."""
        async with adapter.working("command button"):
            await ack()
            who, text = translate.interaction(body), translate.command_clicked(body)
            if who is None or text is None or who.channel is None:
                return
            profile = await adapter.directory.profile(who.team, who.user_id, who.user_name)
            member = Member(translate.PLATFORM, who.user_id, profile.name)
            event = CommandInvoked(member, Place(translate.PLATFORM, who.team, who.channel), text, profile.is_admin,
                                   in_dm=who.channel.startswith("D"))
            await adapter.run(event, ReplyTo(who.user_id, who.channel, who.response_url, trigger_id=who.trigger_id))

    @app.view(SUGGEST_VIEW)
    async def suggestion(ack, body: dict):
        """The /quiz suggest form sent: its problems go back into the form (response_action "errors")."""
        async with adapter.working("suggestion form"):
            sent, team = translate.suggestion_form(body), translate.team_of(body)
            if sent is None or team is None or adapter.hub is None:
                await ack()
                log.warning("a suggestion form without its fields ignored")
                return
            profile = await adapter.directory.profile(team, sent.user_id, None)
            member = Member(translate.PLATFORM, sent.user_id, profile.name)
            event = SuggestionSubmitted(member, Place(translate.PLATFORM, team, sent.channel or ""), sent.values,
                                        sent.draft, sent.editing, profile.is_admin)
            messages = await adapter.hub.handle(event)
            form = next((m for m in messages
                         if m.kind is Kind.FORM and isinstance(m.outcome, SuggestForm) and m.outcome.errors), None)
            if form is not None:
                await ack(response_action="errors", errors=render.suggest_errors(form.outcome))
                return
            await ack()  # closes the modal; the confirmation comes as an ephemeral message
            await adapter.hub.deliver(messages, ReplyTo(sent.user_id, sent.channel, sent.response_url))

    @app.action(ANY)
    async def other_action(ack, body: dict):
        await ack()  # a button of an older studybot, or another app's: nothing to do
        log.debug("action %s ignored", translate.interaction(body))

    @app.view(WRITTEN_VIEW)
    async def written(ack, body: dict):
        async with adapter.working("answer form"):
            await ack()  # closes the modal; feedback comes as an ephemeral message
            answer, team = translate.modal_answer(body), translate.team_of(body)
            if answer is None or team is None:
                log.warning("an answer form without a round or text ignored")
                return
            member = await adapter.member(team, answer.user_id)
            await adapter.run(answer.event(member), ReplyTo(answer.user_id, answer.channel, answer.response_url))

    async def member_answer(what: str, body: dict, event: dict, draft_of) -> None:
        """A reaction or a thread reply: translated to a draft, then run as the member's answer."""
        async with adapter.working(what):
            team = translate.team_of(body)
            draft = draft_of(event, adapter.bot_user_id(team))
            if draft is None or team is None:
                return
            assert adapter.hub is not None
            if not adapter.hub.is_round_message(translate.PLATFORM, draft.message_id):
                return  # chatter in other threads: no users.info call for it
            await adapter.run(draft.event(await adapter.member(team, draft.user_id)), None)

    @app.event("reaction_added")
    async def reaction(body: dict, event: dict):
        await member_answer("reaction_added", body, event, translate.reaction_answer)

    @app.event("message")
    async def message(body: dict, event: dict):
        await member_answer("message", body, event, translate.thread_answer)

    @app.event("app_home_opened")
    async def home(body: dict, event: dict):
        async with adapter.working("app_home_opened"):
            team, user = translate.team_of(body), translate.home_opened(event)
            if team is None or user is None:
                return
            await adapter.publish_home(team, user)

    @app.event("app_uninstalled")
    async def uninstalled(body: dict):
        async with adapter.working("app_uninstalled"):
            adapter.uninstalled(translate.team_of(body))

    @app.event("tokens_revoked")
    async def revoked(body: dict, event: dict):
        async with adapter.working("tokens_revoked"):
            tokens = translate.mapping(event.get("tokens"))
            if tokens.get("bot"):  # the bot's token: nothing can be posted there any more (user tokens: none used)
                adapter.uninstalled(translate.team_of(body))

    @app.event(ANY)
    async def other_event(event: dict):
        log.debug("Slack event %s ignored", event.get("type"))  # acknowledged by bolt already

