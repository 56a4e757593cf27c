"""The ``ortsession`` command line, run as a subprocess (``python -m ortsession ...``) on real models:
the bundled ones, small models built by ``tests/models.py``, and the models the ``onnx`` wheel
ships (its backend test cases with their ``.pb`` inputs, and the light CNNs).

Every bad-input case checks the contract of ``docs/cli.md``: exit status 1 (model/run failure) or
2 (bad usage) and exactly one line on stderr, ``ortsession: error: ...``, never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import models
import ortsession as ort
from ortsession import cli
from ortsession import models as bundled
from ortsession.cli._lua import split_argv, split_home
from ortsession.cli._output import Output, jsonable

DEMO = bundled.path("demo/model.onnx")
CLASSIFIER = bundled.path("demo/classifier.onnx")
HAS_COREML = "coreml" in ort.providers()


def _lua_front_end() -> bool:
    try:
        import lupa  # noqa: F401

        from ortsession.lua import run_script  # noqa: F401
    except ImportError:
        return False
    return True


HAS_LUA = _lua_front_end()


class Result:
    """A finished CLI run."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"<rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


def run_cli(*args: str, cwd: str | Path | None = None, exe: list[str] | None = None) -> Result:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["PYTHONWARNINGS"] = "error::UserWarning,error::RuntimeWarning"  # fallback → a note
    command = (exe or [sys.executable, "-m", "ortsession"]) + list(args)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd,
                          env=env, check=False)
    return Result(proc)


def ok(*args: str, **kwargs: Any) -> Result:
    result = run_cli(*args, **kwargs)
    assert result.rc == 0, result
    assert "Traceback" not in result.err, result
    return result


def check_failure(result: Result, rc: int, match: str) -> Result:
    """Exit status ``rc`` and exactly one stderr line ``ortsession: error: ...``."""
    assert result.rc == rc, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("ortsession: error: "), result
    assert match in lines[0], result
    return result


def fails(rc: int, *args: str, match: str = "", **kwargs: Any) -> Result:
    """Run and check the failure (see :func:`check_failure`)."""
    return check_failure(run_cli(*args, **kwargs), rc, match)


