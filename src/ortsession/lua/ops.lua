-- The tensor module (SPEC §12): tensor methods and module functions added to
-- require("onnxruntime"), over ortsession.ops through the bridge in _ops_bridge.py.
--
-- Loaded once per runtime by ortsession.lua._ops_bridge.install with two arguments: OB, the
-- bridge's functions, and I, the internals of onnxruntime.lua (module, classes, class, py,
-- method). The bridge does every conversion (1-based positions, tables, tensors) and returns `value` or
-- `nil, message`; this file only unwraps Lua objects into their Python objects and adds the
-- methods to the objects.

local OB, I = ...

local M, classes, class, py = I.module, I.classes, I.class, I.py
local select, format = select, string.format

-- A Lua object's Python object, or the value itself.
local function u(v)
  local p = py(v)
  if p ~= nil then
    return p
  end
  return v
end

local function unwrap(...)
  if select("#", ...) == 0 then
    return
  end
  local a = ...
  return u(a), unwrap(select(2, ...))
end

-- c.methods[name]: checks self, unwraps the arguments, calls fn(python_self, ...).
local function method(c, name, fn)
  I.method(c, name, fn, unwrap)
end

local function module_function(name, fn)
  M[name] = function(...)
    return fn(unwrap(...))
  end
end

-- Tensor methods and module functions, as the bridge declares them (its EXPORTS in
-- _ops_bridge.py): the classes decoder, tracker and image are made here. Methods shared with
-- module functions take the tensor as their first argument.
for kind, names in pairs(OB.api.methods) do
  local c = classes[kind] or class(kind)
  for name, fn in pairs(names) do
    method(c, name, OB[fn])
  end
end
for _, name in ipairs(OB.api.functions) do
  module_function(name, OB[name])
end
M.project_masks = M.proto_masks

-- ctc_greedy_decode with a charset table (PaddleOCR's 6624 characters): the table is joined here
-- (table.concat, in C) and split once in Python, instead of converting thousands of strings.
local ctc, concat, next, rawget = OB.ctc_greedy_decode, table.concat, next, rawget
M.ctc_greedy_decode = function(logits, opts, ...)
  local extra = select("#", ...)
  if extra > 0 then
    return nil, format("onnxruntime.ctc_greedy_decode(): too many arguments (%d given, at most 2)",
      2 + extra)
  end
  local charset = type(opts) == "table" and rawget(opts, "charset")
  if type(charset) == "table" and py(charset) == nil and #charset > 0 then
    local ok, joined = pcall(concat, charset, "\0")
    if ok then
      local copy = {}
      for k, v in next, opts do
        copy[k] = v
      end
      copy.charset = nil
      return ctc(u(logits), copy, joined, #charset)
    end
  end
  return ctc(u(logits), opts)
end

-- Objects made by the module: decoders and trackers ------------------------------------------
local function tostring_of(c)
  c.mt.__tostring = function(self)
    return OB.repr(py(self))
  end
end

tostring_of(classes.decoder)
tostring_of(classes.tracker)

-- Host images (the `image` global's objects, see host_globals.lua) ---------------------------
local Image = classes.image
Image.methods.width = function(self)
  local w, h = self:size()
  if w == nil then
    return nil, h
  end
  return w
end
Image.methods.height = function(self)
  local w, h = self:size()
  if w == nil then
    return nil, h
  end
  return h
end
Image.methods.destroy = function()
  return true
end
tostring_of(Image)
