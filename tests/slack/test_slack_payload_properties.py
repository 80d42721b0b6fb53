"""Property-based: Slack payloads mangled in any way never crash the translation; they become nothing or an event."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import translate
from tests.payload_fuzz import mangled

PAYLOADS = Path(__file__).parent / "payloads"


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def events(name: str):
    body = sample(name)
    return mangled(body.get("event", body))


@given(mangled(sample("slash_command")))
@settings(max_examples=200, deadline=None)
def test_slash_commands(body):
    result = translate.slash_command(body)
    assert result is None or (isinstance(result.text, str) and result.user_id and result.channel)


@given(events("event_reaction_added"), st.sampled_from([None, "UBOT"]))
@settings(max_examples=200, deadline=None)
def test_reactions(event, bot):
    result = translate.reaction_answer(event, bot)
    assert result is None or 1 <= result.choice <= 4


@given(st.one_of(events("event_message_thread_reply"), events("event_message_changed"), events("event_bot_message"),
                 events("event_message_deleted"), events("event_channel_archive")), st.sampled_from([None, "UBOT"]))
@settings(max_examples=300, deadline=None)
def test_thread_messages(event, bot):
    result = translate.thread_answer(event, bot)
    assert result is None or isinstance(result.text, str)


@given(st.one_of(mangled(sample("block_actions_button")), mangled(sample("view_submission"))))
@settings(max_examples=300, deadline=None)
def test_interactions(body):
    translate.interaction(body)
    picked = translate.picked(body)
    assert picked is None or all(isinstance(n, int) for n in picked)
    translate.write_requested(body)
    answer = translate.modal_answer(body)
    assert answer is None or isinstance(answer.text, str)
    translate.team_of(body)


@given(events("event_app_home_opened"))
@settings(max_examples=100, deadline=None)
def test_home_opened(event):
    result = translate.home_opened(event)
    assert result is None or isinstance(result, str)
