"""Settings, read once from the environment (and ./.env) by the composition root."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"  # a link to the top-level file


class ConfigError(Exception):
    """A setting with a bad value; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("studybot.db")  # the SQLite file, when STUDYBOT_DB is not a postgresql:// URL
    db_url: str | None = None  # STUDYBOT_DB as a postgresql://user:pass@host/db URL: PostgreSQL instead of SQLite
    questions_path: Path = DEFAULT_QUESTIONS
    timezone: str = "UTC"
    daily_at: str | None = "09:00"
    daily_days: str = "mon-fri"
    reveal_after: int = 8 * 3600
    weekly_at: str | None = "mon 09:00"
    discord_token: str | None = None
    discord_guild_id: str | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_channel: str | None = None
    discord_message_content: bool = False
    # STUDYBOT_DISCORD_SHARDS: the shard ids this process runs and the bot's shard count; None: all, count from Discord
    discord_shards: tuple[tuple[int, ...], int] | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    # Slack OAuth distribution (all three, or none): the app installs in many workspaces, tokens in the database
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_state_secret: str | None = None
    port: int = 3000
    admins: frozenset[str] = field(default_factory=frozenset)
    http_port: int | None = None
    log_json: bool = False
    judge_url: str | None = None  # optional model judge: an OpenAI-compatible chat-completions base URL
    judge_model: str | None = None
    judge_api_key: str | None = None
    public_url: str | None = None  # where people reach the HTTP port, for dashboard links (bot/dashboard_links.py)

    @property
    def database(self) -> Path | str:
        """What Store.open takes: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.db_url or self.db_path

    @property
    def slack_oauth(self) -> bool:
        """Installs through /slack/install in any number of workspaces (SLACK_CLIENT_ID and its two partners)."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_state_secret)

    @property
    def slack(self) -> bool:
        return bool(self.slack_bot_token) or self.slack_oauth

    @property
    def platforms(self) -> list[str]:
        found = [name for name, on in (("discord", bool(self.discord_token)), ("slack", self.slack)) if on]
        return found or ["console"]

    def secrets(self) -> list[str]:
        """Values that must never reach a log line or an error message."""
        values = (self.discord_token, self.slack_bot_token, self.slack_signing_secret, self.slack_app_token,
                  self.judge_api_key, _url_password(self.db_url),
                  self.slack_client_secret, self.slack_state_secret)
        return [v for v in values if v]


_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """'30s', '10m', '8h', '1h30m' -> seconds. Raises ValueError on anything else."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"{text!r} is not a duration such as 30s, 10m or 8h")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(compact))
    if not 1 <= seconds <= 7 * 86400:  # short reveals keep the end-to-end tests fast
        raise ValueError(f"{text!r} must lie between 1s and 7d")
    return seconds


def parse_clock(text: str) -> str:
    """'9:05' or '09:05' -> '09:05'; seconds may follow ('09:05:30'), for schedules that need them (tests)."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return f"{int(match[1]):02d}:{match[2]}" + (f":{match[3]}" if match[3] else "")


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(text: str) -> str:
    """Cron day-of-week form: 'mon-fri', 'mon,wed,fri', '*', 'sat-sun'."""
    compact = text.strip().lower().replace(" ", "")
    if compact == "*":
        return compact
    day = "(?:" + "|".join(DAY_NAMES) + "|[0-6])"
    if not re.fullmatch(rf"{day}(?:-{day})?(?:,{day}(?:-{day})?)*", compact):
        raise ValueError(f"{text!r} is not a day list such as mon-fri, mon,wed,fri or *")
    return compact


def parse_weekly(text: str) -> str:
    """'mon 09:00' -> 'mon 09:00'."""
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0] not in DAY_NAMES:
        raise ValueError(f"{text!r} is not a day and time such as 'mon 09:00'")
    return f"{parts[0]} {parse_clock(parts[1])}"


def parse_timezone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone such as Europe/Berlin") from None
    return text.strip()


