"""Private dashboard links: signed, expiring tokens, and the `/quiz dashboard` command that hands them out.

A token is `<payload>.<signature>`, both base64url without padding. The payload is compact JSON
`[platform, workspace, member id, role, expiry]` (role "admin" or "member", expiry in Unix seconds);
the signature is HMAC-SHA256 over the payload's text with the workspace's secret. Each workspace has its
own secret, kept in the database's meta table (`dashboard_secret:<platform>:<workspace>`), made at the first
link: several bot processes on one database share it, and `/quiz dashboard revoke` replaces it, which makes
every earlier link of that workspace (and only of it) invalid at once.

A token is checked in full before anything is read for it: a bad encoding, an unknown workspace (no secret
yet), a wrong signature or a past expiry all give None, and the pages answer 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from bot import outcomes as o
from bot.clock import Clock
from bot.config import Settings
from bot.events import Kind, Outgoing
from bot.models import Member, Place
from bot.store import Store

LINK_LIFETIME = timedelta(days=7)
MAX_TOKEN = 1024  # longer is not one of ours: refused before decoding
ROLES = ("admin", "member")
PREFIX = "/dashboard"


@dataclass(frozen=True)
class Access:
    """What a valid link lets its holder see: the team's pages (admin) or one member's own page."""

    platform: str
    workspace: str
    member_id: str
    role: str
    expires: datetime

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: the canonical unpadded form only, so that one token has exactly one spelling."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def public_base(settings: Settings) -> str | None:
    """The URL base of the dashboard links, or None when no HTTP server runs to serve them.

    The pages are served by Slack's HTTP server when Slack runs in HTTP mode (port PORT), otherwise on
    STUDYBOT_HTTP_PORT (bot/runtime.py); STUDYBOT_PUBLIC_URL says where people reach that port.
    """
    slack_http = settings.slack and not settings.slack_app_token  # a token, or OAuth (HTTP mode only)
    port = settings.port if slack_http else settings.http_port
    if port is None:
        return None
    return (settings.public_url or f"http://localhost:{port}").rstrip("/")


class DashboardLinks:
    """Issues and checks dashboard tokens; the secrets live in the store, so every process agrees."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    # ---- secrets ---------------------------------------------------------------------------

    @staticmethod
    def _key(platform: str, workspace: str) -> str:
        return f"dashboard_secret:{platform}:{workspace}"

    def _secret(self, platform: str, workspace: str, create: bool) -> bytes | None:
        value = self.store.meta(self._key(platform, workspace))
        if value is None and create:
            # Two processes making the first link of one workspace at the same instant would both write;
            # the later secret wins and the earlier of the two links gets 403: asking again mends it.
            self.store.set_meta(self._key(platform, workspace), secrets.token_hex(32))
            value = self.store.meta(self._key(platform, workspace))
        return bytes.fromhex(value) if value else None

    def revoke(self, platform: str, workspace: str) -> None:
        """A new secret for the workspace: every link made before gets 403 from now on."""
        self.store.set_meta(self._key(platform, workspace), secrets.token_hex(32))

    # ---- tokens ----------------------------------------------------------------------------

    def issue(self, platform: str, workspace: str, member_id: str, admin: bool,
              lifetime: timedelta = LINK_LIFETIME) -> tuple[str, datetime]:
        """A token for that member, and when it expires."""
        expires = self.clock() + lifetime
        payload = json.dumps([platform, workspace, member_id, "admin" if admin else "member", int(expires.timestamp())],
                             separators=(",", ":")).encode()
        secret = self._secret(platform, workspace, create=True)
        assert secret is not None
        signature = hmac.new(secret, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(signature)}", datetime.fromtimestamp(int(expires.timestamp()), expires.tzinfo)

    def verify(self, token: str | None) -> Access | None:
        """The access a token grants, or None: missing, malformed, forged, revoked or expired."""
        if not token or len(token) > MAX_TOKEN or not _TOKEN.fullmatch(token):
            return None
        encoded, _, signed = token.partition(".")
        try:
            payload = _unb64(encoded)
            signature = _unb64(signed)
            platform, workspace, member_id, role, expiry = json.loads(payload)
        except (binascii.Error, ValueError, TypeError):
            return None
        if not (isinstance(platform, str) and isinstance(workspace, str) and isinstance(member_id, str)
                and role in ROLES and isinstance(expiry, int) and not isinstance(expiry, bool)):
            return None
        secret = self._secret(platform, workspace, create=False)
        if secret is None:  # never made a link: a token naming it is not ours
            return None
        if not hmac.compare_digest(signature, hmac.new(secret, payload, hashlib.sha256).digest()):
            return None
        now = self.clock()
        if expiry <= now.timestamp():
            return None
        return Access(platform, workspace, member_id, role, datetime.fromtimestamp(expiry, now.tzinfo))

    def url(self, token: str, page: str = "") -> str | None:
        base = public_base(self.settings)
        return None if base is None else f"{base}{PREFIX}/{quote(token, safe='.')}/{page}"

    # ---- /quiz dashboard [revoke] ------------------------------------------------------------

    def command(self, member: Member, place: Place, admin: bool, args: tuple[str, ...]) -> list[Outgoing]:
        """The private answer to `/quiz dashboard` (a link) or `/quiz dashboard revoke` (admins)."""

        def say(outcome: o.Outcome) -> list[Outgoing]:
            return [Outgoing(Kind.NOTICE, place, to=member, outcome=outcome)]

        revoke = args == ("revoke",)
        if revoke and not admin:
            return say(o.DashboardRevokeRefused())
        if public_base(self.settings) is None:
            return say(o.DashboardOff())
        if revoke:
            self.revoke(place.platform, place.workspace)
        token, expires = self.issue(place.platform, place.workspace, member.user_id, admin)
        return say(o.DashboardLink(self.url(token) or "", expires, admin, revoked=revoke))