class Batch:
    """Failing commands run concurrently (each is a fresh interpreter), checked on exit."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._jobs: list[tuple[Future[Result], int, str]] = []

    def fails(self, rc: int, *args: str, match: str = "", **kwargs: Any) -> None:
        self._jobs.append((self._pool.submit(run_cli, *args, **kwargs), rc, match))

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._pool:
            if exc[0] is None:
                for future, rc, match in self._jobs:
                    check_failure(future.result(), rc, match)


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def graph_input_names(model_path: Path | str) -> list[str]:
    model = onnx.load(str(model_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in initializers]


# -- help, version, entry points -----------------------------------------------------------------
@pytest.mark.parametrize("command", [[], ["demo"], ["inspect"], ["run"], ["bench"], ["lua"]])
def test_help_of_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: ortsession")
    for word in {"inspect": ["--json", "--option"], "run": ["--random", "--dim", "--save"],
                 "bench": ["--mode", "--concurrency", "--compare-raw", "--threads"],
                 "lua": ["--home"]}.get(command[0] if command else "", []):
        assert word in text


def test_python_dash_m_and_console_script_agree() -> None:
    via_module = ok("--version")
    assert f"ONNX Runtime {ort.version()}" in via_module.out
    script = shutil.which("ortsession", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the ortsession console script is not installed in this environment")
    via_script = ok("--version", exe=[script])
    assert via_script.out == via_module.out


def test_no_command_and_unknown_command_are_usage_errors() -> None:
    fails(2, match="a command is required")
    fails(2, "frobnicate", match="invalid choice")
    fails(2, "run", DEMO, "--no-such-flag", match="unrecognized arguments")


# -- demo ----------------------------------------------------------------------------------------
def test_demo_prints_the_reference_result() -> None:
    result = ok("demo")
    out = result.out
    assert "Python" in out
    assert "providers in effect: cpu" in out or HAS_COREML
    assert "[1.0, 2.0]" in out and "[0.5, -0.5]" in out and "[1.5, 1.5]" in out
    assert 'outputs["y"].to_table()[0] = 1.5' in out
    if not HAS_COREML:
        assert "CoreML not available, fell back to CPU" in out
    assert "Warning" not in result.err
    if HAS_LUA:
        lua_part = out.split("Lua (the reference example, verbatim)", 1)[1]
        assert "1.5" in lua_part.splitlines()
        if not HAS_COREML:
            assert "CoreML not available, fell back to CPU" in lua_part
    else:
        assert "Lua: skipped" in out


def test_demo_without_lua() -> None:
    out = ok("demo", "--no-lua").out
    assert "1.5" in out and "Lua" not in out


# -- inspect -------------------------------------------------------------------------------------
def test_inspect_classifier_text() -> None:
    out = ok("inspect", CLASSIFIER).out
    assert "input" in out and "[N, 4]" in out
    assert "probabilities" in out and "[N, 3]" in out
    assert "tiny_mlp" in out and "metadata[classes]" in out
    assert "in effect" in out and "cpu" in out
    assert "Overridable initializers: (none)" in out


def test_inspect_json_schema() -> None:
    doc = ok("inspect", CLASSIFIER, "--json").json()
    assert doc["schema"] == "ortsession.inspect/1"
    assert doc["model"] == CLASSIFIER
    assert doc["ort_version"] == ort.version()
    (inp,) = doc["inputs"]
    assert inp == {"name": "input", "onnx_type": "tensor", "type": "tensor(float)",
                   "is_sparse": False, "data_type": "float32", "has_shape": True,
                   "shape": [-1, 4], "symbolic_shape": ["N", ""]}
    assert doc["outputs"][0]["symbolic_shape"] == ["N", ""]
    assert doc["overridable_initializers"] == []
    assert doc["metadata"]["graph_name"] == "tiny_mlp"
    assert doc["metadata"]["custom_metadata"]["classes"] == "0,1,2"
    assert doc["providers"] == {"available": ort.providers(), "requested": ["cpu"],
                                "in_effect": ["cpu"], "fallback_reason": None}


def test_inspect_nested_types(tmp_path: Path) -> None:
    seq = write(tmp_path / "seq.onnx", models.sequence_model())
    maps = write(tmp_path / "map.onnx", models.map_model("int64"))
    opt = write(tmp_path / "opt.onnx", models.optional_model())
    out = ok("inspect", seq).out
    assert "sequence<float32>" in out and "[K]" in out
    out = ok("inspect", maps).out
    assert "map<int64, float32>" in out and "sequence<map<int64, float32>>" in out
    assert "optional<float32>" in ok("inspect", opt).out
    doc = ok("inspect", seq, "--json").json()
    appended = doc["outputs"][0]
    assert appended["onnx_type"] == "sequence"
    assert appended["element"]["onnx_type"] == "tensor"
    assert appended["element"]["data_type"] == "float32"
    doc = ok("inspect", maps, "--json").json()
    assert doc["inputs"][0]["key_type"] == "int64"
    assert doc["inputs"][0]["value"]["data_type"] == "float32"


def test_inspect_overridable_initializers_and_options(tmp_path: Path) -> None:
    path = write(tmp_path / "init.onnx", models.with_overridable_initializer())
    out = ok("inspect", path, "-O", "graph_optimization_level=basic").out
    assert "Overridable initializers" in out
    section = out.split("Overridable initializers", 1)[1]
    assert "bias" in section and "float32" in section and "[1, 2]" in section
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"intra_op_num_threads": 1, "providers": ["cpu"]}))
    doc = ok("inspect", path, "--options", str(options), "--json").json()
    assert [i["name"] for i in doc["overridable_initializers"]] == ["bias"]


def test_inspect_reports_provider_fallback_in_one_line() -> None:
    if HAS_COREML:
        pytest.skip("CoreML is available here: no fallback")
    result = ok("inspect", DEMO, "-O", 'providers=["coreml", "cpu"]')
    assert result.err.strip() == "ortsession: note: CoreML not available, fell back to CPU"
    assert "fallback" in result.out
    doc = ok("inspect", DEMO, "-O", "providers=coreml", "--json").json()
    assert doc["providers"]["requested"] == ["coreml"]
    assert doc["providers"]["in_effect"] == ["cpu"]
    assert "not available" in doc["providers"]["fallback_reason"]


def test_inspect_onnx_light_model() -> None:
    path, _, _ = models.light_model("squeezenet")
    doc = ok("inspect", str(path), "--json").json()
    assert doc["inputs"][0]["shape"] == [1, 3, 224, 224]
    assert len(doc["outputs"]) == 1


# -- run -----------------------------------------------------------------------------------------
def test_run_demo_with_json_inputs() -> None:
    doc = ok("run", DEMO, "x=[[1, 2]]", "bias=[[0.5, -0.5]]", "--json").json()
    assert doc["schema"] == "ortsession.run/1"
    (y,) = doc["outputs"]
    assert y == {"name": "y", "kind": "tensor", "data_type": "float32", "shape": [1, 2],
                 "min": 1.5, "max": 1.5, "mean": 1.5, "values": [1.5, 1.5]}
    assert [i["name"] for i in doc["inputs"]] == ["x", "bias"]
    assert doc["providers"] == ["cpu"]
    text = ok("run", DEMO, "x=[[1, 2]]", "bias=[[0.5, -0.5]]").out
    assert "[1.5, 1.5]" in text and "float32" in text


def test_run_npy_npz_and_save(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([[1, 2]], dtype=np.float64))  # converted to float32
    np.savez(tmp_path / "inputs.npz", x=np.array([[3, 4]], np.float32),
             bias=np.array([[1, 1]], np.float32))
    ok("run", DEMO, f"x={tmp_path / 'x.npy'}", "bias=[[0.5, -0.5]]", "--save", "out.npz",
       cwd=tmp_path)
    with np.load(tmp_path / "out.npz") as saved:
        np.testing.assert_array_equal(saved["y"], [[1.5, 1.5]])
        assert saved["y"].dtype == np.float32
    json_inputs = tmp_path / "inputs.json"
    json_inputs.write_text(json.dumps({"bias": [[0, 0]]}))
    doc = ok("run", DEMO, str(tmp_path / "inputs.npz"), "--json").json()
    assert doc["outputs"][0]["values"] == [4.0, 5.0]
    doc = ok("run", DEMO, "x=[[7, 8]]", "--input-json", str(json_inputs), "--json").json()
    assert doc["outputs"][0]["values"] == [7.0, 8.0]


def test_run_random_with_dims() -> None:
    doc = ok("run", CLASSIFIER, "--random", "--dim", "N=5", "--json").json()
    assert doc["inputs"][0]["shape"] == [5, 4]
    probabilities = doc["outputs"][0]
    assert probabilities["shape"] == [5, 3]
    assert 0.0 <= probabilities["min"] <= probabilities["max"] <= 1.0
    assert probabilities["mean"] == pytest.approx(1 / 3, rel=1e-5)
    default = ok("run", CLASSIFIER, "--random", "--json", "--show", "-1").json()
    assert default["outputs"][0]["shape"] == [1, 3]  # free dimensions default to 1
    assert len(default["outputs"][0]["values"]) == 3


def test_run_options_and_output_selection(tmp_path: Path) -> None:
    path = write(tmp_path / "two.onnx", models.two_outputs())
    doc = ok("run", path, "--random", "--output", "shape", "-O", "intra_op_num_threads=1",
             "-O", "graph_optimization_level=disable", "-O", "log_id=cli-test", "--json").json()
    assert [o["name"] for o in doc["outputs"]] == ["shape"]
    assert doc["outputs"][0]["values"] == [2, 3]


def test_run_sequences_maps_optionals(tmp_path: Path) -> None:
    seq = write(tmp_path / "seq.onnx", models.sequence_model())
    doc = ok("run", seq, "seq=[[1, 2], [3]]", "x=[9, 9]", "--json").json()
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["appended"]["kind"] == "sequence" and outputs["appended"]["length"] == 3
    assert outputs["length"]["values"] == [3]
    assert outputs["last"]["values"] == [9.0, 9.0]
    maps = write(tmp_path / "map.onnx", models.map_model("string"))
    doc = ok("run", maps, 'features={"a": 1.0, "c": 3.0}', "--json", "--save",
             str(tmp_path / "m.npz")).json()
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["vector"]["values"] == [1.0, 0.0, 3.0]
    zipped = outputs["zipped"]["elements"][0]
    assert zipped["kind"] == "map" and zipped["keys"] == ["a", "b", "c"]
    with np.load(tmp_path / "m.npz") as saved:
        assert list(saved["zipped/0/keys"]) == ["a", "b", "c"]
    int_maps = write(tmp_path / "imap.onnx", models.map_model("int64"))
    doc = ok("run", int_maps, 'features={"10": 1.5, "30": 2}', "--json").json()
    assert doc["outputs"][0]["values"] == [1.5, 0.0, 2.0]  # JSON keys became int64
    fails(1, "run", int_maps, 'features={"ten": 1.5}', match="map keys must be int64")
    text = ok("run", maps, 'features={"b": 2}').out
    assert "zipped" in text and "sequence" in text
    opt = write(tmp_path / "opt.onnx", models.optional_model())
    doc = ok("run", opt, "--json").json()  # the optional input may be left out
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["has_element"]["values"] == [False]
    assert outputs["passthrough"] == {"name": "passthrough", "kind": "none"}
    doc = ok("run", opt, "opt=[1, 2]", "--json").json()
    assert {o["name"]: o for o in doc["outputs"]}["value"]["values"] == [1.0, 2.0]


def test_run_string_tensors(tmp_path: Path) -> None:
    path = write(tmp_path / "strings.onnx", models.string_model())
    doc = ok("run", path, 'x=["abc", "Hello wOrld"]', "--json").json()
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["upper"]["values"] == ["ABC", "HELLO WORLD"]
    assert outputs["upper"]["min"] is None
    ok("run", path, "--random", "--dim", "N=3", "--save", str(tmp_path / "s.npz"))
    with np.load(tmp_path / "s.npz") as saved:
        assert saved["upper"].shape == (3,)


BACKEND_CASES = [
    ("simple", "test_expand_shape_model1"),
    ("simple", "test_sequence_model1"),
    ("simple", "test_sign_model"),
    ("pytorch-converted", "test_Conv2d"),
    ("pytorch-operator", "test_operator_concat2"),
]


@pytest.mark.parametrize(("kind", "name"), BACKEND_CASES)
def test_run_onnx_backend_cases(kind: str, name: str, tmp_path: Path) -> None:
    """The case's test_data_set_0 folder (input_*.pb) as the input, outputs compared."""
    case = next(c for c in models.node_test_dirs(kind) if c.name == name)
    _, expected = case.data_sets()[0]
    ok("run", str(case.model_path), str(case.path / "test_data_set_0"),
       "--save", str(tmp_path / "out.npz"))
    output_names = [o.name for o in onnx.load(str(case.model_path)).graph.output]
    with np.load(tmp_path / "out.npz") as saved:
        for output_name, want in zip(output_names, expected):
            np.testing.assert_allclose(saved[output_name], want, rtol=1e-4, atol=1e-5)


