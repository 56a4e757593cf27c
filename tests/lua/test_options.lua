-- Every session option of the reference as a Lua table field, and the failures of bad ones.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_options.lua MODEL_DIR")
local ort = require("onnxruntime")
local ADD, SYM = DIR .. "/add.onnx", DIR .. "/symbolic.onnx"
local libpath = H.read(DIR .. "/custom_op_library.txt")
local HAS_COREML = H.contains(assert(ort.providers()), "coreml")

local function runs(s)
  local x = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))
  local out = assert(s:run({x = x, bias = x}))
  H.eq(out.y:to_table(), {2.0, 4.0}, "run")
  return s
end

-- All general fields at once.
local optimized = DIR .. "/lua_optimized.onnx"
local s = assert(ort.session(ADD, {
  providers = {"cpu"},
  fallback_to_cpu = true,
  intra_op_num_threads = 1,
  inter_op_num_threads = 1,
  log_id = "lua-test",
  session_log_severity_level = 3,
  session_log_verbosity_level = 0,
  optimized_model_path = optimized,
  profile_file_prefix = DIR .. "/lua_options_profile",
  free_dimension_overrides = {},
  config_entries = {["session.intra_op.allow_spinning"] = "0"},
  graph_optimization_level = "basic",
  execution_mode = "parallel",
  deterministic_compute = true,
  disable_per_session_threads = false,
  enable_cpu_mem_arena = false,
  enable_mem_pattern = false,
  custom_op_libraries = {libpath},
}))
runs(s)
assert(H.exists(optimized), "optimized_model_path is written")
assert(H.exists(assert(s:end_profiling())), "profile_file_prefix turns profiling on")

-- providers / provider: a string or an array, aliases, any case; empty or omitted means CPU.
for _, opts in ipairs({
  {}, {providers = {}}, {providers = "cpu"}, {provider = "cpu"}, {provider = {"cpu"}},
  {providers = {"CPUExecutionProvider"}}, {providers = "CPU"}, {providers = {"cpu", "cpu"}},
}) do
  H.eq(runs(assert(ort.session(ADD, opts))):providers(), {"cpu"}, H.show(opts))
end
runs(assert(ort.session(ADD)))
runs(assert(ort.session(ADD, nil)))
H.fails("'providers' and 'provider' are the same option",
  ort.session(ADD, {providers = "cpu", provider = "cpu"}))

-- Each enum value.
for _, level in ipairs({"disable", "basic", "extended", "all"}) do
  runs(assert(ort.session(ADD, {graph_optimization_level = level})))
end
for _, mode in ipairs({"sequential", "parallel"}) do
  runs(assert(ort.session(ADD, {execution_mode = mode})))
end

-- free_dimension_overrides: an array of {by, key, value}, by name or by denotation.
for _, by in ipairs({{"name", "N"}, {"denotation", "DATA_BATCH"}}) do
  local f = assert(ort.session(SYM, {free_dimension_overrides = {
    {by = by[1], key = by[2], value = 4},
  }}))
  H.eq(f:input_info(1).shape, {4, 3}, "override by " .. by[1])
end

-- config_entries: a string-to-string table (an empty table is an empty dictionary).
runs(assert(ort.session(ADD, {config_entries = {}})))
runs(assert(ort.session(ADD, {config_entries = {["session.use_env_allocators"] = "0"}})))

-- Integers may be given as integral floats, as Lua's own functions accept them.
runs(assert(ort.session(ADD, {intra_op_num_threads = 2.0, session_log_severity_level = 3.0})))

-- CoreML fallback: requested first, CPU when CoreML is missing (fallback_to_cpu, default true).
if not HAS_COREML then
  local fb = assert(ort.session(ADD, {providers = {"coreml", "cpu"}, fallback_to_cpu = true,
    coreml_compute_units = "all"}))
  H.eq(fb:providers(), {"cpu"}, "fallback")
  assert(fb:fallback_reason():find("coreml", 1, true), fb:fallback_reason())
  runs(fb)
  assert(assert(ort.session(ADD, {providers = {"coreml"}})):fallback_reason())
  H.fails("coreml", ort.session(ADD, {providers = {"coreml", "cpu"}, fallback_to_cpu = false}))
