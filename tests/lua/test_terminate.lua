-- run_options:terminate() stops a run; reset_terminate() makes the options usable again.
-- The host's test defines terminate_after(run_options, seconds): it calls terminate() on those
-- run options from another thread after `seconds`, while this script is inside session:run.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_terminate.lua MODEL_DIR")
local ort = require("onnxruntime")

-- slow.onnx runs for about 3 s on one thread; `iterations` (an overridable initializer)
-- makes it shorter.
local s = assert(ort.session(DIR .. "/slow.onnx", {intra_op_num_threads = 1}))
local x = assert(ort.tensor("float32", {256, 256}, 0.01))
local quick = assert(ort.tensor("int64", {}, 2))
local ro = assert(ort.run_options({tag = "terminate"}))

-- Terminated before the run: it fails at once.
assert(ro:terminate() == true)
local t0 = os.clock()
H.fails("terminat", s:run({x = x}, nil, ro))
assert(os.clock() - t0 < 1.0, "a terminated run stops at once")

-- reset_terminate(): the same options run again.
assert(ro:reset_terminate() == true)
H.eq(assert(s:run({x = x, iterations = quick}, nil, ro)).y:shape(), {256, 256})

-- Terminated during the run (from another thread): the run stops early with an error.
if terminate_after then
  assert(terminate_after(ro, 0.3))
  t0 = os.clock()
  H.fails("terminat", s:run({x = x}, nil, ro))
  local spent = os.clock() - t0
  assert(spent < 2.0, ("the run stopped after %.2f s of CPU"):format(spent))
  assert(ro:terminated())
  assert(ro:reset_terminate())
  assert(s:run({x = x, iterations = quick}, nil, ro))
  -- run_into stops the same way.
  local y = assert(ort.tensor("float32", {256, 256}))
  assert(terminate_after(ro, 0.3))
  H.fails("terminat", s:run_into({x = x}, {y = y}, ro))
  assert(ro:reset_terminate())
end

print("test_terminate.lua: ok")
