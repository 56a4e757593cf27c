"""Pieces shared by the subcommands.

Usage errors, session options from the command line, opening a session (a provider fallback
becomes one note), and formatting of type information.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ortsession as ort
from ortsession._providers import display_name, short_name

from ._output import Output

__all__ = [
    "HelpFormatter",
    "UsageError",
    "add_session_arguments",
    "describe_type",
    "format_shape",
    "json_text",
    "load_json_file",
    "open_session",
    "parse_key_value",
    "regular_file",
    "session_options",
]

class HelpFormatter(argparse.HelpFormatter):
    """Wrap descriptions as usual, but keep texts that hold line breaks (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class UsageError(Exception):
    """The command line is wrong (exit status 2).

    A malformed flag value, an unreadable file named on the command line, bad JSON, an argument
    that contradicts another.
    """


def parse_key_value(text: str, flag: str) -> tuple[str, str]:
    """Split ``KEY=VALUE``; raise :class:`UsageError` naming ``flag`` when it is malformed."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{flag} expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def json_or_string(text: str) -> Any:
    """Parse ``text`` as JSON when it is valid JSON, else return it as a string.

    ``2`` → ``2``, ``true`` → ``True``, ``["cpu"]`` → ``["cpu"]``, ``all`` → ``"all"``.
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def regular_file(path: str, what: str) -> str:
    """Return ``path`` if it names a regular file; :class:`UsageError` otherwise.

    Checked before opening: a FIFO would block the command forever, and ``/dev/zero`` or
    another device would be read without end.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return path  # missing or unreadable: opening it says so, as before
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise UsageError(f"{what} {path!r}: is {kind}; give a regular file")
    return path


def json_text(text: str, what: str, *, quote: bool = False) -> Any:
    """Parse JSON text; :class:`UsageError` naming ``what`` when invalid or nested too deep.

    With ``quote``, a message about invalid JSON quotes the text (for short command-line values).
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise UsageError(f"{what}: the JSON is nested too deeply") from None
    except ValueError as exc:
        shown = f" {text!r}" if quote else ""
        raise UsageError(f"{what}: invalid JSON{shown}: {exc}") from None


def load_json_file(path: str, flag: str) -> Any:
    """Read a JSON file named by ``flag``; :class:`UsageError` if missing or invalid."""
    regular_file(path, flag)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{flag} {path!r}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{flag} {path!r}: not UTF-8 text ({exc.reason} at byte "
                         f"{exc.start})") from None
    except MemoryError:
        raise UsageError(f"{flag} {path!r}: too big to read into memory") from None
    return json_text(text, f"{flag} {path!r}")


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``MODEL``, ``--option KEY=VALUE`` and ``--options FILE`` to a subcommand."""
    parser.add_argument("model", metavar="MODEL", help="path of the .onnx model file")
    group = parser.add_argument_group("session options (see docs/options.md)")
    group.add_argument(
        "--option", "-O", dest="option", action="append", default=[], metavar="KEY=VALUE",
        help="one session option; VALUE is parsed as JSON when it is valid JSON, else taken as "
             "a string (e.g. -O intra_op_num_threads=2 -O providers='[\"cpu\"]' "
             "-O graph_optimization_level=all); repeatable, overrides --options")
    group.add_argument(
        "--options", dest="options_file", metavar="FILE.json",
        help="session options as one JSON object (the reference's options table)")


def session_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the session options of ``--options FILE`` updated by each ``--option K=V``."""
    options: dict[str, Any] = {}
    if getattr(args, "options_file", None):
        loaded = load_json_file(args.options_file, "--options")
        if not isinstance(loaded, dict):
            raise UsageError(f"--options {args.options_file!r}: expected a JSON object "
                             f"{{\"option\": value, ...}}, got {type(loaded).__name__}")
        options.update(loaded)
    for item in getattr(args, "option", []):
        key, value = parse_key_value(item, "--option")
        options[key] = json_or_string(value)
    return options


def fallback_line(session: ort.Session) -> str | None:
    """One line saying which requested providers were replaced by CPU, or ``None``.

    ``"CoreML not available, fell back to CPU"`` when this ONNX Runtime build lacks the
    provider, ``"CUDA failed to initialise, fell back to CPU (reason)"`` when it failed to start.
    """
    reason = session.fallback_reason
    if reason is None:
        return None
    in_effect = set(session.providers())
    lost = [short_name(p) for p in session.options.providers if short_name(p) not in in_effect]
    if not lost:
        return f"fell back to CPU: {reason}"
    names = ", ".join(display_name(p) for p in lost)
    if set(lost) & set(ort.providers()):
        return f"{names} failed to initialise, fell back to CPU ({reason})"
    return f"{names} not available, fell back to CPU"


def open_session(model: str, options: dict[str, Any], out: Output) -> ort.Session:
    """Create the session; a provider fallback becomes one note on stderr, not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ort.ProviderFallbackWarning)
        session = ort.session(model, options)
    line = fallback_line(session)
    if line is not None:
        out.note(line)
    return session


def format_dims(shape: Sequence[int] | None, symbols: Sequence[str] | None) -> str:
    """``(-1, 3)`` with symbols ``("N", "")`` → ``"[N, 3]"``; unnamed free dims are ``?``."""
    if shape is None:
        return "unknown"
    symbols = symbols or ("",) * len(shape)
    dims = [str(d) if d >= 0 else (s or "?") for d, s in zip(shape, symbols)]
    return "[" + ", ".join(dims) + "]"


def format_shape(info: ort.TypeInfo) -> str:
    """Format the declared shape of a tensor with symbolic names (``[N, 3]``); ``-`` else."""
    if info.onnx_type not in ("tensor", "sparse_tensor"):
        return "-"
    if not info.has_shape:
        return "unknown"
    return format_dims(info.shape, info.symbolic_shape)


def describe_type(info: ort.TypeInfo) -> str:
    """Return a readable type name.

    ``float32``, ``sparse float32``, ``sequence<float32>``, ``map<int64, float32>``,
    ``optional<sequence<int64>>``.
    """
    if info.onnx_type == "tensor":
        return info.data_type or info.type
    if info.onnx_type == "sparse_tensor":
        return f"sparse {info.data_type or info.type}"
    if info.onnx_type == "sequence" and info.element is not None:
        return f"sequence<{describe_type(info.element)}>"
    if info.onnx_type == "optional" and info.element is not None:
        return f"optional<{describe_type(info.element)}>"
    if info.onnx_type == "map" and info.value is not None:
        return f"map<{info.key_type}, {describe_type(info.value)}>"
    return info.type
