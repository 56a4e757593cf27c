-- Shared helpers of the Lua test scripts: load with
--   local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local H = {}

-- Asserts a `value, err` failure: value is nil and err a string containing `text` (plain).
function H.fails(text, value, err)
  assert(value == nil, ("expected a failure (%s), got %s"):format(text, tostring(value)))
  assert(type(err) == "string", ("expected an error message, got %s"):format(tostring(err)))
  assert(err:find(text, 1, true), ("message %q does not contain %q"):format(err, text))
  return err
end

-- Deep equality of plain values and tables (numbers compared with ==).
function H.same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not H.same(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

local function show(v)
  if type(v) ~= "table" then
    return type(v) == "string" and ("%q"):format(v) or tostring(v)
  end
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = ("[%s]=%s"):format(show(k), show(x))
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end
H.show = show

function H.eq(a, b, what)
  assert(H.same(a, b), ("%s: expected %s, got %s"):format(what or "value", show(b), show(a)))
end

function H.near(a, b, tol)
  return math.abs(a - b) <= (tol or 1e-6)
end

function H.read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

function H.exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
  end
  return f ~= nil
end

function H.contains(list, value)
  for _, v in ipairs(list) do
    if v == value then
      return true
    end
  end
  return false
end

return H
