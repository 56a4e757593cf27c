"""The Lua side of issue 10: messages in Lua's terms (§5) and what a script can reach (§6)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

pytest.importorskip("lupa")

import ortsession.lua


def _run(source: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = ortsession.lua.run_source(source, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


HOLES = """
local ort = require("onnxruntime")
local s = assert(ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx"))
local bias = ort.tensor("float32", {1, 2}, {0, 0})
local function show(_, err) print(err) end
show(ort.tensor("float32", {3}, {1, nil, 3}))
show(ort.tensor("float32", {3}, {nil, 2, 3}))
show(ort.tensor("int64", {4}, {1, 2, nil, 4}))
show(ort.tensor("string", {3}, {"a", nil, "c"}))
show(ort.tensor("float32", {2, 2}, {{1, 2}, {nil, 4}}))
show(s:run({x = {{1, nil, 3}}, bias = bias}))
show(s:run({x = {[1] = {1, 2}, [3] = {1, 2}}, bias = bias}))
show(s:run_into({x = {{1, nil, 3}}, bias = bias}, {y = ort.tensor("float32", {1, 2})}))
"""


def test_arrays_with_holes_are_named_in_lua_terms() -> None:
    code, out, err = _run(HOLES)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 8, out
    for line in lines:
        assert "the array has a hole: index" in line and "is nil" in line, line
        assert "Python" not in line and "{1:" not in line, line
    assert "index 2 is nil" in lines[0] and "index 1 is nil" in lines[1]
    assert "index 3 is nil" in lines[2] and "1..4" in lines[2]


def test_lua_help_states_the_trust_model() -> None:
    proc = subprocess.run([sys.executable, "-m", "ortsession", "lua", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    for words in ("not sandboxed", "os.execute", "Python itself", "custom-op library",
                  "run only scripts you trust"):
        assert words in text, words


REACH = """
local ort = require("onnxruntime")
local s = ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx")
local _, py = next(s)                       -- the Python object behind the Lua object
print(py.__class__.__init__.__module__)     -- its class, its Python module, and so on
print(py._source)                           -- private state, beyond the module's API
print(os.execute("exit 3"))                 -- Lua's own: commands of the shell
"""


def test_what_docs_say_a_script_can_reach_is_true() -> None:
    """docs/lua.md "Scripts must be trusted": the routes it names work (so the warning is not
    theoretical); if one stops working, update the docs."""
    code, out, err = _run(REACH)
    assert code == 0, err
    module, source, executed = out.splitlines()
    assert module == "ortsession._session"
    assert source.endswith("demo/model.onnx'")
    assert executed.split()[:2] == ["nil", "exit"]  # the command ran and failed


LUA_TERMS = """
local ort = require("onnxruntime")
local s = assert(ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx"))
local function show(_, err) print(err) end
show(ort.tensor("float32", {2}, {1, "a"}))
show(ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx", {intra_op_num_threads = {1}}))
show(s:run({x = {{1, 2}}, bias = {{1, 2}}}, {{"y"}}))
show(s:run({x = {{1, 2}}, bias = {{1, 2}}}, {"y", 3}))
"""


def test_messages_name_lua_types_and_the_offending_value() -> None:
    code, out, err = _run(LUA_TERMS)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "tensor data: float32 needs numbers, got 'a' (string)"
    assert lines[1].endswith("got [1] (table)")
    assert lines[2] == ('output_names: entry 1 is a table, expected an output name (a string); '
                        'the model\'s outputs are {"y"}')
    assert lines[3].startswith("output_names: entry 2 is a number")
    for line in lines:
        assert "_LuaTable" not in line and "(list)" not in line and "(str)" not in line, line
