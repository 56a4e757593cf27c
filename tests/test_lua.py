"""The Lua front end: Lua test scripts (``tests/lua/*.lua``) run through the host.

Each script asserts with Lua's ``assert``; a failing assertion is a Lua error, so the script
exits with code 1 and its traceback is shown here. Test models are built with the ``onnx``
helper (``tests/models.py``) into a temporary folder whose path the scripts get as ``arg[1]``.
Tests that call ``configure`` run in a fresh process (the runtime settings are per process).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lupa.lua54")

import models
import ortsession as ort
from ortsession import lua as ortlua

LUA_DIR = Path(__file__).parent / "lua"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "lua-session-module.txt"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every model the Lua scripts use, written to one folder (``arg[1]`` of the scripts)."""
    folder = tmp_path_factory.mktemp("lua_models")
    built = {
        "add.onnx": models.add(),
        "two_outputs.onnx": models.two_outputs(),
        "symbolic.onnx": models.symbolic(),
        "overridable.onnx": models.with_overridable_initializer(),
        "strings.onnx": models.string_model(),
        "sequences.onnx": models.sequence_model(),
        "maps.onnx": models.map_model("string"),
        "maps_int64.onnx": models.map_model("int64"),
        "optionals.onnx": models.optional_model(),
        "custom_op.onnx": models.custom_op_model(),
        "bfloat16.onnx": models.identity(16),  # TensorProto.BFLOAT16
        "slow.onnx": models.slow_model(3.0),
        "garbage.onnx": models.bad_models()["garbage"],
    }
    for name, data in built.items():
        (folder / name).write_bytes(data)
    (folder / "custom_op_library.txt").write_text(models.custom_op_library_path())
    return folder


