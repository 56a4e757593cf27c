-- session:run / run_into, inputs and outputs tables, run options.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_run.lua MODEL_DIR")
local ort = require("onnxruntime")

local s = assert(ort.session(DIR .. "/add.onnx"))
local x = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))
local bias = assert(ort.tensor("float32", {1, 2}, {0.5, -0.5}))

-- A dictionary keyed by input name; outputs by position and by name (the same object).
local out = assert(s:run({x = x, bias = bias}, {"y"}))
assert(type(out) == "table")
assert(getmetatable(out.y) == "onnxruntime.tensor")
assert(rawequal(out[1], out.y))
H.eq(out.y:to_table(), {1.5, 1.5}, "y")
assert(out.y:to_table()[1] == 1.5)
assert(#out == 1)

-- A positional array in model input order; output names default to all; a single name.
H.eq(assert(s:run({x, bias})).y:to_table(), {1.5, 1.5}, "positional")
H.eq(assert(s:run({x, bias}, nil))[1]:to_table(), {1.5, 1.5}, "nil output names")
H.eq(assert(s:run({x = x, bias = bias}, "y")).y:to_table(), {1.5, 1.5}, "one name")

-- Lua tables as data, converted to the declared element type (integers too).
H.eq(assert(s:run({x = {{1, 2}}, bias = {{0.5, -0.5}}})).y:to_table(), {1.5, 1.5}, "tables")
H.eq(assert(s:run({{{1, 2}}, bias})).y:to_table(), {1.5, 1.5}, "mixed tensors and tables")

-- Several outputs: order and subsets follow output_names.
local two = assert(ort.session(DIR .. "/two_outputs.onnx"))
local xt = assert(ort.tensor("float32", {2, 3}, {1, 2, 3, 4, 5, 6}))
local all = assert(two:run({x = xt}))
assert(rawequal(all[1], all.y) and rawequal(all[2], all.shape))
H.eq(all.y:to_table(), {2, 3, 4, 5, 6, 7}, "y")
H.eq(all.shape:to_table(), {2, 3}, "shape")
assert(all.shape:data_type() == "int64")
local sub = assert(two:run({x = xt}, {"shape"}))
assert(rawequal(sub[1], sub.shape) and sub.y == nil and sub[2] == nil)
local rev = assert(two:run({x = xt}, {"shape", "y"}))
assert(rawequal(rev[1], rev.shape) and rawequal(rev[2], rev.y))

-- Overridable initializers: by name, or continuing a positional array.
local ov = assert(ort.session(DIR .. "/overridable.onnx"))
H.eq(assert(ov:run({x = x})).y:to_table(), {1.5, 1.5}, "default initializer")
local b2 = assert(ort.tensor("float32", {1, 2}, {10, 20}))
H.eq(assert(ov:run({x = x, bias = b2})).y:to_table(), {11, 22}, "overridden by name")
H.eq(assert(ov:run({x, b2})).y:to_table(), {11, 22}, "overridden by position")

-- Symbolic dimensions take any size.
local sym = assert(ort.session(DIR .. "/symbolic.onnx"))
local y3 = assert(sym:run({x = assert(ort.tensor("float32", {2, 3}, 1.0))})).y
H.eq(y3:shape(), {2, 3})
H.eq(y3:to_table(), {2, 2, 2, 2, 2, 2})

-- String tensors in and out.
local str = assert(ort.session(DIR .. "/strings.onnx"))
local so = assert(str:run({x = {"abc", "Hello wOrld"}}))
H.eq(so.y:to_table(), {"abc", "Hello wOrld"})
H.eq(so.upper:to_table(), {"ABC", "HELLO WORLD"})

-- Repeated runs with the same tables see changes made to them.
local inputs, names = {x = x, bias = bias}, {"y"}
for _ = 1, 3 do
  H.eq(assert(s:run(inputs, names)).y:to_table(), {1.5, 1.5}, "repeat")
end
inputs.bias = b2
H.eq(assert(s:run(inputs, names)).y:to_table(), {11, 22}, "changed input")
inputs.bias = bias
H.eq(assert(s:run(inputs, names)).y:to_table(), {1.5, 1.5}, "changed back")
local r1 = assert(s:run(inputs, names))
local r2 = assert(s:run(inputs, names))
assert(not rawequal(r1, r2) and not rawequal(r1.y, r2.y), "each run returns new outputs")
H.eq(r1.y:to_table(), {1.5, 1.5})
local multi = {"y"}
assert(two:run({x = xt}, multi))
assert(two:run({x = xt}, multi))
multi[1] = "shape"
assert(assert(two:run({x = xt}, multi)).shape, "changed output names")
inputs.extra = x
H.fails("unknown input 'extra'", s:run(inputs, names))
inputs.extra = nil
-- Repeated calls of one shape: new tables, other tensors, Lua data, positional arrays, another
-- run options object or output-name form; every result is that of its own inputs.
local ro1 = assert(ort.run_options())
for i = 1, 6 do
  local b = (i % 2 == 0) and b2 or bias
  local want = (i % 2 == 0) and {11, 22} or {1.5, 1.5}
  H.eq(assert(s:run({x = x, bias = b}, {"y"})).y:to_table(), want, "new tables " .. i)
  H.eq(assert(s:run({x, b})).y:to_table(), want, "positional " .. i)
  H.eq(assert(s:run({x = x, bias = b}, "y", ro1)).y:to_table(), want, "one name " .. i)
end
H.eq(assert(s:run({x = x, bias = {{10, 20}}}, {"y"})).y:to_table(), {11, 22}, "Lua data")
H.eq(assert(s:run({x = x, bias = bias}, {"y"})).y:to_table(), {1.5, 1.5}, "tensors again")
H.fails("unknown output 'z'", s:run({x = x, bias = bias}, {"z"}))
H.fails("run_options must come from", s:run({x = x, bias = bias}, {"y"}, {}))
H.fails("input 'bias'", s:run({x = x, bias = assert(ort.tensor("int32", {1, 2}))}, {"y"}))
-- A session closed after repeated runs.
local closing = assert(ort.session(DIR .. "/add.onnx"))
for _ = 1, 3 do
  assert(closing:run({x = x, bias = bias}))
  assert(closing:run_into({x = x, bias = bias}, {y = assert(ort.tensor("float32", {1, 2}))}))
end
assert(closing:close())
H.fails("closed", closing:run({x = x, bias = bias}))
H.fails("closed", closing:run_into({x = x, bias = bias}, {y = assert(ort.tensor("float32", {1, 2}))}))

-- run_options: fields and methods (read with no argument, set with one).
local ro = assert(ort.run_options({tag = "session-run", log_severity_level = 2,
  log_verbosity_level = 1}))
assert(getmetatable(ro) == "onnxruntime.run_options")
assert(ro:tag() == "session-run")
assert(ro:log_severity_level() == 2 and ro:log_verbosity_level() == 1)
assert(ro:tag("other") == "other" and ro:tag() == "other")
assert(ro:log_severity_level(3) == 3 and ro:log_severity_level() == 3)
assert(ro:log_verbosity_level(0) == 0 and ro:log_verbosity_level() == 0)
assert(ro:log_severity_level(2.0) == 2)
H.eq(assert(s:run({x = x, bias = bias}, {"y"}, ro)).y:to_table(), {1.5, 1.5}, "with run options")
assert(ort.run_options():tag() == "")
assert(math.type(assert(ort.run_options({})):log_severity_level()) == "integer")
assert(tostring(ro):find("RunOptions", 1, true))
H.fails("did you mean 'tag'", ort.run_options({tags = "x"}))
H.fails("log_severity_level", ort.run_options({log_severity_level = 9}))
H.fails("log_severity_level", ro:log_severity_level(9))
H.fails("'tag': expected a string", ro:tag(5))

-- terminate() / reset_terminate().
assert(ro:terminate() == true and ro:terminated() == true)
H.fails("terminat", s:run({x = x, bias = bias}, nil, ro))
assert(ro:reset_terminate() == true and ro:terminated() == false)
assert(s:run({x = x, bias = bias}, nil, ro))

-- run_into: ORT writes into the given tensors; the outputs table holds those same objects.
local y = assert(ort.tensor("float32", {1, 2}))
local into = assert(s:run_into({x = x, bias = bias}, {y = y}))
assert(rawequal(into.y, y) and rawequal(into[1], y))
H.eq(y:to_table(), {1.5, 1.5}, "run_into writes")
local io_in, io_out = {x = x, bias = b2}, {y = y}
for _ = 1, 3 do
  local again = assert(s:run_into(io_in, io_out, ro))
  assert(rawequal(again.y, y) and rawequal(again[1], y))
end
H.eq(y:to_table(), {11, 22}, "run_into again")
io_in.bias = bias
assert(s:run_into(io_in, io_out))
H.eq(y:to_table(), {1.5, 1.5}, "run_into sees changed inputs")
local y2 = assert(ort.tensor("float32", {1, 2}))
io_out.y = y2
assert(rawequal(assert(s:run_into(io_in, io_out)).y, y2), "run_into sees changed outputs")
local shape = assert(ort.tensor("int64", {2}))
local both = assert(two:run_into({xt}, {shape = shape}))
assert(rawequal(both.shape, shape) and rawequal(both[1], shape))
H.eq(shape:to_table(), {2, 3})
-- Repeated run_into calls with other tensors (in and out), positional or by name.
local ya, yb = assert(ort.tensor("float32", {1, 2})), assert(ort.tensor("float32", {1, 2}))
for i = 1, 6 do
  local target = (i % 2 == 0) and ya or yb
  local b = (i % 3 == 0) and b2 or bias
  local r = assert(s:run_into((i % 4 == 0) and {x, b} or {x = x, bias = b}, {y = target}))
  assert(rawequal(r.y, target) and rawequal(r[1], target))
  H.eq(target:to_table(), (b == b2) and {11, 22} or {1.5, 1.5}, "run_into " .. i)
end
H.fails("preallocated tensor is float64", s:run_into({x, bias},
  {y = assert(ort.tensor("float64", {1, 2}))}))
H.fails("shape", s:run_into({x, bias}, {y = assert(ort.tensor("float32", {2, 2}))}))
H.fails("unknown output 'z'", s:run_into({x, bias}, {z = y}))
H.fails("needs a preallocated Tensor", s:run_into({x, bias}, {y = {1, 2}}))
H.fails("outputs must be a table", s:run_into({x, bias}, "y"))
H.fails("must be a non-empty dict", s:run_into({x, bias}, {}))

-- Bad inputs are failure values naming the input.
H.fails("missing required input(s) ['bias']", s:run({x = x}))
H.fails("unknown input 'z'", s:run({x = x, bias = bias, z = x}))
H.fails("input 'x': expected element type float32",
  s:run({x = assert(ort.tensor("int32", {1, 2}, {1, 2})), bias = bias}))
H.fails("input 'x'", s:run({x = assert(ort.tensor("float32", {2, 2}, 0)), bias = bias}))
H.fails("too many positional inputs", s:run({x, bias, x}))
H.fails("mix positional values and names", s:run({x, bias = bias}))
H.fails("inputs must be a table", s:run("x"))
H.fails("inputs must be a table", s:run(x))
H.fails("unknown output 'z'", s:run({x = x, bias = bias}, {"z"}))
H.fails("output_names must be an array", s:run({x = x, bias = bias}, 5))
H.fails("run_options must come from onnxruntime.run_options()",
  s:run({x = x, bias = bias}, nil, {}))
H.fails("needs numbers", s:run({x = {{"a", "b"}}, bias = bias}))

print("test_run.lua: ok")
