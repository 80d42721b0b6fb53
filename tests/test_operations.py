"""Running the bot for real: health and metrics, SIGTERM, backups while it runs, and logs without secrets."""

from __future__ import annotations

import json
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.logs import JsonFormatter, Redactor
from tests.console_process import ConsoleProcess, console_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_and_metrics_in_console_mode(tmp_path):
    port = free_port()
    env = console_env(tmp_path, STUDYBOT_HTTP_PORT=str(port), STUDYBOT_REVEAL_AFTER="2s")
    with ConsoleProcess(env, tmp_path) as bot:
        bot.expect("studybot console")
        deadline = time.monotonic() + 10
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "health server never came up"
                time.sleep(0.1)
        assert status == 200
        assert json.loads(body) == {"ok": True, "checks": {"console": True, "scheduler": True}}
        bot.send("/quiz post")
        bot.expect("Answer with a number")
        bot.send("1")
        bot.expect("locked in")
        bot.send("/wait 2.5")
        bot.expect("─── Answer")
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        samples = (line.rsplit(" ", 1) for line in metrics.splitlines() if not line.startswith("#"))
        lines = {name: float(value) for name, value in samples}  # Prometheus values are floats: "1.0" or "1"
        assert lines["studybot_rounds_posted_total"] == 1
        assert lines["studybot_answers_recorded_total"] == 1
        assert lines["studybot_reveals_total"] == 1
        assert lines["studybot_handler_seconds_count"] >= 2
        assert lines["studybot_reveal_lag_seconds_count"] == 1
        assert "# TYPE studybot_handler_seconds histogram" in metrics
        assert bot.close() == 0


def test_sigterm_stops_cleanly_within_ten_seconds(tmp_path):
    bot = ConsoleProcess(console_env(tmp_path), tmp_path)
    bot.expect("studybot console")
    bot.send("/quiz post")
    bot.expect("Answer with a number")
    bot.send("2")
    bot.expect("locked in")
    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    code = bot.proc.wait(10)
    assert code == 0 and time.monotonic() - started < 10
    with sqlite3.connect(tmp_path / "studybot.db") as conn:
        assert conn.execute("SELECT choice FROM answers").fetchall() == [(2,)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not (tmp_path / "studybot.db-wal").exists() or (tmp_path / "studybot.db-wal").stat().st_size == 0


def test_backup_while_the_bot_writes(tmp_path):
    bot = ConsoleProcess(console_env(tmp_path), tmp_path)
    try:
        bot.expect("studybot console")
        bot.send("/quiz post")
        bot.expect("Answer with a number")
        for i in range(150):
            bot.send(f"/as member{i}")
            bot.send(str(i % 4 + 1))
        backups = []
        for n in range(3):  # copies taken while the answers are still streaming in
            result = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / f"copy{n}.db")],
                                    cwd=tmp_path, env=console_env(tmp_path), capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            backups.append(tmp_path / f"copy{n}.db")
        bot.expect("member149", timeout=30)
        bot.drain(0.5)
    finally:
        bot.close() if bot.proc.poll() is None else None
    counts = []
    for path in backups:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts.append(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    assert counts == sorted(counts) and counts[-1] <= 150


def test_logs_never_show_secrets_and_json_is_one_object_per_line():
    secret = "xoxb-1234567890-abcdefghij"
    record = logging.LogRecord("studybot", logging.ERROR, __file__, 1, "auth failed for %s", (secret,), None)
    Redactor([secret]).filter(record)
    assert secret not in record.getMessage() and "[redacted]" in record.getMessage()
    pasted = logging.LogRecord(
        "x", logging.INFO, __file__, 1,
        "token xapp-1-A0B1C2D3E4-5678 and MTA1OTk5.Gx1yZ2.abcdefghijklmnopqrstuvwxyz1234567", (), None)
    Redactor([]).filter(pasted)
    assert "xapp-1" not in pasted.getMessage()
    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    Redactor([secret]).filter(failing)
    line = JsonFormatter().format(failing)
    parsed = json.loads(line)
    assert "\n" not in line and parsed["level"] == "error" and secret not in line and "boom" in parsed["message"]


def test_bad_token_is_not_echoed_by_a_failed_start(tmp_path):
    token = "MTA1OTk5OTk5OTk5OTk5OTk5.Gx1yZ2.not-a-real-token-abcdefghijklmnop"
    port = free_port()
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, env=console_env(tmp_path, DISCORD_TOKEN=token,
                                                        DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10",
                                                        DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/"))
    assert result.returncode == 2 and "DISCORD_API_URL: cannot reach Discord" in result.stderr
    assert token not in result.stderr and token not in result.stdout
    assert not (tmp_path / "studybot.db").exists()


class Refuses(BaseHTTPRequestHandler):
    """Discord's answer to a revoked token: 401 on every call."""

    def do_GET(self) -> None:
        body = b'{"message": "401: Unauthorized", "code": 0}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_refused_token_stops_the_start_with_status_2_before_the_database(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token = "MTA1OTk5OTk5OTk5OTk5OTk5.Gx1yZ2.revoked-token-abcdefghijklmnopqr"
        api = f"http://127.0.0.1:{server.server_address[1]}/api/v10"
        result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60, env=console_env(tmp_path, DISCORD_TOKEN=token, DISCORD_API_URL=api))
    finally:
        server.shutdown()
    assert result.returncode == 2
    assert "DISCORD_TOKEN: Discord refused this token" in result.stderr and token not in result.stderr
    assert not (tmp_path / "studybot.db").exists()
