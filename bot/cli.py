"""The `studybot` command line: run, check, grade, leaderboard, backup, export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.models import Bank
from bot.questions import BankError, check_bank, load_bank

if TYPE_CHECKING:  # the commands import the store themselves, when they need it
    from bot.models import Question
    from bot.store import Store

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # "grade ID --json TEXT": argparse fills both optional positionals (ID, then none for TEXT) before it reaches
    # the option, and hands TEXT back as left over
    if (extra and getattr(args, "command", None) == "grade" and args.text is None and len(extra) == 1
            and not extra[0].startswith("-")):
        args.text, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        command: Callable[[argparse.Namespace], int] = args.func
        return command(args)
    except ConfigError as error:
        return _fail(f"configuration error: {error}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studybot", description="A study bot that prepares teams for LLM interviews.")
    parser.add_argument("--version", action="version", version=f"studybot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="start the bot (console mode when no platform token is set)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a question bank")
    check.add_argument("file", nargs="?", type=Path, help="the bank (default: STUDYBOT_QUESTIONS or the shipped one)")
    check.add_argument("--strict", action="store_true", help="also lint quality: duplicates, balance, lengths")
    check.add_argument("--seeds", type=Path, metavar="FILE", action="append",
                       help="with --strict: a topic list (repeatable) whose ids `covers` must use and cover")
    check.add_argument("--allow", type=Path, metavar="FILE",
                       help="with --strict: allow-list of deliberate same-idea pairs "
                            "(default: the shipped bot/lint_allow.yaml)")
    check.set_defaults(func=cmd_check)

    grade = sub.add_parser("grade", help="grade a written answer as the bot would")
    grade.add_argument("question_id", nargs="?", help="the question's id (not with --batch)")
    grade.add_argument("text", nargs="?", help="the answer (default: read from standard input)")
    grade.add_argument("--json", action="store_true", help="print one JSON object")
    grade.add_argument("--batch", metavar="FILE", help='grade JSON lines {"question": ID, "text": ...} from FILE '
                       "(or - for standard input), one JSON object out per line, in order")
    grade.set_defaults(func=cmd_grade)

    board = sub.add_parser("leaderboard", help="print the ranking from the database")
    scope = board.add_mutually_exclusive_group()
    scope.add_argument("--week", dest="scope", action="store_const", const="week", help="this week (default)")
    scope.add_argument("--all", dest="scope", action="store_const", const="all", help="all time")
    board.set_defaults(func=cmd_leaderboard, scope="week")

    backup = sub.add_parser("backup", help="a consistent copy of the database, safe while the bot runs")
    backup.add_argument("path", type=Path)
    backup.set_defaults(func=cmd_backup)

    export = sub.add_parser("export", help="answers and scores as CSV, or an Anki deck of the questions")
    export_as = export.add_mutually_exclusive_group(required=True)
    export_as.add_argument("--csv", dest="directory", type=Path, metavar="DIR",
                           help="answers, rounds, weekly scores and members as CSV files in DIR")
    export_as.add_argument("--anki", type=Path, metavar="FILE", help="an Anki deck (.apkg) of the whole bank")
    export_as.add_argument("--yaml", type=Path, metavar="FILE", help="the approved suggested questions (/quiz suggest) "
                           "in questions.yaml's format, for merging into it")
    export.add_argument("--member", metavar="ID", help="with --anki: only the questions this member (platform "
                        "user id) answered wrongly")
    export.set_defaults(func=cmd_export)

    items = sub.add_parser("items", help="item analysis of the multiple-choice answers: flags questions to fix")
    items.add_argument("--csv", type=Path, metavar="FILE", help="also write the rows to FILE as CSV")
    items.set_defaults(func=cmd_items)

    forget = sub.add_parser("forget", help="delete one member's personal data (what /quiz forget-me does)")
    forget.add_argument("member_id", metavar="MEMBER_ID", help="the member's platform user id (Discord: their "
                        "numeric id; Slack: U...; console: console:NAME), or PLATFORM:ID")
    forget.add_argument("--platform", choices=("discord", "slack", "console"),
                        help="only on this platform (default: every platform with that id)")
    forget.set_defaults(func=cmd_forget)
    return parser


def _fail(message: str) -> int:
    print(f"studybot: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _bank_path(args_file: Path | None, settings: Settings | None = None) -> Path:
    if args_file is not None:
        return args_file
    return (settings or load_settings()).questions_path


# ---- run ----------------------------------------------------------------------------


def _bank_or_report(path: Path) -> Bank | None:
    """The question bank, or None after printing every problem with its line (the caller exits 2)."""
    try:
        return load_bank(path)
    except BankError as error:
        print(f"studybot: the question bank {path} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def cmd_run(_: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.runtime import build_runtime, preflight
    from bot.store import Store

    settings = load_settings()
    bank = _bank_or_report(settings.questions_path)
    if bank is None:
        return EXIT_BAD_INPUT
    console_only = settings.platforms == ["console"]
    setup_logging(settings.secrets(), settings.log_json, logging.WARNING if console_only else logging.INFO)

    async def go() -> int:
        await preflight(settings)  # a refused token stops the start here, before the database exists
        try:
            store = Store.open(settings.database)
        except Exception as error:  # sqlite3 or psycopg errors, unwritable directory, unreachable server
            return _fail(f"STUDYBOT_DB: cannot open {_shown(settings)}: {_redacted(error, settings)}")
        return await build_runtime(settings, bank, store).run()

    return asyncio.run(go())


# ---- check and grade -------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    path = _bank_path(args.file)
    bank, problems = check_bank(path)
    if bank is not None and args.strict:
        from bot.lint import ALLOW_FILE, lint, load_allowed, load_topics

        topic_files = []
        for seeds in args.seeds or []:
            try:
                topic_files.append(load_topics(seeds))
            except (OSError, ValueError) as error:
                return _fail(f"--seeds: cannot read {seeds}: {error}")
        try:
            allowed = load_allowed(args.allow or ALLOW_FILE)
        except (OSError, ValueError) as error:
            return _fail(f"--allow: cannot read {args.allow or ALLOW_FILE}: {error}")
        problems = lint(bank, path, topic_files, allowed)
    if problems:
        print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    assert bank is not None
    print(f"{path}: {len(bank.questions)} questions, OK{' (strict)' if args.strict else ''}")
    levels = Counter(q.level for q in bank.questions)
    print("levels: " + ", ".join(f"{lv} {levels.get(lv, 0)}" for lv in bank.levels))
    topics = Counter(q.topic for q in bank.questions)
    print("topics: " + ", ".join(f"{t} {n}" for t, n in sorted(topics.items())))
    if args.strict:
        from bot.lint import MAX_GIVEAWAY, giveaway_figures

        print(f"giveaways (never reading the question; limit {MAX_GIVEAWAY:.0%}, chance 25%):")
        for level, g in giveaway_figures(bank).items():
            print(f"  {level}: {g.strike:.1%} striking absolute wording, {g.longest:.1%} picking the longest choice "
                  f"({g.questions} multiple-choice)")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bot.grading import Grade, grade_question, points_for, shown_score
    from bot.judge import Judge

    settings = load_settings()
    bank = load_bank(_bank_path(None, settings))
    judge = Judge.from_settings(settings)  # set: the bot grades written answers with it, and so does this

    def grade_all(items: list[tuple[str, Question]]) -> list[Grade]:
        if judge is None or not items:
            return [grade_question(text, question) for text, question in items]
        return asyncio.run(judge.grade_many(items))

    def as_json(question: Question, result: Grade) -> dict[str, Any]:
        return {"question": question.id, "verdict": result.verdict, "score": result.score,
                "points": points_for(result),
                "covered": [p for p, ok in zip(question.key_points, result.found, strict=True) if ok],
                "missed": [p for p, ok in zip(question.key_points, result.found, strict=True) if not ok],
                "grader": result.grader}

    def unknown(question_id: str) -> str:
        from rapidfuzz import process

        near = [m[0] for m in process.extract(question_id, list(bank.by_id), limit=3)]
        return f"no question with id {question_id!r}; close ones: {', '.join(near)}"

    if args.batch is not None:
        if args.question_id is not None:
            return _fail("grade --batch takes no QUESTION_ID or TEXT: each line names its question")
        try:
            lines = sys.stdin.read() if args.batch == "-" else Path(args.batch).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return _fail(f"cannot read {args.batch}: {error}")
        rows: list[dict[str, Any] | tuple[str, Question]] = []  # per answer line: its error, or what to grade
        for number, line in enumerate(lines.splitlines(), 1):
            if not line.strip():
                continue  # blank lines separate nothing and are not answers
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError('expected a JSON object {"question": ID, "text": ...}')
                question_id, text = item.get("question"), item.get("text")
                if not isinstance(question_id, str) or not question_id:
                    raise ValueError('missing "question" (the question id, a string)')
                if not isinstance(text, str) or not text.strip():
                    raise ValueError('missing or empty "text" (the answer)')
                question = bank.get(question_id)
                if question is None:
                    raise ValueError(unknown(question_id))
                rows.append((text, question))
            except ValueError as error:  # json.JSONDecodeError is a ValueError
                message = f"bad JSON: {error}" if isinstance(error, json.JSONDecodeError) else str(error)
                print(f"studybot: line {number}: {message}", file=sys.stderr)
                rows.append({"line": number, "error": message})
        # graded together: the judge asks several at once
        grades = iter(grade_all([row for row in rows if isinstance(row, tuple)]))
        for row in rows:
            out = row if isinstance(row, dict) else as_json(row[1], next(grades))
            print(json.dumps(out, ensure_ascii=False))
        failed = sum(isinstance(row, dict) for row in rows)
        if failed:
            print(f"studybot: {failed} line(s) could not be graded", file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0

    if args.question_id is None:
        return _fail("give a QUESTION_ID (and TEXT, or the answer on standard input), or --batch FILE")
    question = bank.get(args.question_id)
    if question is None:
        return _fail(unknown(args.question_id))
    text = args.text if args.text is not None else sys.stdin.read()
    if not text.strip():
        return _fail("no answer to grade: give TEXT or pipe it on standard input")
    [result] = grade_all([(text, question)])
    if args.json:
        print(json.dumps(as_json(question, result), ensure_ascii=False))
        return 0
    choice = "" if question.is_open or result.grader != "built-in" else (  # the judge does not measure choices
        f"; right choice stated {result.core:.0%}{'; states a wrong choice' if result.misconception else ''}")
    print(f"score: {shown_score(result.score):.2f}  ({result.verdict}; {sum(result.found)}/{len(question.key_points)} "
          f"key points{choice})")
    for point, found in zip(question.key_points, result.found, strict=True):
        print(f"  [{'x' if found else ' '}] {point}")
    note = getattr(result, "note", "")  # the judge's line of feedback, or that the built-in grader stood in
    if note:
        print(f"  {note.strip('_')}")
    return 0


# ---- database commands -------------------------------------------------------------------


def _shown(settings: Settings) -> str:
    """The database as it may be printed: the SQLite file, or the URL without its password."""
    from bot.db import redact_url

    return redact_url(settings.db_url) if settings.db_url else str(settings.db_path)


def _redacted(error: Exception, settings: Settings) -> str:
    text = str(error)
    for secret in settings.secrets():
        text = text.replace(secret, "***")
    return text


def _open_existing_db(settings: Settings) -> Store | None:
    from bot.store import Store

    if settings.db_url is None and not settings.db_path.exists():
        return None
    return Store.open(settings.database)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bot.models import Place
    from bot.runtime import build_engine

    settings = load_settings()
    store = _open_existing_db(settings)
    if store is None:
        print(f"No database yet at {settings.db_path}: nothing has been scored.")
        return 0
    engine = build_engine(store, Bank((), ()), settings)
    places = store.rows("SELECT DISTINCT platform, workspace FROM members ORDER BY platform, workspace")
    if not places:
        print("No points yet: answer a channel round to get on the board.")
    for row in places:
        print(f"{row['platform']} / {row['workspace']} ({'this week' if args.scope == 'week' else 'all time'})")
        print(engine.boards.board(Place(row["platform"], row["workspace"], ""), args.scope).strip("`\n"))
    store.close()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    settings = load_settings()
    if settings.db_url is not None:
        from bot.backup import backup_postgres

        try:
            target = backup_postgres(settings.db_url, args.path)
        except BackupError as error:
            return _fail(str(error))
        print(f"backup written to {target} (pg_dump custom format: restore with pg_restore)")
        return 0
    if not settings.db_path.exists():
        return _fail(f"STUDYBOT_DB: no database at {settings.db_path}")
    try:
        target = backup(settings.db_path, args.path)
    except BackupError as error:
        return _fail(str(error))
    print(f"backup written to {target}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.backup import export_csv

    if args.yaml is not None:
        return _export_yaml(args)
    if args.anki is not None:
        return _export_anki(args)
    if args.member is not None:
        return _fail("--member goes with --anki (a deck of that member's missed questions)")
    settings = load_settings()
    if settings.db_url is None and not settings.db_path.exists():
        return _fail(f"STUDYBOT_DB: no database at {settings.db_path}")
    bank_path = settings.questions_path
    bank, _ = check_bank(bank_path)
    try:
        files = export_csv(settings.database, args.directory, bank)
    except OSError as error:
        return _fail(f"cannot write to {args.directory}: {error}")
    except Exception as error:  # the database: unreachable server, refused password
        return _fail(f"STUDYBOT_DB: cannot read {_shown(settings)}: {_redacted(error, settings)}")
    for path, count in files:
        print(f"{path}: {count} rows")
    return 0


def _export_anki(args: argparse.Namespace) -> int:
    from bot.anki import AnkiError, export_anki

    settings = load_settings()
    bank = _bank_or_report(settings.questions_path)
    if bank is None:
        return EXIT_BAD_INPUT
    try:
        print(export_anki(bank, args.anki, args.member, settings.database))
    except AnkiError as error:
        return _fail(str(error))
    return 0


# ---- item analysis ----------------------------------------------------------------------------


def _export_yaml(args: argparse.Namespace) -> int:
    from bot.suggestions import export_yaml

    if args.member is not None:
        return _fail("--member goes with --anki (a deck of that member's missed questions)")
    settings = load_settings()
    store = _open_existing_db(settings)
    if store is None:
        return _fail(f"STUDYBOT_DB: no database at {settings.db_path}: no suggested questions to export")
    bank, _ = check_bank(settings.questions_path)
    levels = bank.levels if bank is not None else ()
    try:
        count = export_yaml(store, levels, args.yaml)
    except OSError as error:
        return _fail(f"cannot write {args.yaml}: {error}")
    finally:
        store.close()
    print(f"{args.yaml}: {count} approved suggested question{'s' if count != 1 else ''}"
          + (" (check it with `studybot check`, then merge it into questions.yaml)" if count else ""))
    return 0


# ---- privacy --------------------------------------------------------------------------------------


def cmd_forget(args: argparse.Namespace) -> int:
    """studybot forget MEMBER_ID: what /quiz forget-me does, for an admin acting on a member's request."""
    from bot.runtime import build_engine

    settings = load_settings()
    store = _open_existing_db(settings)
    if store is None:
        return _fail(f"STUDYBOT_DB: no database at {settings.db_path}: nothing stored about anyone")
    try:
        team = build_engine(store, Bank((), ()), settings).team
        member, platform = args.member_id.strip(), args.platform
        counts = team.forget(member, platform)
        if not any(counts.values()) and platform is None and ":" in member:  # PLATFORM:ID
            prefix, _, rest = member.partition(":")
            if prefix in ("discord", "slack", "console") and rest:
                member, platform = rest, prefix
                counts = team.forget(member, platform)
                if not any(counts.values()):  # console ids hold their platform: console:NAME
                    member = args.member_id.strip()
                    counts = team.forget(member, platform)
    finally:
        store.close()
    where = f" on {platform}" if platform else ""
    if not any(counts.values()):
        return _fail(f"no member with id {args.member_id!r}{where} in the database: nothing to delete "
                     "(ids are platform user ids: a Discord member's number, a Slack U..., console:NAME)")
    found = ", ".join(f"{n} {kind}{'' if n == 1 or kind == 'stats' else 's'}" for kind, n in counts.items() if n)
    print(f"Deleted the personal data of member {member}{where} ({found}): their name, the text of their answers, "
          "their stats, cards and reminders. Past rounds keep anonymous tallies.")
    return 0


def cmd_items(args: argparse.Namespace) -> int:
    from bot.items import ItemsError, analyse_file, format_table, write_csv

    settings = load_settings()
    if settings.db_url is not None:
        return _fail("studybot items reads a SQLite file only, for now; on PostgreSQL, `studybot export --csv DIR` "
                     "writes the answers")
    if not settings.db_path.exists():
        return _fail(f"STUDYBOT_DB: no database at {settings.db_path}: no answers to analyse")
    bank, problems = check_bank(settings.questions_path)
    if bank is None:
        print(f"studybot: warning: the question bank {settings.questions_path} has {len(problems)} problem(s); "
              "answers are judged as they were stored", file=sys.stderr)
    try:
        items = analyse_file(settings.db_path, bank)
        if args.csv is not None:
            write_csv(items, args.csv)
    except ItemsError as error:
        return _fail(str(error))
    print(format_table(items) if items else "no answers yet: no multiple-choice answers in the database to analyse")
    if args.csv is not None:
        print(f"{args.csv}: {len(items)} rows")
    return 0
