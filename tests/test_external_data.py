"""External initializers and external data given from memory at session creation (SPEC §10).

A model saved with ``onnx.save_model(..., save_as_external_data=True)`` is loaded from its bytes
alone, its weights file given from memory; initializers are replaced by arrays from memory;
both from Lua too. Every mistake is an ``OptionError`` naming the option and the entry.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import models
import ortsession as ort
from ortsession import ModelLoadError, OptionError, OrtError, _engine

NEEDS_1_24 = pytest.mark.skipif(
    _engine._version() < (1, 24),
    reason="in-memory external data needs onnxruntime 1.24+ (refused with an OptionError "
           "before, see test_an_ort_without_the_methods_gives_an_option_error)")

TP = onnx.TensorProto
W = np.arange(6, dtype=np.float32).reshape(2, 3)
X = np.array([[1.0, 1.0]], np.float32)


def _matmul_model() -> onnx.ModelProto:
    """``y = x @ W``: x float32 [1, 2], initializer W float32 [2, 3]."""
    return onnx.load_from_string(models.make(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        [helper.make_tensor_value_info("x", TP.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TP.FLOAT, [1, 3])],
        initializers=[numpy_helper.from_array(W, "W")], name="matmul"))


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, Path]:
    """(model bytes, weights.bin bytes, folder) of the model saved with external data."""
    folder = tmp_path_factory.mktemp("external")
    onnx.save_model(_matmul_model(), str(folder / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    return ((folder / "model.onnx").read_bytes(), (folder / "weights.bin").read_bytes(), folder)


@NEEDS_1_24
def test_model_with_external_data_loads_from_memory(external: tuple[bytes, bytes, Path]) -> None:
    model, weights, _ = external
    assert len(weights) == W.nbytes and W.tobytes() not in model  # the weights are outside
    with pytest.raises(ModelLoadError, match="External data"):
        ort.session_from_bytes(model)  # nothing tells ORT where the weights are
    for data in (weights, bytearray(weights), memoryview(weights),
                 np.frombuffer(weights, np.uint8)):
        s = ort.session_from_bytes(model, external_data={"weights.bin": data})
        np.testing.assert_array_equal(s.run({"x": X})["y"].numpy(), X @ W)


def test_initializers_are_given_from_memory(external: tuple[bytes, bytes, Path]) -> None:
    model, _, folder = external
    ones = np.ones((2, 3), np.float32)
    # the weights file is not needed at all: every external initializer comes from memory
    for value in (ones, ort.Tensor(ones), ort.tensor("float32", [2, 3], ones.ravel().tolist())):
        s = ort.session_from_bytes(model, external_initializers={"W": value})
        assert s.run({"x": X})["y"].to_table() == [2.0, 2.0, 2.0]
    # from a file next to its weights, with that initializer replaced
    s = ort.session(folder / "model.onnx", {"external_initializers": {"W": -ones}})
    assert s.run({"x": X})["y"].to_table() == [-2.0, -2.0, -2.0]
    assert ort.session(folder / "model.onnx").run({"x": X})["y"].to_table() == [3.0, 5.0, 7.0]


def test_external_initializers_share_memory_with_the_session(
        external: tuple[bytes, bytes, Path]) -> None:
    w = np.ones((2, 3), np.float32)
    s = ort.session_from_bytes(external[0], external_initializers={"W": w})
    assert s.options.external_initializers["W"].numpy() is w  # kept alive, not copied
    assert s.run({"x": X})["y"].to_table() == [2.0, 2.0, 2.0]


def test_mistakes_are_option_errors() -> None:
    inline = _matmul_model().SerializeToString()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"external_initializers": [1]}, "'external_initializers': expected a dict"),
        ({"external_initializers": {"": W}}, "'external_initializers key': expected a non-empty"),
        ({"external_initializers": {"W": [1.0]}}, "external_initializers['W']\": expected a "
                                                  "Tensor or an array, got [1.0] (list)"),
        ({"external_initializers": {"W": np.array(["a"])}}, "numeric or bool host tensor"),
        ({"external_initializers": {"W": ort.tensor("int4", [2], 1)}}, "'external_data'"),
        ({"external_initializers": {"W": np.zeros(2, complex)}}, "external_initializers['W']"),
        ({"external_data": {"weights.bin": "text"}}, "expected bytes, bytearray"),
        ({"external_data": {1: b""}}, "'external_data key': expected a non-empty file name"),
        ({"external_data": {"w": np.zeros((4, 4), np.uint8)[:, ::2]}}, "contiguous bytes"),
        ({"external_data": b"x"}, "'external_data': expected a dict"),
    ]
    for opts, text in cases:
        with pytest.raises(OptionError) as info:
            ort.session_from_bytes(inline, opts)
        assert text in str(info.value), (opts, str(info.value))


def test_orts_refusals_are_clear_errors(external: tuple[bytes, bytes, Path]) -> None:
    model = external[0]
    with pytest.raises(OrtError, match="Failed to find existing initializer with name Nope"):
        ort.session_from_bytes(model, external_initializers={"Nope": W})
    with pytest.raises(OrtError, match="dimensions do not match"):
        ort.session_from_bytes(model, external_initializers={"W": np.ones((3, 3), np.float32)})
    with pytest.raises(OrtError, match="data type does not match"):
        ort.session_from_bytes(model, external_initializers={"W": W.astype(np.float64)})
    with pytest.raises(OrtError, match="replace non-external initializer"):
        ort.session_from_bytes(_matmul_model().SerializeToString(),
                               external_initializers={"W": W})


@NEEDS_1_24
def test_short_external_data_is_refused(external: tuple[bytes, bytes, Path]) -> None:
    model, weights, _ = external
    with pytest.raises(OrtError, match="out of bounds"):
        ort.session_from_bytes(model, external_data={"weights.bin": weights[:8]})


@NEEDS_1_24
def test_lua_passes_tensors_and_strings(external: tuple[bytes, bytes, Path],
                                        tmp_path: Path) -> None:
    pytest.importorskip("lupa.lua54")
    from ortsession import lua as ortlua

    model, weights, _ = external
    (tmp_path / "external.onnx").write_bytes(model)
    (tmp_path / "weights.data").write_bytes(weights)
    source = """