def parse_shards(text: str) -> tuple[tuple[int, ...], int]:
    """'0-3/8' -> ((0, 1, 2, 3), 8): shards 0 to 3 of 8 run here; '5/8' is shard 5 alone."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?/(\d+)", text.strip().replace(" ", ""))
    if not match:
        raise ValueError(f"{text!r} is not FIRST-LAST/COUNT, such as 0-3/8 (shards 0 to 3 of 8)")
    first, last, count = int(match[1]), int(match[2] if match[2] is not None else match[1]), int(match[3])
    if count < 1 or not first <= last < count:
        raise ValueError(f"{text!r}: shards FIRST to LAST must lie between 0 and COUNT-1, FIRST <= LAST")
    return tuple(range(first, last + 1)), count


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no", "on", "off", ""}:
        raise ValueError(f"{text!r} is not 0 or 1")
    return value in {"1", "true", "yes", "on"}


T = TypeVar("T")


def _optional(parser: Callable[[str], T]) -> Callable[[str], T | None]:
    return lambda text: parser(text) if text.strip() else None


# setting -> (field, parser)
_PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "STUDYBOT_DB": ("db_path", lambda t: _database(t)),
    "STUDYBOT_QUESTIONS": ("questions_path", lambda t: Path(t.strip())),
    "STUDYBOT_TIMEZONE": ("timezone", parse_timezone),
    "STUDYBOT_DAILY_AT": ("daily_at", _optional(parse_clock)),
    "STUDYBOT_DAILY_DAYS": ("daily_days", parse_days),
    "STUDYBOT_REVEAL_AFTER": ("reveal_after", parse_duration),
    "STUDYBOT_WEEKLY_AT": ("weekly_at", _optional(parse_weekly)),
    "DISCORD_TOKEN": ("discord_token", _optional(str.strip)),
    "DISCORD_GUILD_ID": ("discord_guild_id", _optional(lambda t: _snowflake(t))),
    "DISCORD_API_URL": ("discord_api_url", lambda t: _url(t, ("http://", "https://"))),
    "DISCORD_GATEWAY_URL": ("discord_gateway_url", lambda t: _url(t, ("ws://", "wss://"))),
    "STUDYBOT_DISCORD_CHANNEL": ("discord_channel", _optional(lambda t: _snowflake(t))),
    "STUDYBOT_DISCORD_MESSAGE_CONTENT": ("discord_message_content", _flag),
    "STUDYBOT_DISCORD_SHARDS": ("discord_shards", _optional(parse_shards)),
    "SLACK_BOT_TOKEN": ("slack_bot_token", _optional(lambda t: _token(t, "xoxb-"))),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", _optional(str.strip)),
    "SLACK_APP_TOKEN": ("slack_app_token", _optional(lambda t: _token(t, "xapp-"))),
    "SLACK_API_URL": ("slack_api_url", lambda t: _url(t, ("http://", "https://"))),
    "STUDYBOT_SLACK_CHANNEL": ("slack_channel", _optional(str.strip)),
    "SLACK_CLIENT_ID": ("slack_client_id", _optional(str.strip)),
    "SLACK_CLIENT_SECRET": ("slack_client_secret", _optional(str.strip)),
    "SLACK_STATE_SECRET": ("slack_state_secret", _optional(lambda t: _state_secret(t))),
    "PORT": ("port", _port),
    "STUDYBOT_ADMINS": ("admins", lambda t: frozenset(p.strip() for p in t.split(",") if p.strip())),
    "STUDYBOT_HTTP_PORT": ("http_port", _optional(_port)),
    "STUDYBOT_LOG_JSON": ("log_json", _flag),
    "STUDYBOT_JUDGE_URL": ("judge_url", _optional(lambda t: _http_url(t))),
    "STUDYBOT_JUDGE_MODEL": ("judge_model", _optional(str.strip)),
    "STUDYBOT_JUDGE_API_KEY": ("judge_api_key", _optional(str.strip)),
    "STUDYBOT_PUBLIC_URL": ("public_url", _optional(lambda t: _public_url(t))),
}


_SCHEDULES = ("STUDYBOT_DAILY_AT", "STUDYBOT_WEEKLY_AT")


def _snowflake(text: str) -> str:
    if not text.strip().isdigit():
        raise ValueError("is not a Discord id (digits only)")
    return text.strip()


def _url(text: str, schemes: tuple[str, ...]) -> str:
    if not text.strip().startswith(schemes):
        raise ValueError(f"{text!r} must start with {' or '.join(schemes)}")
    return text.strip()


def _http_url(text: str) -> str:
    """An http(s) URL with a host; the value is not echoed (it may carry credentials)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, such as http://127.0.0.1:11434/v1")
    return text.strip()