def test_run_pb_and_npy_inputs_by_name(tmp_path: Path) -> None:
    case = next(c for c in models.node_test_dirs("simple") if c.name == "test_expand_shape_model1")
    (inputs, (expected,)), = case.data_sets()
    names = graph_input_names(case.model_path)
    data_set = case.path / "test_data_set_0"
    np.save(tmp_path / "shape.npy", inputs[1])
    doc = ok("run", str(case.model_path), f"{names[0]}={data_set / 'input_0.pb'}",
             f"{names[1]}={tmp_path / 'shape.npy'}", "--json", "--show", "-1").json()
    (out,) = doc["outputs"]
    assert out["shape"] == list(expected.shape)
    np.testing.assert_allclose(out["values"], expected.ravel(), rtol=1e-6)
    fails(2, "run", str(case.model_path), str(tmp_path), match="no input_*.pb")
    (tmp_path / "junk.pb").write_bytes(b"junk")
    fails(2, "run", str(case.model_path), f"{names[0]}={tmp_path / 'junk.pb'}",
          match="not a valid TensorProto")


def test_run_onnx_light_model(tmp_path: Path) -> None:
    path, inputs, expected = models.light_model("squeezenet")
    (name,) = graph_input_names(path)
    np.save(tmp_path / "x.npy", inputs[0])
    ok("run", str(path), f"{name}=x.npy", "--save", "out.npz", cwd=tmp_path)
    rtol, atol = models.light_model_tolerance("squeezenet")
    with np.load(tmp_path / "out.npz") as saved:
        (got,) = saved.values()
        np.testing.assert_allclose(got, expected[0], rtol=rtol, atol=atol)


