"""Socket Mode (SLACK_APP_TOKEN set): the same bolt app over a websocket of our own on 127.0.0.1."""

from __future__ import annotations

import asyncio

import slack_payloads as payloads
from slack_fake import APP_TOKEN
from slack_rig import CHANNEL, bank, start_bot

from adapters.slack.ids import CHOICE_REACTIONS


async def _until(found, timeout: float = 5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := found()):
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)
    return result


async def test_socket_mode_acks_envelopes_and_runs_the_same_listeners(tmp_path, fake):
    bot = await start_bot(tmp_path, fake, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    try:
        assert bot.adapter.web_app is None  # no HTTP server: nothing to add /healthz to
        assert bot.adapter.healthy()
        assert fake.attempts("apps.connections.open")[0].error is None  # opened with the xapp- token

        command = {"envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf", "type": "slash_commands",
                   "accepts_response_payload": True,
                   "payload": payloads.slash("advanced", "U0ADA", CHANNEL, fake.response_url("sock"))}
        assert fake.socket_envelopes is not None
        await fake.socket_envelopes.put(command)
        [ack] = await _until(lambda: [a for a in fake.socket_acks if a["envelope_id"] == command["envelope_id"]])
        assert set(ack) <= {"envelope_id", "payload"} and not ack.get("payload")
        await bot.settle()
        [asked] = await _until(lambda: fake.responses_to("sock"))
        assert asked["response_type"] == "ephemeral" and "advanced" in asked["blocks"][0]["text"]["text"]

        # An Events API envelope, then Slack's retry of it: processed once.
        rnd = await bot.deliver_daily()
        ts = rnd.message_id.split(":", 1)[1]
        correct = CHOICE_REACTIONS[bank().get(rnd.question_id).correct - 1]
        event = payloads.reaction_added("U0BRIAN", correct, CHANNEL, ts)
        for attempt, envelope_id in enumerate(("e-1", "e-2")):
            await fake.socket_envelopes.put({"envelope_id": envelope_id, "type": "events_api", "payload": event,
                                             "accepts_response_payload": False, "retry_attempt": attempt,
                                             "retry_reason": "timeout" if attempt else ""})
            await _until(lambda envelope_id=envelope_id: [a for a in fake.socket_acks
                                                          if a["envelope_id"] == envelope_id])
            await bot.settle()
        assert bot.answers(rnd.id)["U0BRIAN"].choice == CHOICE_REACTIONS.index(correct) + 1
        assert len(fake.to("chat.postEphemeral")) == 1
    finally:
        await bot.close()
    assert not bot.adapter.healthy()
