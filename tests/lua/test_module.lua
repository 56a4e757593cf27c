-- Module functions: require, version, providers, load_custom_op_library; the module's shape.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local DIR = assert(arg[1], "usage: test_module.lua MODEL_DIR")

local ort = require("onnxruntime")
assert(type(ort) == "table")
assert(rawequal(require("onnxruntime"), ort), "require returns the same module each time")
for _, name in ipairs({
  "configure", "session", "session_from_bytes", "tensor", "tensor_from_bytes", "optional",
  "run_options", "load_custom_op_library", "version", "providers",
}) do
  assert(type(ort[name]) == "function", name .. " is a module function")
end

-- version(): the ONNX Runtime version string.
local version = assert(ort.version())
assert(type(version) == "string" and version:match("^%d+%.%d+%.%d+"), version)

-- providers(): an array of short provider names, CPU always among them.
local providers = assert(ort.providers())
assert(type(providers) == "table" and #providers >= 1)
assert(H.contains(providers, "cpu"), H.show(providers))
for i, p in ipairs(providers) do
  assert(type(p) == "string" and p == p:lower(), "provider " .. i)
end

-- load_custom_op_library(path): a handle usable wherever a path is.
local libpath = H.read(DIR .. "/custom_op_library.txt")
local lib = assert(ort.load_custom_op_library(libpath))
assert(getmetatable(lib) == "onnxruntime.custom_op_library")
assert(lib:path() == libpath, lib:path())
assert(tostring(lib):find("CustomOpLibrary", 1, true))
assert(rawequal(ort.load_custom_op_library(lib), lib), "a handle is returned as is")
H.fails("no such file", ort.load_custom_op_library(DIR .. "/no_such_library.so"))
H.fails("is a directory", ort.load_custom_op_library(DIR))
H.fails("cannot be loaded", ort.load_custom_op_library(DIR .. "/custom_op_library.txt"))
H.fails("expected a path", ort.load_custom_op_library(42))

-- Failures are values, not Lua errors.
local ok, value, err = pcall(ort.load_custom_op_library, DIR .. "/missing.so")
assert(ok and value == nil and type(err) == "string")

print("test_module.lua: ok")
