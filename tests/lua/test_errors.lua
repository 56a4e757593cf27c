-- The `value, err` convention: every foreseeable failure returns nil and a message (no Lua
-- error), so `assert(...)` works as in the reference. One case per kind of failure.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_errors.lua MODEL_DIR")
local ort = require("onnxruntime")

-- Calls f(...) under pcall: it must not raise, and must return nil plus a message with `text`.
local function value_err(text, f, ...)
  local ok, value, err = pcall(f, ...)
  assert(ok, "raised a Lua error instead of returning nil, err: " .. tostring(value))
  return H.fails(text, value, err)
end

local s = assert(ort.session(DIR .. "/add.onnx"))
local x = assert(ort.tensor("float32", {1, 2}, {1, 2}))

-- bad option
value_err("unknown session option 'threads'", ort.session, DIR .. "/add.onnx", {threads = 2})
value_err("graph_optimization_level", ort.session_from_bytes, H.read(DIR .. "/add.onnx"),
  {graph_optimization_level = 3})
value_err("unknown configure option", ort.configure, {nope = 1})
value_err("unknown run option", ort.run_options, {nope = 1})
-- missing or unreadable model
value_err("missing.onnx", ort.session, DIR .. "/missing.onnx")
value_err("", ort.session_from_bytes, "not a model")
-- bad input
value_err("missing required input", s.run, s, {x = x})
value_err("input 'bias'", s.run, s, {x = x, bias = "text"})
value_err("unknown output", s.run, s, {x = x, bias = x}, {"nope"})
-- bad tensor
value_err("needs 2 elements", ort.tensor, "float32", {1, 2}, {1})
value_err("unknown element type", ort.tensor, "complex256", {1}, {1})
-- closed session
local closed = assert(ort.session(DIR .. "/add.onnx"))
assert(closed:close())
value_err("is closed", closed.run, closed, {x = x, bias = x})
value_err("is closed", closed.output_names, closed)
-- configure after a session: only in a fresh process (test_configure.lua).
-- wrong self (method called with '.')
value_err("call it on a session with ':'", s.run, {x = x})
value_err("call it on a tensor with ':'", x.to_table, s)
-- invalid UTF-8 where text is expected
value_err("not valid UTF-8", ort.tensor, "string", {1}, {"\255"})

-- The messages are the Python API's own (the same checks run), e.g. the accepted values.
local _, msg = ort.session(DIR .. "/add.onnx", {execution_mode = "fast"})
assert(msg:find("'sequential', 'parallel'", 1, true), msg)

-- assert() shows the message as the error.
local ok, e = pcall(function()
  return assert(ort.session(DIR .. "/missing.onnx"))
end)
assert(not ok and e:find("missing.onnx", 1, true), e)

print("test_errors.lua: ok")
