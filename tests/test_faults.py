"""Faults (docs/robustness.md): ``terminate()`` under load, ``close()`` while other threads run,
custom-op libraries that fail to load, unwritable or missing directories for the output paths of
session options, and models whose external data is missing or broken.

Every outcome is a result or an :class:`ortsession.OrtError` subclass with a clear message; the
process never crashes (steps that could crash the engine run in a subprocess).
"""

from __future__ import annotations

import _ctypes
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import models
import ortsession as ort

TESTS = Path(__file__).resolve().parent
N = models.SLOW_SIZE


@pytest.fixture(scope="module")
def slow_bytes() -> bytes:
    """About 0.4 s per run on one core; ``iterations`` (an overridable initializer) shortens it."""
    return models.slow_model(0.4)


def _x() -> np.ndarray:
    return np.full((N, N), 0.01, np.float32)


def _threads(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Run ``work(k)`` on ``count`` threads; return what escaped them."""
    errors: list[BaseException] = []

    def wrapped(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(k,), daemon=True) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


# ---------------------------------------------------------------------------------------------
# terminate() under load


_FORMS = ("run", "run_into", "iobinding")


def _runner(s: ort.Session, form: str) -> Callable[[int, ort.RunOptions], ort.Outputs]:
    """A callable running ``s`` in one of the three forms with a given iteration count."""
    x = _x()
    y = ort.tensor("float32", [N, N])
    binding = s.create_io_binding() if form == "iobinding" else None

    def call(iterations: int, ro: ort.RunOptions) -> ort.Outputs:
        feed = {"x": x, "iterations": np.array(iterations, np.int64)}
        if form == "run":
            return s.run(feed, None, ro)
        if form == "run_into":
            return s.run_into(feed, {"y": y}, ro)
        assert binding is not None
        binding.bind_input("x", x)
        binding.bind_input("iterations", feed["iterations"])
        binding.bind_output("y", y)
        return s.run_with_iobinding(binding, ro)

    return call


def test_terminate_under_load(slow_bytes: bytes) -> None:
    # Six threads keep one session busy in every run form. Four share one RunOptions, which the
    # main thread terminates and resets again and again; two use their own and are never stopped.
    s = ort.session_from_bytes(slow_bytes, intra_op_num_threads=1)
    shared = ort.run_options(tag="shared")
    stop = threading.Event()
    outcomes: dict[int, Counter[str]] = {k: Counter() for k in range(6)}
    messages: set[str] = set()

    def work(k: int) -> None:
        rng = random.Random(k)
        call = _runner(s, _FORMS[k % 3])
        ro = shared if k < 4 else ort.run_options(tag=f"own{k}")
        while not stop.is_set():
            try:
                out = call(rng.randint(2, 20), ro)
            except ort.TerminatedError as exc:
                outcomes[k]["terminated"] += 1
                messages.add(str(exc))
                continue
            y = out["y"].numpy()
            assert y.shape == (N, N)
            assert np.isfinite(y).all()
            outcomes[k]["ran"] += 1

    def chaos() -> None:
        rng = random.Random(99)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.01, 0.1))
            shared.terminate()
            time.sleep(rng.uniform(0.0, 0.05))
            shared.reset_terminate()
        stop.set()

    controller = threading.Thread(target=chaos)
    controller.start()
    errors = _threads(work, 6)
    controller.join()
    assert not errors, errors
    assert all("terminate" in m.lower() for m in messages), messages
    assert sum(outcomes[k]["terminated"] for k in range(4)) > 0, outcomes
    assert all(outcomes[k]["terminated"] == 0 for k in (4, 5)), outcomes
    assert all(outcomes[k]["ran"] > 0 for k in range(6)), outcomes
    # the shared options work again once reset, in every form
    for form in _FORMS:
        assert _runner(s, form)(3, shared)["y"].shape == (N, N)
    s.close()


def test_terminate_before_a_run_stops_it_at_once_in_every_form(slow_bytes: bytes) -> None:
    s = ort.session_from_bytes(slow_bytes, intra_op_num_threads=1)
    ro = ort.run_options()
    ro.terminate()
    for form in _FORMS:
        begin = time.perf_counter()
        with pytest.raises(ort.TerminatedError):
            _runner(s, form)(1000, ro)
        assert time.perf_counter() - begin < 0.5
    s.close()


# ---------------------------------------------------------------------------------------------
# close() while other threads run


def test_close_while_threads_run_every_form(slow_bytes: bytes) -> None:
    # Threads run, run_into, IO bindings and inspection on one session; the main thread closes
    # it. Calls in flight finish with a correct result; every call after close() raises
    # StateError; nothing else escapes and nothing crashes.
    s = ort.session_from_bytes(slow_bytes, intra_op_num_threads=1)
    closed = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def work(k: int) -> None:
        call = _runner(s, _FORMS[k % 3])
        ro = ort.run_options()
        after_close = 0
        while after_close < 3:
            was_closed = closed.is_set()
            try:
                if k == 5:
                    s.input_names()
                    s.metadata()
                    s.create_io_binding()
                    time.sleep(0.001)
                else:
                    assert call(5, ro)["y"].shape == (N, N)
                result = "ran"
            except ort.StateError as exc:
                result = "state error" if "closed" in str(exc) else f"StateError: {exc}"
            assert not (was_closed and result == "ran"), "a call after close() succeeded"
            with lock:
                outcomes[result] += 1
            after_close += was_closed

    def closer() -> None:
        time.sleep(0.3)
        s.close()
        closed.set()

    t = threading.Thread(target=closer)
    t.start()
    errors = _threads(work, 6)
    t.join()
    assert not errors, errors
    assert set(outcomes) == {"ran", "state error"}, outcomes
    assert outcomes["ran"] > 0 and outcomes["state error"] >= 18, outcomes
    with pytest.raises(ort.StateError):
        s.run({"x": _x()})


def test_close_from_many_threads_at_once(slow_bytes: bytes) -> None:
    s = ort.session_from_bytes(slow_bytes, intra_op_num_threads=1)
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        barrier.wait()
        if k == 0:
            s.run({"x": _x(), "iterations": np.array(3, np.int64)})
        else:
            s.close()

    errors = _threads(work, 8)
    assert all(isinstance(e, ort.StateError) for e in errors), errors
    assert s.closed


def test_a_binding_outlives_its_closed_session(slow_bytes: bytes) -> None:
    s = ort.session_from_bytes(slow_bytes, intra_op_num_threads=1)
    binding = s.create_io_binding()
    binding.bind_input("x", _x())
    binding.bind_output("y")
    s.run_with_iobinding(binding)
    s.close()
    for call in (lambda: s.run_with_iobinding(binding), binding.get_outputs,
                 lambda: binding.bind_input("x", _x()), binding.clear_inputs):
        with pytest.raises(ort.StateError):
            call()


# ---------------------------------------------------------------------------------------------
# custom-op libraries that fail to load


def _library_routes(path: str) -> dict[str, Callable[[], Any]]:
    session = ort.session_from_bytes(models.add())
    return {
        "load_custom_op_library": lambda: ort.load_custom_op_library(path),
        "custom_op_libraries": lambda: ort.session_from_bytes(models.add(),
                                                              custom_op_libraries=[path]),
        "register_custom_op_library": lambda: session.register_custom_op_library(path),
        "session": lambda: session,
    }


def _not_custom_op_libraries(tmp_path: Path) -> dict[str, str]:
    text = tmp_path / "not_a_library.so"
    text.write_text("this is not a shared library\n")
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    return {
        "text file": str(text),
        "empty file": str(empty),
        "missing path": str(tmp_path / "missing.so"),
        "directory": str(tmp_path),
        # a real shared library that is no custom-op library (no RegisterCustomOps)
        "python extension": _ctypes.__file__,
    }


@pytest.mark.parametrize("kind", ["text file", "empty file", "missing path", "directory",
                                  "python extension"])
def test_custom_op_library_that_fails_to_load(tmp_path: Path, kind: str) -> None:
    path = _not_custom_op_libraries(tmp_path)[kind]
    routes = _library_routes(path)
    session = routes.pop("session")()
    generation = session.generation
    for route, call in routes.items():
        with pytest.raises(ort.CustomOpLibraryError) as info:
            call()
        assert os.path.abspath(path) in str(info.value), (route, str(info.value))
    # the session whose rebuild failed is untouched and still runs
    assert session.generation == generation
    out = session.run({"x": [[1.0, 2.0]], "bias": [[0.5, 0.5]]})
    assert out["y"].tolist() == [[1.5, 2.5]]


_TRUNCATED_LIBRARY = """
import sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import models, ortsession as ort
data = open(models.custom_op_library_path(), "rb").read()
path = sys.argv[2]
open(path, "wb").write(data[: int(sys.argv[3])])
for name, call in [
    ("load_custom_op_library", lambda: ort.load_custom_op_library(path)),
    ("custom_op_libraries", lambda: ort.session_from_bytes(models.custom_op_model(),
                                                           custom_op_libraries=path)),
]:
    try:
        call()
        print(name, "loaded")
    except ort.OrtError as exc:
        print(name, type(exc).__name__, exc)
"""


@pytest.mark.parametrize("keep", [40, 5000, 1_000_000])
def test_a_truncated_custom_op_library_fails_cleanly(tmp_path: Path, keep: int) -> None:
    # dlopen of a cut ELF file dies of SIGBUS: run it in a subprocess, then ask for a clean
    # CustomOpLibraryError (ortsession._prechecks.check_library_file, called before loading).
    done = subprocess.run([sys.executable, "-c", _TRUNCATED_LIBRARY, str(TESTS),
                           str(tmp_path / "cut.so"), str(keep)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"the process died (status {done.returncode}): {done.stderr}"
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line in lines:
        assert " CustomOpLibraryError " in line, line
        assert "cut.so" in line


# ---------------------------------------------------------------------------------------------
# output paths of session options: missing or unwritable directories


_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _read_only_dir(tmp_path: Path) -> Path:
    d = tmp_path / "read_only"
    d.mkdir()
    d.chmod(0o555)
    return d


@pytest.mark.parametrize("field", ["optimized_model_path", "profile_file_prefix"])
def test_missing_directory_is_an_option_error(tmp_path: Path, field: str) -> None:
    target = tmp_path / "missing" / "deeper" / "out.onnx"
    with pytest.raises(ort.OptionError) as info:
        ort.session_from_bytes(models.add(), {field: str(target)})
    assert field in str(info.value)
    assert str(target.parent.parent) in str(info.value) or str(target.parent) in str(info.value)
    assert not (tmp_path / "missing").exists()


def _unwritable_targets(tmp_path: Path) -> list[tuple[str, str]]:
    targets = [("a directory of /proc", "/proc/ortsession-unwritable"),
               ("an existing directory", str(tmp_path))]
    if not _AS_ROOT:  # root writes into read-only directories anyway
        targets.append(("a read-only directory", str(_read_only_dir(tmp_path) / "out")))
    return targets


def test_unwritable_optimized_model_path(tmp_path: Path) -> None:
    for what, target in _unwritable_targets(tmp_path):
        # (an existing directory: the path itself is a directory, it cannot be written)
        with pytest.raises(ort.OrtError) as info:
            ort.session_from_bytes(models.add(), optimized_model_path=target)
        assert isinstance(info.value, (ort.OptionError, ort.ModelLoadError)), (what, info.value)


def test_unwritable_profile_file_prefix(tmp_path: Path) -> None:
    # ORT writes the profile at end_profiling() and only logs a failure: ortsession must raise
    # rather than return the path of a file that does not exist.
    for what, target in _unwritable_targets(tmp_path):
        if what == "an existing directory":
            continue  # a prefix inside an existing directory is fine (tested below)
        s = ort.session_from_bytes(models.add(), profile_file_prefix=target)
        s.run({"x": [[1.0, 2.0]], "bias": [[0.0, 0.0]]})
        with pytest.raises(ort.StateError, match="could not write the profile file"):
            s.end_profiling()
        s.close()
    s = ort.session_from_bytes(models.add(), profile_file_prefix=str(tmp_path / "trace"))
    path = s.end_profiling()
    assert path is not None and os.path.isfile(path) and path.startswith(str(tmp_path))


# ---------------------------------------------------------------------------------------------
# models whose external data is missing or broken


def _external_model(folder: Path) -> Path:
    w = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(1, 4096), "w")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4096])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    return path


def _with_location(path: Path, location: str) -> Path:
    model = onnx.load(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = location
    out = path.with_name(f"moved-{abs(hash(location))}.onnx")
    onnx.save(model, str(out))
    return out


def _load(model: Path | bytes) -> ort.Session:
    return ort.session_from_bytes(model) if isinstance(model, bytes) else ort.session(model)


def test_external_data_model_loads_when_complete(tmp_path: Path) -> None:
    path = _external_model(tmp_path)
    with ort.session(path) as s:
        y = s.run({"x": np.zeros((1, 4096), np.float32)})["y"].numpy()
    assert y[0, :3].tolist() == [0.0, 1.0, 2.0]


def test_missing_external_data_file(tmp_path: Path) -> None:
    path = _external_model(tmp_path)
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(ort.ModelLoadError) as info:
        ort.session(path)
    assert str(path) in str(info.value)
    assert "weights.bin" in str(info.value)


@pytest.mark.parametrize("fault", ["truncated", "empty", "escaping location",
                                   "absolute location", "location is a directory",
                                   "loaded from bytes"])
def test_broken_external_data(tmp_path: Path, fault: str) -> None:
    path = _external_model(tmp_path / "model")
    data = tmp_path / "model" / "weights.bin"
    (tmp_path / "outside.bin").write_bytes(data.read_bytes())
    if fault == "truncated":
        data.write_bytes(data.read_bytes()[:100])
    elif fault == "empty":
        data.write_bytes(b"")
    elif fault == "escaping location":
        path = _with_location(path, "../outside.bin")
    elif fault == "absolute location":
        path = _with_location(path, str(tmp_path / "outside.bin"))
    elif fault == "location is a directory":
        path = _with_location(path, ".")
    model: Path | bytes = path.read_bytes() if fault == "loaded from bytes" else path
    with pytest.raises(ort.ModelLoadError) as info:
        _load(model)
    message = str(info.value)
    assert "cannot" in message and ("<bytes>" in message or str(path) in message)
    assert ".cc:" not in message and "[ONNXRuntimeError]" not in message
