"""Lua ``session:run`` against Python ``Session.run`` on the bundled demo model (one process).

Run: ``python bench/lua_bench.py [--iterations N] [--repeats R]``. Prints the time per call of
each path and the Lua/Python ratio (the Lua front end's target for ``run``: at most 2x):

* ``run``: the same inputs and output-names tables each call (a loop's usual shape);
  ``run_new_tables``: new tables holding the same tensors each call (both reuse the module's run
  plan); ``run_changing``: an input tensor that changes on every call (no plan: every call
  converts its tables);
* ``run_into``, ``iobinding`` (``run_with_iobinding`` with pre-bound values) and ``to_table``
  (a 1M-element tensor) against their Python counterparts.

Each figure is the best of ``--repeats`` interleaved measurements (the least disturbed by other
load on the machine). Not a test: ratios vary with the machine.
"""

from __future__ import annotations

import argparse
import time

import ortsession as ort
from ortsession.lua import default_home, new_runtime

LUA_SETUP = b"""
local ort = require("onnxruntime")
local session = assert(ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx"))
local x = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))
local bias = assert(ort.tensor("float32", {1, 2}, {0.5, -0.5}))
local y = assert(ort.tensor("float32", {1, 2}))
local ro = assert(ort.run_options({tag = "bench"}))
local inputs, names = {x = x, bias = bias}, {"y"}
local binding = assert(session:create_io_binding())
assert(binding:bind_input("x", x))
assert(binding:bind_input("bias", bias))
assert(binding:bind_output("y", y))
local big = assert(ort.tensor("float32", {1000, 1000}, 0.5))
local clock = CLOCK
local function timed(n, f)
  local t0 = clock()
  for _ = 1, n do f() end
  return (clock() - t0) / n
end
return {
  run = function(n) return timed(n, function() return session:run(inputs, names, ro) end) end,
  run_new_tables = function(n)
    return timed(n, function() return session:run({x = x, bias = bias}, {"y"}, ro) end)
  end,
  run_changing = function(n)
    local tensors, i = {x, bias}, 0
    return timed(n, function()
      i = i % 2 + 1
      return session:run({x = tensors[i], bias = bias}, {"y"}, ro)
    end)
  end,
  run_into = function(n)
    local outputs = {y = y}
    return timed(n, function() return session:run_into(inputs, outputs, ro) end)
  end,
  iobinding = function(n)
    return timed(n, function() return session:run_with_iobinding(binding, ro) end)
  end,
  to_table = function(n) return timed(n, function() return big:to_table() end) end,
}
"""


def _alternating(session: ort.Session, x: ort.Tensor, bias: ort.Tensor,
                 ro: ort.RunOptions) -> object:
    tensors, state = [x, bias], [0]

    def call() -> object:
        state[0] = 1 - state[0]
        return session.run({"x": tensors[state[0]], "bias": bias}, ["y"], ro)

    return call


def _python_timers() -> dict[str, object]:
    clock = time.perf_counter
    session = ort.session(f"{default_home()}/models/demo/model.onnx")
    x = ort.tensor("float32", [1, 2], [1.0, 2.0])
    bias = ort.tensor("float32", [1, 2], [0.5, -0.5])
    y = ort.tensor("float32", [1, 2])
    ro = ort.run_options({"tag": "bench"})
    inputs, names = {"x": x, "bias": bias}, ["y"]
    binding = session.create_io_binding()
    binding.bind_input("x", x)
    binding.bind_input("bias", bias)
    binding.bind_output("y", y)
    big = ort.tensor("float32", [1000, 1000], 0.5)

    def timed(n: int, f: object) -> float:
        assert callable(f)
        t0 = clock()
        for _ in range(n):
            f()
        return (clock() - t0) / n

    return {
        "run": lambda n: timed(n, lambda: session.run(inputs, names, ro)),
        "run_new_tables": lambda n: timed(
            n, lambda: session.run({"x": x, "bias": bias}, ["y"], ro)),
        "run_changing": lambda n: timed(n, _alternating(session, x, bias, ro)),
        "run_into": lambda n: timed(n, lambda: session.run_into(inputs, {"y": y}, ro)),
        "iobinding": lambda n: timed(n, lambda: session.run_with_iobinding(binding, ro)),
        "to_table": lambda n: timed(n, big.to_table),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=25)
    opts = parser.parse_args()
    rt = new_runtime()
    rt.globals()[b"CLOCK"] = time.perf_counter
    lua = rt.execute(LUA_SETUP)
    py = _python_timers()
    print(f"ONNX Runtime {ort.version()}, demo model, {opts.repeats} repeats, "
          f"best time per call (min over repeats: least disturbed by other load)")
    print(f"{'path':<16}{'Lua (us)':>12}{'Python (us)':>14}{'Lua/Python':>12}")
    for name in ("run", "run_new_tables", "run_changing", "run_into", "iobinding", "to_table"):
        n = opts.iterations if name != "to_table" else max(1, opts.iterations // 400)
        lua_fn, py_fn = lua[name.encode()], py[name]
        lua_fn(max(1, n // 10))  # warm up
        py_fn(max(1, n // 10))  # type: ignore[operator]
        lua_times, py_times = [], []
        for _ in range(opts.repeats):  # interleaved, so load changes hit both
            lua_times.append(lua_fn(n))
            py_times.append(py_fn(n))  # type: ignore[operator]
        lt, pt = min(lua_times), min(py_times)
        print(f"{name:<16}{lt * 1e6:>12.2f}{pt * 1e6:>14.2f}{lt / pt:>12.2f}")
    print("target: Lua session:run <= 2x Python Session.run")


if __name__ == "__main__":
    main()
