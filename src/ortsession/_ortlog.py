"""ORT's log collected around session creation: :func:`captured_log`.

Why a provider failed to load, for example, is something ORT only logs. The routing of ORT's log
into :mod:`logging` is ``_engine``'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from typing import Final

from . import _engine
from ._messages import clean_message

__all__ = ["captured_log"]


class _Keep(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage().split("] ", 1)[-1])


_ORT_LINE: Final = re.compile(r"\[([VIWEF]):onnxruntime:[^\]]*\]\s*(.*?)(?:\x1b\[[0-9;]*m)*$")
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")
_capture_lock = threading.Lock()


@contextlib.contextmanager
def captured_log() -> Iterator[list[str]]:
    """Collect ORT's warning and error messages logged while the block runs.

    For example why a provider failed to load, which ORT only logs. They come cleaned, in the
    list yielded. With log forwarding (1.32+) they are read from :data:`logger`. Without it,
    ORT's default logger is opened to warnings for the block and file descriptor 2 is
    redirected to a temporary file, so nothing reaches the terminal: ORT's lines are collected
    (and passed to :data:`logger`), any other line written meanwhile is written back to stderr
    afterwards.
    Callers use it around session creation, never around runs.
    """
    messages: list[str] = []
    if _engine.LOG_FORWARDING:
        handler = _Keep(messages)
        _engine.logger.addHandler(handler)
        try:
            yield messages
        finally:
            _engine.logger.removeHandler(handler)
        return
    import tempfile

    with _capture_lock, tempfile.TemporaryFile() as sink:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            _engine.set_logger_severity(2)
            try:
                yield messages
            finally:
                _engine.set_logger_severity(_engine.SILENT)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        others: list[str] = []
        for line in sink.read().decode("utf-8", "replace").splitlines():
            match = _ORT_LINE.search(line)
            if match:
                message = clean_message(match[2])
                level = _engine.PY_LEVELS[min("VIWEF".index(match[1]), 4)]
                _engine.logger.log(level, "[Default] %s", message)
                if level >= logging.WARNING:
                    messages.append(message)
            elif _ANSI.sub("", line).strip():
                others.append(line)
        if others:
            with contextlib.suppress(Exception):
                sys.stderr.write("\n".join(others) + "\n")
