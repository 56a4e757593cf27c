-- The reference session module ("onnxruntime") for Lua, over ortsession's Python API.
--
-- Loaded by ortsession.lua._host with two arguments: B, a table of Python bridge functions
-- (ortsession/lua/_bridge.py), and runs.lua compiled. The bridge does every conversion and every
-- call into the Python API; this file gives the objects their Lua shape (":" methods,
-- metatables, 1-based outputs tables keyed by position and name); runs.lua keeps the hot paths
-- (session:run, run_into, run_with_iobinding) free of per-call table conversions in Python.
--
-- Objects are tables with a protected metatable, holding their Python object under a private
-- key (KEY), so scripts never see Python objects. WRAPPER maps a Python object back to its Lua
-- object, so a Python object that comes back (IO binding outputs, optional:value()) is the same
-- Lua table that went in; run_into builds its result from the tables it was given.
--
-- Returns: the module table, and a table of internals for the host.

local B, load_runs = ...

local type, select, next, setmetatable, getmetatable =
  type, select, next, setmetatable, getmetatable
local format = string.format

local KEY = setmetatable({}, { __name = "onnxruntime.key" }) -- wrapper[KEY]: Python object
local WRAPPER = setmetatable({}, { __mode = "k" })           -- Python object -> wrapper
local rawget = rawget

-- The Python object behind a Lua object, or nil.
local function py(v)
  if type(v) == "table" then
    return rawget(v, KEY)
  end
  return nil
end

local function no_pairs()
  return next, {}, nil
end

local classes = {}

local function class(kind)
  local methods = {}
  local mt = {
    __index = methods,
    __name = "onnxruntime." .. kind,
    __metatable = "onnxruntime." .. kind,
    __pairs = no_pairs,
  }
  local c = { kind = kind, methods = methods, mt = mt }
  classes[kind] = c
  return c
end

local Session = class("session")
local Tensor = class("tensor")
local RunOptions = class("run_options")
local IOBinding = class("io_binding")
local Optional = class("optional")
local Library = class("custom_op_library")

local function wrap(c, obj)
  local w = WRAPPER[obj]
  if w ~= nil then
    return w
  end
  w = setmetatable({ [KEY] = obj }, c.mt)
  WRAPPER[obj] = w
  return w
end

-- For run outputs: fresh tensors are not entered in WRAPPER (they are, as soon as they are
-- passed back into the module: see `register`).
local tensor_mt = Tensor.mt
local function wrap_tensor(obj)
  local w = WRAPPER[obj]
  if w ~= nil then
    return w
  end
  return setmetatable({ [KEY] = obj }, tensor_mt)
end

-- Enters the Lua objects among the arguments in WRAPPER, so that the Python side, returning
-- one of them (bind_output, get_outputs, optional:value()), gives back the same Lua object.
local function register(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local p = py(v)
    if p ~= nil then
      WRAPPER[p] = v
    end
  end
end

local function typename(v)
  local p = py(v)
  if p ~= nil then
    return getmetatable(v)
  end
  return type(v)
end

-- Checks self and calls bridge function fn(python_self, ...). With `args`, the arguments go
-- through args(...) first (the tensor module unwraps Lua objects into Python ones); without,
-- they go as they are, their Lua wrappers registered.
local function method(c, name, fn, args)
  local mt = c.mt
  local what = c.kind .. ":" .. name .. "()"
  local article = c.kind:match("^[aeiou]") and "an" or "a"
  c.methods[name] = function(self, ...)
    local p = py(self)
    if p == nil or getmetatable(self) ~= mt.__metatable then
      return nil, format("%s: call it on %s %s with ':' (got %s as self)", what, article, c.kind,
        typename(self))
    end
    if args then
      return fn(p, args(...))
    end
    register(...)
    return fn(p, ...)
  end
end

-- methods(api): the methods the bridge declares (ortsession/lua/_api.py): for each class kind,
-- method name = bridge function name. Classes not made yet are made.
local function methods(api)
  for kind, names in pairs(api.methods) do
    local c = classes[kind] or class(kind)
    for name, fn in pairs(names) do
      method(c, name, B[fn])
    end
  end
end

local function meta(c, name, fn)
  c.mt[name] = function(self, ...)
    return fn(py(self), ...)
  end
end

-- The run paths (runs.lua) -------------------------------------------------------------------
local runs = load_runs(B, {
  KEY = KEY, WRAPPER = WRAPPER, py = py, typename = typename, wrap_tensor = wrap_tensor,
  Session = Session, Tensor = Tensor, RunOptions = RunOptions,
})
local named_outputs = runs.named_outputs

Session.mt.__close = function(self)
  local s = py(self)
  if s ~= nil then
    B.session_close(s)
  end
end

-- Every other method, as the bridge declares them (its EXPORTS); the ones above and below are
-- the bridge's internal functions, whose results are shaped here.
methods(B.api)
meta(Session, "__tostring", B.repr)
local register_library = Session.methods.register_custom_op_library
Session.methods.register_custom_op_library = function(self, ...)
  runs.forget_names(self)
  return register_library(self, ...)
end

local bridge_to_table = B.tensor_to_table
Tensor.methods.to_table = function(self)
  local p = py(self)
  if p == nil or getmetatable(self) ~= "onnxruntime.tensor" then
    return nil, format("tensor:to_table(): call it on a tensor with ':' (got %s as self)",
      typename(self))
  end
  return bridge_to_table(p)
end
meta(Tensor, "__tostring", B.repr)
meta(RunOptions, "__tostring", B.repr)

local bridge_get_outputs = B.binding_get_outputs
method(IOBinding, "get_outputs", function(b)
  return named_outputs(bridge_get_outputs(b))
end)
meta(IOBinding, "__tostring", B.repr)

meta(Optional, "__tostring", B.repr)
meta(Library, "__tostring", B.repr)

-- The module ------------------------------------------------------------------------------

local M = {}
for _, name in ipairs(B.api.functions) do
  local fn = B[name]
  M[name] = function(...)
    register(...)
    return fn(...)
  end
end

-- Internals for the host and the bridge.
local internals = {}

-- Wraps a Python object of the given kind ("tensor", "session", ...) in its Lua object.
function internals.wrap(kind, obj)
  return wrap(classes[kind], obj)
end

-- For a Lua table: the Python object behind a wrapper; else its shape, one of the codes the
-- bridge declares (ortsession/lua/_api.py): EMPTY, NUMBERS for an array (keys 1..n in traversal
-- order) of numbers and booleans, ARRAY for another such array, OTHER for anything else (a
-- dictionary, or an array that the Python side sorts by key).
local shapes = B.api.shapes
local EMPTY, NUMBERS, ARRAY, OTHER = shapes.empty, shapes.numbers, shapes.array, shapes.other
function internals.classify(t)
  local p = py(t)
  if p ~= nil then
    return p
  end
  local n, plain = 0, true
  for k, v in next, t do
    n = n + 1
    if k ~= n then
      return OTHER
    end
    if plain then
      local tv = type(v)
      if tv ~= "number" and tv ~= "boolean" then
        plain = false
      end
    end
  end
  if n == 0 then
    return EMPTY
  end
  return plain and NUMBERS or ARRAY
end

-- For the tensor module (ops.lua, loaded after this file): the object machinery.
internals.module, internals.classes, internals.class, internals.py, internals.typename =
  M, classes, class, py, typename
internals.method = method

return M, internals