class Host:
    """A Lua runtime with captured output, plus a test-only ``terminate_after`` global."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.runtime = ortlua.new_runtime(stdout=self.out, stderr=self.err)
        self.timers: list[threading.Timer] = []
        self.runtime.globals()[b"terminate_after"] = self._terminate_after

    def _terminate_after(self, run_options: Any, seconds: float) -> bool:
        ro = ortlua.to_python(self.runtime, run_options)
        assert isinstance(ro, ort.RunOptions)
        timer = threading.Timer(seconds, ro.terminate)
        timer.start()
        self.timers.append(timer)
        return True

    def run(self, script: str, *args: str) -> int:
        try:
            return ortlua.run_script(LUA_DIR / script, list(args), runtime=self.runtime,
                                     stderr=self.err)
        finally:
            for timer in self.timers:
                timer.cancel()


def run_lua(script: str, *args: str) -> Host:
    host = Host()
    code = host.run(script, *args)
    assert code == 0, f"{script} failed (exit {code}):\n{host.err.getvalue()}"
    return host


# --- the reference's example -----------------------------------------------------------------

def test_reference_example_prints_1_5() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = ortlua.run_script(LUA_DIR / "reference_example.lua", [], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue() == "1.5\n"
    assert err.getvalue() == ""  # the CoreML fallback is a Lua warning, off by default


def test_reference_example_is_the_reference_byte_for_byte() -> None:
    script = (LUA_DIR / "reference_example.lua").read_bytes()
    assert Path(ortlua.example_path()).read_bytes() == script
    if REFERENCE.exists():
        text = REFERENCE.read_bytes()
        assert text[text.index(b"\nExample\n\n") + len(b"\nExample\n\n"):] == script


def test_reference_example_in_a_fresh_process() -> None:
    code = ("import sys; from ortsession.lua import run_script; "
            f"sys.exit(run_script({str(LUA_DIR / 'reference_example.lua')!r}, []))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (0, "1.5\n"), proc.stderr


def test_reference_example_with_a_home_folder(tmp_path: Path) -> None:
    (tmp_path / "models" / "demo").mkdir(parents=True)
    (tmp_path / "models" / "demo" / "model.onnx").write_bytes(models.add())
    out = io.StringIO()
    assert ortlua.run_script(LUA_DIR / "reference_example.lua", [], tmp_path, stdout=out) == 0
    assert out.getvalue() == "1.5\n"


# --- the Lua suites ----------------------------------------------------------------------------

SUITES = [
    "test_module.lua",
    "test_tensor.lua",
    "test_session.lua",
    "test_options.lua",
    "test_run.lua",
    "test_values.lua",
    "test_iobinding.lua",
    "test_errors.lua",
    "test_host.lua",
    "test_ops.lua",
    "test_ops_host.lua",
]
FRESH_PROCESS = ["test_configure.lua", "test_configure_pools.lua"]


def test_every_lua_script_is_run() -> None:
    scripts = {p.name for p in LUA_DIR.glob("test_*.lua")}
    assert scripts == {*SUITES, "test_terminate.lua", *FRESH_PROCESS}


@pytest.mark.parametrize("script", SUITES)
def test_lua_suite(script: str, model_dir: Path) -> None:
    host = run_lua(script, str(model_dir), "second arg")
    assert f"{script}: ok" in host.out.getvalue()


def test_host_streams(model_dir: Path) -> None:
    host = run_lua("test_host.lua", str(model_dir), "second arg")
    assert host.out.getvalue().startswith("io.write io.stdout\nprint\t1\t2.5\ttrue\tnil\n")
    assert host.err.getvalue() == "Lua warning: a warning\n"


def test_provider_fallback_is_a_lua_warning(model_dir: Path) -> None:
    if "coreml" in ort.providers():
        pytest.skip("CoreML is available: no fallback")
    host = Host()
    source = (f'warn("@on")\nlocal ort = require("onnxruntime")\n'
              f'assert(ort.session({str(model_dir / "add.onnx")!r}, '
              f'{{providers = {{"coreml", "cpu"}}}}))\n')
    assert ortlua.run_source(source, [], runtime=host.runtime, stderr=host.err) == 0
    assert host.err.getvalue().startswith("Lua warning: execution provider 'coreml'")
    assert "runs on CPU" in host.err.getvalue()


def test_terminate(model_dir: Path) -> None:
    run_lua("test_terminate.lua", str(model_dir))


def _fresh_process(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from ortsession.lua import run_script; "
            f"sys.exit(run_script({str(LUA_DIR / script)!r}, sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PYTHONWARNINGS": "error"})


def test_configure_in_a_fresh_process(model_dir: Path) -> None:
    proc = _fresh_process("test_configure.lua", str(model_dir))
    assert proc.returncode == 0, proc.stderr
    assert "test_configure.lua: ok" in proc.stdout


@pytest.mark.skipif(not ort._engine.has("set_global_thread_pool_sizes"),
                    reason="this onnxruntime has no global thread pools (1.23+)")
def test_configure_global_thread_pools_in_a_fresh_process(model_dir: Path) -> None:
    proc = _fresh_process("test_configure_pools.lua", str(model_dir))
    assert proc.returncode == 0, proc.stderr
    assert "test_configure_pools.lua: ok" in proc.stdout


# --- the host: exit codes, tracebacks, arguments -------------------------------------------------

def _script(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "script.lua"
    path.write_text(source)
    return path


def test_a_script_error_prints_a_traceback_and_exits_1(tmp_path: Path) -> None:
    path = _script(tmp_path, "local function f()\n  error('boom')\nend\nf()\n")
    out, err = io.StringIO(), io.StringIO()
    assert ortlua.run_script(path, [], stdout=out, stderr=err) == 1
    message = err.getvalue()
    assert message.startswith("lua: ") and "script.lua:2: boom\nstack traceback:" in message
    assert "in local 'f'" in message
    assert message.endswith("script.lua:4: in main chunk\n"), message  # no host frames


def test_a_failed_assert_with_value_err_shows_the_message(tmp_path: Path) -> None:
    path = _script(tmp_path, 'local ort = require("onnxruntime")\n'
                             'assert(ort.session("/no/such/model.onnx"))\n')
    err = io.StringIO()
    assert ortlua.run_script(path, [], stdout=io.StringIO(), stderr=err) == 1
    assert "/no/such/model.onnx" in err.getvalue()
    assert "stack traceback:" in err.getvalue()


def test_missing_script_and_syntax_error(tmp_path: Path) -> None:
    err = io.StringIO()
    assert ortlua.run_script(tmp_path / "nope.lua", [], stderr=err) == 1
    assert "cannot open" in err.getvalue()
    err = io.StringIO()
    assert ortlua.run_script(_script(tmp_path, "local x = = 1\n"), [], stderr=err) == 1
    assert "unexpected symbol" in err.getvalue()


def test_error_objects_and_exit_codes(tmp_path: Path) -> None:
    err = io.StringIO()
    assert ortlua.run_script(_script(tmp_path, "error({})"), [], stderr=err) == 1
    assert "(error object is a table value)" in err.getvalue()
    for source, code in [("os.exit(3)", 3), ("os.exit(true)", 0), ("os.exit(false)", 1),
                         ("os.exit()", 0), ("os.exit(2.0)", 2), ("print('x') os.exit(0)", 0)]:
        assert ortlua.run_script(_script(tmp_path, source), [], stdout=io.StringIO(),
                                 stderr=io.StringIO()) == code, source


def test_run_source_and_arguments() -> None:
    out = io.StringIO()
    source = "print(arg[0], arg[1], arg[2], select('#', ...), ...)"
    assert ortlua.run_source(source, ["a", b"b"], name="=inline", stdout=out) == 0
    assert out.getvalue() == "inline\ta\tb\t2\ta\tb\n"


def test_to_python_converts_lua_values() -> None:
    rt = ortlua.new_runtime()
    value = rt.execute(b'local ort = require("onnxruntime")\n'
                       b'return {1, 2, {a = "x", b = {}}}, ort.tensor("int32", {2}, {1, 2})')
    assert ortlua.to_python(rt, value[0]) == [1, 2, {"a": "x", "b": []}]
    tensor = ortlua.to_python(rt, value[1])
    assert isinstance(tensor, ort.Tensor)
    assert tensor.to_table() == [1, 2]
    with pytest.raises(TypeError):
        ortlua.to_python(object(), 1)


def test_missing_lupa_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from ortsession.lua import _host

    real_import = builtins.__import__

    def no_lupa(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("lupa"):
            raise ImportError("No module named 'lupa'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lupa)
    _host._runtime_class.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"ortsession\[lua\]"):
            ortlua.new_runtime()
        err = io.StringIO()
        assert ortlua.run_script(LUA_DIR / "reference_example.lua", [], stderr=err) == 1
        assert "pip install 'ortsession[lua]'" in err.getvalue()
    finally:
        monkeypatch.undo()
        _host._runtime_class.cache_clear()


def test_print_goes_to_the_host_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert ortlua.run_source("print('hello', 1, 2.5, nil, true)\nio.write('a', 1, 2.0, '\\n')",
                             []) == 0
    assert capsys.readouterr().out == "hello\t1\t2.5\tnil\ttrue\na12\n"


def test_lua_bench_smoke() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench" / "lua_bench.py"
    proc = subprocess.run([sys.executable, str(bench), "--iterations", "40", "--repeats", "1"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ("run ", "run_new_tables", "run_changing", "run_into", "iobinding", "to_table"):
        assert row in proc.stdout, proc.stdout
    assert "Lua/Python" in proc.stdout