# -- bench ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["run", "run_into", "iobinding"])
def test_bench_modes_json(mode: str) -> None:
    doc = ok("bench", DEMO, "--mode", mode, "--runs", "50", "--warmup", "2", "--compare-raw",
             "--json").json()
    assert doc["schema"] == "ortsession.bench/1"
    assert doc["mode"] == mode and doc["runs"] == 50 and doc["concurrency"] == 1
    latency = doc["latency_ms"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] \
        <= latency["max"]
    assert doc["throughput_per_s"] > 0
    assert doc["raw"]["runs"] == 50
    assert doc["ratio"]["p50"] > 0


def test_bench_text_concurrency_threads_duration() -> None:
    out = ok("bench", CLASSIFIER, "--dim", "N=8", "--duration", "0.3", "--concurrency", "2",
             "--threads", "1", "--compare-raw").out
    for word in ("p50", "p90", "p99", "runs/s", "ortsession", "onnxruntime",
                 "ratio ortsession / onnxruntime", "input float32[8, 4]"):
        assert word in out, out
    doc = ok("bench", CLASSIFIER, "--runs", "20", "--concurrency", "3", "--threads", "1",
             "--quiet", "--json").json()
    assert doc["runs"] == 20 and doc["concurrency"] == 3
    assert doc["intra_op_num_threads"] == 1
    assert doc["raw"] is None and doc["ratio"] is None


