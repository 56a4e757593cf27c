"""Ctrl-C (issue 10, §4): real subprocesses, real ``SIGINT``, models that run for many seconds.

``ortsession run`` and ``bench`` (output piped) terminate the runs in progress and exit 130 with
one line on stderr; ``ortsession lua`` does the same for a script inside a model run, a busy Lua
loop, and a loop that swallows errors with ``pcall``. In-process, ``ortsession.lua.run_script``
returns 130 and the signal handling of the caller is restored.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import models
import ortsession as ort
from ortsession import models as bundled
from ortsession._interrupt import watch

SLOW_SECONDS = 30.0
"""How long the slow model runs uninterrupted (one thread): far beyond any wait below."""
PROMPT = 5.0
"""Most seconds from SIGINT to exit (a loaded 2-core machine; typically 0.2 s)."""


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("interrupt") / "slow.onnx"
    path.write_bytes(models.slow_model(SLOW_SECONDS))
    return str(path)


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def _interrupt(args: list[str], ready: Callable[[subprocess.Popen[bytes]], bool],
               settle: float = 0.5) -> tuple[int, float, str, str]:
    """Start ``ortsession ARGS`` (stdout and stderr piped), SIGINT it once ready; return
    ``(exit status, seconds from the signal to the exit, stdout, stderr)``."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    proc = subprocess.Popen([sys.executable, "-m", "ortsession", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready(proc):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the command never got ready"
            time.sleep(0.05)
        time.sleep(settle)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - sent, out.decode(), err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _written(path: Path) -> Callable[[subprocess.Popen[bytes]], bool]:
    """Ready once ``path`` exists: ORT writes the optimized model when the session is made,
    right before the command's first run."""
    return lambda proc: path.exists() and path.stat().st_size > 0


def _printed(marker: str) -> Callable[[subprocess.Popen[bytes]], bool]:
    def ready(proc: subprocess.Popen[bytes]) -> bool:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the script ended before printing its marker"
        return marker in line.decode()

    return ready


def _check(result: tuple[int, float, str, str], message: str) -> None:
    rc, seconds, _, err = result
    assert rc == 130, result
    assert seconds < PROMPT, result
    assert "Traceback" not in err and "terminate called" not in err, result
    lines = err.splitlines()
    assert lines == [message], result


def test_ctrl_c_terminates_a_long_run(slow_model: str, tmp_path: Path) -> None:
    marker = tmp_path / "optimized.onnx"
    result = _interrupt(["run", slow_model, "--random", "-O", "intra_op_num_threads=1",
                         "-O", f"optimized_model_path={marker}"], _written(marker))
    _check(result, "ortsession: error: interrupted")


@pytest.mark.parametrize("model", ["demo", pytest.param("slow", marks=pytest.mark.slow)])
@pytest.mark.parametrize("extra", [
    pytest.param(["--concurrency", "3"], id="run"),
    pytest.param(["--mode", "iobinding", "--concurrency", "2"], id="iobinding",
                 marks=pytest.mark.slow),
    pytest.param(["--mode", "run_into", "--compare-raw"], id="run_into-raw",
                 marks=pytest.mark.slow),
])
def test_ctrl_c_stops_bench_with_piped_output(slow_model: str, tmp_path: Path, model: str,
                                              extra: list[str]) -> None:
    """The issue's SIGABRT ("terminate called without an active exception"): on the demo model
    (many short runs in flight in every thread) and on a slow one (long runs to terminate)."""
    marker = tmp_path / "optimized.onnx"
    path = slow_model if model == "slow" else bundled.path("demo/model.onnx")
    args = ["bench", path, "--duration", "60", "--warmup", "0", "-O", "intra_op_num_threads=1",
            "-O", f"optimized_model_path={marker}", *extra]
    _check(_interrupt(args, _written(marker)), "ortsession: error: interrupted")


LUA_MODEL_RUN = """
local ort = require("onnxruntime")
local s = assert(ort.session(arg[1], {intra_op_num_threads = 1}))
local x = ort.tensor("float32", {256, 256})
print("running")
io.stdout:flush()
assert(s:run({x = x}))
print("finished")
"""

LUA_BUSY = """
print("running")
io.stdout:flush()
local x = 0
while true do x = x + 1 end
"""

LUA_PCALL = """
print("running")
io.stdout:flush()
local x = 0
while true do
  pcall(function() for _ = 1, 1e6 do x = x + 1 end end)
end
"""

LUA_RUN_OPTIONS = """
local ort = require("onnxruntime")
local s = assert(ort.session(arg[1], {intra_op_num_threads = 1}))
local ro = ort.run_options({tag = "mine"})
print("running")
io.stdout:flush()
while true do
  local ok = s:run({x = ort.tensor("float32", {256, 256})}, nil, ro)
end
"""


@pytest.mark.parametrize("script", [
    pytest.param(LUA_MODEL_RUN, id="model run"),
    pytest.param(LUA_BUSY, id="busy loop", marks=pytest.mark.slow),
    pytest.param(LUA_PCALL, id="pcall loop"),
    pytest.param(LUA_RUN_OPTIONS, id="own run options", marks=pytest.mark.slow),
])
def test_ctrl_c_stops_a_lua_script(tmp_path: Path, slow_model: str, script: str) -> None:
    pytest.importorskip("lupa")
    path = tmp_path / "script.lua"
    path.write_text(script)
    result = _interrupt(["lua", str(path), slow_model], _printed("running"))
    _check(result, "lua: interrupted (Ctrl-C): the script was stopped")
    assert "finished" not in result[2]


@pytest.fixture
def sigint_soon() -> Iterator[Callable[[float], None]]:
    """Send this process SIGINT after a delay (from a timer thread)."""
    timers: list[threading.Timer] = []

    def later(seconds: float) -> None:
        timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
        timers.append(timer)
        timer.start()

    yield later
    for timer in timers:
        timer.cancel()


def test_run_script_returns_130_and_restores_the_handlers(
        tmp_path: Path, sigint_soon: Callable[[float], None]) -> None:
    lua = pytest.importorskip("ortsession.lua")
    handler = signal.getsignal(signal.SIGINT)
    stderr = io.StringIO()

    class Started(io.StringIO):
        """Sends the Ctrl-C once the script prints: never before the script runs (loaded CI)."""

        def write(self, text: str) -> int:
            if not self.getvalue():
                sigint_soon(0.3)
            return super().write(text)

    code = lua.run_source(LUA_PCALL, stdout=Started(), stderr=stderr)
    assert code == 130
    assert stderr.getvalue() == "lua: interrupted (Ctrl-C): the script was stopped\n"
    assert signal.getsignal(signal.SIGINT) is handler
    # the runtime is usable again, without a leftover interrupt
    assert lua.run_source("local x = 0 for i = 1, 3e6 do x = x + i end") == 0


def test_watch_terminates_registered_runs_in_process(
        slow_model: str, sigint_soon: Callable[[float], None]) -> None:
    session = ort.session(slow_model, intra_op_num_threads=1)
    ro = ort.run_options()
    x = np.zeros((models.SLOW_SIZE, models.SLOW_SIZE), np.float32)
    with watch() as interrupt:
        interrupt.on_interrupt(ro.terminate)
        sigint_soon(0.3)
        start = time.monotonic()
        with pytest.raises(ort.TerminatedError):
            session.run({"x": x}, None, ro)
        assert time.monotonic() - start < PROMPT
        assert interrupt.interrupted
    # outside a watch, Ctrl-C is Python's KeyboardInterrupt again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
