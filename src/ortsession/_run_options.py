"""``RunOptions``: per-run settings (tag, log levels) and cooperative termination."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import _engine
from ._fields import (
    INT32_MAX,
    Subject,
    field_checks,
    integer,
    merge_fields,
    option,
    parse_fields,
    text,
)

__all__ = ["RunOptions", "blank_run_options", "run_options"]

_WHAT: Final = "run option"


@dataclass(frozen=True)
class _Fields:
    """The fields of :class:`RunOptions`: defaults and checks (``None`` means "not given")."""

    tag: str = option("", text(), none_means_default=True)
    """ORT's run log id (str). Default ``""``."""

    log_severity_level: int = option(-1, integer(-1, 4), none_means_default=True)
    """0 verbose … 4 fatal, or -1: the session's level. Default ``-1``."""

    log_verbosity_level: int = option(0, integer(0, INT32_MAX), none_means_default=True)
    """Verbose log level, used when the severity is 0 (int >= 0). Default ``0``."""


_CHECKS: Final = {name: (check, Subject(_WHAT, name))
                  for name, check in field_checks(_Fields).items()}
_TAG: Final = _CHECKS["tag"]
_SEVERITY: Final = _CHECKS["log_severity_level"]
_VERBOSITY: Final = _CHECKS["log_verbosity_level"]


class RunOptions:
    """Options for one or more runs; :meth:`terminate` stops runs using them.

    Each accessor reads the value when called without an argument and sets it with one,
    mirroring the reference's ``run_options:tag([value])``.
    """

    __slots__ = ("__weakref__", "_calls", "_ro", "_severity")

    def __init__(self, opts: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Create run options from a dict and/or keyword arguments (see :func:`run_options`)."""
        values = merge_fields(opts, fields, what="run option")
        self._ro = _engine.run_options()
        self._severity = -1
        self._calls: set[RunOptions] = set()
        for key, value in parse_fields(_Fields, values, what=_WHAT).items():
            getattr(self, f"_set_{key}")(value)

    def tag(self, value: str | None = None) -> str:
        """Read or set the run tag (ORT's run log id). Default: ``""``.

        Returns:
            The tag in effect (after setting it, when ``value`` is given).
        """
        if value is not None:
            check, subject = _TAG
            self._set_tag(check(value, subject))
        return str(self._ro.logid)

    def log_severity_level(self, value: int | None = None) -> int:
        """Read or set the run's log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal.

        Default: ``-1``, meaning the session's severity applies (``-1`` may be set again).
        """
        if value is not None:
            check, subject = _SEVERITY
            self._set_log_severity_level(check(value, subject))
        return self._severity

    def log_verbosity_level(self, value: int | None = None) -> int:
        """Read or set the run's verbose log level (used when severity is 0). Default: ``0``."""
        if value is not None:
            check, subject = _VERBOSITY
            self._set_log_verbosity_level(check(value, subject))
        return int(self._ro.log_verbosity_level)

    def _set_tag(self, tag: str) -> None:
        self._ro.logid = tag

    def _set_log_severity_level(self, level: int) -> None:
        self._severity = level
        # an ORT that cannot route its log to Python keeps it silent (see _engine)
        self._ro.log_severity_level = _engine.log_severity(level)

    def _set_log_verbosity_level(self, level: int) -> None:
        self._ro.log_verbosity_level = level

    def terminate(self) -> None:
        """Ask every run using these options to stop; they raise :class:`TerminatedError`."""
        self._ro.terminate = True
        for call in tuple(self._calls):  # asynchronous runs in progress (see _for_call)
            call._ro.terminate = True

    def reset_terminate(self) -> None:
        """Clear the terminate flag so the options can run again."""
        self._ro.terminate = False

    def _for_call(self) -> RunOptions:
        """Return a copy for one asynchronous run, which cancelling that run may terminate.

        The copy has these options' fields and terminate flag; until :meth:`_end_call`,
        :meth:`terminate` on these options reaches it too.
        """
        call = blank_run_options()
        self._calls.add(call)  # before copying the flag: a terminate() in between is not lost
        ro, mine = call._ro, self._ro
        ro.logid = mine.logid
        ro.log_severity_level = mine.log_severity_level
        ro.log_verbosity_level = mine.log_verbosity_level
        ro.terminate = mine.terminate
        call._severity = self._severity
        return call

    def _end_call(self, call: RunOptions) -> None:
        """Unlink a copy made by :meth:`_for_call` once its run is over."""
        self._calls.discard(call)

    @property
    def terminated(self) -> bool:
        """Whether :meth:`terminate` was called and not reset."""
        return bool(self._ro.terminate)

    def __repr__(self) -> str:
        return (f"RunOptions(tag={self.tag()!r}, log_severity_level={self.log_severity_level()}, "
                f"log_verbosity_level={self.log_verbosity_level()})")


def blank_run_options() -> RunOptions:
    """Return run options with ORT's defaults, without parsing (one per asynchronous run)."""
    options = RunOptions.__new__(RunOptions)
    options._ro = _engine.run_options()
    options._calls = set()
    options._severity = -1
    return options


def run_options(opts: Mapping[str, Any] | None = None, /, **fields: Any) -> RunOptions:
    """Create :class:`RunOptions` from a dict and/or keyword arguments.

    Fields: ``tag`` (str, default ``""``), ``log_severity_level`` (0..4, or -1 for the
    session's level, the default), ``log_verbosity_level`` (>= 0, default 0).

    Raises:
        OptionError: unknown field, wrong type or out-of-range value, or a field given twice.
    """
    return RunOptions(opts, **fields)
