"""Ctrl-C while ONNX Runtime runs: stop the runs at once instead of when they end.

Python runs its ``SIGINT`` handler (``KeyboardInterrupt``) in the main thread only, between
bytecodes: while the main thread is inside a long ``InferenceSession.run`` (GIL released), or
other threads are, nothing happens until the run ends. :func:`watch` adds a watcher thread woken
by the signal itself (``signal.set_wakeup_fd``): it calls every registered stop function (each
sets a ``RunOptions`` terminate flag), so the runs end within one kernel with
:class:`~ortsession.TerminatedError` and :attr:`Watch.interrupted` tells why. Used by the
command line (exit status 130) and by ``ortsession.lua.run_script``.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Watch", "on_interrupt", "watch"]

_active: list[Watch] = []


def on_interrupt(stop: Callable[[], None]) -> None:
    """Register ``stop`` with the innermost active :func:`watch` (nothing when none is)."""
    if _active:
        _active[-1].on_interrupt(stop)


class Watch:
    """What :func:`watch` yields: register stop functions, ask whether Ctrl-C came."""

    def __init__(self) -> None:
        self._stops: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._fired = threading.Event()

    def on_interrupt(self, stop: Callable[[], None]) -> None:
        """Call ``stop()`` (from the watcher thread) when Ctrl-C comes; at once if it came."""
        with self._lock:
            self._stops.append(stop)
        if self._fired.is_set():
            stop()

    def handle(self, signum: int, frame: object) -> None:
        """Handle ``SIGINT`` while watching (the Python-level handler).

        With stop functions registered (runs that Ctrl-C terminates), only the flag is set:
        the terminated run ends the work with :class:`~ortsession.TerminatedError`, and no
        ``KeyboardInterrupt`` lands in whatever Python code runs first (ORT's log callback,
        a destructor). Without, it raises ``KeyboardInterrupt`` as Python does.
        """
        self.fire()
        with self._lock:
            stoppable = bool(self._stops)
        if not stoppable:
            raise KeyboardInterrupt

    @property
    def interrupted(self) -> bool:
        """True once ``SIGINT`` arrived while watching."""
        return self._fired.is_set()

    def fire(self) -> None:
        """Act as if Ctrl-C came: set the flag and call every stop function."""
        self._fired.set()
        with self._lock:
            stops = list(self._stops)
        for stop in stops:
            try:
                stop()
            except Exception:  # one failing stop must not keep the others from running
                continue


def _handle(signum: int, frame: object) -> None:
    """Handle ``SIGINT`` while a watch is active: the innermost one decides."""
    if _active:
        _active[-1].handle(signum, frame)
    else:
        raise KeyboardInterrupt


@contextmanager
def watch() -> Iterator[Watch]:
    """Watch for ``SIGINT`` while the block runs (a no-op outside the main thread).

    Inside the block, ``SIGINT`` sets :attr:`Watch.interrupted` and calls the stop functions;
    it raises ``KeyboardInterrupt`` only while none is registered (see :meth:`Watch.handle`).
    The previous handler and wakeup descriptor are restored on exit.
    """
    state = Watch()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    _active.append(state)
    try:
        with _watching(state):
            yield state
    finally:
        _active.remove(state)


@contextmanager
def _watching(state: Watch) -> Iterator[None]:
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter, or signals unavailable
        reader.close()
        writer.close()
        yield
        return

    def wait() -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if signal.SIGINT in data:
                state.fire()
            if not data or 0 in data:  # closed, or the wake-up to stop watching
                return

    thread = threading.Thread(target=wait, name="ortsession-sigint", daemon=True)
    thread.start()
    handler = signal.getsignal(signal.SIGINT)
    # an ignored or custom handler is kept; ours (an outer watch) stays and finds this one
    ours = handler is signal.default_int_handler
    if ours:
        signal.signal(signal.SIGINT, _handle)
    try:
        yield
    finally:
        if ours:
            signal.signal(signal.SIGINT, handler)
        signal.set_wakeup_fd(previous, warn_on_full_buffer=False)
        with contextlib.suppress(OSError):
            writer.send(b"\0")
        thread.join(timeout=1.0)
        reader.close()
        writer.close()
