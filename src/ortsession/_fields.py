"""Option fields: the one toolkit that checks session options, ``configure()`` and run options.

An option set is a frozen dataclass; each of its fields is declared with :func:`option`, which
attaches the field's *check*. A check is a callable ``check(value, subject) -> parsed`` that
returns the parsed value or raises :class:`~ortsession.OptionError` through ``subject``, the
:class:`Subject` naming the option. So the field list is written once, and every message has one
shape wherever the mistake is made::

    session option 'intra_op_num_threads': expected an integer from 0 to 1024, got -1
    configure option 'log_id': expected a string, got 3 (int)
    run option 'log_severity_level': expected an integer from -1 to 4, got True (bool)

:func:`parse_fields` is the one parser: it takes the options as given (a dict and/or keyword
arguments, merged by :func:`merge_fields`), refuses unknown names with the closest accepted one,
and runs each field's check. The Lua adapter passes its tables through the same functions.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, TypeVar

from ._errors import OptionError

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "MAX_THREADS",
    "Check",
    "Subject",
    "boolean",
    "choice",
    "field_checks",
    "integer",
    "merge_fields",
    "option",
    "option_string",
    "parse_fields",
    "path",
    "str_mapping",
    "text",
    "unknown_field",
]

MAX_THREADS: Final = 1024
"""Upper bound of the thread-count options: ORT would try to start every thread asked for."""
INT32_MAX: Final = 2**31 - 1
"""Upper bound of ORT's ``int`` fields (log verbosity levels)."""
INT64_MAX: Final = 2**63 - 1
"""Upper bound of ORT's ``int64_t`` fields (a free dimension override)."""

_E = TypeVar("_E", bound=Enum)


@dataclass(frozen=True, slots=True)
class Subject:
    """The option a check looks at: the kind of option set and the option's name or path.

    ``str(subject)`` is the start of every message: ``session option 'log_id'``,
    ``session option 'free_dimension_overrides[0].value'``.
    """

    what: str
    """The kind of option: ``"session option"``, ``"configure option"``, ``"run option"``…"""

    name: str
    """The option's name, or a path inside it (``"config_entries['a']"``)."""

    def __str__(self) -> str:
        return f"{self.what} {self.name!r}"

    def part(self, suffix: str) -> Subject:
        """Return the subject of a part of this option: ``name`` followed by ``suffix``."""
        return Subject(self.what, self.name + suffix)

    def expected(self, expected: str, value: object, *, with_type: bool = True) -> OptionError:
        """Return ``<subject>: expected <expected>, got <value> (<type>)``.

        ``with_type=False`` leaves the type out, for a value of the right type out of range.
        """
        got = f"{value!r} ({type(value).__name__})" if with_type else repr(value)
        return OptionError(f"{self}: expected {expected}, got {got}")

    def refuse(self, problem: str) -> OptionError:
        """Return ``<subject>: <problem>`` for a failure that is not a wrong value."""
        return OptionError(f"{self}: {problem}")


Check = Callable[[object, Subject], Any]
"""A field's check: the value as given and the :class:`Subject` naming it → the parsed value."""

_CHECK: Final = "ortsession.check"
_NONE_MEANS_DEFAULT: Final = "ortsession.none_means_default"


