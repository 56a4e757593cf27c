"""``RunOptions``: getters/setters with validation, tag, terminate() from another thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

import models
import ortsession as ort
from ortsession import OptionError, RunError, RunOptions, TerminatedError

X = np.array([[1.0, 2.0]], np.float32)
BIAS = np.array([[0.5, -0.5]], np.float32)


def test_defaults() -> None:
    ro = ort.run_options()
    assert isinstance(ro, RunOptions)
    assert ro.tag() == ""
    assert ro.log_severity_level() == -1  # the session's level applies
    assert ro.log_verbosity_level() == 0
    assert not ro.terminated


def test_fields_from_a_dict_keywords_or_the_class() -> None:
    a = ort.run_options({"tag": "session-run", "log_severity_level": 2, "log_verbosity_level": 1})
    b = ort.run_options(tag="session-run", log_severity_level=2, log_verbosity_level=1)
    c = ort.run_options({"tag": "session-run"}, log_severity_level=2, log_verbosity_level=1)
    d = RunOptions(tag="session-run", log_severity_level=2, log_verbosity_level=1)
    for ro in (a, b, c, d):
        assert (ro.tag(), ro.log_severity_level(), ro.log_verbosity_level()) == (
            "session-run", 2, 1)
    assert repr(a) == ("RunOptions(tag='session-run', log_severity_level=2, "
                       "log_verbosity_level=1)")


def test_getters_and_setters() -> None:
    ro = ort.run_options()
    assert ro.tag("demo") == "demo"
    assert ro.tag() == "demo"
    assert ro.tag("") == ""
    for level in (0, 4, -1, 3):
        assert ro.log_severity_level(level) == level
        assert ro.log_severity_level() == level
    assert ro.log_verbosity_level(7) == 7
    assert ro.log_verbosity_level() == 7
    ro.log_severity_level(ro.log_severity_level())  # a value read can be set again


@pytest.mark.parametrize(("fields", "pattern"), [
    ({"tag": 1}, r"run option 'tag': expected a string, got 1 \(int\)"),
    ({"tag": "a\x00"}, r"run option 'tag': expected a string without NUL characters, got 'a\\x00'"),
    ({"tag": None}, None),  # None means "not given": accepted, keeps the default
    ({"log_severity_level": 5},
     r"run option 'log_severity_level': expected an integer from -1 to 4, got 5$"),
    ({"log_severity_level": -2}, r"'log_severity_level': expected an integer from -1 to 4, got -2"),
    ({"log_severity_level": True},
     r"'log_severity_level': expected an integer from -1 to 4, got True \(bool\)"),
    ({"log_severity_level": 2.0},
     r"'log_severity_level': expected an integer from -1 to 4, got 2\.0 \(float\)"),
    ({"log_severity_level": "2"},
     r"'log_severity_level': expected an integer from -1 to 4, got '2' \(str\)"),
    ({"log_verbosity_level": -1},
     r"'log_verbosity_level': expected an integer from 0 to 2147483647, got -1"),
    ({"taag": "x"}, r"unknown run option 'taag' \(did you mean 'tag'\?\); accepted: "
                    r"log_severity_level, log_verbosity_level, tag$"),
])
def test_validation(fields: dict[str, Any], pattern: str | None) -> None:
    if pattern is None:
        assert ort.run_options(fields).tag() == ""
        return
    with pytest.raises(OptionError, match=pattern):
        ort.run_options(fields)


@pytest.mark.parametrize(("method", "value", "pattern"), [
    ("tag", 3, "expected a string"),
    ("log_severity_level", 9, r"expected an integer from -1 to 4, got 9"),
    ("log_severity_level", False, r"expected an integer from -1 to 4, got False \(bool\)"),
    ("log_verbosity_level", -5, "expected an integer from 0 to 2147483647, got -5"),
    ("log_verbosity_level", 1.5, "expected an integer"),
])
def test_setter_validation(method: str, value: Any, pattern: str) -> None:
    ro = ort.run_options(tag="keep", log_severity_level=3, log_verbosity_level=2)
    with pytest.raises(OptionError, match=pattern):
        getattr(ro, method)(value)
    assert (ro.tag(), ro.log_severity_level(), ro.log_verbosity_level()) == ("keep", 3, 2)


def test_field_given_twice() -> None:
    with pytest.raises(OptionError, match="'tag' is given twice"):
        ort.run_options({"tag": "a"}, tag="b")


def test_options_must_be_a_dict() -> None:
    with pytest.raises(OptionError, match="expected a dict"):
        ort.run_options(["tag"])  # type: ignore[arg-type]


def test_used_by_every_run_form(demo_model_path: str) -> None:
    s = ort.session(demo_model_path)
    ro = ort.run_options(tag="demo", log_severity_level=3)
    assert s.run({"x": X, "bias": BIAS}, ["y"], ro)["y"].to_table() == [1.5, 1.5]
    assert s.run({"x": X, "bias": BIAS}, run_options=ro)["y"].to_table() == [1.5, 1.5]
    y = ort.tensor("float32", [1, 2])
    assert s.run_into({"x": X, "bias": BIAS}, {"y": y}, ro)["y"] is y
    b = s.create_io_binding()
    b.bind_input("x", X)
    b.bind_input("bias", BIAS)
    b.bind_output("y")
    assert s.run_with_iobinding(b, ro)["y"].to_table() == [1.5, 1.5]


def test_terminate_before_running_and_reset(demo_model_path: str) -> None:
    s = ort.session(demo_model_path)
    ro = ort.run_options()
    ro.terminate()
    assert ro.terminated
    with pytest.raises(TerminatedError, match=r"^run\(\): .*terminate") as info:
        s.run({"x": X, "bias": BIAS}, None, ro)
    assert isinstance(info.value, RunError)
    ro.reset_terminate()
    assert not ro.terminated
    assert s.run({"x": X, "bias": BIAS}, None, ro)["y"].to_table() == [1.5, 1.5]
    # other options are not affected
    assert s.run({"x": X, "bias": BIAS})["y"].to_table() == [1.5, 1.5]


@pytest.fixture(scope="module")
def slow() -> ort.Session:
    """About 3 s on one core; ORT checks the terminate flag between loop iterations."""
    return ort.session_from_bytes(models.slow_model(3.0), intra_op_num_threads=1,
                                  inter_op_num_threads=1)


def test_terminate_from_another_thread_stops_a_long_run(slow: ort.Session) -> None:
    x = np.full((models.SLOW_SIZE, models.SLOW_SIZE), 0.01, np.float32)
    ro = ort.run_options(tag="slow")
    result: dict[str, Any] = {}
    started = threading.Event()

    def work() -> None:
        started.set()
        begin = time.perf_counter()
        try:
            result["outputs"] = slow.run({"x": x}, None, ro)
        except BaseException as exc:
            result["error"] = exc
        result["elapsed"] = time.perf_counter() - begin

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    time.sleep(0.3)
    assert worker.is_alive(), "the slow model finished before terminate(): too fast a machine?"
    asked = time.perf_counter()
    ro.terminate()
    worker.join(timeout=20)
    stopped_after = time.perf_counter() - asked
    assert not worker.is_alive()
    assert isinstance(result.get("error"), TerminatedError), result
    assert "terminate" in str(result["error"]).lower()
    assert stopped_after < 1.0, f"terminate() took {stopped_after:.2f} s to stop the run"
    assert result["elapsed"] < 2.0

    # the same options run normally after reset_terminate() (a short run: 5 iterations)
    ro.reset_terminate()
    out = slow.run({"x": x, "iterations": 5}, None, ro)
    assert out["y"].shape == (models.SLOW_SIZE, models.SLOW_SIZE)
    assert np.isfinite(out["y"].numpy()).all()


@pytest.mark.parametrize("call", ["run_into", "run_with_iobinding"])
def test_terminate_applies_to_run_into_and_bindings(slow: ort.Session, call: str) -> None:
    x = np.full((models.SLOW_SIZE, models.SLOW_SIZE), 0.01, np.float32)
    y = ort.tensor("float32", [models.SLOW_SIZE, models.SLOW_SIZE])
    ro = ort.run_options()
    binding = slow.create_io_binding()
    binding.bind_input("x", x)
    binding.bind_output("y", y)
    timer = threading.Timer(0.2, ro.terminate)
    timer.start()
    begin = time.perf_counter()
    with pytest.raises(TerminatedError):
        _run_form(slow, call, x, y, binding, ro)
    timer.join()
    assert time.perf_counter() - begin < 1.5


def _run_form(s: ort.Session, call: str, x: np.ndarray, y: ort.Tensor, binding: ort.IOBinding,
              ro: RunOptions) -> ort.Outputs:
    if call == "run_into":
        return s.run_into({"x": x}, {"y": y}, ro)
    return s.run_with_iobinding(binding, ro)
