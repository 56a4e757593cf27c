-- Desktop stand-ins for the host objects scripts take images and files from: the `image`,
-- `screen`, `file` and `json` globals, and string.split / string.base64_encode / _decode.
--
-- Loaded once per runtime by ortsession.lua._ops_bridge.install (after ops.lua) with OB, the
-- bridge's functions, and I, the internals of onnxruntime.lua. What is not provided (image.cv,
-- OpenCV mats, touch/app control) is listed in docs/tensor-module.md.

local OB, I = ...
local type, getmetatable, find, sub = type, getmetatable, string.find, string.sub
local open = io.open

image = {
  load_file = function(path)
    return OB.image_load_file(path)
  end,
  load_data = function(data)
    return OB.image_load_data(data)
  end,
  new = function(width, height)
    return OB.image_new(width, height)
  end,
  is = function(value)
    return type(value) == "table" and getmetatable(value) == "onnxruntime.image"
  end,
}

screen = {
  -- screen.image([left, top, right, bottom]): the --screen image file, optionally cropped.
  image = function(...)
    return OB.screen_image(...)
  end,
  size = function()
    return OB.screen_size()
  end,
}

-- file.writes / file.appends: open in mode, write, close; true, or false and the error.
local function write_file(path, data, mode)
  local f, err = open(path, mode)
  if not f then
    return false, err
  end
  f:write(data)
  f:close()
  return true
end

file = {
  exists = function(path)
    local f = open(path, "rb")
    if f then
      f:close()
      return true
    end
    return false
  end,
  reads = function(path)
    local f, err = open(path, "rb")
    if not f then
      return nil, err
    end
    local data = f:read("a")
    f:close()
    return data
  end,
  writes = function(path, data)
    return write_file(path, data, "wb")
  end,
  appends = function(path, data)
    return write_file(path, data, "ab")
  end,
}

json = {
  encode = function(value)
    return OB.json_encode(value)
  end,
  decode = function(text)
    return OB.json_decode(text)
  end,
}

-- string.split(s, sep): the pieces between plain (not pattern) separators, empty ones kept.
function string.split(s, sep)
  if type(s) ~= "string" then
    return nil, "string.split: expected a string, got " .. type(s)
  end
  sep = sep or ","
  if sep == "" then
    local chars = {}
    for ch in s:gmatch(utf8.charpattern) do
      chars[#chars + 1] = ch
    end
    return chars
  end
  local parts, start = {}, 1
  while true do
    local i, j = find(s, sep, start, true)
    if not i then
      parts[#parts + 1] = sub(s, start)
      return parts
    end
    parts[#parts + 1] = sub(s, start, i - 1)
    start = j + 1
  end
end

string.base64_encode = function(s)
  return OB.base64_encode(s)
end
string.base64_decode = function(s)
  return OB.base64_decode(s)
end
