"""The ``_engine`` boundary: ORT failures mapped in one place, chained, with ORT's status code."""

from __future__ import annotations

import re

import numpy as np
import pytest

import models
import ortsession as ort
from ortsession import _engine, _messages

X = np.array([[1.0, 2.0]], np.float32)


def test_a_terminated_run_keeps_the_ort_exception_and_its_status_code() -> None:
    s = ort.session_from_bytes(models.add())
    ro = ort.run_options()
    ro.terminate()
    with pytest.raises(ort.TerminatedError, match=r"^run\(\): .*terminate") as info:
        s.run([X] * s.input_count(), run_options=ro)
    assert info.value.code == "FAIL"
    cause = info.value.__cause__
    assert cause is not None and not isinstance(cause, ort.OrtError)
    assert _engine.is_ort_exception(cause)


@pytest.mark.parametrize("call", ["run_into", "run_with_iobinding"])
def test_every_run_form_maps_the_same_way(call: str) -> None:
    s = ort.session_from_bytes(models.add())
    ro = ort.run_options()
    ro.terminate()
    inputs = [X] * s.input_count()
    y = ort.Tensor(np.zeros((1, 2), np.float32))
    binding = s.create_io_binding()
    for name, value in zip(s.input_names(), inputs):
        binding.bind_input(name, value)
    binding.bind_output(s.output_names()[0], y)
    run = ((lambda: s.run_into(inputs, {s.output_names()[0]: y}, run_options=ro))
           if call == "run_into" else (lambda: s.run_with_iobinding(binding, ro)))
    with pytest.raises(ort.TerminatedError) as info:
        run()
    # ORT's IO binding raises a plain RuntimeError ("Error in execution: ..."): no status code
    assert info.value.code is None
    assert isinstance(info.value.__cause__, RuntimeError)


def test_the_package_own_errors_have_no_status_code() -> None:
    s = ort.session_from_bytes(models.add())
    with pytest.raises(ort.InputError) as info:
        s.run({"nope": X})
    assert info.value.code is None
    assert info.value.__cause__ is None
    assert ort.OrtError("x").code is None


def status_of(exc: BaseException | None) -> str:
    """ORT's status code named by the class of the binding's exception (``InvalidArgument``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).upper()


# ORT 1.20 says INVALID_ARGUMENT where 1.32 says FAIL for an IR version it does not know
@pytest.mark.parametrize(("name", "codes"), [("unknown_op", {"INVALID_GRAPH"}),
                                             ("unsupported_ir_version", {"FAIL", "INVALID_ARGUMENT"})])
def test_a_model_ort_refuses_keeps_its_status_code(name: str, codes: set[str]) -> None:
    with pytest.raises(ort.ModelLoadError) as info:
        ort.session_from_bytes(models.bad_models()[name])
    assert info.value.code in codes
    assert info.value.code == status_of(info.value.__cause__)


def test_status_codes_and_termination_are_read_in_one_place() -> None:
    assert _engine.status_code(ValueError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : x")) == (
        "INVALID_ARGUMENT")
    assert _engine.status_code(ValueError("no status")) is None
    assert _messages.is_termination("Exiting due to terminate flag being set to true.")
    assert not _messages.is_termination("the run was terminated by a kernel")
    error = _engine.translate(RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Exiting due to "
                                           "terminate flag being set to true."),
                              ort.RunError, "run()")
    assert type(error) is ort.TerminatedError and error.code == "FAIL"
    assert str(error) == "run(): Exiting due to terminate flag being set to true"


def test_mapped_lets_the_package_errors_and_non_exceptions_through() -> None:
    with pytest.raises(ort.InputError, match=r"^mine$"), _engine.Mapped("run()", ort.RunError):
        raise ort.InputError("mine")
    with pytest.raises(ort.RunError, match=r"^run\(\): boom$") as info, \
            _engine.Mapped("run()", ort.RunError):
        raise RuntimeError("boom")
    assert isinstance(info.value.__cause__, RuntimeError)
