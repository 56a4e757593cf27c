"""The Lua host: runtimes with ``require("onnxruntime")``, and a script runner like ``lua``."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any, Final

from ortsession._interrupt import Watch, watch

from ._bridge import Bridge
from ._ops_bridge import install as install_ops

__all__ = ["example_path", "new_runtime", "run_script", "run_source", "to_python"]

_INSTALL_HINT: Final = (
    "the Lua front end needs lupa with Lua 5.4 (lupa >= 2.0); install the 'lua' extra: "
    "pip install 'ortsession[lua]'"
)
_INTERPRETER: Final = b"ortsession"
"""``arg[-1]`` of a script, the interpreter's name (``lua`` in the standalone interpreter)."""


def _lua54() -> Any:
    """Import ``lupa.lua54`` or raise an :class:`ImportError` that says how to install it."""
    try:
        from lupa import lua54
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return lua54


@functools.cache
def _runtime_class() -> Any:
    lua54 = _lua54()

    base: Any = lua54.LuaRuntime

    class LuaHost(base):  # type: ignore[misc]
        """A lupa ``LuaRuntime`` that remembers its host internals."""

        _ortsession: _Host

    return LuaHost


@functools.cache
def _source(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def default_home() -> str:
    """Return the default ``XXT_HOME_PATH``: the package folder, which holds ``models/demo/``."""
    return str(Path(__file__).resolve().parent.parent)


def example_path() -> str:
    """Path of the bundled copy of the reference's example script (``reference_example.lua``).

    It runs as is in a runtime whose ``XXT_HOME_PATH`` is :func:`default_home` and prints
    ``1.5``.
    """
    return str(Path(__file__).resolve().parent / "reference_example.lua")


class _Stream:
    """Writes Lua strings (``bytes``) to a text stream, or to ``sys.stdout``/``sys.stderr``."""

    def __init__(self, stream: IO[str] | None, name: str) -> None:
        self._stream = stream
        self._name = name

    def target(self) -> IO[str]:
        if self._stream is not None:
            return self._stream
        stream: IO[str] = getattr(sys, self._name)
        return stream

    def write(self, data: bytes) -> None:
        target = self.target()
        buffer = getattr(target, "buffer", None)
        if buffer is not None:
            target.flush()
            buffer.write(data)
            if getattr(target, "line_buffering", False) or getattr(target, "write_through",
                                                                    False):
                buffer.flush()
        else:
            target.write(data.decode("utf-8", "replace"))

    def flush(self) -> None:
        target = self.target()
        target.flush()
        buffer = getattr(target, "buffer", None)
        if buffer is not None:
            buffer.flush()


_HOOK_EVERY: Final = 100_000
"""Lua instructions between two checks for Ctrl-C when the hook cannot be armed on demand."""
_LUA_MASKCOUNT: Final = 8


@functools.cache
def _lua_api() -> tuple[Any, Any] | None:
    """``(lua_gethook, lua_sethook)`` of lupa's Lua 5.4, through ctypes; ``None`` if absent.

    ``lua_sethook`` is safe to call asynchronously (Lua's own interpreter calls it from its
    SIGINT handler): the Ctrl-C watcher thread arms the hook only when the signal comes, so a
    script pays nothing for it until then (an always-armed count hook costs every instruction).
    """
    try:
        lib = ctypes.CDLL(_lua54().__file__)
        get, set_ = lib.lua_gethook, lib.lua_sethook
    except (OSError, AttributeError, ImportError):
        return None
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    set_.restype = None
    set_.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    return get, set_

_HOOK_SOURCE: Final = b"""
local sethook, check, every = debug.sethook, ...
local function hook() check() end
return function(on, count)
  if on then sethook(hook, "", count or every) else sethook() end
end
"""


class _Host:
    """What a runtime made by :func:`new_runtime` keeps: its runner, bridge and streams."""

    def __init__(self, run: Any, run_string: Any, internals: Any, bridge: Bridge,
                 out: _Stream, err: _Stream) -> None:
        self.run = run
        self.run_string = run_string
        self.internals = internals
        self.bridge = bridge
        self.out = out
        self.err = err
        self.watch: Watch | None = None
        self.hook: Any = None
        self.state = 0  # the main lua_State*, for arming the hook from the watcher thread
        self._armer: tuple[Any, int] | None = None

    def prepare_hook(self) -> bool:
        """Register the Ctrl-C hook, disarmed; return whether :meth:`arm_hook` can arm it.

        Without the C API (another Lua build), the hook stays armed every
        :data:`_HOOK_EVERY` instructions instead.
        """
        self.hook(True)
        api = _lua_api()
        if api is None or not self.state:
            return False
        get, set_ = api
        hook = get(self.state)
        if not hook:
            return False
        set_(self.state, None, 0, 0)  # the Lua function stays registered for the state
        self._armer = (set_, hook)
        return True

    def arm_hook(self) -> None:
        """Arm the registered hook at the next instruction (from the watcher thread)."""
        if self._armer is not None:
            set_, hook = self._armer
            set_(self.state, hook, _LUA_MASKCOUNT, 1)

    def check_interrupt(self) -> None:
        """Raise ``KeyboardInterrupt`` once Ctrl-C came (the Lua count hook calls this).

        The flag keeps raising while the script swallows the error with ``pcall``.
        """
        watch = self.watch
        if watch is not None and watch.interrupted:
            # from now on at every instruction: an error caught by the script's pcall is
            # raised again at the first instruction outside it
            self.hook(True, 1)
            raise KeyboardInterrupt


def new_runtime(home: str | os.PathLike[str] | None = None, stdout: IO[str] | None = None,
                *, stderr: IO[str] | None = None) -> Any:
    """Create a Lua 5.4 runtime (a lupa ``LuaRuntime``) hosting the reference module.

    In the runtime, ``require("onnxruntime")`` returns the module, ``XXT_HOME_PATH`` is set,
    ``print``/``io.write``/``io.stdout`` write to ``stdout``, ``io.stderr`` and ``warn`` (off
    until ``warn("@on")``, as in Lua) to ``stderr``, ``os.exit`` ends the script without ending
    the process, and lupa's ``python`` global is removed. The runtime has no string encoding:
    Lua strings reach Python as ``bytes``, so use ``bytes`` for Lua strings you pass in.

    Args:
        home: the value of ``XXT_HOME_PATH``; default: the package folder, which holds the
            bundled ``models/demo/model.onnx`` that the reference's example loads.
        stdout: text stream for the script's output; default: ``sys.stdout`` at each write.
        stderr: text stream for warnings and ``io.stderr``; default: ``sys.stderr``.

    Returns:
        The runtime; run code with :func:`run_script`/:func:`run_source`, or with lupa's own
        ``execute``/``eval``.

    Raises:
        ImportError: lupa (with Lua 5.4) is not installed; the message says how to get it.
    """
    lua54 = _lua54()
    rt = _runtime_class()(encoding=None, unpack_returned_tuples=True, register_eval=False,
                          register_builtins=False)
    bridge = Bridge(rt, lua54.lua_type)
    out, err = _Stream(stdout, "stdout"), _Stream(stderr, "stderr")

    def flush() -> None:
        out.flush()
        err.flush()

    load = rt.eval("load")
    factory = load(_source("onnxruntime.lua"), b"=onnxruntime.lua")
    runs = load(_source("runs.lua"), b"=onnxruntime runs.lua")
    setup = load(_source("host.lua"), b"=ortsession host")
    host_functions = rt.table_from({b"out": out.write, b"err": err.write, b"flush": flush})
    run, run_string, internals = setup(host_functions, factory, bridge.table(), runs)
    bridge.attach(internals)
    install_ops(rt, bridge, internals, _source)
    rt.globals()[b"XXT_HOME_PATH"] = os.fsencode(home if home is not None else default_home())
    host = _Host(run, run_string, internals, bridge, out, err)
    host.hook = load(_HOOK_SOURCE, b"=ortsession interrupt")(host.check_interrupt, _HOOK_EVERY)
    pointer = rt.eval('string.format("%p", (coroutine.running()))')
    try:
        host.state = int(pointer.decode("ascii"), 16)
    except (AttributeError, ValueError):
        host.state = 0
    rt._ortsession = host
    return rt


def _host_of(runtime: Any) -> _Host:
    host = getattr(runtime, "_ortsession", None)
    if not isinstance(host, _Host):
        raise TypeError(f"expected a runtime made by ortsession.lua.new_runtime(), got "
                        f"{type(runtime).__name__}")
    return host


def to_python(runtime: Any, value: Any) -> Any:
    """Return the Python value of a Lua value taken from ``runtime``.

    A module object (tensor, session, run options, IO binding, optional, custom-op library)
    gives its Python object (``ortsession.Tensor``…); a Lua string gives ``str``, an array a
    list, another table a dict; numbers, booleans and ``nil`` map to themselves.

    Raises:
        TypeError: ``runtime`` was not made by :func:`new_runtime`.
        ortsession.TensorError: the value is a Lua function, thread or foreign userdata.
    """
    return _host_of(runtime).bridge.from_lua(value)


def _encode(value: str | bytes | os.PathLike[str]) -> bytes:
    return value if isinstance(value, bytes) else os.fsencode(value)


def _execute(runtime: Any, call: Callable[[_Host], Any], stderr: IO[str] | None) -> int:
    err = stderr if stderr is not None else sys.stderr
    host = _host_of(runtime)
    try:
        with watch() as interrupt:
            # Ctrl-C: runs in progress are terminated, and a count hook stops busy Lua code
            interrupt.on_interrupt(host.bridge.terminate_runs)
            host.watch = interrupt
            if host.prepare_hook():
                interrupt.on_interrupt(host.arm_hook)
            try:
                try:
                    result = call(host)
                finally:
                    host.out.flush()
            except KeyboardInterrupt:
                result = None
            except Exception as exc:  # a lupa LuaError outside the script's own protection
                if not interrupt.interrupted:
                    err.write(f"lua: {exc}\n")
                    return 1
            if interrupt.interrupted or result is None:
                err.write("lua: interrupted (Ctrl-C): the script was stopped\n")
                err.flush()
                return 130
    finally:
        host.watch = None  # first: disarming runs Lua code, which an armed hook interrupts
        host.hook(False)  # after the watch: the watcher thread can no longer arm it
    code, message = (result, None) if not isinstance(result, tuple) else (*result, None)[:2]
    if message is not None:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        err.write(f"lua: {text}\n")
        err.flush()
    return int(code)


def _arg_table(runtime: Any, script: bytes, args: Sequence[str | bytes]) -> list[bytes]:
    encoded = [_encode(a) for a in args]
    table: dict[int, bytes] = {-1: _INTERPRETER, 0: script}
    table.update(enumerate(encoded, 1))
    runtime.globals()[b"arg"] = runtime.table_from(table)
    return encoded


def _runtime_for(runtime: Any, home: str | os.PathLike[str] | None, stdout: IO[str] | None,
                 stderr: IO[str] | None) -> Any:
    """Return ``runtime``, or a new one; ``None`` (after the install hint) without lupa."""
    if runtime is not None:
        return runtime
    try:
        return new_runtime(home, stdout, stderr=stderr)
    except ImportError as exc:
        (stderr if stderr is not None else sys.stderr).write(f"lua: {exc}\n")
        return None


def run_script(path: str | os.PathLike[str], args: Sequence[str | bytes] = (),
               home: str | os.PathLike[str] | None = None, *, runtime: Any = None,
               stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run a Lua script file the way the standalone ``lua`` interpreter does; return its exit code.

    ``ortsession lua SCRIPT.lua [args...] [--home DIR]`` is ``run_script(SCRIPT, args, DIR)``.
    The script runs in a fresh :func:`new_runtime` (``require("onnxruntime")``,
    ``XXT_HOME_PATH``) unless ``runtime`` is given. As in ``lua``, the global ``arg`` holds the
    script path at ``arg[0]``, the arguments at ``arg[1..n]`` (and the interpreter name at
    ``arg[-1]``), and the script receives the arguments as ``...``.

    Exit code: ``0`` when the script ends normally; ``os.exit(code)`` gives ``code`` (``true``
    → 0, ``false`` → 1); ``1`` when the script cannot be loaded (missing file, syntax error) or
    raises a Lua error, after writing ``lua: <message>`` and the Lua stack traceback to
    ``stderr``; ``130`` on ``KeyboardInterrupt``. If lupa is missing, the install hint is
    written to ``stderr`` and the code is ``1``. The script's output is flushed before returning.

    Args:
        path: the script file.
        args: the script's arguments (``str`` or ``bytes``).
        home: ``XXT_HOME_PATH`` (default: the package folder, see :func:`new_runtime`); ignored
            when ``runtime`` is given.
        runtime: run in this runtime (from :func:`new_runtime`) instead of a new one.
        stdout: stream for the script's output (default: ``sys.stdout``); ignored when
            ``runtime`` is given.
        stderr: stream for errors and warnings (default: ``sys.stderr``).
    """
    runtime = _runtime_for(runtime, home, stdout, stderr)
    if runtime is None:
        return 1
    script = _encode(path)
    encoded = _arg_table(runtime, script, args)
    return _execute(runtime, lambda host: host.run(script, *encoded), stderr)


def run_source(source: str | bytes, args: Sequence[str | bytes] = (),
               home: str | os.PathLike[str] | None = None, *, name: str = "=(source)",
               runtime: Any = None, stdout: IO[str] | None = None,
               stderr: IO[str] | None = None) -> int:
    """Run a chunk of Lua source like :func:`run_script` runs a file; return the exit code.

    ``name`` is the chunk name shown in messages and tracebacks (Lua's convention: ``=name``
    as is, ``@file`` for a file name); ``arg[0]`` is ``name`` without its prefix.
    """
    runtime = _runtime_for(runtime, home, stdout, stderr)
    if runtime is None:
        return 1
    code = source.encode("utf-8") if isinstance(source, str) else source
    chunk_name = name.encode("utf-8")
    encoded = _arg_table(runtime, chunk_name.lstrip(b"=@"), args)
    return _execute(runtime, lambda host: host.run_string(code, chunk_name, *encoded), stderr)
