"""Private dashboard links: signed, expiring tokens, revocation, and `/quiz dashboard` on every platform's parser."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest

from bot.commands import CommandError, parse
from bot.config import ConfigError, Settings, load_settings
from bot.dashboard_links import DashboardLinks, public_base
from bot.events import CommandInvoked, Kind
from bot.models import Member, Place
from tests.conftest import make_engine, member

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # the store-backed tests run on both

ALICE, BOB = member("alice"), member("bob")
TEAM = Place("console", "local", "console")


# ---- links ----------------------------------------------------------------------------------


def test_a_token_round_trips_and_names_its_holder(engine, clock):
    token, expires = engine.dashboards.issue("discord", "G1", "U1", admin=True)
    access = engine.dashboards.verify(token)
    assert (access.platform, access.workspace, access.member_id, access.role) == ("discord", "G1", "U1", "admin")
    assert access.expires == expires == clock() + timedelta(days=7)
    member_token, _ = engine.dashboards.issue("discord", "G1", "U2", admin=False)
    assert engine.dashboards.verify(member_token).role == "member"


def test_forged_tampered_expired_and_malformed_tokens_are_refused(engine, clock):
    links: DashboardLinks = engine.dashboards
    token, _ = links.issue("discord", "G1", "U2", admin=False)
    payload, signature = token.split(".")
    # a member who makes themself admin by editing the payload
    forged = base64.urlsafe_b64encode(json.dumps(["discord", "G1", "U2", "admin", 9_999_999_999],
                                                 separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert links.verify(f"{forged}.{signature}") is None
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert links.verify(f"{payload}.{flipped}") is None
    for bad in ("", "x", "a.b", "..", f"{payload}.", f".{signature}", f"{payload}.{signature}.x", "%%%.%%%",
                "e30.AAAA", "W10.AAAA", "x" * 5000, f"{payload}.{signature}="):
        assert links.verify(bad) is None, bad
    # a token naming a workspace that never had a link has no secret to check against
    other = DashboardLinks(engine.store, engine.settings, clock)
    elsewhere, _ = other.issue("slack", "T9", "U1", admin=True)
    engine.store.set_meta("dashboard_secret:slack:T9", "00" * 32)  # another secret: the old signature fails
    assert links.verify(elsewhere) is None
    clock.advance(days=7)
    assert links.verify(token) is None  # expired at the second it says


def test_revoking_a_workspace_invalidates_its_links_only(engine):
    links: DashboardLinks = engine.dashboards
    here, _ = links.issue("discord", "G1", "U1", admin=True)
    there, _ = links.issue("discord", "G2", "U1", admin=True)
    links.revoke("discord", "G1")
    assert links.verify(here) is None
    assert links.verify(there) is not None
    again, _ = links.issue("discord", "G1", "U1", admin=True)
    assert links.verify(again) is not None


def test_the_secret_is_made_once_and_kept_in_the_database(engine, store, mini_bank, clock):
    token, _ = engine.dashboards.issue("console", "local", "id-alice", admin=False)
    assert re.fullmatch(r"[0-9a-f]{64}", store.meta("dashboard_secret:console:local"))
    sibling = make_engine(store, mini_bank, clock)  # another process on the same database
    assert sibling.dashboards.verify(token) is not None


# ---- /quiz dashboard --------------------------------------------------------------------------


def command(engine, who: Member, text: str, admin: bool = False):
    return engine.handle(CommandInvoked(who, TEAM, text, is_admin=admin))


def test_quiz_dashboard_gives_a_private_link_with_the_public_url(store, mini_bank, clock):
    engine = make_engine(store, mini_bank, clock, http_port=8080, public_url="https://quiz.example.com")
    [reply] = command(engine, ALICE, "dashboard")
    assert reply.to == ALICE and reply.kind is Kind.NOTICE
    url = re.search(r"https://quiz\.example\.com/dashboard/(\S+)/", reply.text)
    assert url, reply.text
    access = engine.dashboards.verify(url.group(1))
    assert access.member_id == ALICE.user_id and access.role == "member"
    assert "your own dashboard page" in reply.text and "valid until 2026-11-30 09:00 UTC" in reply.text
    [admin_reply] = [m for m in command(engine, BOB, "dashboard", admin=True) if "dashboard" in m.text]
    token = re.search(r"/dashboard/(\S+)/", admin_reply.text).group(1)
    assert engine.dashboards.verify(token).role == "admin"
    assert "team's dashboard" in admin_reply.text and "revoke" in admin_reply.text


def test_ids_in_studybot_admins_get_the_team_link(store, mini_bank, clock):
    engine = make_engine(store, mini_bank, clock, http_port=8080, admins=frozenset({ALICE.user_id}))
    [reply] = command(engine, ALICE, "dashboard")
    token = re.search(r"http://localhost:8080/dashboard/(\S+)/", reply.text).group(1)
    assert engine.dashboards.verify(token).admin


def test_revoke_is_for_admins_and_turns_every_older_link_away(store, mini_bank, clock):
    engine = make_engine(store, mini_bank, clock, http_port=8080)
    old = re.search(r"/dashboard/(\S+)/", command(engine, ALICE, "dashboard")[0].text).group(1)
    [refused] = command(engine, ALICE, "dashboard revoke")
    assert "for admins" in refused.text and engine.dashboards.verify(old) is not None
    [done] = command(engine, BOB, "dashboard REVOKE", admin=True)
    assert "now gets 403" in done.text
    assert engine.dashboards.verify(old) is None
    fresh = re.search(r"/dashboard/(\S+)/", done.text).group(1)
    assert engine.dashboards.verify(fresh).admin


def test_without_an_http_port_the_command_says_the_dashboard_is_off(engine):
    [reply] = command(engine, ALICE, "dashboard")
    assert "STUDYBOT_HTTP_PORT" in reply.text and "/dashboard/" not in reply.text
    assert engine.store.meta("dashboard_secret:console:local") is None  # nothing written


def test_the_command_grammar():
    assert parse("dashboard", ("basic",)).name == "dashboard"
    assert parse("dashboard revoke", ("basic",)).args == ("revoke",)
    with pytest.raises(CommandError, match="dashboard revoke"):
        parse("dashboard everything", ("basic",))
    with pytest.raises(CommandError, match="dashboard"):
        parse("nonsense", ("basic",))  # the usage lists it


def test_public_url_setting_and_its_default():
    assert public_base(Settings()) is None  # no HTTP server: no links
    assert public_base(Settings(http_port=8080)) == "http://localhost:8080"
    assert public_base(Settings(http_port=8080, public_url="https://q.example.com/bot")) == "https://q.example.com/bot"
    slack_http = Settings(slack_bot_token="xoxb-1", slack_signing_secret="s", port=3001, http_port=9000)
    assert public_base(slack_http) == "http://localhost:3001"  # Slack's server serves the pages then
    settings = load_settings({"STUDYBOT_PUBLIC_URL": "https://quiz.example.com/", "STUDYBOT_HTTP_PORT": "8080"}, None)
    assert settings.public_url == "https://quiz.example.com"
    assert load_settings({"STUDYBOT_PUBLIC_URL": ""}, None).public_url is None
    for bad in ("quiz.example.com", "ftp://x", "https://x/?a=1", "https://"):
        with pytest.raises(ConfigError, match="STUDYBOT_PUBLIC_URL"):
            load_settings({"STUDYBOT_PUBLIC_URL": bad}, None)


def test_discord_registers_the_dashboard_subcommand():
    from adapters.discord.commands import build_quiz, command_text

    async def run(interaction, text):
        pass

    quiz = build_quiz(("basic", "advanced"), run)
    dashboard = quiz.get_command("dashboard")
    assert dashboard is not None and [p.name for p in dashboard.parameters] == ["revoke"]
    assert command_text("dashboard", {"revoke": False}) == "dashboard"
    assert command_text("dashboard", {"revoke": True}) == "dashboard revoke"
