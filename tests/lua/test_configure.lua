-- onnxruntime.configure: before any session; after one (while it lives) it is a failure value.
-- Runs in a fresh process (the runtime settings are per process).
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_configure.lua MODEL_DIR")
local ort = require("onnxruntime")

-- The reference's call, every field.
assert(ort.configure({
  log_severity_level = 2,
  log_id = "my-runtime",
  use_global_thread_pools = false,
  global_intra_op_num_threads = 0,
  global_inter_op_num_threads = 0,
}) == true)
assert(ort.configure({log_severity_level = 3}) == true, "configure may be called again")
assert(ort.configure({}) == true and ort.configure() == true)

-- Bad fields.
H.fails("unknown configure option 'log_level'", ort.configure({log_level = 1}))
H.fails("log_severity_level", ort.configure({log_severity_level = 9}))
H.fails("use_global_thread_pools", ort.configure({use_global_thread_pools = "yes"}))
H.fails("global_intra_op_num_threads", ort.configure({global_intra_op_num_threads = -2}))
H.fails("log_id", ort.configure({log_id = 1}))

-- Calling it again after an active session already exists returns an error.
local s = assert(ort.session(DIR .. "/add.onnx"))
H.fails("configure() must be called before any session is created",
  ort.configure({log_severity_level = 2}))
H.fails("before any session", ort.configure({}))
-- Once the session is closed, configure works again.
assert(s:close())
assert(ort.configure({log_severity_level = 2}) == true)
local s2 = assert(ort.session(DIR .. "/add.onnx"))
local x = assert(ort.tensor("float32", {1, 2}, {1, 2}))
assert(s2:run({x = x, bias = x}))

print("test_configure.lua: ok")