local ort = require("onnxruntime")
local folder = arg[1]
local function slurp(name)
  local f = assert(io.open(folder .. "/" .. name, "rb")); local s = f:read("a"); f:close()
  return s
end
local x = ort.tensor("float32", {1, 2}, {1, 1})
local s = assert(ort.session_from_bytes(slurp("external.onnx"),
  {external_data = {["weights.bin"] = slurp("weights.data")}}))
local y = s:run({x = x}).y:to_table()
assert(y[1] == 3 and y[2] == 5 and y[3] == 7, "external data")
local ones = ort.tensor("float32", {2, 3}, 1)
local s2 = assert(ort.session_from_bytes(slurp("external.onnx"),
  {external_initializers = {W = ones}}))
local y2 = s2:run({x = x}).y:to_table()
assert(y2[1] == 2 and y2[3] == 2, "external initializers")
local ok, err = ort.session_from_bytes(slurp("external.onnx"), {external_initializers = {W = 1}})
assert(ok == nil and err:find("external_initializers['W']", 1, true), err)
print("ok")
"""
    out, err = io.StringIO(), io.StringIO()
    code = ortlua.run_source(source, [str(tmp_path)], name="=external", stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue() == "ok\n"


def test_an_ort_without_the_methods_gives_an_option_error() -> None:
    from ortsession import _engine

    class OldSessionOptions:  # what onnxruntime < 1.24 offers: no in-memory files
        pass

    with pytest.raises(OptionError, match=r"'external_data' needs ONNX Runtime's SessionOptions"
                                          r"\.add_external_initializers_from_files_in_memory of "
                                          r"onnxruntime 1\.24 or newer .*; this is onnxruntime \d"):
        _engine.add_external_data(OldSessionOptions(), ["w.bin"], [memoryview(b"x")])
    with pytest.raises(OptionError, match="'external_initializers' needs ONNX Runtime's"):
        _engine.add_external_initializers(OldSessionOptions(), ["W"], [])
