"""Each workspace's daily-question settings: the environment's defaults until `/quiz setup key=value ...`."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.clock import Clock
from bot.commands import CommandError
from bot.config import Settings, parse_clock, parse_days, parse_duration, parse_timezone, parse_weekly
from bot.models import ChannelSettings
from bot.store import Store

KEYS: tuple[str, ...] = (
    "channel", "time", "days", "timezone", "reveal", "weekly", "hidden", "open", "mock_mc", "mock_open"
)
MOCK_LIMITS = (10, 3600)  # a mock question's time limit, seconds: from 10 s to an hour
_ALIASES = {"tz": "timezone", "at": "time", "reveal_after": "reveal", "hidden_votes": "hidden",
            "open_questions": "open", "open-ended": "open", "mock-mc": "mock_mc", "mock-open": "mock_open"}
_OFF = {"off", "none", "no", "disable", "disabled", ""}
TEAM_KEYS = ("season", "remind", "ping")  # seasons, reminders before the reveal, a group pinged on the daily post
KEYS += TEAM_KEYS
SEASONS = ("monthly", "quarterly")
REMIND_LIMITS = (60, 86400)  # a reminder from a minute to a day before the reveal
# A group to mention, as each platform writes it: a Discord role (<@&id>, or its id), a Slack user group
# (<!subteam^ID|@handle>, as Slack sends it when the command escapes mentions, or its id S...).
_DISCORD_ROLE = re.compile(r"<@&(\d{15,22})>|@?&?(\d{15,22})")
_SLACK_GROUP = re.compile(r"<!subteam\^([A-Z0-9]{2,24})(?:\|[^>]*)?>|!?subteam\^([A-Z0-9]{2,24})|(S[A-Z0-9]{2,24})")
_CONSOLE_GROUP = re.compile(r"@?([\w-]{1,40})")
# Channel references as platforms write them: <#C123|name>, <#123>, or a bare id.
_CHANNEL_REF = re.compile(r"<#([A-Za-z0-9]+)(?:\|[^>]*)?>|#?([A-Za-z0-9]{1,30})")


def apply_setup(current: ChannelSettings, args: tuple[str, ...], here: str) -> ChannelSettings:
    """The settings after `args`; raises CommandError naming the bad key or value."""
    changes: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        if not sep or key not in KEYS:
            raise CommandError(f"`{arg[:40]}` is not key=value with a key among: {', '.join(KEYS)}.")
        try:
            changes.update(_team(key, value.strip(), current.platform) if key in TEAM_KEYS
                           else _parse(key, value.strip(), here))
        except ValueError as error:
            raise CommandError(f"{key}: {error}") from None
    if not current.channel and "channel" not in changes:
        changes["channel"] = here
    return replace(current, **changes)


def _parse(key: str, value: str, here: str) -> dict[str, Any]:
    if key == "channel":
        return {"channel": _channel(value, here)}
    if key == "time":
        return {"daily_at": None if value.lower() in _OFF else parse_clock(value)}
    if key == "days":
        return {"days": parse_days(value)}
    if key == "timezone":
        return {"timezone": parse_timezone(value)}
    if key == "reveal":
        return {"reveal_after": parse_duration(value)}
    if key == "weekly":
        return {"weekly_at": None if value.lower() in _OFF else parse_weekly(value)}
    if key in ("mock_mc", "mock_open"):
        seconds = parse_duration(value)
        low, high = MOCK_LIMITS
        if not low <= seconds <= high:
            raise ValueError(f"{value!r}: a mock question's time limit lies between {low}s and {high // 60}m")
        return {key: seconds}
    if value.lower() not in _OFF | {"on", "yes", "true", "1"}:
        raise ValueError(f"{value!r} is not on or off")
    field = "hidden_votes" if key == "hidden" else "open_questions"
    return {field: value.lower() not in _OFF}


def _team(key: str, value: str, platform: str) -> dict[str, Any]:
    """season=monthly|quarterly|off, remind=1h|off, ping=<group>|off."""
    off = value.lower() in _OFF
    if key == "season":
        if not off and value.lower() not in SEASONS:
            raise ValueError(f"{value[:40]!r} is not monthly, quarterly or off")
        return {"season": None if off else value.lower()}
    if key == "remind":
        if off:
            return {"remind_before": None}
        seconds = parse_duration(value)
        low, high = REMIND_LIMITS
        if not low <= seconds <= high:
            raise ValueError(f"{value!r}: a reminder comes between 1m and 24h before the reveal")
        return {"remind_before": seconds}
    return {"ping": None if off else _group(value, platform)}


def _group(value: str, platform: str) -> str:
    """The id of the group to mention on the daily post, as the platform names it."""
    if platform == "discord":
        match = _DISCORD_ROLE.fullmatch(value)
        if not match:
            raise ValueError(f"{value[:40]!r} is not a role: pick one in the ping option, or write it as <@&id>")
        return match.group(1) or match.group(2)
    if platform == "slack":
        match = _SLACK_GROUP.fullmatch(value)
        if not match:
            raise ValueError(f"{value[:40]!r} is not a user group: type ping=@group so Slack turns it into a "
                             "mention, or give the group's id (S0123ABCD)")
        return next(g for g in match.groups() if g)
    match = _CONSOLE_GROUP.fullmatch(value)
    if not match:
        raise ValueError(f"{value[:40]!r} is not a group name such as @team")
    return match.group(1)


def _channel(value: str, here: str) -> str:
    if value.lower() in ("here", "this", ""):
        return here
    match = _CHANNEL_REF.fullmatch(value)
    if not match:
        raise ValueError(f"{value[:40]!r} is not a channel; use channel=here in the channel you want")
    return match.group(1) or match.group(2)


class Workspaces:
    """Where and when each workspace's rounds run: stored by /quiz setup, else the environment's defaults."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def default_settings(self, platform: str, workspace: str, channel: str | None = None) -> ChannelSettings:
        s = self.settings
        return ChannelSettings(
            platform=platform, workspace=workspace, channel=channel, daily_at=s.daily_at, days=s.daily_days,
            timezone=s.timezone, reveal_after=s.reveal_after, weekly_at=s.weekly_at,
        )

    def settings_for(self, platform: str, workspace: str) -> ChannelSettings:
        return self.store.workspace(platform, workspace) or self.default_settings(platform, workspace)

    def register_channel(self, platform: str, workspace: str, channel: str) -> ChannelSettings:
        """A channel named in the environment: used until /quiz setup is run in that workspace."""
        if self.store.workspace_source(platform, workspace) == "setup":
            return self.settings_for(platform, workspace)
        settings = self.default_settings(platform, workspace, channel)
        self.store.save_workspace(settings, "env", self.clock())
        return settings
