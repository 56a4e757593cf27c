"""The progress bar of a batch job: rows, rows/s and ETA, drawn by rich on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Bar", "progress_bar", "wants_progress"]


def wants_progress(progress: bool | None) -> bool:
    """``progress`` if given; by default, a bar only when stderr is a terminal and rich is there."""
    if progress is not None:
        return progress
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class Bar:
    """Advance with :meth:`advance`; a bar that draws nothing when ``task`` is ``None``."""

    def __init__(self, rich_progress: Any = None, task: Any = None) -> None:
        self._progress = rich_progress
        self._task = task

    def advance(self, rows: int) -> None:
        """Count ``rows`` more rows done."""
        if self._progress is not None:
            self._progress.advance(self._task, rows)


@contextmanager
def progress_bar(total: int, done: int, show: bool) -> Iterator[Bar]:
    """Show a bar for ``total`` rows (``done`` of them done before) while the block runs."""
    if not show:
        yield Bar()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn("rows"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn()]
    console = Console(file=sys.stderr, force_terminal=True)
    with Progress(*columns, console=console, transient=True, refresh_per_second=4) as bar:
        task = bar.add_task("rows", total=total, completed=done, speed="")

        class _Speed(Bar):
            def advance(self, rows: int) -> None:
                bar.advance(task, rows)
                speed = bar.tasks[0].speed
                bar.update(task, speed=f"{speed:,.0f} rows/s" if speed else "")

        yield _Speed()