def option(default: Any, check: Check, *, none_means_default: bool | None = None) -> Any:
    """Declare an option field: a ``dataclasses.field`` whose default is ``default``.

    Args:
        default: the field's default; a ``dict`` default is stored as a read-only mapping and
            built fresh for each instance.
        check: the field's check (see :data:`Check`).
        none_means_default: whether ``None`` given for the field means "not given" rather than
            a wrong value; by default, when ``default`` is ``None``.
    """
    if none_means_default is None:
        none_means_default = default is None
    metadata = {_CHECK: check, _NONE_MEANS_DEFAULT: none_means_default}
    if isinstance(default, dict):
        frozen = dict(default)
        return dataclasses.field(default_factory=lambda: MappingProxyType(dict(frozen)),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_checks(cls: type[Any]) -> dict[str, Check]:
    """Return the check of each option field of the dataclass ``cls``, in declaration order."""
    return {f.name: f.metadata[_CHECK] for f in dataclasses.fields(cls) if _CHECK in f.metadata}


def merge_fields(
    opts: Mapping[str, Any] | None, fields: Mapping[str, Any], *, what: str
) -> dict[str, Any]:
    """Merge an options dict and keyword arguments into one dict.

    Args:
        opts: the options given as one mapping (the reference's table), or ``None``.
        fields: the options given as keyword arguments.
        what: what the options are, for messages (``"session option"``, ``"run option"``…).

    Returns:
        A new dict holding both.

    Raises:
        OptionError: ``opts`` is not a mapping, a name is not a string, or the same name is given
            both in ``opts`` and as a keyword argument.
    """
    if opts is None:
        merged: dict[str, Any] = {}
    elif isinstance(opts, Mapping):
        merged = dict(opts)
    else:
        raise OptionError(
            f"{what}s: expected a dict (or keyword arguments), got {opts!r} ({type(opts).__name__})"
        )
    for name in merged:
        if not isinstance(name, str):
            raise OptionError(f"{what} names must be strings, got {name!r} ({type(name).__name__})")
    for name, value in fields.items():
        if name in merged:
            raise OptionError(
                f"{what} {name!r} is given twice: in the options dict and as a keyword argument"
            )
        merged[name] = value
    return merged


def unknown_field(what: str, name: str, accepted: Iterable[str]) -> OptionError:
    """Return the error for an unknown option ``name``, suggesting the closest accepted one."""
    names = sorted(accepted)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return OptionError(f"unknown {what} {name!r}{hint}; accepted: {', '.join(names)}")


def parse_fields(fields: type[Any] | Mapping[str, Check], given: Mapping[str, Any], *, what: str,
                 aliases: Mapping[str, Check] | None = None) -> dict[str, Any]:
    """Check the options in ``given`` against ``fields``.

    Args:
        fields: a dataclass whose fields were declared with :func:`option`, or a table of
            checks by option name (where ``None`` always means "not given").
        given: the options by name, as merged by :func:`merge_fields`.
        what: what the options are, for messages (``"session option"``…).
        aliases: other accepted names and their checks (the caller maps them to fields).

    Returns:
        The parsed value of each option given, by name; ``None`` given for a field whose
        ``None`` means its default is left out.

    Raises:
        OptionError: an unknown name (the closest accepted one is suggested), or a value its
            check refuses.
    """
    spec = _spec(fields, what, aliases or {})
    if not spec.keys() >= given.keys():
        unknown = next(name for name in given if name not in spec)
        raise unknown_field(what, unknown, spec)
    parsed: dict[str, Any] = {}
    for name, value in given.items():
        check, none_means_default, subject = spec[name]
        if value is None and none_means_default:
            continue
        parsed[name] = check(value, subject)
    return parsed


_Spec = Mapping[str, tuple[Check, bool, Subject]]
_SPECS: Final[dict[tuple[type[Any], str, tuple[tuple[str, Check], ...]], _Spec]] = {}


def _spec(fields: type[Any] | Mapping[str, Check], what: str,
          aliases: Mapping[str, Check]) -> _Spec:
    """Return each name's check, whether ``None`` means "not given", and its subject."""
    if isinstance(fields, Mapping):
        return {name: (check, True, Subject(what, name))
                for name, check in {**fields, **aliases}.items()}
    key = (fields, what, tuple(aliases.items()))
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = {
            **{f.name: (f.metadata[_CHECK], f.metadata[_NONE_MEANS_DEFAULT],
                        Subject(what, f.name))
               for f in dataclasses.fields(fields) if _CHECK in f.metadata},
            **{name: (check, False, Subject(what, name)) for name, check in aliases.items()},
        }
    return spec


# ---------------------------------------------------------------------------------------------
# Checks of plain values


def _boolean(value: object, subject: Subject) -> bool:
    if not isinstance(value, bool):
        raise subject.expected("a bool (True or False)", value)
    return value


def boolean() -> Callable[[object, Subject], bool]:
    """Return the check of a bool option (``1`` and ``"true"`` are refused)."""
    return _boolean


def integer(low: int, high: int | None = None, *,
            expected: str | None = None) -> Callable[[object, Subject], int]:
    """Return the check of an integer option in ``[low, high]`` (``high=None``: no bound).

    ``int`` and numpy's integer scalars are accepted (``bool`` is not); ``expected`` replaces
    the description of what is accepted when a value is of the wrong type.
    """
    accepted = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    wrong_type = expected or accepted

    def check(value: object, subject: Subject) -> int:
        # numbers.Integral: int and numpy's integer scalars (np.int64(2)); not bool / np.bool_
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise subject.expected(wrong_type, value)
        number = int(value)
        if number < low or (high is not None and number > high):
            raise subject.expected(accepted, number, with_type=False)
        return number

    return check


def _no_nul(value: str, subject: Subject) -> str:
    # ORT takes C strings: everything after a NUL byte would be dropped silently.
    if "\x00" in value:
        raise subject.expected("a string without NUL characters", value)
    return value


def text(*, empty: bool = True) -> Callable[[object, Subject], str]:
    """Return the check of a string option: no NUL character, and not empty unless ``empty``."""
    accepted = "a string" if empty else "a non-empty string"

    def check(value: object, subject: Subject) -> str:
        if not isinstance(value, str) or not (empty or value):
            raise subject.expected(accepted, value)
        return _no_nul(value, subject)

    return check


def _path(value: object, subject: Subject) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise subject.expected("a path (str or os.PathLike)", value)
    if not value:
        raise subject.expected("a non-empty path", value, with_type=False)
    return _no_nul(value, subject)


def path() -> Callable[[object, Subject], str]:
    """Return the check of a file path option: a non-empty ``str`` or ``os.PathLike``."""
    return _path


def choice(enum: type[_E], names: Callable[[_E], Iterable[str]], *,
           hint: str = "") -> Callable[[object, Subject], _E]:
    """Return the check of an option naming a member of ``enum``.

    Args:
        enum: the closed set of values; a member itself is accepted too.
        names: the names accepted for a member, matched ignoring case and outer spaces; the
            first one is the name messages list.
        hint: added after the list of names in messages (e.g. the aliases accepted).
    """
    table = {name.strip().lower(): member for member in enum for name in names(member)}
    listed = ", ".join(repr(next(iter(names(member)))) for member in enum)
    accepted = f"one of {listed}{hint}"

    def check(value: object, subject: Subject) -> _E:
        if isinstance(value, enum):
            return value
        if isinstance(value, str):
            found = table.get(value.strip().lower())
            if found is not None:
                return found
        raise subject.expected(accepted, value)

    return check


def _str_mapping(value: object, subject: Subject) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise subject.expected("a dict of str to str", value)
    entries: dict[str, str] = {}
    key_subject = subject.part(" key")
    for key, entry in value.items():
        if not isinstance(key, str) or not key:
            raise key_subject.expected("a non-empty string", key)
        entry_subject = subject.part(f"[{key!r}]")
        if not isinstance(entry, str):
            raise entry_subject.expected("a string", entry)
        entries[_no_nul(key, key_subject)] = _no_nul(entry, entry_subject)
    return MappingProxyType(entries)


def str_mapping() -> Callable[[object, Subject], Mapping[str, str]]:
    """Return the check of a ``dict[str, str]`` option (frozen into a read-only mapping)."""
    return _str_mapping


def option_string(what: str, value: object) -> str:
    """Stringify a provider/EP option value the way ORT expects it.

    Strings and paths pass through, ints and floats use ``str()``, and bools become ``"1"`` or
    ``"0"`` (the spelling every ORT provider parses).

    Raises:
        OptionError: ``value`` is of another type (``what`` names it in the message).
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    raise OptionError(
        f"{what}: expected a str, int, float, bool or path, got {value!r} ({type(value).__name__})"
    )
