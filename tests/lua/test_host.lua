-- The host: a standalone-like Lua 5.4 with arg, XXT_HOME_PATH and require("onnxruntime").
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_host.lua MODEL_DIR [SECOND]")

assert(_VERSION == "Lua 5.4", _VERSION)
assert(math.type(1) == "integer" and math.type(1.0) == "float")
assert(1 // 2 == 0 and 3 & 1 == 1, "Lua 5.4 operators")

-- arg: arg[0] the script, arg[1..n] the arguments, also passed as `...`.
assert(arg[0]:find("test_host.lua", 1, true), arg[0])
assert(arg[1] == DIR and arg[2] == "second arg" and #arg == 2)
assert(type(arg[-1]) == "string")
local n, first, second = select("#", ...), ...
assert(n == 2 and first == DIR and second == "second arg")

-- XXT_HOME_PATH: the folder holding models/demo/model.onnx.
assert(type(XXT_HOME_PATH) == "string")
assert(H.exists(XXT_HOME_PATH .. "/models/demo/model.onnx"))

-- No lupa `python` global; the standard libraries are there.
assert(python == nil and package.loaded.python == nil)
for _, lib in ipairs({"string", "table", "math", "io", "os", "coroutine", "utf8", "debug"}) do
  assert(type(_G[lib]) == "table", lib)
end
assert(type(package.preload.onnxruntime) == "function")

-- print / io.write / io.stdout go to the host's stdout (checked by the host's test).
assert(rawequal(io.write("io.write "), io.stdout))
assert(rawequal(io.stdout:write("io.stdout\n"), io.stdout))
assert(io.stdout:flush())
assert(tostring(io.stdout):find("file", 1, true))
print("print", 1, 2.5, true, nil)

-- warn: Lua 5.4 semantics, off until "@on".
warn("@on")
warn("a ", "warning")
warn("@off")
warn("not shown")
assert(not pcall(warn), "warn needs an argument")

-- The module works from coroutines too.
local co = coroutine.wrap(function()
  local ort = require("onnxruntime")
  local s = assert(ort.session(DIR .. "/add.onnx"))
  local x = assert(ort.tensor("float32", {1, 2}, {1, 2}))
  coroutine.yield(assert(s:run({x = x, bias = x})).y:to_table()[2])
end)
assert(co() == 4.0)

print("test_host.lua: ok")
