"""``ortsession demo``: the reference module's example on the bundled demo model.

It runs in Python, then verbatim in Lua (when the ``lua`` extra is installed). ``make demo`` runs
it.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import IO, Any, Final, cast

import ortsession as ort
from ortsession import models

from ._common import UsageError, fallback_line, format_dims, open_session
from ._lua import load_run_script
from ._output import Output

__all__ = ["PYTHON_OPTIONS", "add_parser", "home_path"]

MODEL: Final = "demo/model.onnx"

PYTHON_OPTIONS: Final[dict[str, Any]] = {
    "providers": ["coreml", "cpu"],
    "fallback_to_cpu": True,
    "coreml_compute_units": "all",
}
"""The session options of the reference example, as a Python dict."""

EXPECTED: Final = [1.5, 1.5]


def home_path() -> str:
    """Return the folder ``XXT_HOME_PATH`` points to in the demo: the one holding ``models/``."""
    return str(Path(models.path(MODEL)).parents[2])


def add_parser(subparsers: Any) -> None:
    """Register ``demo`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "demo", help="run the reference example on the bundled demo model (Python, then Lua)",
        description="Run the reference module's example on the bundled model demo/model.onnx "
                    "(y = x + bias): first through the Python API, printing the inputs, the "
                    "outputs and the providers in effect, then the example script verbatim "
                    "through the Lua front end when the 'lua' extra (lupa) is installed.")
    parser.add_argument("--no-lua", action="store_true", help="skip the Lua part")
    parser.set_defaults(handler=run_demo)


def _row(role: str, name: str, value: ort.Tensor) -> list[str]:
    return [role, name, value.data_type, format_dims(value.shape, None), str(value.to_table())]


def _python_part(out: Output) -> tuple[bool, str | None]:
    """Run the example through the Python API; return (result as expected, fallback line)."""
    path = models.path(MODEL)
    out.heading("Python")
    out.print(f"  session = ortsession.session(models.path({MODEL!r}), {PYTHON_OPTIONS!r})")
    with open_session(path, dict(PYTHON_OPTIONS), Output(quiet=True)) as session:
        fallback = fallback_line(session)
        if fallback is not None:
            out.print(f"  {fallback}")
        out.print(f"  providers in effect: {', '.join(session.providers())}")
        x = ort.tensor("float32", [1, 2], [1.0, 2.0])
        bias = ort.tensor("float32", [1, 2], [0.5, -0.5])
        run_options = ort.run_options({"tag": "demo"})
        outputs = session.run({"x": x, "bias": bias}, ["y"], run_options)
    y = outputs["y"]
    out.table("  inputs and outputs", ["", "name", "type", "shape", "values"],
              [_row("input", "x", x), _row("input", "bias", bias), _row("output", "y", y)])
    out.print(f"  outputs[\"y\"].to_table()[0] = {y.to_table()[0]}")
    return y.to_table() == EXPECTED, fallback


class _LuaWarnings(io.TextIOBase):
    """The Lua runtime's stderr: a provider fallback warning becomes the demo's one line."""

    def __init__(self, out: Output, fallback: str | None) -> None:
        self._out = out
        self._fallback = fallback

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.startswith("Lua warning: ") and "CPU" in line:
                self._out.print(f"  {self._fallback or line}")
                self._out.flush()
            else:
                sys.stderr.write(line + "\n")
        return len(text)


def _lua_part(out: Output, fallback: str | None) -> int:
    """Run the reference example verbatim through the Lua front end; return its status."""
    from ortsession.lua import example_path, new_runtime, run_script

    script = example_path()
    out.print()
    out.heading("Lua (the reference example, verbatim)")
    out.print(f"  script: {script}")
    out.print(f"  XXT_HOME_PATH = {home_path()}")
    runtime = new_runtime(home_path(), stderr=cast("IO[str]", _LuaWarnings(out, fallback)))
    runtime.execute(b'warn("@on")')  # show the provider fallback, as one line
    out.flush()
    return int(run_script(script, [], runtime=runtime))


def run_demo(args: argparse.Namespace, out: Output) -> int:
    """Run ``demo``; return the exit status."""
    out.print(f"ortsession demo: the reference module's example on the bundled model {MODEL} "
              f"(y = x + bias)")
    out.print(f"ONNX Runtime {ort.version()}; providers available: {', '.join(ort.providers())}")
    out.print()
    ok, fallback = _python_part(out)
    if not ok:
        out.error(f"the demo model returned an unexpected result (expected y = {EXPECTED})")
        return 1
    if args.no_lua:
        return 0
    try:
        load_run_script()
    except UsageError as exc:
        out.print()
        out.print(f"Lua: skipped ({exc})")
        return 0
    return _lua_part(out, fallback)
