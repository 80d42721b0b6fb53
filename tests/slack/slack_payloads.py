"""Slack payloads for the tests, built from the samples in payloads/ (shaped as Slack documents them)."""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from slack_fake import TEAM

SAMPLES = Path(__file__).parent / "payloads"
_event_ids = itertools.count(1)
_ts = itertools.count(1)


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def new_event_id() -> str:
    return f"Ev0TEST{next(_event_ids):06d}"


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


# ---- slash commands (application/x-www-form-urlencoded) ----------------------------------


def slash(text: str, user: str, channel: str, response_url: str, user_name: str = "someone",
          channel_name: str = "study") -> dict:
    body = sample("slash_command")
    body.update(team_id=TEAM, team_domain="study-team", channel_id=channel, channel_name=channel_name,
                user_id=user, user_name=user_name, text=text, response_url=response_url)
    return body


def form(body: dict) -> str:
    return urlencode(body)


# ---- Events API (application/json) ---------------------------------------------------------


def wrap(sample_name: str, event_id: str | None = None, **event: object) -> dict:
    body = sample(sample_name)
    body["team_id"] = TEAM
    body["event_id"] = event_id or new_event_id()
    body["event_time"] = int(time.time())
    body["event"].update(event)
    return body


def reaction_added(user: str, reaction: str, channel: str, ts: str, event_id: str | None = None) -> dict:
    body = wrap("event_reaction_added", event_id, user=user, reaction=reaction, event_ts=new_ts())
    body["event"]["item"] = {"type": "message", "channel": channel, "ts": ts}
    return body


def thread_reply(user: str, text: str, channel: str, thread_ts: str, event_id: str | None = None) -> dict:
    ts = new_ts()
    return wrap("event_message_thread_reply", event_id, user=user, text=text, channel=channel,
                thread_ts=thread_ts, ts=ts, event_ts=ts)


def message_changed(user: str, channel: str, thread_ts: str) -> dict:
    body = wrap("event_message_changed", channel=channel, event_ts=new_ts())
    body["event"]["message"].update(user=user, thread_ts=thread_ts, text="my edited answer")
    return body


def message_deleted(user: str, channel: str, thread_ts: str) -> dict:
    body = wrap("event_message_deleted", channel=channel, event_ts=new_ts())
    body["event"]["previous_message"].update(user=user, thread_ts=thread_ts)
    return body


def bot_message(channel: str, thread_ts: str, bot_id: str = "BB12033") -> dict:
    ts = new_ts()
    return wrap("event_bot_message", channel=channel, thread_ts=thread_ts, ts=ts, event_ts=ts, bot_id=bot_id)


def channel_archived(user: str, channel: str) -> dict:
    ts = new_ts()
    return wrap("event_channel_archive", channel=channel, user=user, ts=ts, event_ts=ts)


def app_home_opened(user: str) -> dict:
    return wrap("event_app_home_opened", user=user, event_ts=new_ts())


# ---- interactivity (form field `payload` holding JSON) ---------------------------------------


def block_action(user: str, action_id: str, channel: str, message_ts: str, response_url: str,
                 trigger_id: str = "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3") -> dict:
    body = sample("block_actions_button")
    body["user"].update(id=user, team_id=TEAM)
    body["team"]["id"] = TEAM
    body["channel"]["id"] = channel
    body["container"].update(channel_id=channel, message_ts=message_ts)
    body["message"]["ts"] = message_ts
    body["response_url"] = response_url
    body["trigger_id"] = trigger_id
    body["actions"][0].update(action_id=action_id, value=action_id.rsplit(":", 1)[-1], action_ts=new_ts())
    return body


def view_submission(user: str, round_id: int, text: str, response_url: str | None, channel: str | None) -> dict:
    body = sample("view_submission")
    body["user"].update(id=user, team_id=TEAM)
    body["team"]["id"] = TEAM
    body["view"]["team_id"] = TEAM
    body["view"]["private_metadata"] = json.dumps({"round_id": round_id, "response_url": response_url,
                                                   "channel": channel})
    body["view"]["state"]["values"]["answer"]["answer"]["value"] = text
    return body


def interaction_form(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def copy_of(payload: dict) -> dict:
    return copy.deepcopy(payload)
