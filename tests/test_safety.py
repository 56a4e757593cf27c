"""Memory safety, silent wrong answers, concurrency and messages (issue 10, §3 to §5).

Each class of failure is reproduced with variants: output targets ORT cannot write in place,
values an element type cannot hold, string arrays that skipped the checks, a model file replaced
under a session, an optimized model written over its source, ``close()`` during a bound run, one
IO binding shared by threads, and exceptions or messages that were not the package's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto

import models
import ortsession as ort

ADD = models.add((1, 2))
X = np.array([[1.0, 2.0]], np.float32)
B = np.array([[0.5, -0.5]], np.float32)


@pytest.fixture(scope="module")
def add() -> ort.Session:
    return ort.session_from_bytes(ADD)


# --- §3 output targets ORT cannot write in place ----------------------------------------------

def _target(session: ort.Session, route: str, target: Any) -> None:
    """Use ``target`` as output ``y`` through ``run_into`` or ``IOBinding.bind_output``."""
    if route == "run_into":
        session.run_into([X, B], {"y": target})
    else:
        session.create_io_binding().bind_output("y", target)


def _strided(base: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return base[::4].reshape(1, 2)


def _reversed(base: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return base[:2][::-1].reshape(1, 2)


def _column(base: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return base.reshape(2, 4)[:, 1:2].T  # a column of a matrix, as a row


def _every_other(base: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return base.reshape(2, 4)[:, ::2][:1]


VIEWS = {"strided": _strided, "reversed": _reversed, "column": _column,
         "every other column": _every_other}


@pytest.mark.parametrize("as_tensor", [True, False], ids=["Tensor", "ndarray"])
@pytest.mark.parametrize("make_view", list(VIEWS.values()), ids=list(VIEWS))
@pytest.mark.parametrize("route", ["run_into", "bind_output"])
def test_non_contiguous_targets_are_refused_and_memory_untouched(
        add: ort.Session, route: str, make_view: Any, as_tensor: bool) -> None:
    base = np.full(8, 7.0, np.float32)
    view = make_view(base)
    assert not view.flags.c_contiguous
    target: Any = ort.Tensor(view) if as_tensor else view
    with pytest.raises(ort.InputError, match=rf"{route}\(\): output 'y': .*not C-contiguous"):
        _target(add, route, target)
    assert np.all(base == 7.0)  # nothing written, around the view or in it


def test_a_reversed_view_of_4m_floats_no_longer_overflows_the_heap() -> None:
    """The issue's crash ("double free or corruption"): in a subprocess, so a crash is a failure."""
    code = textwrap.dedent("""
        import numpy as np, ortsession as ort, sys
        sys.path.insert(0, sys.argv[1])
        import models
        n = 4 * 1024 * 1024
        s = ort.session_from_bytes(models.identity(1, [n]))  # float32
        x = np.ones(n, np.float32)
        base = np.zeros(n + 16, np.float32)
        for target in (ort.Tensor(base[n - 1::-1]), base[n - 1::-1]):
            for route in ("into", "bind"):
                try:
                    if route == "into":
                        s.run_into({s.input_names()[0]: x}, {s.output_names()[0]: target})
                    else:
                        s.create_io_binding().bind_output(s.output_names()[0], target)
                except ort.InputError as exc:
                    assert "not C-contiguous" in str(exc), exc
                else:
                    raise SystemExit("accepted a reversed view")
        assert not base.any()
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("dtype", [">f4", np.dtype("<f4").newbyteorder(">")])
@pytest.mark.parametrize("route", ["run_into", "bind_output"])
def test_big_endian_targets_are_refused(add: ort.Session, route: str, dtype: Any) -> None:
    target = np.zeros((1, 2), dtype)
    with pytest.raises(ort.InputError, match=rf"{route}\(\): output 'y': .*big-endian"):
        _target(add, route, target)


@pytest.mark.parametrize("route", ["run_into", "bind_output"])
def test_misaligned_and_read_only_targets_are_refused(add: ort.Session, route: str) -> None:
    misaligned = np.frombuffer(bytearray(9), np.float32, 2, 1).reshape(1, 2)
    read_only = np.zeros((1, 2), np.float32)
    read_only.flags.writeable = False
    for target, problem in ((misaligned, "not aligned"), (read_only, "read-only"),
                            (ort.Tensor(read_only), "read-only")):
        with pytest.raises(ort.InputError, match=rf"{route}\(\): output 'y': .*{problem}"):
            _target(add, route, target)


def test_contiguous_targets_still_get_the_result(add: ort.Session) -> None:
    """The checks refuse only what ORT cannot write: contiguous slices of a buffer work."""
    base = np.zeros(6, np.float32)
    target = base[2:4].reshape(1, 2)  # C-contiguous, inside a bigger buffer
    add.run_into([X, B], {"y": target})
    assert base.tolist() == [0, 0, 1.5, 1.5, 0, 0]
    binding = add.create_io_binding()
    binding.bind_input("x", X)
    binding.bind_input("bias", B)
    out = np.zeros((1, 2), np.float32)
    binding.bind_output("y", out)
    add.run_with_iobinding(binding)
    assert out.tolist() == [[1.5, 1.5]]


# --- §3 values a float type cannot hold ---------------------------------------------------------

FLOATS = {  # element type: (has infinity, has NaN)
    "float16": (True, True), "float32": (True, True), "float64": (True, True),
    "bfloat16": (True, True), "float8e4m3fn": (False, True), "float8e4m3fnuz": (False, True),
    "float8e5m2": (True, True), "float8e5m2fnuz": (False, True), "float4e2m1": (False, False),
    "float8e8m0": (False, True),
}


def test_the_table_covers_every_float_element_type() -> None:
    floats = {et.type_name for et in ort.ElementType if et.is_float}
    assert floats == set(FLOATS)


@pytest.mark.parametrize("source", ["list", "float64", "float32", "bfloat16"])
@pytest.mark.parametrize("type_name", list(FLOATS))
def test_non_finite_values_survive_or_are_refused(type_name: str, source: str) -> None:
    has_inf, has_nan = FLOATS[type_name]
    for value in (np.inf, -np.inf, np.nan):
        data: Any = [1.0, value]
        if source != "list":
            data = np.array(data, ml_dtypes.bfloat16 if source == "bfloat16" else source)
        kept = has_nan if np.isnan(value) else has_inf
        if not kept:
            what = "NaN" if np.isnan(value) else "infinity"
            with pytest.raises(ort.TensorError, match=f"{type_name} has no {what}"):
                ort.tensor(type_name, [2], data)
            continue
        got = ort.tensor(type_name, [2], data).numpy().astype(np.float64)[1]
        assert (np.isnan(got) if np.isnan(value) else got == value), (type_name, value, got)


@pytest.mark.parametrize("type_name", ["float4e2m1", "float8e4m3fn", "float8e4m3fnuz",
                                       "float8e5m2fnuz", "float16"])
def test_out_of_range_integers_are_refused_for_floats(type_name: str) -> None:
    big = {"float4e2m1": 7, "float16": 70000}.get(type_name, 100000)
    for data in ([1, big], np.array([1, big], np.int32), np.array([1, -big], np.int64)):
        with pytest.raises(ort.TensorError, match=f"out of range for {type_name}"):
            ort.tensor(type_name, [2], data)


def test_run_inputs_refuse_values_the_type_cannot_hold() -> None:
    session = ort.session_from_bytes(models.identity(TensorProto.FLOAT8E4M3FN, [2]))
    name = session.input_names()[0]
    with pytest.raises(ort.InputError, match="float8e4m3fn has no infinity"):
        session.run({name: [1.0, np.inf]})
    f4 = ort.session_from_bytes(models.identity(TensorProto.FLOAT4E2M1, [2], "x", "x"))
    with pytest.raises(ort.InputError, match="float4e2m1 has no NaN"):
        f4.run({f4.input_names()[0]: [np.nan, 1.0]})


# --- §3 string arrays ---------------------------------------------------------------------------

BAD_STRINGS = [
    (np.array([1, "a"], object), "element 0 is int 1"),
    (np.array(["a", None], object), "element 1 is NoneType None"),
    (np.array([b"\xff", "a"], object), "element 0 is not valid UTF-8"),
    (np.array([["a", 2.5]], object).reshape(2), "element 1 is float 2.5"),
    (np.array([None, ["b"]], object)[::-1], "element 0 is list"),
]


@pytest.mark.parametrize(("array", "match"), BAD_STRINGS)
def test_object_arrays_of_strings_take_the_list_checks(array: np.ndarray[Any, Any],
                                                       match: str) -> None:
    session = ort.session_from_bytes(models.string_model())
    as_list = array.tolist()
    for value in (array, as_list):
        with pytest.raises(ort.InputError, match=match):
            session.run({"x": value})
        with pytest.raises(ort.InputError, match=match):
            session.create_io_binding().bind_input("x", value)
        with pytest.raises(ort.TensorError, match=match):
            ort.tensor("string", [2], value)
    with pytest.raises(ort.TensorError, match=match):
        ort.Tensor(array)
    out = ort.tensor("string", [2])
    with pytest.raises(ort.InputError, match=match):
        session.run_into({"x": array}, {"y": out})


def test_valid_object_arrays_of_strings_still_run() -> None:
    session = ort.session_from_bytes(models.string_model())
    for value in (np.array(["a", b"b"], object), np.array(["a", "b"]), ort.Tensor(
            np.array(["a", "b"], object))):
        assert session.run({"x": value})[0].tolist() == ["a", "b"]


# --- §3 a session keeps its model -----------------------------------------------------------------

def _library() -> str:
    return models.custom_op_library_path()


@pytest.mark.parametrize("change", ["replaced", "rewritten", "removed", "renamed over"])
def test_a_rebuild_never_loads_another_model(tmp_path: Path, change: str) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(ADD)
    session = ort.session(path)
    other = models.two_outputs()
    if change == "replaced":
        path.unlink()
        path.write_bytes(other)
    elif change == "rewritten":
        path.write_bytes(other)
    elif change == "removed":
        path.unlink()
    else:
        (tmp_path / "new.onnx").write_bytes(other)
        os.replace(tmp_path / "new.onnx", path)
    with pytest.raises(ort.StateError, match="modified or replaced since the session was "
                                             "opened"):
        session.register_custom_op_library(_library())
    # the session still is the model it opened, on the same build
    assert session.generation == 1
    assert session.output_names() == ["y"]
    assert session.run([X, B])["y"].tolist() == [[1.5, 1.5]]


def test_a_rebuild_of_an_unchanged_file_works(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(ADD)
    session = ort.session(path)
    session.register_custom_op_library(_library())
    assert session.generation == 2
    assert session.run([X, B])["y"].tolist() == [[1.5, 1.5]]


@pytest.mark.parametrize("link", ["same path", "relative path", "symlink", "hard link",
                                  "symlinked directory"])
def test_optimized_model_path_is_never_the_model(tmp_path: Path, link: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(ADD)
    target: str
    if link == "same path":
        target = str(model)
    elif link == "relative path":
        monkeypatch.chdir(tmp_path)
        target = "model.onnx"
    elif link == "symlink":
        target = str(tmp_path / "link.onnx")
        os.symlink(model, target)
    elif link == "hard link":
        target = str(tmp_path / "hard.onnx")
        os.link(model, target)
    else:
        os.symlink(tmp_path, tmp_path / "alias")
        target = str(tmp_path / "alias" / "model.onnx")
    with pytest.raises(ort.OptionError, match=r"'optimized_model_path'.*is the model file"):
        ort.session(model, optimized_model_path=target)
    assert model.read_bytes() == ADD


def test_optimized_model_path_overwrites_another_existing_file(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(ADD)
    out = tmp_path / "optimized.onnx"
    out.write_bytes(b"old")
    ort.session(model, optimized_model_path=str(out)).close()
    assert out.read_bytes() != b"old" and model.read_bytes() == ADD
    ort.session_from_bytes(ADD, optimized_model_path=str(out)).close()  # bytes: no model file


# --- §4 close() during a bound run; one binding, several threads ------------------------------------

def test_close_while_run_with_iobinding_is_in_flight_lets_it_finish() -> None:
    session = ort.session_from_bytes(models.slow_model(0.4), intra_op_num_threads=1)
    x = np.full((models.SLOW_SIZE, models.SLOW_SIZE), 0.01, np.float32)
    expected = session.run({"x": x})["y"].numpy().copy()
    for form in ("allocated", "preallocated", "held"):
        binding = session.create_io_binding()
        binding.bind_input("x", x)
        if form == "preallocated":
            binding.bind_output("y", np.zeros_like(x))
        else:
            binding.bind_output("y")
        result: list[Any] = []

        def run(s: ort.Session = session, b: Any = binding, into: list[Any] = result) -> None:
            into.append(s.run_with_iobinding(b)["y"].numpy().copy())

        thread = threading.Thread(target=run)
        thread.start()
        threading.Event().wait(0.2)
        session.close()
        thread.join()
        assert len(result) == 1 and np.array_equal(result[0], expected), form
        with pytest.raises(ort.StateError):
            session.run_with_iobinding(binding)
        session = ort.session_from_bytes(models.slow_model(0.4), intra_op_num_threads=1)


def test_one_binding_used_from_several_threads_never_crashes() -> None:
    """Two threads run, one rebinds, one reads: in a subprocess, a crash fails the test."""
    code = textwrap.dedent("""
        import sys, threading, numpy as np, ortsession as ort
        sys.path.insert(0, sys.argv[1])
        import models
        s = ort.session_from_bytes(models.add((64, 64)))
        b = s.create_io_binding()
        x = np.ones((64, 64), np.float32)
        b.bind_input("x", x); b.bind_input("bias", x); b.bind_output("y")
        errors = []
        def runner():
            for _ in range(200):
                try:
                    y = s.run_with_iobinding(b)["y"].numpy()
                    assert y.shape == (64, 64) and float(y[0, 0]) in (2.0, 3.0), y[0, 0]
                except ort.InputError as exc:
                    # the rebinder's clear_outputs() may land between its own
                    # clear and bind: a clear refusal, never a wrong answer
                    if "no output is bound" not in str(exc):
                        errors.append(exc)
                except (ort.OrtError, AssertionError) as exc:  # a wrong answer fails too
                    errors.append(exc)
        def rebinder():
            for i in range(200):
                v = np.full((64, 64), 1.0 + (i % 2), np.float32)
                b.bind_input("x", v)
                b.bind_output("y", np.zeros((64, 64), np.float32) if i % 3 else None)
                if i % 5 == 0:
                    b.clear_outputs(); b.bind_output("y")
        def reader():
            for _ in range(200):
                try:
                    b.get_outputs()
                except ort.StateError:
                    pass
        threads = [threading.Thread(target=f) for f in (runner, runner, rebinder, reader)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print("ok", len(errors), *{type(e).__name__ + ": " + str(e) for e in errors})
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok", "0"], proc.stdout


# --- §5 exceptions that were not OrtError, and messages ------------------------------------------

@pytest.mark.parametrize("names", [[["y"]], [{"y"}], [1], [None], [b"y"], ("y", ["y"])])
def test_output_names_that_are_not_strings(add: ort.Session, names: Any) -> None:
    with pytest.raises(ort.InputError, match="output_names: each entry must be an output name"):
        add.run([X, B], names)


@pytest.mark.parametrize("depth", [65, 900, 5000])
@pytest.mark.parametrize("leaf", [1.0, 1, "a", True, None])
def test_deeply_nested_lists_are_tensor_errors(add: ort.Session, depth: int, leaf: Any) -> None:
    deep: Any = leaf
    for _ in range(depth):
        deep = [deep]
    with pytest.raises(ort.InputError):
        add.run({"x": deep, "bias": B})
    for type_name in ("float32", "int8", "bool", "string"):
        with pytest.raises(ort.TensorError):
            ort.tensor(type_name, [1], deep)


@pytest.mark.parametrize(("type_name", "data", "worst"), [
    ("int32", [2**64], 2**64), ("int32", [[1, 2**70]], 2**70), ("int64", [1, 2**70], 2**70),
    ("int64", [-(2**70), 1], -(2**70)), ("uint64", [1, 2**64], 2**64), ("uint8", [5, 2**65], 2**65),
    ("int4", [1, 2**70], 2**70), ("bool", [1, 2**64], 2**64),
])
def test_big_integers_are_named_as_out_of_range(type_name: str, data: Any, worst: int) -> None:
    with pytest.raises(ort.TensorError, match=rf"out of range for {type_name} .*got {worst}$"):
        ort.tensor(type_name, [len(data) * len(data[0]) if isinstance(data[0], list)
                               else len(data)], data)


def test_big_integers_in_runs(add: ort.Session) -> None:
    i32 = ort.session_from_bytes(models.identity(TensorProto.INT32, [1, 2]))
    name = i32.input_names()[0]
    with pytest.raises(ort.InputError, match=rf"out of range for int32 .*got {2**70}$"):
        i32.run({name: [[1, 2**70]]})
    # a float input takes big integers it can hold, and names the first it cannot
    assert add.run({"x": [[1, 2**70]], "bias": B})["y"].numpy()[0, 1] == np.float32(2**70)
    with pytest.raises(ort.TensorError, match="out of range for float64"):
        ort.tensor("float64", [2], [1, 2**1100])


@pytest.mark.parametrize("make", [
    lambda v: ort.session_from_bytes(ADD, intra_op_num_threads=v),
    lambda v: ort.session_from_bytes(ADD, session_log_verbosity_level=v),
    lambda v: ort.session_from_bytes(ADD, free_dimension_overrides=[
        {"by": "name", "key": "N", "value": v}]),
    lambda v: ort.run_options(log_severity_level=v),
    lambda v: ort.run_options(log_verbosity_level=v),
])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int16])
def test_numpy_integer_scalars_are_integers_for_options(make: Any, dtype: Any) -> None:
    make(dtype(2))
    with pytest.raises(ort.OptionError):
        make(np.bool_(True))
    with pytest.raises(ort.OptionError):
        make(np.float64(2.0))


