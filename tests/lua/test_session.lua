-- Sessions: creation, inspection (1-based), type info, memory info, metadata, lifecycle.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_session.lua MODEL_DIR")
local ort = require("onnxruntime")

local s = assert(ort.session(DIR .. "/add.onnx"))
assert(getmetatable(s) == "onnxruntime.session")
assert(tostring(s):find("Session", 1, true))

-- Basic inspection.
H.eq(s:input_names(), {"x", "bias"}, "input_names")
H.eq(s:output_names(), {"y"}, "output_names")
H.eq(s:overridable_initializer_names(), {}, "overridable_initializer_names")
assert(s:input_count() == 2 and s:output_count() == 1)
assert(s:overridable_initializer_count() == 0)
H.eq(s:providers(), {"cpu"}, "providers in effect")

-- Type information: 1-based index or name.
local x = assert(s:input_info(1))
assert(x.name == "x")
assert(x.onnx_type == "tensor" and x.is_sparse == false)
assert(x.data_type == "float32" and x.type == "tensor(float)")
assert(x.has_shape == true)
H.eq(x.shape, {1, 2}, "shape")
H.eq(x.symbolic_shape, {"", ""}, "symbolic_shape")
assert(x.element == nil and x.key_type == nil and x.value == nil)
H.eq(assert(s:input_info("bias")), assert(s:input_info(2)), "by name = by index")
H.eq(assert(s:output_info(1)).name, "y")
assert(s:input_info(2.0).name == "bias", "an integral float is an index")
H.fails("input index 3 out of range", s:input_info(3))
H.fails("indices 1..2", s:input_info(0))
H.fails("output index 2 out of range", s:output_info(2))
H.fails("no input named 'nope'", s:input_info("nope"))
H.fails("1-based index", s:input_info({}))
H.fails("it has no overridable initializer", s:overridable_initializer_info(1))

-- Symbolic dimensions.
local sym = assert(ort.session(DIR .. "/symbolic.onnx"))
local si = assert(sym:input_info(1))
H.eq(si.shape, {-1, 3}, "symbolic shape")
H.eq(si.symbolic_shape, {"N", ""}, "symbolic names")

-- Overridable initializers.
local ov = assert(ort.session(DIR .. "/overridable.onnx"))
H.eq(ov:input_names(), {"x"})
H.eq(ov:overridable_initializer_names(), {"bias"})
assert(ov:overridable_initializer_count() == 1)
local oi = assert(ov:overridable_initializer_info(1))
assert(oi.name == "bias" and oi.data_type == "float32")
H.eq(assert(ov:overridable_initializer_info("bias")), oi)

-- Sequences: nested element.
local seq = assert(ort.session(DIR .. "/sequences.onnx"))
local si1 = assert(seq:input_info("seq"))
assert(si1.onnx_type == "sequence" and si1.type == "seq(tensor(float))")
assert(si1.element.onnx_type == "tensor" and si1.element.data_type == "float32")
assert(si1.data_type == nil and si1.shape == nil)
assert(seq:output_info("pair").element.data_type == "float32")

-- Maps: key_type and nested value; a sequence of maps nests both.
local maps = assert(ort.session(DIR .. "/maps.onnx"))
local mi = assert(maps:input_info(1))
assert(mi.onnx_type == "map" and mi.key_type == "string")
assert(mi.value.onnx_type == "tensor" and mi.value.data_type == "float32")
local zipped = assert(maps:output_info("zipped"))
assert(zipped.onnx_type == "sequence" and zipped.element.onnx_type == "map")
assert(zipped.element.key_type == "string" and zipped.element.value.data_type == "float32")
assert(assert(ort.session(DIR .. "/maps_int64.onnx")):input_info(1).key_type == "int64")

-- Optionals: nested element.
local opt = assert(ort.session(DIR .. "/optionals.onnx"))
local o = assert(opt:input_info(1))
assert(o.onnx_type == "optional" and o.type == "optional(tensor(float))")
assert(o.element.onnx_type == "tensor" and o.element.data_type == "float32")
assert(opt:output_info(3).onnx_type == "optional")

