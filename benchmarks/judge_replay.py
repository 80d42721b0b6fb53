"""Serve recorded judge replies as an OpenAI-compatible chat-completions endpoint on 127.0.0.1.

    python benchmarks/judge_replay.py --replies FILE [--port 8799]
    STUDYBOT_JUDGE_URL=http://127.0.0.1:8799/v1 STUDYBOT_JUDGE_MODEL=replay \\
        python benchmarks/grading_agreement.py --only held-out-2

It measures replies that were written once (a hosted model's, or a language model's given exactly the judge's
messages) through the bot's whole judge path again: the request, the schema check, the bands and the figures,
with no model running. FILE holds JSON lines {"question": <question text>, "answer": <member's answer>,
"content": <the reply's text>}. A request is matched by the question and the member's answer it carries; a
request with no recorded reply gets HTTP 404, which the judge counts as a failure (the built-in grader stands in).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aiohttp import web

QUESTION, ANSWER = "Question:\n", "Member's answer (a JSON string):\n"


def key_of(user_message: str) -> tuple[str, str] | None:
    """(question text, member's answer) read back from the judge's user message, or None."""
    if not user_message.startswith(QUESTION) or ANSWER not in user_message:
        return None
    question = user_message[len(QUESTION):].split("\n\n", 1)[0]
    quoted = user_message.split(ANSWER, 1)[1].split("\n", 1)[0]
    try:
        answer = json.loads(quoted)
    except ValueError:
        return None
    return (question, answer) if isinstance(answer, str) else None


def load_replies(path: Path) -> dict[tuple[str, str], str]:
    replies = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not all(isinstance(row.get(k), str) for k in ("question", "answer", "content")):
                raise SystemExit(f"{path}:{n}: needs the strings question, answer and content")
            replies[(row["question"], row["answer"])] = row["content"]
    return replies


def app(replies: dict[tuple[str, str], str]) -> web.Application:
    async def complete(request: web.Request) -> web.Response:
        body = await request.json()
        user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        key = key_of(user)
        if key is None or key not in replies:
            return web.json_response({"error": {"message": "no recorded reply for this answer"}}, status=404)
        return web.json_response({"object": "chat.completion", "model": body.get("model", ""), "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": replies[key]}}]})

    application = web.Application()
    application.router.add_post("/v1/chat/completions", complete)
    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=Path, required=True, help="JSON lines: question, answer, content")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args(argv)
    replies = load_replies(args.replies)
    print(f"{len(replies)} recorded replies on http://127.0.0.1:{args.port}/v1", file=sys.stderr)
    web.run_app(app(replies), host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
