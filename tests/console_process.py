"""Drive `python -m bot run` in console mode as a real process, line by line."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))}
    env.update(STUDYBOT_DB=str(tmp_path / "studybot.db"), STUDYBOT_DAILY_AT="", STUDYBOT_WEEKLY_AT="",
               STUDYBOT_REVEAL_AFTER="8h", PYTHONUNBUFFERED="1", USER="tester")
    env.update(extra)
    return env


class ConsoleProcess:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def __enter__(self) -> ConsoleProcess:
        return self

    def __exit__(self, *_exc) -> None:
        if self.proc.poll() is None:  # a failed test must not leave the bot running
            self.kill()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = 20) -> str:
        """Wait for a line matching `pattern`; returns it. Lines read on the way are kept in `seen`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if regex.search(line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; got:\n" + "\n".join(self.seen[-40:])
                             + "\nstderr:\n" + self._stderr())

    def drain(self, seconds: float = 0.5) -> list[str]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=0.05))
        return self.seen

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self, timeout: float = 15) -> int:
        """Close stdin (end of input) and wait for a clean exit."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout)
        self.drain(0.2)
        return code

    def _stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(still running)"
        return self.proc.stderr.read()[-3000:]
