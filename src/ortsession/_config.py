"""Process-wide runtime settings: :func:`configure` records them, the first session applies them.

ONNX Runtime has one environment per process. Its settings are the reference's runtime
configuration: log severity, log id and the global thread pools. :func:`configure` only checks
and records them; :func:`before_session` (called by the session builder) applies what changed,
right before a session is created. Rules:

* :func:`configure` raises :class:`~ortsession.StateError` while a session is alive (not closed).
* Fields not given keep their current value; a later :func:`configure` changes only what it names.
* ORT creates the global thread pools once per process and cannot resize or remove them: once
  a session has been created with ``use_global_thread_pools=True``, a :func:`configure` that
  changes ``use_global_thread_pools``, ``global_intra_op_num_threads`` or
  ``global_inter_op_num_threads`` raises :class:`~ortsession.StateError`.
* ``log_id``: ORT's Python binding has no setter for the environment's log id, so it cannot be
  applied to the environment. It is kept and used as the default ``log_id`` of every session
  created afterwards (ORT shows it in that session's log lines).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from . import _engine
from ._errors import OptionError, StateError
from ._fields import MAX_THREADS, boolean, integer, merge_fields, option, parse_fields, text

__all__ = [
    "RuntimeConfig",
    "before_session",
    "configure",
    "current",
    "global_thread_pools_enabled",
    "track",
]

_WHAT: Final = "configure option"


@dataclass(frozen=True)
class RuntimeConfig:
    """The process-wide settings of :func:`configure`."""

    log_severity_level: int = option(2, integer(0, 4))
    """ORT's default log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. Default ``2``.
    ORT's messages go to the Python logger ``"ortsession.ort"``."""

    log_id: str = option("", text())
    """Default log id of sessions that give none (str). Default ``""``."""

    use_global_thread_pools: bool = option(False, boolean())
    """Run every session on process-wide thread pools instead of per-session ones (bool).
    Default ``False``."""

    global_intra_op_num_threads: int = option(0, integer(0, MAX_THREADS))
    """Size of the global intra-op pool (int >= 0; 0 lets ORT choose). Default ``0``."""

    global_inter_op_num_threads: int = option(0, integer(0, MAX_THREADS))
    """Size of the global inter-op pool (int >= 0; 0 lets ORT choose). Default ``0``."""

    def pool_sizes(self) -> tuple[int, int]:
        """Return ``(global_intra_op_num_threads, global_inter_op_num_threads)``."""
        return (self.global_intra_op_num_threads, self.global_inter_op_num_threads)


class _Closable(Protocol):
    @property
    def closed(self) -> bool: ...


class _State:
    """The recorded settings, what ORT has applied of them, and the sessions to watch."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.config = RuntimeConfig()
        self.applied_severity: int | None = None
        self.pools_created: tuple[int, int] | None = None
        self.sessions: weakref.WeakSet[_Closable] = weakref.WeakSet()


_state: Final = _State()


def configure(opts: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
    """Set process-wide runtime defaults; call it before creating sessions.

    Args:
        opts: the settings as one dict (the reference's table), or ``None``.
        **fields: the settings as keyword arguments: ``log_severity_level`` (0..4, default 2),
            ``log_id`` (str, default ``""``), ``use_global_thread_pools`` (bool, default
            ``False``), ``global_intra_op_num_threads`` and ``global_inter_op_num_threads``
            (int >= 0, default 0: ORT chooses). Settings not given keep their current value.

    Raises:
        OptionError: an unknown field, or a value of the wrong type or out of range.
        StateError: a session is alive (close it first), or the call changes global thread-pool
            settings after ORT created the pools (ORT cannot resize or remove them).
    """
    checked = parse_fields(RuntimeConfig, merge_fields(opts, fields, what=_WHAT), what=_WHAT)
    if checked.get("use_global_thread_pools"):
        _engine.require("set_global_thread_pool_sizes",
                        "configure(use_global_thread_pools=True)", OptionError)
    with _state.lock:
        alive = sum(1 for session in list(_state.sessions) if not session.closed)
        if alive:
            raise StateError(
                f"configure() must be called before any session is created: {alive} session(s) "
                f"still open; close them first"
            )
        new = dataclasses.replace(_state.config, **checked)
        created = _state.pools_created
        if created is not None and (
            not new.use_global_thread_pools or new.pool_sizes() != created
        ):
            raise StateError(
                f"configure(): the global thread pools were already created with "
                f"global_intra_op_num_threads={created[0]}, "
                f"global_inter_op_num_threads={created[1]}; ONNX Runtime cannot resize or "
                f"remove them, so use_global_thread_pools must stay True with those sizes"
            )
        _state.config = new


def current() -> RuntimeConfig:
    """Return the settings recorded by :func:`configure` (defaults if it was never called)."""
    with _state.lock:
        return _state.config


def track(session: _Closable) -> None:
    """Remember ``session`` (weakly): :func:`configure` refuses to run while it is not closed."""
    with _state.lock:
        _state.sessions.add(session)


def before_session() -> RuntimeConfig:
    """Apply the recorded settings that ORT has not seen yet; call before creating a session.

    Applies the log severity (re-installing ORT's log callback) when it changed, and creates the
    global thread pools once, when ``use_global_thread_pools`` is set.

    Returns:
        The settings in effect.

    Raises:
        StateError: ORT refused to create the global thread pools (something else in this
            process created them already).
    """
    with _state.lock:
        config = _state.config
        if _state.applied_severity != config.log_severity_level:
            _engine.ensure_environment(config.log_severity_level)
            _state.applied_severity = config.log_severity_level
        if config.use_global_thread_pools and _state.pools_created is None:
            with _engine.Mapped("cannot create the global thread pools", StateError):
                _engine.set_global_thread_pool_sizes(*config.pool_sizes())
            _state.pools_created = config.pool_sizes()
        return config


def global_thread_pools_enabled() -> bool:
    """Tell whether the global thread pools exist, so sessions must run on them."""
    with _state.lock:
        return _state.pools_created is not None