def test_bench_real_model() -> None:
    path, _, _ = models.light_model("squeezenet")
    doc = ok("bench", str(path), "--runs", "3", "--warmup", "1", "--compare-raw",
             "--json").json()
    assert doc["runs"] == 3 and doc["raw"]["runs"] == 3


# -- lua -----------------------------------------------------------------------------------------
def test_split_argv() -> None:
    assert split_argv(["lua", "s.lua", "--", "-x"]) == (["lua", "s.lua"], ["--", "-x"])
    assert split_argv(["-q", "lua", "--home", "d", "s.lua", "a"]) == (
        ["-q", "lua", "--home", "d", "s.lua"], ["a"])
    assert split_argv(["run", "m.onnx"]) == (["run", "m.onnx"], None)
    assert split_argv(["lua", "--home", "d"]) == (["lua", "--home", "d"], None)


def test_split_home() -> None:
    assert split_home(["a", "--home", "d"], None) == (["a"], "d")
    assert split_home(["a", "--home=d"], "x") == (["a"], "d")
    assert split_home(["--", "a", "--home", "d"], None) == (["a", "--home", "d"], None)
    assert split_home(["a", "b"], "h") == (["a", "b"], "h")


@pytest.mark.skipif(not HAS_LUA, reason="the Lua front end (lupa) is not installed")
def test_lua_runs_a_script(tmp_path: Path) -> None:
    (tmp_path / "models" / "demo").mkdir(parents=True)
    shutil.copy(DEMO, tmp_path / "models" / "demo" / "model.onnx")
    script = tmp_path / "script.lua"
    script.write_text(
        'local ort = require("onnxruntime")\n'
        'local s = assert(ort.session(XXT_HOME_PATH.."/models/demo/model.onnx"))\n'
        'local x = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))\n'
        'local out = assert(s:run({x = x, bias = x}))\n'
        'print(out.y:to_table()[2], arg[1], #arg)\n')
    result = ok("lua", str(script), "hello", "--home", str(tmp_path))
    assert result.out.split() == ["4.0", "hello", "1"]
    result = ok("lua", "--home", str(tmp_path), str(script), "x", "y")
    assert result.out.split() == ["4.0", "x", "2"]
    result = ok("-q", "lua", f"--home={tmp_path}", str(script), "--", "--home", "z")
    assert result.out.split() == ["4.0", "--home", "2"]  # after --, all is the script's


