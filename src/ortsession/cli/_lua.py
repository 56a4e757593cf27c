"""``ortsession lua SCRIPT [ARGS...] [--home DIR]``: run a Lua script against the reference module.

The Lua host (``ortsession.lua``, extra ``lua``) is imported only when this command runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, cast

from ._common import UsageError
from ._output import Output

__all__ = ["INSTALL_HINT", "add_parser", "load_run_script", "lua_available", "split_argv",
           "split_home"]

INSTALL_HINT = ("the Lua front end needs lupa: install the 'lua' extra, "
                "e.g. pip install 'ortsession[lua]'")


def add_parser(subparsers: Any) -> None:
    """Register ``lua`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "lua", help="run a Lua script written against the reference module",
        description="Run a Lua script in which require(\"onnxruntime\") is the reference session "
                    "module. Arguments after SCRIPT are passed to it (the Lua global 'arg', "
                    "arg[0] being the script). XXT_HOME_PATH is set to --home (default: the "
                    "ortsession package folder, so XXT_HOME_PATH..\"/models/demo/model.onnx\" "
                    "is the bundled demo model).",
        epilog="--home may come before SCRIPT, or last; to pass '--home' to the script itself, "
               "put '--' before the script's arguments. Needs the 'lua' extra (lupa). "
               "Ctrl-C stops the script (runs in progress are terminated) with exit status 130. "
               "TRUST: a script is a program, not sandboxed: it has Lua's full standard "
               "libraries (os.execute, io.open: commands and every file you can reach), "
               "reaches Python itself through the module's objects (each holds its Python "
               "object), and a custom-op library it loads runs native code; run only scripts "
               "you trust.")
    parser.add_argument("--home", metavar="DIR",
                        help="the directory XXT_HOME_PATH points to")
    parser.add_argument("--screen", metavar="FILE",
                        help="an image file that screen.image() returns (the desktop stand-in "
                             "for the host's screen)")
    parser.add_argument("script", metavar="SCRIPT", nargs="?",
                        help="the Lua script (.lua) to run")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments for the script")
    parser.set_defaults(handler=run_lua, verbatim_args=None)


def split_argv(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Cut the script's arguments off a command line whose command is ``lua``.

    argparse would drop a ``--`` among them; everything after ``SCRIPT`` belongs to the script,
    so it is kept out of argparse's hands. Returns ``(argv for argparse, script arguments)``,
    or ``(argv, None)`` when the command is not ``lua`` or there is no script.
    """
    i = 0
    while i < len(argv) and argv[i].startswith("-"):  # global flags take no value
        i += 1
    if i >= len(argv) or argv[i] != "lua":
        return argv, None
    i += 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("--home", "--screen"):
            i += 2
        elif arg.startswith("-") and arg != "-":
            i += 1
        else:
            return argv[: i + 1], argv[i + 1:]
    return argv, None


def split_home(script_args: list[str], home: str | None) -> tuple[list[str], str | None]:
    """Take a trailing ``--home DIR`` (or ``--home=DIR``) off the script's arguments.

    A leading ``--`` marks every argument as the script's: it is dropped and nothing is taken.
    """
    if script_args[:1] == ["--"]:
        return script_args[1:], home
    if len(script_args) >= 2 and script_args[-2] == "--home":
        return script_args[:-2], script_args[-1]
    if script_args and script_args[-1].startswith("--home="):
        return script_args[:-1], script_args[-1].split("=", 1)[1]
    return script_args, home


def lua_available() -> bool:
    """Tell whether ``lupa`` (the ``lua`` extra) is installed."""
    try:
        import lupa  # noqa: F401
    except ImportError:
        return False
    return True


def load_run_script() -> Callable[..., int]:
    """Return ``ortsession.lua.run_script``.

    Raises :class:`UsageError` with the install hint when the Lua front end cannot be imported.
    """
    if not lua_available():
        raise UsageError(INSTALL_HINT)
    try:
        from ortsession.lua import run_script
    except ImportError as exc:
        raise UsageError(f"the Lua front end cannot be imported: {exc}") from None
    return cast("Callable[..., int]", run_script)


def run_lua(args: argparse.Namespace, out: Output) -> int:
    """Run ``lua``; return the script's exit status."""
    given = args.script_args if args.verbatim_args is None else args.verbatim_args
    script_args, home = split_home(list(given), args.home)
    if args.script is None:
        raise UsageError("a Lua script is required: ortsession lua SCRIPT [ARGS...] "
                         "(see 'ortsession lua --help')")
    run_script = load_run_script()
    if not os.path.isfile(args.script):
        raise UsageError(f"no such Lua script {args.script!r}")
    if home is not None and not os.path.isdir(home):
        raise UsageError(f"--home {home!r} is not a directory")
    screen = getattr(args, "screen", None)
    if screen is not None and not os.path.isfile(screen):
        raise UsageError(f"--screen {screen!r} is not a file")
    out.flush()
    if screen is None:
        return int(run_script(args.script, script_args, home=home))
    from ortsession.lua import new_runtime, set_screen

    runtime = new_runtime(home)
    set_screen(runtime, screen)
    return int(run_script(args.script, script_args, runtime=runtime))
