"""Slack payloads (the samples in payloads/) -> drafts of engine events, and what is not one."""

from __future__ import annotations

import slack_payloads as payloads

from adapters.slack import translate
from adapters.slack.ids import split_message_id
from bot.events import ChoiceMade, CommandInvoked, WrittenAnswer
from bot.models import Member

ADA = Member("slack", "U0ADA", "Ada")


def test_slash_command_keeps_the_text_as_typed():
    body = payloads.sample("slash_command")
    body["text"] = "setup time=09:00 reveal=8h"
    command = translate.slash_command(body)
    assert command is not None and command.team == "T0001" and command.channel == "C2147483705"
    event = command.event(ADA, is_admin=True)
    assert isinstance(event, CommandInvoked)
    assert (event.text, event.is_admin, event.in_dm, event.place.workspace) == (
        "setup time=09:00 reveal=8h", True, False, "T0001")
    dm = dict(body, channel_id="D0123", channel_name="directmessage")
    assert translate.slash_command(dm).in_dm


def test_choice_reactions_become_choices_on_channel_qualified_ids():
    body = payloads.sample("event_reaction_added")
    assert translate.reaction_answer(body["event"], "U0G9QF9C6") is None  # thumbsup: not a choice
    body["event"]["reaction"] = "three"
    draft = translate.reaction_answer(body["event"], "U0G9QF9C6")
    assert draft.event(ADA) == ChoiceMade(ADA, 3, message_id="C0G9QF9GZ:1360782400.498405")
    assert split_message_id(draft.message_id) == ("C0G9QF9GZ", "1360782400.498405")
    own = dict(body["event"], user="U0G9QF9C6")
    assert translate.reaction_answer(own, "U0G9QF9C6") is None  # the bot's own seeded reactions
    on_file = dict(body["event"], item={"type": "file", "file": "F1"})
    assert translate.reaction_answer(on_file, "U0G9QF9C6") is None
    assert translate.reaction_answer({"type": "reaction_added"}, None) is None


def test_thread_replies_are_written_answers_unescaped():
    event = payloads.sample("event_message_thread_reply")["event"]
    draft = translate.thread_answer(event, "U0G9QF9C6")
    assert draft.event(ADA) == WrittenAnswer(
        ADA, "Self-attention lets every token attend to every other token & runs in parallel.",
        message_id="C0G9QF9GZ:1482960137.003543")


def test_edits_deletions_bots_archives_and_top_level_messages_are_not_answers():
    for name in ("event_message_changed", "event_message_deleted", "event_bot_message", "event_channel_archive"):
        assert translate.thread_answer(payloads.sample(name)["event"], "U0G9QF9C6") is None, name
    reply = payloads.sample("event_message_thread_reply")["event"]
    assert translate.thread_answer(dict(reply, thread_ts=reply["ts"]), None) is None  # the thread's root
    assert translate.thread_answer({k: v for k, v in reply.items() if k != "thread_ts"}, None) is None
    broadcast = dict(reply, subtype="thread_broadcast")
    assert translate.thread_answer(broadcast, None) is not None  # "also send to channel" is still a reply


def test_buttons_and_the_form():
    click = payloads.sample("block_actions_button")
    assert translate.picked(click) == (1, 2)
    who = translate.interaction(click)
    assert (who.user_id, who.team, who.channel) == ("U061F7AUR", "T0001", "C0G9QF9GZ")
    click["actions"][0]["action_id"] = "studybot:write:41"
    assert translate.write_requested(click) == 41 and translate.picked(click) is None
    form = payloads.sample("view_submission")
    answer = translate.modal_answer(form)
    assert answer.event(ADA) == WrittenAnswer(ADA, "My answer", round_id=1)
    assert translate.team_of(form) == "T0001"
    form["view"]["private_metadata"] = "not json"
    assert translate.modal_answer(form) is None


def test_home_tab_only():
    event = payloads.sample("event_app_home_opened")["event"]
    assert translate.home_opened(event) == "U061F7AUR"
    assert translate.home_opened(dict(event, tab="messages")) is None