def _database(text: str) -> Path | str:
    """A SQLite file path, or a postgresql:// URL (kept as text; load_settings moves it to db_url)."""
    from bot.db import is_postgres_url

    if not is_postgres_url(text):
        return Path(text.strip())
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(text.strip())
    except Exception:  # psycopg's message may quote the URL, password and all: never echo it
        raise ValueError("is not a valid postgresql://user:password@host:port/database URL") from None
    return text.strip()


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    from bot.db import url_password

    return url_password(url)


def _public_url(text: str) -> str:
    """The dashboard's URL base as people reach it: http(s), a host, no query or fragment."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{text.strip()[:80]!r} is not an http:// or https:// base URL such as https://quiz.example.com")
    return text.strip().rstrip("/")


def _state_secret(text: str) -> str:
    if len(text.strip()) < 16:
        raise ValueError("must be at least 16 characters (it signs the OAuth state; use a long random string)")
    return text.strip()


def _token(text: str, prefix: str) -> str:
    if not text.strip().startswith(prefix):
        # Never echo the value: it may be a real secret pasted into the wrong setting.
        raise ValueError(f"must start with {prefix}")
    return text.strip()


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Read settings; the process environment wins over the .env file. Raises ConfigError.

    An empty value (`NAME=`, as in a fresh copy of .env.example) counts as unset and
    takes the default; for the two schedules, empty or `off` turns that post off.
    """
    values: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    environment = os.environ if environ is None else environ
    # The environment wins, but an empty value there is unset too (except a schedule: empty means off).
    values.update({k: v for k, v in environment.items() if v.strip() or k in _SCHEDULES})
    kwargs: dict[str, Any] = {}
    for setting, (name, parser) in _PARSERS.items():
        raw = values.get(setting)
        if raw is None:
            continue
        if setting in _SCHEDULES and raw.strip().lower() in ("", "off"):
            kwargs[name] = None  # an empty or `off` schedule turns that post off
            continue
        if not raw.strip():
            continue  # `NAME=` in a copied .env counts as unset: the default stands
        try:
            kwargs[name] = parser(raw)
        except ValueError as error:
            raise ConfigError(setting, str(error)) from None
    if isinstance(kwargs.get("db_path"), str):  # STUDYBOT_DB is a PostgreSQL URL
        kwargs["db_url"] = kwargs.pop("db_path")
    settings = Settings(**kwargs)
    _check_together(settings)
    return settings


def _check_together(settings: Settings) -> None:
    oauth = {"SLACK_CLIENT_ID": settings.slack_client_id, "SLACK_CLIENT_SECRET": settings.slack_client_secret,
             "SLACK_STATE_SECRET": settings.slack_state_secret}
    if any(oauth.values()) and not all(oauth.values()):
        missing = next(name for name, value in oauth.items() if not value)
        raise ConfigError(missing, "is needed for Slack OAuth, with " + " and ".join(n for n in oauth if n != missing))
    if settings.slack_oauth and not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET", "is needed for Slack OAuth (HTTP mode: /slack/install, "
                                                  "/slack/oauth_redirect and /slack/events)")
    if settings.slack_oauth and settings.slack_app_token:
        raise ConfigError("SLACK_APP_TOKEN", "must be unset with Slack OAuth: installs need HTTP mode, with "
                                             "/slack/install and /slack/oauth_redirect on PORT")
    if settings.slack_bot_token and not (settings.slack_signing_secret or settings.slack_app_token):
        raise ConfigError(
            "SLACK_SIGNING_SECRET",
            "is needed with SLACK_BOT_TOKEN in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
        )
    if settings.slack_app_token and not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "is needed when SLACK_APP_TOKEN is set")
    if settings.judge_url and not settings.judge_model:
        raise ConfigError("STUDYBOT_JUDGE_MODEL", "is needed when STUDYBOT_JUDGE_URL is set (the model's name)")