def test_ported_onnxruntime_calls_get_a_hint(add: ort.Session) -> None:
    with pytest.raises(ort.InputError, match=r"sess.run\(None, feed\) is session.run\(feed\)"):
        add.run(None, {"x": X, "bias": B})  # type: ignore[arg-type]
    with pytest.raises(ort.InputError, match=r"inputs come first"):
        add.run([X, B], {"x": X})  # type: ignore[arg-type]
    for data in (ADD, bytearray(ADD), memoryview(ADD)):
        with pytest.raises(ort.ModelLoadError, match=r"use session_from_bytes"):
            ort.session(data)  # type: ignore[arg-type]


def test_a_second_copy_of_a_custom_op_library_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "copy.so"
    shutil.copy(_library(), copy)
    model = models.custom_op_model()
    with pytest.raises(ort.CustomOpLibraryError, match=r"copy\.so.*same operator domain"):
        ort.session_from_bytes(model, custom_op_libraries=[_library(), str(copy)])
    session = ort.session_from_bytes(model, custom_op_libraries=[_library()])
    with pytest.raises(ort.CustomOpLibraryError, match=r"copy\.so.*same operator domain"):
        session.register_custom_op_library(str(copy))
    assert session.run({"x": ["a"]})["y"].tolist() == ["A"]  # the session keeps working


def test_bind_output_refusals_name_bind_output(add: ort.Session) -> None:
    binding = add.create_io_binding()
    for target, problem in ((ort.tensor("int32", [1, 2]), "is float32"),
                            (ort.tensor("float32", [3, 2]), "has shape"),
                            (np.zeros((1, 2), np.float64), "is float32")):
        with pytest.raises(ort.InputError, match=rf"^bind_output\(\): output 'y' {problem}"):
            binding.bind_output("y", target)  # type: ignore[arg-type]


@pytest.mark.parametrize(("data", "named"), [
    ([1, "a"], "'a' (str)"), ([[1, 2], [3, None]], "None (NoneType)"), ([1.5, b"q"], "b'q' (bytes)"),
    ([1, 2 + 1j], "(2+1j) (complex)"), ([[1, [2]], [3, 4]], "ragged nesting"),
])
def test_the_offending_element_is_named(data: Any, named: str) -> None:
    with pytest.raises(ort.TensorError, match=re.escape(named)):
        ort.tensor("float32", [2, 2] if isinstance(data[0], list) else [2], data)
