"""`studybot ARGS` run inside the test's own process: `bot.cli.main` with the environment, the working directory
and the standard streams swapped in for the call, and the result shaped like `subprocess.run`'s.

A process costs about 0.2 s of CPU to start (the interpreter, the imports, the bank), and the command-line
tests make dozens of calls; in the test's process a call costs the command's own work. The real entry points
keep their process tests: `python -m bot run`, `backup` and `export` in the console, operations and deploy
tests, and the installed `studybot` script in tests/test_packaging.py."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from unittest import mock

from bot import cli
from tests.console_process import console_env


def studybot_in_process(cwd: Path, args: Sequence[str], env: Mapping[str, str],
                        stdin: str = "") -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    with (mock.patch.dict(os.environ, env, clear=True), mock.patch.object(sys, "stdin", io.StringIO(stdin)),
          contextlib.redirect_stdout(out), contextlib.redirect_stderr(err)):
        os.chdir(cwd)
        try:
            code = cli.main(list(args))
        except SystemExit as leaving:  # argparse's --help, --version and usage errors
            code = leaving.code if isinstance(leaving.code, int) else int(leaving.code is not None)
        finally:
            os.chdir(before)
    return subprocess.CompletedProcess(["studybot", *args], code, out.getvalue(), err.getvalue())


def studybot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """`studybot ARGS` in tmp_path with the console tests' environment (its database there), plus `env`."""
    return studybot_in_process(tmp_path, args, console_env(tmp_path, **env), stdin)