-- Memory information: numeric order and names lead to the same entries.
local mem = assert(s:memory_info_for_inputs())
assert(#mem == 2)
assert(rawequal(mem[1], mem.x) and rawequal(mem[2], mem.bias))
local m1 = mem[1]
assert(type(m1.name) == "string" and math.type(m1.id) == "integer")
for _, field in ipairs({"mem_type", "allocator_type", "device_type", "device_mem_type"}) do
  assert(type(m1[field]) == "string", field)
end
assert(m1.device_type == "cpu" and m1.vendor_id == 0)
local memout = assert(s:memory_info_for_outputs())
assert(#memout == 1 and rawequal(memout[1], memout.y))

-- Metadata, custom_metadata included.
local demo = assert(ort.session(XXT_HOME_PATH .. "/models/demo/model.onnx"))
local meta = assert(demo:metadata())
assert(meta.producer_name == "ortsession")
assert(type(meta.graph_name) == "string" and type(meta.graph_description) == "string")
assert(type(meta.domain) == "string" and type(meta.description) == "string")
assert(math.type(meta.version) == "integer")
assert(type(meta.custom_metadata) == "table" and meta.custom_metadata.license == "MIT")
assert(assert(s:metadata()).producer_name == "ortsession-tests")

-- session_from_bytes: Lua strings are bytes (the model holds NUL and high bytes).
local bytes = H.read(DIR .. "/add.onnx")
assert(bytes:find("\0", 1, true), "the model bytes hold NUL bytes")
local fromb = assert(ort.session_from_bytes(bytes))
H.eq(fromb:input_names(), {"x", "bias"})
local fromb2 = assert(ort.session_from_bytes(bytes, {intra_op_num_threads = 1}))
assert(fromb2:output_count() == 1)
H.fails("model_bytes must be bytes", ort.session_from_bytes(42))

-- Missing or broken models are failure values.
H.fails("no_such_model.onnx", ort.session(DIR .. "/no_such_model.onnx"))
assert(select(2, ort.session(DIR .. "/garbage.onnx")))
assert(select(2, ort.session_from_bytes(H.read(DIR .. "/garbage.onnx"))))
assert(select(2, ort.session_from_bytes("")))
H.fails("model_path must be", ort.session(nil))

-- Profiling: end_profiling returns the file's path; start time in ns.
local prof = assert(ort.session(DIR .. "/add.onnx", {profile_file_prefix = DIR .. "/lua_profile"}))
local xt = assert(ort.tensor("float32", {1, 2}, {1, 2}))
assert(prof:run({x = xt, bias = xt}))
assert(math.type(prof:profiling_start_time_ns()) == "integer")
assert(prof:profiling_start_time_ns() > 0)
local path = assert(prof:end_profiling())
assert(path:find("lua_profile", 1, true) and H.exists(path), path)
H.fails("profiling is off", s:end_profiling())
assert(s:profiling_start_time_ns() == 0)

-- set_ep_dynamic_options: keys and values stringified.
local ok, err = s:set_ep_dynamic_options({["ep.dynamic.workload_type"] = "Default"})
if ok == nil and tostring(err):find("is not available with onnxruntime", 1, true) then
  -- onnxruntime before 1.24 has no set_ep_dynamic_options: the error names it
else
assert(ok == true, err)
assert(s:set_ep_dynamic_options({["ep.dynamic.workload_type"] = "Default", level = 1,
  flag = true}) == true)
end
H.fails("set_ep_dynamic_options()", s:set_ep_dynamic_options({}))  -- ORT wants at least one
H.fails("expected a dict", s:set_ep_dynamic_options("x"))

-- register_custom_op_library: path or handle; the session stays usable.
local libpath = H.read(DIR .. "/custom_op_library.txt")
local lib = assert(ort.load_custom_op_library(libpath))
local r = assert(ort.session(DIR .. "/add.onnx"))
local binding = assert(r:create_io_binding())
assert(r:register_custom_op_library(libpath) == true)
local r2 = assert(ort.session(DIR .. "/add.onnx"))
assert(r2:register_custom_op_library(lib) == true)
assert(r2:input_count() == 2)
local ry = assert(r:run({x = xt, bias = xt}))
H.eq(ry.y:to_table(), {2.0, 4.0})
H.fails("rebuilt", binding:bind_input("x", xt))
H.fails("no such file", r:register_custom_op_library(DIR .. "/none.so"))

-- Custom-op models: custom_op_libraries as a path, a handle, or a mixed array.
H.fails("StringUpper", ort.session(DIR .. "/custom_op.onnx"))
for _, libs in ipairs({libpath, lib, {libpath}, {lib, libpath}}) do
  local c = assert(ort.session(DIR .. "/custom_op.onnx", {custom_op_libraries = libs}))
  local out = assert(c:run({x = assert(ort.tensor("string", {2}, {"abc", "Hello"}))}))
  H.eq(out.y:to_table(), {"ABC", "HELLO"}, "StringUpper")
end

-- close(): idempotent; afterwards every use is a failure value.
local closing = assert(ort.session(DIR .. "/add.onnx"))
assert(closing:close() == true)
assert(closing:close() == true)
for _, call in ipairs({
  function() return closing:input_names() end,
  function() return closing:input_info(1) end,
  function() return closing:metadata() end,
  function() return closing:providers() end,
  function() return closing:run({x = xt, bias = xt}) end,
  function() return closing:run_into({x = xt, bias = xt}, {y = xt}) end,
  function() return closing:create_io_binding() end,
  function() return closing:memory_info_for_inputs() end,
  function() return closing:fallback_reason() end,
}) do
  H.fails("closed", call())
end

-- To-be-closed variables close the session at the end of the block.
local kept
do
  local scoped <close> = assert(ort.session(DIR .. "/add.onnx"))
  kept = scoped
  assert(kept:input_count() == 2)
end
H.fails("closed", kept:input_count())

-- Methods need ':'.
H.fails("call it on a session with ':'", s.input_names())
H.fails("call it on a session with ':'", s.run({}))

print("test_session.lua: ok")