end
assert(s:fallback_reason() == nil, "no fallback: nil")

-- Every CoreML field (with "coreml" among the providers), new and legacy, alone and mixed.
local function coreml(extra)
  local opts = {providers = {"coreml", "cpu"}}
  for k, v in pairs(extra) do
    opts[k] = v
  end
  return ort.session(ADD, opts)
end
for _, units in ipairs({"all", "cpu_only", "cpu_and_gpu", "cpu_and_neural_engine", "ALL",
  "CPUOnly", "CPUAndGPU", "CPUAndNeuralEngine", "MLComputeUnitsCPUOnly"}) do
  runs(assert(coreml({coreml_compute_units = units})))
end
for _, extra in ipairs({
  {coreml_create_mlprogram = true}, {coreml_require_static_input_shapes = true},
  {coreml_enable_on_subgraph = true}, {coreml_flags = 0x010}, {coreml_use_cpu_only = true},
  {coreml_use_cpu_and_gpu = true}, {coreml_only_enable_device_with_ane = true},
  {coreml_compute_units = "cpu_only", coreml_use_cpu_only = true, coreml_flags = 0x001},
}) do
  runs(assert(coreml(extra)))
end
-- Conflicting new and legacy fields fail at once, naming both.
local err = H.fails("coreml_compute_units",
  coreml({coreml_compute_units = "all", coreml_use_cpu_only = true}))
assert(err:find("coreml_use_cpu_only", 1, true), err)
for _, units in ipairs({"cpu_only", "cpu_and_gpu"}) do
  err = H.fails("coreml_only_enable_device_with_ane",
    coreml({coreml_only_enable_device_with_ane = true, coreml_compute_units = units}))
end
-- CoreML fields without "coreml" in the providers.
H.fails("add 'coreml' to providers", ort.session(ADD, {coreml_compute_units = "all"}))

-- Bad options: each failure names the field, the value and what is accepted.
for _, case in ipairs({
  {{intra_op_threads = 1}, "did you mean 'intra_op_num_threads'"},
  {{intra_op_num_threads = "2"}, "intra_op_num_threads"},
  {{intra_op_num_threads = -1}, "an integer from 0 to 1024"},
  {{intra_op_num_threads = 1.5}, "intra_op_num_threads"},
  {{session_log_severity_level = 7}, "an integer from 0 to 4"},
  {{graph_optimization_level = "max"}, "'disable', 'basic', 'extended', 'all'"},
  {{execution_mode = "fast"}, "'sequential', 'parallel'"},
  {{fallback_to_cpu = "yes"}, "fallback_to_cpu"},
  {{deterministic_compute = 1}, "deterministic_compute"},
  {{log_id = 5}, "log_id"},
  {{free_dimension_overrides = {{by = "size", key = "N", value = 1}}}, "'name', 'denotation'"},
  {{free_dimension_overrides = {{by = "name", key = "N"}}}, "missing 'value'"},
  {{free_dimension_overrides = {by = "name", key = "N", value = 1}}, "free_dimension_overrides"},
  {{config_entries = {a = 1}}, "config_entries"},
  {{config_entries = {"x"}}, "config_entries"},
  {{providers = {"nope"}}, "nope"},
  {{coreml_compute_units = "fast", providers = {"coreml"}}, "coreml_compute_units"},
  {{custom_op_libraries = DIR .. "/missing.so"}, "missing.so"},
  {{optimized_model_path = 3}, "optimized_model_path"},
  {{provider_options = {cuda = {device_id = 0}}}, "not in providers"},
  {{[1] = "cpu"}, "session option"},
}) do
  H.fails(case[2], ort.session(ADD, case[1]))
end
H.fails("expected a dict", ort.session(ADD, "cpu"))

print("test_options.lua: ok")
