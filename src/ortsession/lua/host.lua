-- Host setup for ortsession's Lua runtime, run once per runtime by ortsession.lua._host.
--
-- Arguments: H, a table of host functions (out, err, flush: write to / flush the host's stdout
-- and stderr), the module factory (onnxruntime.lua compiled), B, the bridge, and runs.lua
-- compiled (the module's run paths, which the factory loads).
-- It installs require("onnxruntime"), routes print / io.write / io.stdout / io.stderr / warn to
-- the host's streams, turns os.exit into a clean return to the host, removes lupa's `python`
-- global, and returns the script runner and the module internals.

local H, factory, B, runs = ...

local select, tostring, type, format, concat = select, tostring, type, string.format, table.concat
local mtype = math.type
local out, err, flush = H.out, H.err, H.flush

-- require("onnxruntime") -------------------------------------------------------------------
local module, internals = factory(B, runs)
package.preload["onnxruntime"] = function()
  return module
end

-- Output -------------------------------------------------------------------------------------
function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    parts[i] = tostring((select(i, ...)))
  end
  out(concat(parts, "\t") .. "\n")
end

local function writer(name, sink)
  return function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do
      local v = select(i, ...)
      local t = type(v)
      if t == "string" then
        parts[i] = v
      elseif t == "number" then
        parts[i] = mtype(v) == "integer" and format("%d", v) or format("%.14g", v)
      else
        error(format("bad argument #%d to '%s' (string expected, got %s)", i, name, t), 2)
      end
    end
    sink(concat(parts))
  end
end

-- Stand-ins for io.stdout / io.stderr that write to the host's streams.
local function host_file(label, sink, fl)
  local file = {}
  local write = writer("write", sink)
  local methods = {
    write = function(self, ...)
      write(...)
      return self
    end,
    flush = function(self)
      fl()
      return self
    end,
    setvbuf = function()
      return true
    end,
    close = function()
      return nil, "cannot close standard file"
    end,
    seek = function()
      return nil, "Illegal seek", 29
    end,
  }
  return setmetatable(file, {
    __index = methods,
    __name = "FILE*",
    __tostring = function()
      return "file (" .. label .. ")"
    end,
  })
end

local c_stdout = io.stdout
local c_output = io.output
local c_write = io.write
local host_write = writer("write", out)
io.stdout = host_file("host stdout", out, flush)
io.stderr = host_file("host stderr", err, flush)
function io.write(...)
  if c_output() == c_stdout then
    host_write(...)
    return io.stdout
  end
  return c_write(...)
end

-- warn(): Lua 5.4 semantics ("@on" / "@off", off by default), written to the host's stderr.
local warnings_on = false
local function host_warn(...)
  local n = select("#", ...)
  if n == 0 then
    error("bad argument #1 to 'warn' (string expected, got no value)", 2)
  end
  for i = 1, n do
    local t = type((select(i, ...)))
    if t ~= "string" then
      error(format("bad argument #%d to 'warn' (string expected, got %s)", i, t), 2)
    end
  end
  local msg = concat({ ... })
  if n == 1 and msg:sub(1, 1) == "@" then
    if msg == "@on" then
      warnings_on = true
    elseif msg == "@off" then
      warnings_on = false
    end
    return
  end
  if warnings_on then
    err("Lua warning: " .. msg .. "\n")
  end
end
warn = host_warn
internals.warn = function(msg)
  host_warn(msg)
end

-- os.exit() ends the script, not the host process.
local EXIT = {}
function os.exit(code)
  if code == nil or code == true then
    code = 0
  elseif code == false then
    code = 1
  elseif mtype(code) == "float" and code == math.floor(code) then
    code = math.tointeger(code)
  elseif mtype(code) ~= "integer" then
    error(format("bad argument #1 to 'exit' (number expected, got %s)", type(code)), 2)
  end
  error(setmetatable({ code = code }, EXIT), 0)
end

-- Generational collection (Lua 5.4): a script running a model in a loop makes short-lived
-- output tables and tensors; collected young, the Python memory behind them is reused sooner.
-- A script may switch back with collectgarbage("incremental").
collectgarbage("generational")

-- lupa's `python` global has no place in a standalone-like interpreter.
python = nil
package.loaded.python = nil

-- The runner -------------------------------------------------------------------------------
local function handler(e)
  if getmetatable(e) == EXIT then
    return e
  end
  if type(e) ~= "string" then
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then
      e = tostring(e)
    elseif type(e) == "number" then
      e = tostring(e)
    else
      e = format("(error object is a %s value)", type(e))
    end
  end
  -- The frames below the script (xpcall, this runner) are the host's, not the script's.
  return (debug.traceback(e, 2):gsub("\n\t%[C%]: in function 'xpcall'.*$", ""))
end

-- execute(chunk, msg, ...) -> exit code[, message]: runs a loaded chunk (or reports why it
-- did not load) with `...` as arguments; os.exit(n) inside it gives n.
local function execute(chunk, msg, ...)
  if chunk == nil then
    return 1, msg
  end
  local ok, e = xpcall(chunk, handler, ...)
  if ok then
    return 0
  end
  if getmetatable(e) == EXIT then
    return e.code
  end
  return 1, e
end

-- run(path, ...) -> exit code[, message]: loads the script, runs it with `...` as arguments.
local function run(path, ...)
  local chunk, msg = loadfile(path)
  return execute(chunk, msg, ...)
end

-- run_string(code, name, ...) -> exit code[, message]: the same for a chunk of source.
local function run_string(code, name, ...)
  local chunk, msg = load(code, name)
  return execute(chunk, msg, ...)
end

return run, run_string, internals
