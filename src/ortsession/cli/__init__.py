"""The ``ortsession`` command line (also ``python -m ortsession``).

Subcommands: ``demo``, ``inspect MODEL``, ``run MODEL``, ``bench MODEL`` and ``lua SCRIPT``; each
has ``--help``. See ``docs/cli.md``.

Exit status: 0 success; 1 the model cannot be loaded, rejects its inputs, or fails to run;
2 the command line is wrong (unknown flag, malformed value, unreadable input file, bad JSON,
invalid session option). Errors are one line on stderr, ``ortsession: error: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import ortsession as ort
from ortsession._interrupt import Watch, watch

from . import _batch, _bench, _demo, _inspect, _lua, _run
from ._common import UsageError
from ._output import Output

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
"""Exit status: success."""
EXIT_FAILURE = 1
"""Exit status: the model could not be loaded, rejected its inputs, or failed to run."""
EXIT_USAGE = 2
"""Exit status: the command line is wrong."""
EXIT_INTERRUPTED = 130
"""Exit status: interrupted by Ctrl-C (SIGINT); runs in progress were terminated."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, raised as :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """Return the ``ortsession`` argument parser with every subcommand."""
    parser = _Parser(
        prog="ortsession",
        description="ortsession: the ONNX Runtime session module, from the command line.",
        epilog="Run 'ortsession COMMAND --help' for the options of a command. "
               "Exit status: 0 ok, 1 model/run failure, 2 bad usage.")
    parser.add_argument("--version", action="version",
                        version=f"ortsession {ort.__version__} (ONNX Runtime {ort.version()})")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no notes and no progress bars on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    _demo.add_parser(subparsers)
    _inspect.add_parser(subparsers)
    _run.add_parser(subparsers)
    _bench.add_parser(subparsers)
    _lua.add_parser(subparsers)
    _batch.add_parser(subparsers)
    return parser


def _dispatch(argv: Sequence[str] | None, out: Output) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    words, script_args = _lua.split_argv(words)
    args, extra = parser.parse_known_args(words)
    if extra:
        # run/bench inputs may follow flags (run m.onnx --random sr=16000): argparse ends
        # the INPUT list at the first flag and leaves the rest here
        flags = [w for w in extra if w.startswith("-")]
        if flags or not hasattr(args, "inputs"):
            parser.error(f"unrecognized arguments: {' '.join(flags or extra)}")
        args.inputs = [*args.inputs, *extra]
    if script_args is not None:
        args.verbatim_args = script_args
    if args.command is None:
        raise UsageError("a command is required: demo, inspect, run, bench or lua "
                         "(see 'ortsession --help')")
    out.quiet = out.quiet or args.quiet or bool(getattr(args, "sub_quiet", False))
    handler: Any = args.handler
    return int(handler(args, out))


def main(argv: Sequence[str] | None = None, *, output: Output | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 usage).

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).
        output: where to write (default: stdout/stderr, rich on a terminal).
    """
    out = output if output is not None else Output()
    with watch() as interrupt:
        try:
            return _main(argv, out, interrupt)
        except KeyboardInterrupt:
            out.error("interrupted")
            return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None, out: Output, interrupt: Watch) -> int:
    try:
        status = _dispatch(argv, out)
    except UsageError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ort.OptionError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ort.OrtError as exc:
        if interrupt.interrupted:  # a run stopped by Ctrl-C (TerminatedError) or its fallout
            out.error("interrupted")
            return EXIT_INTERRUPTED
        out.error(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``ortsession inspect m.onnx | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    if interrupt.interrupted and status != EXIT_INTERRUPTED:
        # Ctrl-C came when the last run was already ending (a command that stopped on it has
        # said so itself, as `batch` does)
        out.error("interrupted")
        return EXIT_INTERRUPTED
    return status
