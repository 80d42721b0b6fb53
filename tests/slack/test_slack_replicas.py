"""Three `studybot run` processes on one database behind Slack's HTTP mode, two of them killed on the way.

The replicas are real processes (`python -m bot run`), each with its own PORT, all on one database (a SQLite
file in WAL mode, or a PostgreSQL database of the server the test session starts) and one Slack stand-in.
One is SIGKILLed just before the daily time, the one that posted the round is SIGKILLed between the post and
the reveal; members answer through whichever replica is up, and Slack retries an event to another replica.
Then the posts, reveals and stored answers are counted: one post, one reveal, and every answer the bot
confirmed stored once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import slack_payloads as payloads
from slack_fake import BOT_TOKEN, SIGNING_SECRET
from slack_rig import CHANNEL, REPO, sign

from bot.scheduler import POLL_SECONDS

REVEAL_SECONDS = 5  # long enough to answer through both replicas and kill the poster before the deadline
START_WAIT = 60.0  # seconds for a replica to answer /healthz
MEMBERS = [f"U0M{n:03d}" for n in range(12)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = int(env["PORT"])
        self.log = log
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=log.parent,
                                        stdout=subprocess.DEVNULL, stderr=log.open("wb"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def said(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")


def replica_env(db: Path | str, api_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "STUDYBOT_"))}
    env.update(
        PYTHONPATH=str(REPO), PORT=str(port), STUDYBOT_DB=str(db), SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api_url, STUDYBOT_SLACK_CHANNEL=CHANNEL,
        STUDYBOT_DAILY_AT="off", STUDYBOT_DAILY_DAYS="*", STUDYBOT_TIMEZONE="UTC",
        STUDYBOT_REVEAL_AFTER=f"{REVEAL_SECONDS}s", STUDYBOT_WEEKLY_AT="off",
    )
    return env


async def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def query(db: Path | str, sql: str, params=()) -> list[tuple]:
    """Rows as tuples, from either database (through the bot's own connection layer)."""
    from bot.db import connect

    conn = connect(db)
    try:
        return [tuple(row.values()) for row in conn.rows(sql, params)]
    finally:
        conn.close()


async def healthy(session: aiohttp.ClientSession, replica: Replica) -> bool:
    try:
        async with session.get(replica.url + "/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def send_form(session: aiohttp.ClientSession, replica: Replica, body: str) -> int | None:
    """A slash command as Slack sends it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with session.post(replica.url + "/slack/events", data=body.encode(), headers=headers) as response:
        return response.status


async def send_event(session: aiohttp.ClientSession, replica: Replica, body: dict) -> int | None:
    """An Events API request as Slack sends it; None when the replica is gone (Slack would retry elsewhere)."""
    text = json.dumps(body)
    headers = {"Content-Type": "application/json", **sign(text)}
    try:
        async with session.post(replica.url + "/slack/events", data=text.encode(), headers=headers) as response:
            return response.status
    except aiohttp.ClientError:
        return None


@pytest.mark.timeout(240)
@pytest.mark.long_wait
@pytest.mark.backends("sqlite", "postgresql")
async def test_three_replicas_two_killed_give_one_post_one_reveal_and_every_confirmed_answer(tmp_path, fake, database):
    db = database
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    replicas = [Replica(f"r{n}", replica_env(db, fake.api_url, free_port()), tmp_path / f"r{n}.log")
                for n in range(3)]
    try:
        await asyncio.wait_for(_all_healthy(session, replicas), START_WAIT)
        # An admin sets the daily time through one replica, a few seconds ahead (seconds allowed): the others
        # learn it from the database at their next poll.
        daily = (datetime.now(UTC) + timedelta(seconds=POLL_SECONDS + 3)).replace(microsecond=0)
        command = payloads.slash(f"setup time={daily:%H:%M:%S} days=* reveal={REVEAL_SECONDS}s", "U0DANA", CHANNEL,
                                 fake.response_url("setup"))
        assert await send_form(session, replicas[1], payloads.form(command)) == 200
        await wait_for(lambda: any("Saved" in r.get("text", "") for r in fake.responses_to("setup")), 5, "setup")

        # One replica dies just before the daily time.
        await asyncio.sleep((daily - timedelta(seconds=1) - datetime.now(UTC)).total_seconds())
        replicas[0].kill()
        alive = replicas[1:]

        # The daily round: posted once, by one of the others.
        [(round_id, message_id)] = await wait_for(
            lambda: query(db, "SELECT id, message_id FROM rounds WHERE kind = 'daily' AND message_id IS NOT NULL"),
            20, "the daily round's post")
        poster = await wait_for(lambda: next((r for r in alive if r.said(f"daily round {round_id} opened")), None),
                                5, "the replica that opened the round")
        other = next(r for r in alive if r is not poster)
        ts = message_id.split(":", 1)[1]

        # Members answer through either replica; Slack retries one event to the other replica.
        sent: list[int | None] = []
        for n, user in enumerate(MEMBERS):
            body = payloads.reaction_added(user, ("one", "two", "three")[n % 3], CHANNEL, ts)
            sent.append(await send_event(session, alive[n % 2], body))
            if n == 0:
                sent.append(await send_event(session, alive[1], body))  # the same event_id again, elsewhere
        reply = payloads.thread_reply(MEMBERS[0], "Attention lets every token weigh every other token.", CHANNEL, ts)
        sent.append(await send_event(session, poster, reply))
        sent.append(await send_event(session, other, reply))
        assert all(status == 200 for status in sent)
        confirmed = await wait_for(lambda: _confirmed(fake) if len(_confirmed(fake)) >= len(MEMBERS) else None,
                                   10, "the answers' confirmations")
        await wait_for(lambda: _written_confirmed(fake), 10, "the written answer's confirmation")

        # The replica that posted the round (and holds its reveal job) dies before the reveal.
        poster.kill()
        [(deadline,)] = query(db, "SELECT deadline FROM rounds WHERE id = ?", (round_id,))
        assert datetime.fromisoformat(deadline) > datetime.now(UTC), "killed after the deadline"

        # The last replica reveals it, once.
        await wait_for(lambda: _reveals(fake, ts), REVEAL_SECONDS + 20, "the reveal")
        await wait_for(lambda: fake.to("chat.update"), 5, "the post marked closed")
        await asyncio.sleep(2)  # time for a duplicate to show, if there were one
        assert await healthy(session, other)
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in replicas:
            try:
                replica.process.wait(15)
            except subprocess.TimeoutExpired:
                replica.kill()
        await session.close()

    posts = [c for c in fake.to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(posts) == 1
    assert len(_reveals(fake, ts)) == 1
    assert len(fake.to("chat.update")) == 1
    assert query(db, "SELECT COUNT(*) AS n FROM rounds WHERE kind = 'daily'") == [(1,)]
    [(revealed_at,)] = query(db, "SELECT revealed_at FROM rounds WHERE id = ?", (round_id,))
    assert revealed_at is not None
    stored = query(db, "SELECT user_id, choice, text, points FROM answers WHERE round_id = ?", (round_id,))
    assert sorted(user for user, *_ in stored) == sorted(confirmed) == sorted(MEMBERS)  # each confirmed one, once
    by_user = {user: (choice, text is not None) for user, choice, text, _ in stored}
    assert by_user[MEMBERS[0]] == (1, True)  # the reaction and the thread reply, both kept, each once
    assert len(_written_confirmed(fake)) == 1  # the retried thread reply was taken once
    assert all(points is not None for *_, points in stored)  # scored by the reveal


async def _all_healthy(session: aiohttp.ClientSession, replicas: list[Replica]) -> None:
    for replica in replicas:
        while not await healthy(session, replica):
            if replica.process.poll() is not None:
                raise AssertionError(f"{replica.name} ended: {replica.log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)


def _confirmed(fake) -> list[str]:
    """Members told their pick is locked in (what a member sees as the bot having their answer)."""
    return [c.args["user"] for c in fake.to("chat.postEphemeral") if "locked in" in c.args.get("text", "")
            and "first answer" not in c.args.get("text", "")]


def _reveals(fake, ts: str) -> list:
    return [c for c in fake.to("chat.postMessage") if c.args.get("thread_ts") == ts]


def _written_confirmed(fake) -> list:
    return [c for c in fake.to("chat.postEphemeral") if "Saved your written answer" in c.args.get("text", "")]
