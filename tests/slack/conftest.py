"""Fixtures for the Slack adapter's tests; the rig itself is in slack_rig.py."""

from __future__ import annotations

import pytest
from slack_fake import FakeSlack
from slack_rig import start_bot


@pytest.fixture
async def fake():
    stand_in = await FakeSlack().start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def bot(tmp_path, fake):
    running = await start_bot(tmp_path, fake)
    yield running
    await running.close()
