"""A member's progress as a PNG: accuracy by topic, and answers per week."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import week_start
from bot.stats import Record

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_TOPICS = 15  # the chart stays readable; the weakest topics are the ones shown
WEEKS = 12
BAR = "#2f4b7c"  # dark enough for white labels (contrast 9:1)


def topics_title(shown: int, total: int) -> str:
    """Say so when the chart leaves topics out."""
    if shown < total:
        return f"Accuracy: your weakest {shown} of {total} topics"
    return "Accuracy by topic (weakest first)"


def weekly_counts(by_day: dict[str, int], today: date, weeks: int = WEEKS) -> list[tuple[str, int]]:
    """Answers per week (Monday label) for the last `weeks` weeks, oldest first."""
    per_week: dict[date, int] = defaultdict(int)
    for day, count in by_day.items():
        per_week[week_start(date.fromisoformat(day))] += count
    first = week_start(today) - timedelta(weeks=weeks - 1)
    return [((first + timedelta(weeks=i)).strftime("%d %b"), per_week.get(first + timedelta(weeks=i), 0))
            for i in range(weeks)]


def render_progress(record: Record, title: str, directory: Path, owner: str, today: date) -> Path:
    fig = progress_figure(record, title, today)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"stats-{_safe(owner)}.png"
    fig.savefig(path, format="png")
    return path


def progress_figure(record: Record, title: str, today: date) -> Figure:  # matplotlib is imported lazily
    # The object API with the Agg canvas: no pyplot state, so it is safe off the event loop's thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ranked = sorted(record.by_topic.items(), key=lambda item: (item[1].accuracy, item[0]))
    topics = ranked[:MAX_TOPICS]
    weeks = weekly_counts(record.by_day, today)
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = [t for t, _ in topics][::-1]
    values = [tally.accuracy * 100 for _, tally in topics][::-1]
    left.barh(names, values, color=BAR)
    for y, (_, tally) in enumerate(reversed(topics)):  # the count shows even when accuracy is 0
        inside = tally.accuracy >= 0.2  # on a long bar: white on the dark bar; on a short one: dark beside it
        x = tally.accuracy * 100 - 1 if inside else tally.accuracy * 100 + 1
        left.text(x, y, f"{tally.correct}/{tally.answered}", va="center", ha="right" if inside else "left",
                  fontsize=8, color="white" if inside else "#222222")
    left.set_xlim(0, 100)
    left.set_xlabel("accuracy (%)")
    left.set_title(topics_title(len(topics), len(ranked)))
    left.tick_params(axis="y", labelsize=8)
    right.bar([w for w, _ in weeks], [n for _, n in weeks], color="#55a868")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))  # answers are counted: no 0.5 ticks
    right.set_title("Answers per week")
    right.tick_params(axis="x", labelrotation=60, labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]