@pytest.mark.skipif(not HAS_LUA, reason="the Lua front end (lupa) is not installed")
def test_lua_failing_script_exits_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "bad.lua"
    script.write_text('error("boom")\n')
    result = run_cli("lua", str(script))
    assert result.rc != 0
    assert "boom" in result.err
    assert "Traceback" not in result.err


def test_lua_bad_usage(tmp_path: Path) -> None:
    fails(2, "lua", match="a Lua script is required")
    if HAS_LUA:
        fails(2, "lua", str(tmp_path / "missing.lua"), match="no such Lua script")
    else:  # lupa missing (install hint), or the Lua front end not importable
        result = fails(2, "lua", str(tmp_path / "missing.lua"))
        assert "'lua' extra" in result.err or "Lua front end" in result.err


# -- bad input -----------------------------------------------------------------------------------
def test_missing_and_garbage_models(tmp_path: Path) -> None:
    with Batch() as batch:
        batch.fails(1, "inspect", str(tmp_path / "missing.onnx"), match="no such file")
        garbage = write(tmp_path / "garbage.onnx", b"this is not an onnx model")
        batch.fails(1, "inspect", garbage, match="cannot load model")
        batch.fails(1, "run", garbage, "--random", match="cannot load model")
        batch.fails(1, "bench", str(tmp_path), match="is a directory")
        # A real model of the onnx wheel that this ONNX Runtime has no kernel for (Add-6).
        case = next(c for c in models.node_test_dirs("pytorch-operator")
                    if c.name == "test_operator_add_broadcast")
        batch.fails(1, "inspect", str(case.model_path), match="Could not find an implementation")


def test_bad_inputs(tmp_path: Path) -> None:
    with Batch() as batch:
        batch.fails(1, "run", DEMO, "xx=[[1, 2]]", "bias=[[1, 2]]", match="did you mean 'x'")
        batch.fails(1, "run", DEMO, "x=[[1, 2, 3]]", "bias=[[1, 2]]", match="input 'x'")
        batch.fails(1, "run", DEMO, "x=[[1, 2]]", match="missing input(s) 'bias'")
        batch.fails(1, "run", DEMO, "x=[[1, 2], [3]]", "bias=[[1, 2]]", match="ragged")
        batch.fails(1, "run", DEMO, 'x=[["a", "b"]]', "bias=[[1, 2]]", match="input 'x'")
        batch.fails(1, "run", DEMO, "x=[[1e40, 2]]", "bias=[[1, 2]]", match="out of range")
        batch.fails(1, "run", DEMO, "--random", "--output", "z", match="unknown output 'z'")
        batch.fails(2, "run", DEMO, "x=[[1, 2", "bias=[[1, 2]]", match="invalid JSON")
        batch.fails(2, "run", DEMO, "x=missing.npy", match="no such file", cwd=tmp_path)
        (tmp_path / "bad.npy").write_bytes(b"not numpy")
        batch.fails(2, "run", DEMO, f"x={tmp_path / 'bad.npy'}", match="not a readable .npy")
        batch.fails(2, "run", DEMO, "just-a-word", match="expected NAME=FILE.npy")
        (tmp_path / "bad.json").write_text("{oops")
        bad_json = str(tmp_path / "bad.json")
        batch.fails(2, "run", DEMO, "--input-json", bad_json, match="invalid JSON")
        batch.fails(2, "run", DEMO, "--options", bad_json, match="invalid JSON")
        batch.fails(2, "run", DEMO, "--options", str(tmp_path / "none.json"), match="cannot read")
        batch.fails(2, "run", CLASSIFIER, "--random", "--dim", "N=four", match="--dim")
        batch.fails(2, "run", CLASSIFIER, "--random", "--dim", "M=4",
                    match="named dimensions: N")
        batch.fails(2, "run", DEMO, "--random", "--save", str(tmp_path / "no" / "out.npz"),
                    match="does not exist")


