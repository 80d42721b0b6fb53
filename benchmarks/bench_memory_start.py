"""Resident memory with both adapters connected, and the time from start to ready.

`studybot run` runs as a real process with Discord and Slack (HTTP mode) both configured, against the
stand-ins of tests/discord and tests/slack served by this script on 127.0.0.1.
Targets: resident memory < 120 MB once both are connected; start to ready < 2 s (from spawning the
process to its "studybot ready" log line, the mean of 5 starts).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import time
from pathlib import Path

from common import REPO, machine, scratch, verdict

sys.path.insert(0, str(REPO / "tests" / "discord"))
sys.path.insert(0, str(REPO / "tests" / "slack"))
from discord_standin import DiscordStandIn
from slack_fake import BOT_TOKEN, FakeSlack

STARTS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_start(discord: DiscordStandIn, slack: FakeSlack, directory: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))}
    env.update(DISCORD_TOKEN=discord.token, DISCORD_API_URL=discord.api_url, DISCORD_GATEWAY_URL=discord.gateway_url,
               SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET="bench-secret", SLACK_API_URL=slack.api_url,
               PORT=str(free_port()), STUDYBOT_DB=str(directory / "bench.db"), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=directory, env=env,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    ready = None
    while ready is None:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        if not line:
            raise RuntimeError("studybot exited before it was ready")
        if b"studybot ready" in line:
            ready = time.monotonic() - started
    await asyncio.sleep(2.0)  # settled: connected, commands synced, scheduler running
    memory = rss_mb(proc.pid)
    proc.terminate()
    await asyncio.wait_for(proc.wait(), 15)
    return ready, memory


async def run() -> None:
    discord = await DiscordStandIn().start()
    discord.add_guild("1100000000000000001")
    discord.add_channel("1100000000000000001", "llm-prep", "1110000000000000001")
    slack = await FakeSlack().start()
    directory = scratch("studybot-mem-")
    results = [await one_start(discord, slack, directory) for _ in range(STARTS)]
    await discord.close()
    await slack.stop()
    ready = statistics.mean(r for r, _ in results)
    memory = max(m for _, m in results)
    print(f"machine: {machine()}")
    print(f"start to ready (both adapters): mean {ready:.2f} s over {STARTS} starts "
          f"(min {min(r for r, _ in results):.2f}, max {max(r for r, _ in results):.2f})")
    print(f"resident memory with both connected: {memory:.1f} MB (max of {STARTS})")
    print(f"memory < 120 MB: {verdict(memory < 120)}; ready < 2 s: {verdict(ready < 2.0)}")


if __name__ == "__main__":
    asyncio.run(run())
