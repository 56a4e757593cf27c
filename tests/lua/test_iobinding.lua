-- IO binding: create_io_binding, every binding: method and every bind_output form.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_iobinding.lua MODEL_DIR")
local ort = require("onnxruntime")

local s = assert(ort.session(DIR .. "/add.onnx"))
local x = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))
local bias = assert(ort.tensor("float32", {1, 2}, {0.5, -0.5}))
local ro = assert(ort.run_options({tag = "binding"}))

local binding, err = s:create_io_binding()
assert(binding, err)
assert(getmetatable(binding) == "onnxruntime.io_binding")
assert(tostring(binding):find("IOBinding", 1, true))
assert(binding:bind_input("x", x) == true)
assert(binding:bind_input("bias", bias) == true)
H.fails("not been run yet", binding:get_outputs())

-- bind_output("y"): CPU memory, read with get_outputs().
assert(binding:bind_output("y") == true)
local out = assert(s:run_with_iobinding(binding))
assert(rawequal(out[1], out.y))
H.eq(out.y:to_table(), {1.5, 1.5}, "bind_output(name)")
local got = assert(binding:get_outputs())
H.eq(got.y:to_table(), {1.5, 1.5}, "get_outputs")
assert(rawequal(got[1], got.y))
H.eq(assert(s:run_with_iobinding(binding, ro)).y:to_table(), {1.5, 1.5}, "with run options")

-- bind_output("y", existing_tensor): ORT writes into it; outputs hold that same object.
local y = assert(ort.tensor("float32", {1, 2}))
assert(rawequal(binding:bind_output("y", y), y), "returns the tensor given")
for _ = 1, 3 do
  local o = assert(s:run_with_iobinding(binding))
  assert(rawequal(o.y, y) and rawequal(o[1], y))
end
H.eq(y:to_table(), {1.5, 1.5}, "written in place")
assert(rawequal(assert(binding:get_outputs()).y, y))
-- A tensor that came out of a run can be bound too.
local from_run = assert(s:run({x = x, bias = bias})).y
assert(rawequal(binding:bind_output("y", from_run), from_run))
assert(rawequal(assert(s:run_with_iobinding(binding)).y, from_run))

-- bind_output("y", {type = ..., shape = ...}): creates and returns a new tensor.
local created = assert(binding:bind_output("y", {type = "float32", shape = {1, 2}}))
assert(getmetatable(created) == "onnxruntime.tensor")
H.eq(created:shape(), {1, 2})
assert(created:data_type() == "float32")
local o2 = assert(s:run_with_iobinding(binding))
assert(rawequal(o2.y, created))
H.eq(created:to_table(), {1.5, 1.5}, "created tensor")

-- bind_output("y", {mode = "device"}): the session's device (the CPU here).
assert(binding:bind_output("y", {mode = "device"}) == true)
H.eq(assert(s:run_with_iobinding(binding)).y:to_table(), {1.5, 1.5}, "device mode")

-- Inputs may be rebound; Lua tables convert as in run().
assert(binding:bind_input("x", {{2, 4}}) == true)
H.eq(assert(s:run_with_iobinding(binding)).y:to_table(), {2.5, 3.5}, "rebound input")

-- synchronize_*: no-ops on CPU, but available.
assert(binding:synchronize_inputs() == true)
assert(binding:synchronize_outputs() == true)

-- clear_inputs / clear_outputs.
assert(binding:clear_inputs() == true)
H.fails("required input(s)", s:run_with_iobinding(binding))
assert(binding:bind_input("x", x) and binding:bind_input("bias", bias))
assert(binding:clear_outputs() == true)
H.fails("no output is bound", s:run_with_iobinding(binding))
assert(binding:bind_output("y"))
assert(s:run_with_iobinding(binding))

-- Failures.
H.fails("unknown input 'z'", binding:bind_input("z", x))
H.fails("unknown output 'z'", binding:bind_output("z"))
H.fails("input 'x': expected element type float32",
  binding:bind_input("x", assert(ort.tensor("int64", {1, 2}, {1, 2}))))
H.fails("exactly 'type' and 'shape'", binding:bind_output("y", {type = "float32"}))
H.fails("'mode' must be 'device' or 'cpu'", binding:bind_output("y", {mode = "gpu"}))
H.fails("preallocated tensor is float64",
  binding:bind_output("y", assert(ort.tensor("float64", {1, 2}))))
H.fails("binding must come from session:create_io_binding()", s:run_with_iobinding({}))
H.fails("run_options must come from", s:run_with_iobinding(binding, "fast"))
H.fails("call it on an io_binding with ':'", binding.bind_input("x", x))

-- Empty optionals are not accepted by bind_input.
local opt = assert(ort.session(DIR .. "/optionals.onnx"))
local ob = assert(opt:create_io_binding())
H.fails("empty optionals cannot be bound", ob:bind_input("opt", ort.optional(nil, opt:input_info(1))))
assert(ob:bind_input("opt", assert(ort.tensor("float32", {1}, {3}))))
assert(ob:bind_output("value"))
H.eq(assert(opt:run_with_iobinding(ob)).value:to_table(), {3}, "optional bound with a value")

-- A binding of a closed session.
local gone = assert(ort.session(DIR .. "/add.onnx"))
local gb = assert(gone:create_io_binding())
assert(gone:close())
H.fails("closed", gb:bind_input("x", x))
H.fails("closed", gone:run_with_iobinding(gb))

print("test_iobinding.lua: ok")
