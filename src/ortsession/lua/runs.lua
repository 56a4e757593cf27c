-- The run paths of the Lua module: session:run, session:run_into, session:run_with_iobinding,
-- and the run plans that keep repeated calls cheap.
--
-- Loaded by onnxruntime.lua with two arguments: B, the bridge's functions (the run paths are in
-- ortsession/lua/_runs.py), and O, the object machinery of onnxruntime.lua (KEY, WRAPPER, py,
-- typename, wrap_tensor, and the Session and RunOptions classes). Defines the three methods on
-- Session and returns the helpers onnxruntime.lua needs: named_outputs (the outputs table of a
-- bridge result that carries the names) and forget_names (a session's output names changed).

local B, O = ...

local type, select, next, setmetatable, getmetatable, rawequal, rawget =
  type, select, next, setmetatable, getmetatable, rawequal, rawget
local mtype = math.type
local unpack = table.unpack
local format = string.format
local KEY, WRAPPER, py, typename, wrap_tensor = O.KEY, O.WRAPPER, O.py, O.typename, O.wrap_tensor
local Session, RunOptions = O.Session, O.RunOptions
local tensor_mt = O.Tensor.mt

-- Flattens an inputs table into args: positional values (arrays) or name, value pairs
-- (dictionaries), Lua objects replaced by their Python objects.
-- Returns positional, count, whether every value is a Lua object (or nil, message).
local function flatten(what, inputs, args)
  if type(inputs) ~= "table" or rawget(inputs, KEY) ~= nil then
    return nil, format("%s: inputs must be a table (an array in model input order or a "
      .. "dictionary keyed by input name), got %s", what, typename(inputs))
  end
  local nkeys, maxi, objects = 0, 0, true
  for k, v in next, inputs do
    if mtype(k) == "integer" and k >= 1 then
      if k > maxi then
        maxi = k
      end
    else
      nkeys = nkeys + 1
      args[2 * nkeys - 1] = k
      local p = type(v) == "table" and rawget(v, KEY) or nil
      if p ~= nil then
        v = p
      else
        objects = false
      end
      args[2 * nkeys] = v
    end
  end
  if maxi > 0 then
    if nkeys > 0 then
      return nil, format("%s: inputs mix positional values and names; use an array in model "
        .. "input order or a dictionary keyed by input name", what)
    end
    objects = true
    for i = 1, maxi do
      local v = inputs[i]
      local p = type(v) == "table" and rawget(v, KEY) or nil
      if p ~= nil then
        v = p
      else
        objects = false
      end
      args[i] = v
    end
    return true, maxi, objects
  end
  return false, nkeys, objects
end

local function run_options_of(what, run_options)
  if run_options == nil then
    return true, nil
  end
  local p = py(run_options)
  if p == nil or getmetatable(run_options) ~= RunOptions.mt.__metatable then
    return nil, format("%s: run_options must come from onnxruntime.run_options(), got %s",
      what, typename(run_options))
  end
  return true, p
end

-- inputs_and_options(what, inputs, run_options, args) -> positional, n, objects, ro
-- (or nil, message): the inputs flattened into args, and the run options, both checked.
local function inputs_and_options(what, inputs, run_options, args)
  local positional, n, objects = flatten(what, inputs, args)
  if positional == nil then
    return nil, n
  end
  local ok, ro = run_options_of(what, run_options)
  if not ok then
    return nil, ro
  end
  return positional, n, objects, ro
end

-- Builds the outputs table from a bridge result: ok (true: raw Python tensors to wrap, or nil
-- for empty optionals; false: values already converted; nil: failure, message follows), then
-- the values, named by the array `names`.
local function outputs_table(names, ok, ...)
  if ok == nil then
    return nil, (...)
  end
  local n = select("#", ...)
  if n == 1 then
    local v = ...
    if ok and v ~= nil then
      local w = WRAPPER[v]
      if w == nil then
        w = setmetatable({ [KEY] = v }, tensor_mt)
      end
      v = w
    end
    return { v, [names[1]] = v }
  end
  local out = {}
  local values = { ... }
  for i = 1, n do
    local v = values[i]
    if ok and v ~= nil then
      v = wrap_tensor(v)
    end
    out[i] = v
    out[names[i]] = v
  end
  return out
end

-- The output names of a session, in order (cached; register_custom_op_library clears it).
local all_names = setmetatable({}, { __mode = "k" })
local function output_names_of(self, s)
  local names = all_names[self]
  if names == nil then
    names = B.session_output_names(s)
    all_names[self] = names
  end
  return names
end

-- Run plans. A script running a session in a loop makes the same call each time: the same input
-- names, output names and run options, usually with tensors only (the same ones, or new ones of
-- the same shape). After such a call the bridge keeps its converted form (a "plan": the input
-- names, the output names list, the run options); a later call with the same shape passes only
-- the tensors, positionally, and skips every other conversion. A call of another shape runs
-- normally; when plans keep going unused, making them backs off.
local plans = setmetatable({}, { __mode = "k" })      -- session -> the run plan's record
local into_plans = setmetatable({}, { __mode = "k" }) -- session -> the run_into plan's record
local backoff = setmetatable({}, { __mode = "k" })    -- session -> {run = skip, run_n = ...}
local scratch = {}

-- Puts the Python objects of t's values in scratch[offset + 1..] if t has the plan's keys, in
-- the same traversal order, and only Lua objects as values. Returns whether it did.
-- Also returns whether they are the very objects of the plan's last call (`last`).
local function plan_values(keys, count, t, offset, last)
  local i, same = 0, true
  for k, v in next, t do
    i = i + 1
    if i > count or k ~= keys[i] then
      return false
    end
    local p = type(v) == "table" and rawget(v, KEY) or nil
    if p == nil then
      return false
    end
    if same and not rawequal(last[offset + i], p) then
      same = false
    end
    scratch[offset + i] = p
  end
  return i == count, same
end

-- Records scratch[1..n] as the plan's last values.
local function remember(rec, n)
  local last = rec.last
  for i = 1, n do
    last[i] = scratch[i]
  end
end

-- The Python objects among flatten's args: its values, in order.
local function values_of(args, positional, n, offset, into)
  for i = 1, n do
    into[offset + i] = positional and args[i] or args[2 * i]
  end
  return into
end

local function clear_scratch(n)
  for i = 1, n do
    scratch[i] = nil
  end
end

-- Whether the output names (run) match the plan's: the same array contents, string or nil.
local function same_names(rec, output_names)
  local names = rec.requested
  if type(output_names) ~= "table" then
    return rec.requested_count == nil and rawequal(names, output_names)
  end
  local n = rec.requested_count
  if n == nil then
    return false
  end
  local c = 0
  for k, v in next, output_names do
    c = c + 1
    if not rawequal(names[k], v) then
      return false
    end
  end
  return c == n
end

local function keys_of(t)
  local keys, n = {}, 0
  for k in next, t do
    n = n + 1
    keys[n] = k
  end
  return keys, n
end

local function want_plan(self, kind, objects)
  if not objects then
    return false
  end
  local state = backoff[self]
  local skip = state and state[kind] or 0
  if skip > 0 then
    state[kind] = skip - 1
    return false
  end
  return true
end

-- Keeps a new plan; if the one it replaces served fewer than 2 calls, plans are made less
-- often (after 1, 3, 7 … up to 63 calls).
local function keep(self, kind, store, rec)
  local old = store[self]
  local state = backoff[self]
  if old ~= nil and old.hits < 2 then
    if state == nil then
      state = {}
      backoff[self] = state
    end
    local n = math.min((state[kind .. "_n"] or 0) * 2 + 1, 63)
    state[kind .. "_n"] = n
    state[kind] = n
  elseif state ~= nil then
    state[kind .. "_n"] = 0
  end
  store[self] = rec
end

local function names_for_run(self, s, output_names)
  if output_names == nil then
    return output_names_of(self, s)
  elseif type(output_names) == "string" then
    return { output_names }
  end
  return output_names
end

local function run_result(self, inputs, output_names, run_options, names, args, positional,
                          count, ok, plan, ...)
  if ok == nil then
    return nil, plan
  end
  if plan ~= nil then
    local copy = {}
    for i = 1, #names do
      copy[i] = names[i]
    end
    local rec = { plan = plan, ro = run_options, names = copy, hits = 0,
      last = values_of(args, positional, count, 0, {}) }
    rec.keys, rec.count = keys_of(inputs)
    if type(output_names) == "table" then
      local requested, n = {}, 0
      for k, v in next, output_names do
        requested[k] = v
        n = n + 1
      end
      rec.requested, rec.requested_count = requested, n
    else
      rec.requested = output_names
    end
    keep(self, "run", plans, rec)
  end
  return outputs_table(names, ok, ...)
end

local function planned_outputs(names, n, ok, ...)
  clear_scratch(n)
  return outputs_table(names, ok, ...)
end

local bridge_run, bridge_run_plan = B.run, B.run_plan
Session.methods.run = function(self, inputs, output_names, run_options)
  local s = py(self)
  if s == nil or getmetatable(self) ~= "onnxruntime.session" then
    return nil, format("session:run(): call it on a session with ':' (got %s as self)",
      typename(self))
  end
  local rec = plans[self]
  if rec ~= nil and rawequal(rec.ro, run_options) and type(inputs) == "table"
      and same_names(rec, output_names) then
    local n = rec.count
    local fits, same = plan_values(rec.keys, n, inputs, 0, rec.last)
    if fits then
      rec.hits = rec.hits + 1
      if same then
        clear_scratch(n)
        return outputs_table(rec.names, bridge_run_plan(rec.plan))
      end
      remember(rec, n)
      return planned_outputs(rec.names, n, bridge_run_plan(rec.plan, unpack(scratch, 1, n)))
    end
    clear_scratch(n)
  end
  local args = {}
  local positional, n, objects, ro = inputs_and_options("session:run()", inputs, run_options, args)
  if positional == nil then
    return nil, n
  end
  local total = positional and n or 2 * n
  local nn = -1
  if output_names ~= nil then
    local t = type(output_names)
    if t == "string" then
      nn = 1
      args[total + 1] = output_names
    elseif t == "table" and rawget(output_names, KEY) == nil then
      nn = #output_names
      for i = 1, nn do
        args[total + i] = output_names[i]
      end
    else
      return nil, format("session:run(): output_names must be an array of output names, got %s",
        typename(output_names))
    end
    total = total + nn
  end
  return run_result(self, inputs, output_names, run_options,
    names_for_run(self, s, output_names), args, positional, n,
    bridge_run(s, ro, positional, n, nn, want_plan(self, "run", objects),
      unpack(args, 1, total)))
end

local bridge_run_into, bridge_run_into_plan = B.run_into, B.run_into_plan
local function into_result(outputs, names, no)
  local out = {}
  for i = 1, no do
    local name = names[i]
    local t = outputs[name]
    out[i] = t
    out[name] = t
  end
  return out
end

Session.methods.run_into = function(self, inputs, outputs, run_options)
  local s = py(self)
  if s == nil or getmetatable(self) ~= "onnxruntime.session" then
    return nil, format("session:run_into(): call it on a session with ':' (got %s as self)",
      typename(self))
  end
  local rec = into_plans[self]
  if rec ~= nil and rawequal(rec.ro, run_options) and type(inputs) == "table"
      and type(outputs) == "table" then
    local n, no = rec.count, rec.out_count
    local fits, same = plan_values(rec.keys, n, inputs, 0, rec.last)
    local fits_out, same_out = false, false
    if fits then
      fits_out, same_out = plan_values(rec.out_keys, no, outputs, n, rec.last)
    end
    if fits_out then
      rec.hits = rec.hits + 1
      local done, err
      if same and same_out then
        clear_scratch(n + no)
        done, err = bridge_run_into_plan(rec.plan)
      else
        remember(rec, n + no)
        done, err = bridge_run_into_plan(rec.plan, unpack(scratch, 1, n + no))
        clear_scratch(n + no)
      end
      if not done then
        return nil, err
      end
      return into_result(outputs, rec.out_keys, no)
    end
    clear_scratch(n + no)
  end
  local args = {}
  local positional, n, objects, ro = inputs_and_options("session:run_into()", inputs, run_options, args)
  if positional == nil then
    return nil, n
  end
  if type(outputs) ~= "table" or rawget(outputs, KEY) ~= nil then
    return nil, format("session:run_into(): outputs must be a table of output name = "
      .. "preallocated tensor, got %s", typename(outputs))
  end
  local total = positional and n or 2 * n
  local names, no = {}, 0
  for name, t in next, outputs do
    no = no + 1
    names[no] = name
    local p = type(t) == "table" and rawget(t, KEY) or nil
    if p ~= nil then
      t = p
    else
      objects = false
    end
    args[total + 2 * no - 1] = name
    args[total + 2 * no] = t
  end
  local done, plan = bridge_run_into(s, ro, positional, n, no, want_plan(self, "into", objects),
    unpack(args, 1, total + 2 * no))
  if not done then
    return nil, plan
  end
  if plan ~= nil then
    local r = { plan = plan, ro = run_options, hits = 0, out_keys = names, out_count = no }
    r.keys, r.count = keys_of(inputs)
    local last = values_of(args, positional, n, 0, {})
    for i = 1, no do
      last[n + i] = args[total + 2 * i]
    end
    r.last = last
    keep(self, "into", into_plans, r)
  end
  return into_result(outputs, names, no)
end

-- For bridge results that carry the names: ok, names, values (or nil, message).
local function named_outputs(ok, names, ...)
  if ok == nil then
    return nil, names
  end
  return outputs_table(names, ok, ...)
end

local bridge_run_with_iobinding = B.run_with_iobinding
Session.methods.run_with_iobinding = function(self, binding, run_options)
  local s = py(self)
  if s == nil or getmetatable(self) ~= "onnxruntime.session" then
    return nil, format("session:run_with_iobinding(): call it on a session with ':' (got %s "
      .. "as self)", typename(self))
  end
  local b = py(binding)
  if b == nil or getmetatable(binding) ~= "onnxruntime.io_binding" then
    return nil, format("session:run_with_iobinding(): binding must come from "
      .. "session:create_io_binding(), got %s", typename(binding))
  end
  local ok, ro = run_options_of("session:run_with_iobinding()", run_options)
  if not ok then
    return nil, ro
  end
  return named_outputs(bridge_run_with_iobinding(s, b, ro))
end

return {
  named_outputs = named_outputs,
  forget_names = function(self)
    all_names[self] = nil
  end,
}