def test_bad_session_options() -> None:
    with Batch() as batch:
        batch.fails(2, "run", DEMO, "--random", "-O", "intra_op_num_thread=2",
                    match="unknown session option 'intra_op_num_thread' (did you mean "
                          "'intra_op_num_threads'?)")
        batch.fails(2, "inspect", DEMO, "-O", "graph_optimization_level=fastest",
                    match="graph_optimization_level")
        batch.fails(2, "inspect", DEMO, "-O", "novalue", match="--option expects KEY=VALUE")
        batch.fails(2, "inspect", DEMO, "-O", "coreml_compute_units=all", match="coreml")
        batch.fails(2, "bench", DEMO, "--threads", "2", "-O", "intra_op_num_threads=2",
                    match="not both")


def test_bad_bench_arguments(tmp_path: Path) -> None:
    with Batch() as batch:
        batch.fails(2, "bench", DEMO, "--runs", "0", match="--runs")
        batch.fails(2, "bench", DEMO, "--duration", "0", match="--duration")
        batch.fails(2, "bench", DEMO, "--concurrency", "0", match="--concurrency")
        batch.fails(2, "bench", DEMO, "--mode", "fast", match="invalid choice")
        batch.fails(2, "bench", DEMO, "--runs", "5", "--duration", "1", match="not allowed with")
        seq = write(tmp_path / "seq.onnx", models.sequence_model())
        batch.fails(2, "bench", seq, "seq=[[1.0]]", "x=[1.0]", "--mode", "run_into",
                    match="needs tensor outputs")


# -- output helper (in process) ------------------------------------------------------------------
def test_rich_tables_on_a_terminal() -> None:
    pytest.importorskip("rich")
    stdout, stderr = io.StringIO(), io.StringIO()
    status = cli.main(["inspect", CLASSIFIER], output=Output(stdout, stderr, rich=True))
    assert status == 0
    text = stdout.getvalue()
    assert "┃" in text or "│" in text  # drawn by rich
    assert "[N, 4]" in text  # brackets are not taken for rich markup
    assert "metadata[classes]" in text


def test_plain_output_and_errors_in_process() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = cli.main(["run", DEMO, "x=[[1, 2]]", "bias=[[0, 0]]"],
                      output=Output(stdout, stderr, rich=False))
    assert status == 0 and "[1, 2]" in stdout.getvalue() and stderr.getvalue() == ""
    stderr = io.StringIO()
    assert cli.main(["run", DEMO, "--random", "-O", "providers=nosuch"],
                    output=Output(io.StringIO(), stderr, rich=False)) == 2
    assert stderr.getvalue().startswith("ortsession: error: ")


def test_jsonable() -> None:
    assert jsonable({"a": (1.0, float("nan"), float("inf"), -float("inf"))}) == \
        {"a": [1.0, "nan", "inf", "-inf"]}
