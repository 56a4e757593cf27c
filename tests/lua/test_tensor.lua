-- onnxruntime.tensor / tensor_from_bytes and the tensor object's methods.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local ort = require("onnxruntime")

-- The reference's form: flat data, float values.
local t = assert(ort.tensor("float32", {1, 2}, {1.0, 2.0}))
assert(getmetatable(t) == "onnxruntime.tensor")
H.eq(t:to_table(), {1.0, 2.0}, "to_table")
assert(t:to_table()[1] == 1.0, "to_table() is 1-based")
H.eq(t:shape(), {1, 2}, "shape")
assert(t:data_type() == "float32")
assert(t:element_count() == 2)
assert(t:nbytes() == 8)
assert(t:device() == "cpu")
H.eq(t:tolist(), {{1.0, 2.0}}, "tolist")
assert(tostring(t):find("Tensor(float32", 1, true), tostring(t))
assert(next({}) == nil and (function() for _ in pairs(t) do return false end return true end)(),
  "a tensor shows no fields to pairs()")

-- Integer data for a float tensor, float data with whole values for an integer tensor.
local f = assert(ort.tensor("float32", {2}, {1, 2}))
H.eq(f:to_table(), {1.0, 2.0}, "ints into float32")
assert(math.type(f:to_table()[1]) == "float")
local i = assert(ort.tensor("int64", {2}, {1.0, 2.0}))
H.eq(i:to_table(), {1, 2}, "whole floats into int64")
assert(math.type(i:to_table()[1]) == "integer")
H.fails("whole numbers", ort.tensor("int32", {1}, {1.5}))
H.fails("out of range", ort.tensor("uint8", {1}, {300}))

-- Nested data (row-major), flat to_table, nested tolist.
local m = assert(ort.tensor("int32", {2, 2}, {{1, 2}, {3, 4}}))
H.eq(m:to_table(), {1, 2, 3, 4}, "nested data, flat to_table")
H.eq(m:tolist(), {{1, 2}, {3, 4}}, "tolist")
H.eq(m:shape(), {2, 2}, "shape")

-- A scalar fills the tensor; omitted data gives zeros (empty strings for strings).
H.eq(assert(ort.tensor("float64", {2, 3}, 0.5)):to_table(), {0.5, 0.5, 0.5, 0.5, 0.5, 0.5})
H.eq(assert(ort.tensor("int8", {3})):to_table(), {0, 0, 0}, "zeros")
H.eq(assert(ort.tensor("string", {2})):to_table(), {"", ""}, "empty strings")

-- Every common element type; ONNX names are aliases.
for _, case in ipairs({
  {"float32", {1.5, -2.0}}, {"float64", {1.5, -2.0}}, {"float16", {1.5, -2.0}},
  {"bfloat16", {1.5, -2.0}}, {"int8", {-128, 127}}, {"int16", {-3, 4}}, {"int32", {-3, 4}},
  {"int64", {-3, 4}}, {"uint8", {0, 255}}, {"uint16", {0, 65535}}, {"uint32", {0, 7}},
  {"uint64", {0, 7}}, {"bool", {true, false}}, {"string", {"a", "héllo"}},
  {"float8e4m3fn", {1.0, -2.0}}, {"int4", {-8, 7}}, {"uint4", {0, 15}},
}) do
  local name, data = case[1], case[2]
  local x = assert(ort.tensor(name, {2}, data))
  assert(x:data_type() == name, name)
  H.eq(x:to_table(), data, name)
end
assert(ort.tensor("float", {1}, {1}):data_type() == "float32")
assert(ort.tensor("double", {1}, {1}):data_type() == "float64")

-- 64-bit integers are exact; strings keep their bytes (UTF-8).
local big = assert(ort.tensor("int64", {3}, {math.maxinteger, math.mininteger, (1 << 53) + 1}))
H.eq(big:to_table(), {math.maxinteger, math.mininteger, (1 << 53) + 1}, "int64 exact")
local s = assert(ort.tensor("string", {2, 1}, {{"abc"}, {"日本"}}))
H.eq(s:to_table(), {"abc", "日本"}, "strings")
H.eq(s:tolist(), {{"abc"}, {"日本"}}, "nested strings")

-- Scalars (shape {}) and empty tensors.
local scalar = assert(ort.tensor("float32", {}, 3))
H.eq(scalar:shape(), {}, "scalar shape")
H.eq(scalar:to_table(), {3.0}, "scalar to_table")
assert(scalar:tolist() == 3.0)
local empty = assert(ort.tensor("float32", {0, 4}, {}))
assert(#empty:to_table() == 0 and empty:element_count() == 0)

-- Tables built out of order, or with a hash part, still count as arrays.
local d = {}
d[3], d[2], d[1] = 3, 2, 1
H.eq(assert(ort.tensor("int32", {3}, d)):to_table(), {1, 2, 3}, "out-of-order array")

-- A tensor as data is copied.
local copy = assert(ort.tensor("float32", {1, 2}, t))
H.eq(copy:to_table(), {1.0, 2.0})
assert(not rawequal(copy, t))

-- A large tensor round-trips.
local n = 100000
local data = {}
for k = 1, n do
  data[k] = k
end
local large = assert(ort.tensor("int32", {n}, data))
local back = large:to_table()
assert(#back == n and back[1] == 1 and back[n] == n)

-- tobytes / tensor_from_bytes: ONNX raw layout (little-endian); Lua strings are bytes.
assert(assert(ort.tensor("int32", {2}, {1, 2})):tobytes() == string.pack("<i4i4", 1, 2))
local fb = assert(ort.tensor_from_bytes("float32", {2}, string.pack("<ff", 1.5, 2.5)))
H.eq(fb:to_table(), {1.5, 2.5}, "tensor_from_bytes")
local raw = "\0\255\1\128"
local u8 = assert(ort.tensor_from_bytes("uint8", {2, 2}, raw))
H.eq(u8:to_table(), {0, 255, 1, 128}, "bytes with NUL and high bytes")
assert(u8:tobytes() == raw)
H.eq(assert(ort.tensor_from_bytes("bool", {2}, "\1\0")):to_table(), {true, false})
H.fails("needs 8 bytes, got 4", ort.tensor_from_bytes("float32", {2}, "abcd"))
H.fails("string tensors cannot be made from raw bytes",
  ort.tensor_from_bytes("string", {1}, "a"))
H.fails("must be bytes", ort.tensor_from_bytes("uint8", {1}, 7))

-- Failures: unknown type, wrong count, bad shape, ragged data, wrong data.
H.fails("float33", ort.tensor("float33", {1}, {1}))
H.fails("needs 3 elements, got 2", ort.tensor("float32", {3}, {1, 2}))
H.fails("negative", ort.tensor("float32", {-1}, {}))
H.fails("not an integer", ort.tensor("float32", {1.5}, {1}))
H.fails("ragged", ort.tensor("float32", {2, 2}, {{1, 2}, {3}}))
H.fails("needs numbers", ort.tensor("float32", {1}, {"a"}))
H.fails("bool accepts", ort.tensor("bool", {1}, {2}))
H.fails("cannot be converted", ort.tensor("float32", {1}, {print}))

-- Methods need ':'; a wrong self is a failure value.
H.fails("call it on a tensor with ':'", t.to_table())
H.fails("call it on a tensor with ':'", t.shape({}))
assert(getmetatable(t) == "onnxruntime.tensor")
assert(not pcall(setmetatable, t, {}), "the metatable is protected")

print("test_tensor.lua: ok")
