"""The command line's one way to write: plain text, rich tables on a terminal, JSON, errors.

Every subcommand prints through an :class:`Output`; nothing else in the CLI calls ``print``.

* On a terminal, with ``rich`` installed (the ``cli`` extra), tables are drawn by rich and long
  loops show a progress bar on stderr.
* Otherwise (a pipe, a file, no rich) tables are plain aligned text and there is no progress bar,
  so the output is stable for scripts and tests.
* ``json()`` writes one JSON document on stdout; notes and errors always go to stderr, so
  ``--json`` output can be piped as is.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Output", "Progress", "jsonable"]

_PROG = "ortsession"


def _rich_installed() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def one_line(text: str) -> str:
    """Collapse ``text`` onto one line (ORT messages sometimes span several)."""
    return " ".join(str(text).split())


def jsonable(value: Any) -> Any:
    """Return ``value`` ready for JSON.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no spelling
    for them) and tuples become lists.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class Progress:
    """A progress bar fed from any thread: call :meth:`set` with the work done so far."""

    def __init__(self, total: float, description: str, unit: str, rich_console: Any) -> None:
        """Draw on ``rich_console`` (a ``rich.console.Console``), or draw nothing if ``None``."""
        self._total = total
        self._description = description
        self._unit = unit
        self._console = rich_console
        self._done = 0.0
        self._stop = threading.Event()

    def set(self, done: float) -> None:
        """Record that ``done`` units (runs or seconds) are complete."""
        self._done = done

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        """Show the bar (refreshed from a helper thread) while the block runs."""
        if self._console is None:
            yield self
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
        if self._unit == "runs":
            columns.append(MofNCompleteColumn())
        else:
            columns.append(TextColumn("{task.completed:.1f}/{task.total:.1f} s"))
        columns.append(TimeElapsedColumn())
        with RichProgress(*columns, console=self._console, transient=True) as bar:
            task = bar.add_task(self._description, total=self._total)

            def refresh() -> None:
                while not self._stop.wait(0.1):
                    bar.update(task, completed=min(self._done, self._total))

            thread = threading.Thread(target=refresh, name="ortsession-progress", daemon=True)
            thread.start()
            try:
                yield self
            finally:
                self._stop.set()
                thread.join()
                bar.update(task, completed=min(self._done, self._total))


class Output:
    """Where and how the CLI writes.

    Args:
        stdout: stream for results (default ``sys.stdout``).
        stderr: stream for notes, errors and the progress bar (default ``sys.stderr``).
        rich: force rich rendering on (``True``) or off (``False``); by default rich is used
            when it is installed and the stream is a terminal (and ``NO_COLOR``/``TERM=dumb``
            are honoured by rich itself).
        quiet: suppress notes and progress bars.
    """

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, *,
                 rich: bool | None = None, quiet: bool = False) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.quiet = quiet
        installed = _rich_installed()
        use_rich = installed and _isatty(self.stdout) if rich is None else rich and installed
        self._console: Any = None
        if use_rich:
            from rich.console import Console

            self._console = Console(file=self.stdout, force_terminal=True if rich else None,
                                    highlight=False, soft_wrap=False)
        self._progress_rich = installed and (_isatty(self.stderr) if rich is None else rich)
        if os.environ.get("TERM") == "dumb":
            self._progress_rich = False

    @property
    def rich(self) -> bool:
        """Whether results are drawn with rich."""
        return self._console is not None

    # -- results --------------------------------------------------------------------------
    def print(self, text: str = "", *, style: str | None = None) -> None:
        """Write one line of result text (``style`` is a rich style, ignored in plain mode)."""
        if self._console is not None:
            self._console.print(text, style=style, markup=False, highlight=False)
        else:
            self.stdout.write(text + "\n")

    def heading(self, text: str) -> None:
        """Write a section heading."""
        if self._console is not None:
            self._console.print(text, style="bold", markup=False, highlight=False)
        else:
            self.stdout.write(text + "\n")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *,
              empty: str = "(none)") -> None:
        """Write a table: rich on a terminal, aligned text otherwise.

        Args:
            title: the table's heading.
            columns: column headers.
            rows: cells, already formatted as strings.
            empty: what to write when there are no rows.
        """
        if self._console is not None:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, title_justify="left", title_style="bold")
            for column in columns:
                table.add_column(Text(column), overflow="fold")
            for row in rows:
                table.add_row(*(Text(str(cell)) for cell in row))
            if rows:
                self._console.print(table)
            else:
                self._console.print(f"{title}: {empty}", markup=False, highlight=False)
            return
        if not rows:
            self.stdout.write(f"{title}: {empty}\n")
            return
        widths = [max(len(str(c)) for c in column) for column in zip(columns, *rows)]
        self.stdout.write(f"{title}\n")
        for cells in (columns, *rows):
            line = "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
            self.stdout.write(f"  {line}\n")

    def pairs(self, title: str, items: Sequence[tuple[str, str]]) -> None:
        """Write ``key  value`` lines under a heading (a two-column table without headers)."""
        if self._console is not None:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, title_justify="left", title_style="bold",
                          show_header=False)
            table.add_column("key", style="cyan")
            table.add_column("value", overflow="fold")
            for key, value in items:
                table.add_row(Text(key), Text(value))
            self._console.print(table)
            return
        width = max((len(k) for k, _ in items), default=0)
        self.stdout.write(f"{title}\n")
        for key, value in items:
            self.stdout.write(f"  {key.ljust(width)}  {value}\n".rstrip() + "\n")

    def json(self, document: Any) -> None:
        """Write ``document`` as indented JSON (non-finite floats as strings, :func:`jsonable`)."""
        self.stdout.write(json.dumps(jsonable(document), indent=2, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        """Flush stdout (before something else, e.g. Lua, writes to it)."""
        self.stdout.flush()

    # -- diagnostics ----------------------------------------------------------------------
    def note(self, text: str) -> None:
        """Write ``ortsession: note: text`` on stderr (unless quiet)."""
        if not self.quiet:
            self.stderr.write(f"{_PROG}: note: {one_line(text)}\n")

    def error(self, text: str) -> None:
        """Write ``ortsession: error: text`` on stderr, on one line."""
        self.stderr.write(f"{_PROG}: error: {one_line(text)}\n")
        self.stderr.flush()

    def progress(self, total: float, description: str, unit: str = "runs") -> Progress:
        """Return a :class:`Progress` bar on stderr (inert when quiet or not on a terminal)."""
        console = None
        if self._progress_rich and not self.quiet:
            from rich.console import Console

            console = Console(file=self.stderr, force_terminal=True)
        return Progress(total, description, unit, console)


