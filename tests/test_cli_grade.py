"""`studybot grade`: one answer as text or JSON, many answers as JSON lines, and clear errors (in the test process);
and when the grader's embedding model is loaded."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading

import pytest

from bot import grading
from bot.config import Settings
from bot.grading import grade_question, points_for
from bot.questions import load_bank
from bot.runtime import build_runtime
from bot.store import Store
from tests.cli_runner import studybot
from tests.conftest import DATA
from tests.console_process import console_env

BANK = DATA / "mini_bank.yaml"
GOOD = "Humans rank outputs and a reward model learns their preferences; the policy is then optimised against it"


def grade(tmp_path, *args, stdin: str = ""):
    return studybot(tmp_path, "grade", *args, stdin=stdin, STUDYBOT_QUESTIONS=str(BANK))


def expected(question_id: str, text: str) -> dict:
    question = load_bank(BANK).get(question_id)
    result = grade_question(text, question)
    return {"question": question_id, "verdict": result.verdict, "score": result.score, "points": points_for(result),
            "covered": [p for p, ok in zip(question.key_points, result.found, strict=False) if ok],
            "missed": [p for p, ok in zip(question.key_points, result.found, strict=False) if not ok],
            "grader": "built-in"}


def test_json_output_is_one_object_with_the_documented_fields(tmp_path):
    result = grade(tmp_path, "a1", GOOD, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"question", "verdict", "score", "points", "covered", "missed", "grader"}
    assert out == expected("a1", GOOD)
    assert out["verdict"] in ("good", "partial", "wrong") and out["grader"] == "built-in"
    key_points = load_bank(BANK).get("a1").key_points
    assert sorted(out["covered"] + out["missed"]) == sorted(key_points)
    piped = grade(tmp_path, "a1", "--json", stdin="nothing relevant at all")
    assert json.loads(piped.stdout) == {**expected("a1", "nothing relevant at all")} and piped.returncode == 0
    assert json.loads(piped.stdout)["points"] == 0  # a wrong verdict earns no points
    before = grade(tmp_path, "a1", "--json", GOOD)  # the option before the text reads the same
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == expected("a1", GOOD)
    extra = grade(tmp_path, "a1", "--json", GOOD, "more")
    assert extra.returncode == 2 and "unrecognized arguments:" in extra.stderr
    assert extra.stderr.rstrip().endswith("more")


def test_batch_grades_every_line_in_order_from_a_file_or_stdin(tmp_path):
    lines = [{"question": "a1", "text": GOOD}, {"question": "a2", "text": "It retrieves documents into the prompt"},
             {"question": "a3", "text": "no idea"}]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    for args, stdin in (((str(path),), ""), (("-",), path.read_text())):
        result = grade(tmp_path, "--batch", *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        outs = [json.loads(line) for line in result.stdout.splitlines()]
        assert outs == [expected(x["question"], x["text"]) for x in lines]


def test_batch_reports_bad_lines_by_number_keeps_going_and_exits_2(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join([
        json.dumps({"question": "a1", "text": GOOD}),
        "{not json",
        json.dumps({"text": "no question here"}),
        json.dumps({"question": "a2", "text": "   "}),
        json.dumps({"question": "zz9", "text": "some answer"}),
        json.dumps(["a1", "a list"]),
        "",
        json.dumps({"question": "a2", "text": "It retrieves documents into the prompt"}),
    ]) + "\n")
    result = grade(tmp_path, "--batch", str(path))
    assert result.returncode == 2
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outs) == 7  # one object per non-blank line, in order
    assert outs[0] == expected("a1", GOOD) and outs[6] == expected("a2", "It retrieves documents into the prompt")
    errors = outs[1:6]
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6] and all(e["error"] for e in errors)
    assert "bad JSON" in errors[0]["error"] and '"question"' in errors[1]["error"]
    assert '"text"' in errors[2]["error"] and "no question with id 'zz9'" in errors[3]["error"]
    assert "JSON object" in errors[4]["error"]
    for number in (2, 3, 4, 5, 6):
        assert f"line {number}:" in result.stderr


def test_bad_input_is_named_and_exits_2(tmp_path):
    unknown = grade(tmp_path, "a9", "text", "--json")
    assert unknown.returncode == 2 and "no question with id 'a9'" in unknown.stderr and not unknown.stdout
    empty = grade(tmp_path, "a1", "   ")
    assert empty.returncode == 2 and "no answer to grade" in empty.stderr
    missing = grade(tmp_path, "--batch", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    both = grade(tmp_path, "a1", "--batch", "-")
    assert both.returncode == 2 and "takes no QUESTION_ID" in both.stderr
    nothing = grade(tmp_path)
    assert nothing.returncode == 2 and "QUESTION_ID" in nothing.stderr


def test_version_and_importing_the_bot_do_not_load_the_embedding_model(tmp_path):
    probe = ("import sys\nimport bot.engine, bot.texts, bot.grading, bot.cli\n"
             "try:\n    bot.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
             "print('loaded' if bot.grading._model is not None or 'tokenizers' in sys.modules else 'lazy')")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=console_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "lazy"


@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("2", "2")])
def test_the_grader_runs_numpy_on_one_thread_unless_told_otherwise(tmp_path, preset, expected):
    """OpenBLAS would spin a thread per core for the grader's tiny products (a quarter of its CPU on 2 cores)."""
    probe = ("import os, bot, numpy, bot.grading\n"
             "bot.grading.grade('low-rank matrices, frozen weights', ('low-rank matrices', 'frozen weights'))\n"
             "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))")
    env = {k: v for k, v in console_env(tmp_path).items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    setting, threads = result.stdout.split()
    assert setting == expected
    if preset is None:
        assert threads == "1"  # the process's only thread: no BLAS threads were started


class StopsAtOnce:
    """A platform adapter that, once started, asks the runtime to stop."""

    def __init__(self) -> None:
        self.stop_event = None

    async def start(self, hub) -> None:
        self.stop_event.set()

    async def stop(self) -> None:
        pass

    def healthy(self) -> bool:
        return True


@pytest.mark.parametrize(("platform", "warms"), [("discord", True), ("slack", True), ("console", False)])
async def test_the_model_loads_at_start_only_with_a_platform_connected(tmp_path, platform, warms):
    settings = Settings(db_path=tmp_path / "studybot.db", daily_at=None, weekly_at=None)
    adapter = StopsAtOnce()
    runtime = build_runtime(settings, load_bank(BANK), Store.open(settings.db_path), adapters={platform: adapter})
    adapter.stop_event = runtime.stop_event
    assert await runtime.run() == 0
    assert (runtime.warming is not None) == warms
    if runtime.warming is not None:
        await runtime.warming  # in a worker thread: the first reveal finds the model loaded
        assert grading._model is not None


def test_text_output_names_the_right_choice_only_for_a_multiple_choice_question(tmp_path):
    bank = str(DATA / "open_bank.yaml")
    text = "The KV cache keeps the keys and values of earlier tokens so the prefix is not recomputed at each step"
    opened = studybot(tmp_path, "grade", "ob-why-kv-cache", text, STUDYBOT_QUESTIONS=bank)
    assert opened.returncode == 0, opened.stderr
    first = opened.stdout.splitlines()[0]
    assert first.startswith("score: ") and "key points" in first and "choice" not in first
    choice = studybot(tmp_path, "grade", "ob-context-window", "how many tokens it reads at once",
                      STUDYBOT_QUESTIONS=bank)
    assert choice.returncode == 0 and "right choice stated" in choice.stdout.splitlines()[0]


# ---- with the model judge set, `grade` grades as the bot does: by the judge --------------------------------------

@contextlib.contextmanager
def judge_stand_in(reply: dict):
    """A chat-completions endpoint on 127.0.0.1, in a thread (the command runs its own event loop); yields its URL
    and the answers it was asked about."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(body["messages"][-1]["content"])
            data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                     "content": json.dumps(reply)}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", asked
    finally:
        server.shutdown()
        server.server_close()


JUDGED = {"covered": [2], "missed": [1, 3], "misconceptions": [], "verdict": "partial",
          "feedback": "Say who ranks the answers."}


def test_with_a_judge_set_grade_asks_it_in_text_json_and_batch(tmp_path):
    key_points = load_bank(BANK).get("a1").key_points
    with judge_stand_in(JUDGED) as (url, asked):
        env = {"STUDYBOT_JUDGE_URL": url, "STUDYBOT_JUDGE_MODEL": "m"}
        as_json = studybot(tmp_path, "grade", "a1", GOOD, "--json", STUDYBOT_QUESTIONS=str(BANK), **env)
        assert as_json.returncode == 0, as_json.stderr
        out = json.loads(as_json.stdout)
        assert out["grader"] == "judge" and out["verdict"] == "partial" and out["covered"] == [key_points[1]]
        assert out["missed"] == [key_points[0], key_points[2]] and out["points"] == round(10 * out["score"])
        text = studybot(tmp_path, "grade", "a1", GOOD, STUDYBOT_QUESTIONS=str(BANK), **env)
        assert "(partial; 1/3 key points)" in text.stdout and "Judge: Say who ranks the answers." in text.stdout
        lines = [json.dumps({"question": "a1", "text": GOOD}), "{bad", json.dumps({"question": "a3", "text": "x y"})]
        batch = studybot(tmp_path, "grade", "--batch", "-", stdin="\n".join(lines), STUDYBOT_QUESTIONS=str(BANK),
                         **env)
        assert batch.returncode == 2  # the bad line; the others are graded all the same, in order
        outs = [json.loads(line) for line in batch.stdout.splitlines()]
        assert [o.get("grader") for o in outs] == ["judge", None, "judge"] and outs[1]["line"] == 2
        # the batch's two answers were asked at once, so in either order
        assert len(asked) == 4 and sum(GOOD in a for a in asked) == 3 and sum('"x y"' in a for a in asked) == 1


def test_with_the_judge_down_grade_falls_back_and_says_so(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # nothing listens once closed
    env = {"STUDYBOT_JUDGE_URL": url, "STUDYBOT_JUDGE_MODEL": "m"}
    text = studybot(tmp_path, "grade", "a1", GOOD, STUDYBOT_QUESTIONS=str(BANK), **env)  # retried ~2 s, then not
    builtin = expected("a1", GOOD)
    assert text.returncode == 0 and f"({builtin['verdict']}; {len(builtin['covered'])}/3 key points;" in text.stdout
    assert "\n  graded by the built-in grader: the judge did not answer\n" in text.stdout
