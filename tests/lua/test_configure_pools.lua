-- configure with global thread pools (fresh process): sessions share them.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_configure_pools.lua MODEL_DIR")
local ort = require("onnxruntime")

assert(ort.configure({
  use_global_thread_pools = true,
  global_intra_op_num_threads = 2,
  global_inter_op_num_threads = 1,
}))
local s = assert(ort.session(DIR .. "/add.onnx", {disable_per_session_threads = true}))
local x = assert(ort.tensor("float32", {1, 2}, {1, 2}))
H.eq(assert(s:run({x = x, bias = x})).y:to_table(), {2, 4})
assert(s:close())
-- ORT cannot resize or remove the global pools once created.
H.fails("global thread pools were already created",
  ort.configure({use_global_thread_pools = false}))
H.fails("global thread pools were already created",
  ort.configure({global_intra_op_num_threads = 4}))
assert(ort.configure({log_severity_level = 3}), "other fields may still change")

print("test_configure_pools.lua: ok")
