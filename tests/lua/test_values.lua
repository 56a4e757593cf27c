-- Sequences, maps and optionals as Lua tables; onnxruntime.optional; types numpy lacks.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_values.lua MODEL_DIR")
local ort = require("onnxruntime")

-- Sequences: a Lua array of tensors (or of nested number tables) in, an array of tensors out.
local seq = assert(ort.session(DIR .. "/sequences.onnx"))
local a = assert(ort.tensor("float32", {2}, {1, 2}))
local b = assert(ort.tensor("float32", {3}, {3, 4, 5}))
local x = assert(ort.tensor("float32", {1}, {9}))
local out = assert(seq:run({seq = {a, b}, x = x}))
local appended = out.appended
assert(type(appended) == "table" and getmetatable(appended) == nil, "a plain Lua array")
assert(#appended == 3 and rawequal(out[1], appended))
for i, want in ipairs({{1, 2}, {3, 4, 5}, {9}}) do
  assert(getmetatable(appended[i]) == "onnxruntime.tensor")
  H.eq(appended[i]:to_table(), want, "appended[" .. i .. "]")
end
H.eq(out.length:to_table(), {3}, "length")
H.eq(out.last:to_table(), {9}, "last")
assert(#out.pair == 2)
H.eq(out.pair[2]:to_table(), {9}, "pair")
-- An empty sequence, and number tables as elements.
local empty = assert(seq:run({seq = {}, x = x}))
assert(#empty.appended == 1)
H.eq(empty.length:to_table(), {1})
local nested = assert(seq:run({seq = {{1, 2}, {3}}, x = {7, 8}}))
H.eq(nested.appended[2]:to_table(), {3.0})
H.eq(nested.appended[3]:to_table(), {7.0, 8.0})
-- Positional inputs convert tables the same way.
assert(#assert(seq:run({{a}, x})).appended == 2)
H.fails("expected a list", seq:run({seq = a, x = x}))

-- Maps: a Lua table keyed by key in; a sequence of maps out as an array of tables.
local maps = assert(ort.session(DIR .. "/maps.onnx"))
local m = assert(maps:run({features = {a = 1.0, c = 3.0}}))
H.eq(m.vector:to_table(), {1, 0, 3}, "vector")
assert(#m.zipped == 1)
H.eq(m.zipped[1], {a = 1.0, b = 0.0, c = 3.0}, "zipped map")
H.fails("dictionary is empty", maps:run({features = {}}))  -- {} arrives as an empty map
local mi = assert(ort.session(DIR .. "/maps_int64.onnx"))
local mo = assert(mi:run({features = {[10] = 1.0, [30] = 3.0}}))
H.eq(mo.vector:to_table(), {1, 0, 3}, "int64 keys")
H.eq(mo.zipped[1], {[10] = 1.0, [20] = 0.0, [30] = 3.0}, "int64-keyed map")
-- Integer keys 1..n still make a map where the model wants one.
H.eq(assert(mi:run({features = {[1] = 5.0}})).vector:to_table(), {0, 0, 0})
H.fails("expected a dict", maps:run({features = a}))

-- Optionals: omitted, empty (optional(nil, type_info)) or holding a value.
local opt = assert(ort.session(DIR .. "/optionals.onnx"))
local info = assert(opt:input_info(1))
local none = assert(opt:run({}))
H.eq(none.has_element:to_table(), {false}, "omitted")
assert(none.passthrough == nil and none[3] == nil, "an empty optional output is nil")
H.eq(none[1]:to_table(), {false})
local e = assert(ort.optional(nil, info))
assert(getmetatable(e) == "onnxruntime.optional")
assert(e:is_empty() == true and e:value() == nil)
assert(e:type_info().onnx_type == "optional")
assert(tostring(e):find("Optional", 1, true))
H.eq(assert(opt:run({opt = e})).has_element:to_table(), {false}, "optional(nil, info)")
H.eq(assert(opt:run({e})).has_element:to_table(), {false}, "positional")
local v = assert(ort.tensor("float32", {2}, {4, 5}))
local full = assert(ort.optional(v, info))
assert(full:is_empty() == false and rawequal(full:value(), v))
local got = assert(opt:run({opt = full}))
H.eq(got.has_element:to_table(), {true})
H.eq(got.value:to_table(), {4, 5})
H.eq(got.passthrough:to_table(), {4, 5}, "an optional output holding a tensor")
H.eq(assert(opt:run({opt = v})).value:to_table(), {4, 5}, "a plain tensor for an optional")
H.eq(assert(opt:run({opt = ort.optional({6}, info)})).value:to_table(), {6}, "table value")
-- A tensor that came out of a run keeps its identity through optional():value().
local produced = assert(opt:run({opt = v})).value
assert(rawequal(assert(ort.optional(produced, info)):value(), produced))
-- Repeated runs alternating present and empty optionals.
for i = 1, 6 do
  local value = (i % 2 == 0) and full or e
  local r = assert(opt:run({opt = value}))
  H.eq(r.has_element:to_table(), {i % 2 == 0}, "alternating " .. i)
  assert((r.passthrough == nil) == (i % 2 ~= 0))
end
-- Type info given as the ORT type string; bad type info.
assert(assert(ort.optional(nil, "optional(tensor(float))")):is_empty())
assert(assert(opt:run({opt = ort.optional(nil, "optional(tensor(float))")})))
H.fails("type_info must be", ort.optional(nil, 42))
H.fails("type_info must be", ort.optional(nil))
-- An empty optional for a non-optional input.
local s = assert(ort.session(DIR .. "/add.onnx"))
H.fails("empty optional", s:run({x = assert(ort.optional(nil, s:input_info(1))),
  bias = assert(ort.tensor("float32", {1, 2}))}))

-- bfloat16 (numpy has no such type) round-trips exactly.
local bf = assert(ort.session(DIR .. "/bfloat16.onnx"))
local data = {1.5, -2.0, 0.25, 3.0, 100.0, -0.125}
local bx = assert(ort.tensor("bfloat16", {2, 3}, data))
local by = assert(bf:run({x = bx})).y
assert(by:data_type() == "bfloat16")
H.eq(by:to_table(), data, "bfloat16")
H.eq(by:tobytes(), bx:tobytes(), "bfloat16 bytes")

print("test_values.lua: ok")
